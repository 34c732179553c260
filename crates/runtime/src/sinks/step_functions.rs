//! The remediation workflow (`stepfunctions`): alerts whose policy is `Contain` start an
//! execution named after the alert; the receipt is the execution ARN.

use async_trait::async_trait;
use aws_sdk_sfn::error::DisplayErrorContext;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use serde_json::Value as Json;
use tripline_alerts::Remediation;
use tripline_event::AlertRecord;

use super::{fitting_json, Receipt, Sink, SinkError, STEP_FUNCTIONS};

/// How a start of the remediation workflow ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Execution {
    /// A new execution (its ARN).
    Started(String),
    /// An earlier attempt already started it (its ARN).
    AlreadyExists(String),
}

impl Execution {
    /// The execution's ARN.
    pub fn arn(&self) -> &str {
        match self {
            Execution::Started(a) | Execution::AlreadyExists(a) => a,
        }
    }
}

/// The remediation state machine.
#[derive(Clone, Debug)]
pub struct StepFunctions {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl StepFunctions {
    /// Start executions of `state_machine_arn` with `client`.
    pub fn new(client: aws_sdk_sfn::Client, state_machine_arn: impl Into<String>) -> Self {
        StepFunctions { client, state_machine_arn: state_machine_arn.into() }
    }

    /// The state machine.
    pub fn state_machine_arn(&self) -> &str {
        &self.state_machine_arn
    }

    /// Start the workflow for one alert, named after it (see [`execution_name`]), with
    /// [`execution_input`] as input.
    pub async fn start(&self, alert: &AlertRecord) -> Result<Execution, SinkError> {
        let name = execution_name(alert);
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(&name)
            .input(execution_input(alert).to_string())
            .send()
            .await;
        match result {
            Ok(out) => Ok(Execution::Started(out.execution_arn().to_string())),
            Err(e)
                if matches!(e.as_service_error(), Some(StartExecutionError::ExecutionAlreadyExists(_))) =>
            {
                Ok(Execution::AlreadyExists(execution_arn(&self.state_machine_arn, &name)))
            }
            Err(e) => Err(SinkError::StepFunctions {
                state_machine: self.state_machine_arn.clone(),
                reason: DisplayErrorContext(e).to_string(),
            }),
        }
    }
}

/// `{classname}-{id}`: deterministic, at most 80 characters of `[A-Za-z0-9_-]` (what Step
/// Functions accepts as an execution name).
pub fn execution_name(alert: &AlertRecord) -> String {
    let room = 80usize.saturating_sub(alert.id.len() + 1);
    let class: String = alert
        .classname
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(room)
        .collect();
    if class.is_empty() {
        alert.id.chars().take(80).collect()
    } else {
        format!("{class}-{}", alert.id)
    }
}

/// The ARN of the execution `name` of `state_machine_arn`.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!("{}:{name}", state_machine_arn.replacen(":stateMachine:", ":execution:", 1))
}

/// The remediation workflow's input for a Tripline alert: the alert itself (MozDef format), which
/// `statemachines/guardduty-remediation.asl.json` recognises by its `id` and `classname` and acts on
/// `details.resource.{type, id}` (built with `tripline_alerts::resource`). An alert naming no
/// resource is refused by the workflow as unrecognised input, loudly.
pub fn execution_input(alert: &AlertRecord) -> Json {
    fitting_json(alert, |a| a)
}

#[async_trait]
impl Sink for StepFunctions {
    fn name(&self) -> &str {
        STEP_FUNCTIONS
    }

    /// Only alerts whose registry entry says `Contain`.
    fn accepts(&self, _alert: &AlertRecord, remediation: Remediation) -> bool {
        remediation == Remediation::Contain
    }

    async fn deliver(&self, alert: &AlertRecord) -> Result<Receipt, SinkError> {
        Ok(match self.start(alert).await? {
            Execution::Started(arn) => Receipt::new(arn),
            Execution::AlreadyExists(arn) => Receipt::earlier(arn),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::tests::alert;
    use crate::sinks::MAX_MESSAGE_BYTES;

    #[test]
    fn execution_name_is_deterministic_and_valid() {
        let mut a = alert("x");
        a.classname = "a very long class name with spaces ".repeat(4);
        let n = execution_name(&a);
        assert!(n.len() <= 80, "{n}");
        assert!(n.ends_with(&a.id));
        assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{n}");
        assert_eq!(n, execution_name(&a));
        assert_eq!(execution_name(&alert("x")), "describe_recon-0123456789abcdef0123456789abcdef");
    }

    #[test]
    fn large_alerts_drop_event_copies_but_keep_references() {
        let a = alert("x");
        let input = execution_input(&a);
        assert!(input.to_string().len() <= MAX_MESSAGE_BYTES);
        assert_eq!(input["events"][0]["documentid"], "e1");
        assert!(input["events"][0].get("documentsource").is_none());
        assert_eq!(input["classname"], "describe_recon");
    }

    #[test]
    fn execution_arn_from_state_machine_arn() {
        assert_eq!(
            execution_arn("arn:aws:states:us-east-1:123456789012:stateMachine:remediate", "n"),
            "arn:aws:states:us-east-1:123456789012:execution:remediate:n"
        );
    }

    #[test]
    fn only_contain_alerts_start_the_workflow() {
        let sdk = aws_sdk_sfn::Config::builder().behavior_version_latest().build();
        let sfn = StepFunctions::new(
            aws_sdk_sfn::Client::from_conf(sdk),
            "arn:aws:states:us-east-1:1:stateMachine:x",
        );
        assert!(sfn.accepts(&alert("x"), Remediation::Contain));
        assert!(!sfn.accepts(&alert("x"), Remediation::None));
    }
}
