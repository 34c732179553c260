//! Where alerts go: the alerts index (through the store), SNS, and the remediation workflow in
//! Step Functions — each one safe to call again for the same alert.
//!
//! - [`AlertsIndex`] writes alerts under their deterministic ids (a rewrite replaces) and reads
//!   back each alert's [`Delivery`] markers: `details.delivery.sns` (the SNS message id) and
//!   `details.delivery.stepfunctions` (the execution ARN).
//! - [`Sns`] publishes the alert as JSON. SNS has no idempotency key on standard topics, so the
//!   runner publishes only alerts without an `sns` marker and writes the marker right after; on a
//!   FIFO topic (`….fifo`) the alert id is also the `MessageDeduplicationId`.
//! - [`StepFunctions`] starts the remediation workflow with an execution name derived from the
//!   alert id. Step Functions keeps execution names unique per state machine, so a second start
//!   for the same alert is refused (`ExecutionAlreadyExists`) or, with identical input while the
//!   first runs, answered with the same execution: both count as delivered.
//!
//! Both AWS messages strip the events' stored copies (`documentsource`) when the alert would
//! not fit the 256 KB limit, keeping the references.

use std::collections::HashMap;

use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::{Map, Value as Json};
use tripline_dsl::{QueryAst, Value};
use tripline_event::AlertRecord;
use tripline_store::{BulkReport, EventStore, StoreError};

/// The key under an alert's `details` that records where it was delivered.
pub const DELIVERY_KEY: &str = "delivery";
/// SNS and Step Functions refuse messages and inputs above 256 KiB; keep a margin for the
/// envelope.
pub const MAX_MESSAGE_BYTES: usize = 250 * 1024;
/// SNS subjects are at most 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// What went wrong delivering an alert.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The store failed (alerts index).
    #[error("alerts index: {0}")]
    Store(#[from] StoreError),
    /// The alerts index refused documents.
    #[error("alerts index refused {count} alert(s), first {first_id}: {first_reason}")]
    Refused {
        /// How many.
        count: usize,
        /// The first refused alert's id.
        first_id: String,
        /// The engine's reason.
        first_reason: String,
    },
    /// SNS refused or could not be reached.
    #[error("SNS publish to {topic}: {reason}")]
    Sns {
        /// The topic ARN.
        topic: String,
        /// The SDK's error, with its causes.
        reason: String,
    },
    /// Step Functions refused or could not be reached.
    #[error("Step Functions StartExecution on {state_machine}: {reason}")]
    StepFunctions {
        /// The state machine ARN.
        state_machine: String,
        /// The SDK's error, with its causes.
        reason: String,
    },
}

/// Where an alert has been delivered, as recorded in its `details.delivery`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// The SNS message id, once published.
    pub sns: Option<String>,
    /// The remediation execution's ARN, once started.
    pub stepfunctions: Option<String>,
}

impl Delivery {
    /// The markers an alert carries.
    pub fn of(alert: &AlertRecord) -> Self {
        Self::from_details(&alert.details)
    }

    fn from_details(details: &Map<String, Json>) -> Self {
        let d = details.get(DELIVERY_KEY);
        let text = |k: &str| d.and_then(|d| d.get(k)).and_then(Json::as_str).map(str::to_string);
        Delivery { sns: text("sns"), stepfunctions: text("stepfunctions") }
    }

    /// Record the markers in the alert (markers already there are kept).
    pub fn apply(&self, alert: &mut AlertRecord) {
        let mut merged = Self::of(alert);
        if self.sns.is_some() {
            merged.sns.clone_from(&self.sns);
        }
        if self.stepfunctions.is_some() {
            merged.stepfunctions.clone_from(&self.stepfunctions);
        }
        let mut m = Map::new();
        if let Some(s) = merged.sns {
            m.insert("sns".into(), Json::String(s));
        }
        if let Some(s) = merged.stepfunctions {
            m.insert("stepfunctions".into(), Json::String(s));
        }
        if !m.is_empty() {
            alert.details.insert(DELIVERY_KEY.into(), Json::Object(m));
        }
    }
}

/// The alerts index, through the store.
pub struct AlertsIndex<'a> {
    store: &'a dyn EventStore,
}

impl<'a> AlertsIndex<'a> {
    /// The alerts index of `store`.
    pub fn new(store: &'a dyn EventStore) -> Self {
        AlertsIndex { store }
    }

    /// Write (or replace) alerts by id. Any refused alert is an error.
    pub async fn write(&self, alerts: &[AlertRecord]) -> Result<BulkReport, SinkError> {
        let report = self.store.write_alerts(alerts).await?;
        match report.failed.first() {
            Some(first) => Err(SinkError::Refused {
                count: report.failed.len(),
                first_id: first.id.clone(),
                first_reason: first.reason.clone(),
            }),
            None => Ok(report),
        }
    }

    /// The delivery markers of those of `ids` already stored.
    pub async fn deliveries(&self, ids: &[String]) -> Result<HashMap<String, Delivery>, SinkError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let query = QueryAst::Terms {
            field: "id".into(),
            values: ids.iter().map(|i| Value::Str(i.clone())).collect(),
        };
        let found = self.store.search_alerts(&query, ids.len()).await?;
        Ok(found
            .hits
            .into_iter()
            .map(|h| {
                let details = h.source.get("details").and_then(Json::as_object).cloned().unwrap_or_default();
                let id = h.source.get("id").and_then(Json::as_str).map(str::to_string).unwrap_or(h.id);
                (id, Delivery::from_details(&details))
            })
            .collect())
    }
}

/// The AWS sinks a run delivers to, besides the alerts index.
#[derive(Clone, Debug, Default)]
pub struct Sinks {
    /// Notification topic.
    pub sns: Option<Sns>,
    /// Remediation workflow, for alerts whose policy is `Contain`.
    pub step_functions: Option<StepFunctions>,
}

/// An SNS topic alerts are published to.
#[derive(Clone, Debug)]
pub struct Sns {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Sns {
    /// Publish to `topic_arn` with `client`.
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Sns { client, topic_arn: topic_arn.into() }
    }

    /// The topic.
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// Publish one alert; returns the SNS message id.
    pub async fn publish(&self, alert: &AlertRecord) -> Result<String, SinkError> {
        let fail = |reason: String| SinkError::Sns { topic: self.topic_arn.clone(), reason };
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject(alert))
            .message(fitting_json(alert, |a| a).to_string());
        for (key, value) in
            [("severity", &alert.severity), ("category", &alert.category), ("classname", &alert.classname)]
        {
            if value.is_empty() {
                continue;
            }
            let attr = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| fail(format!("message attribute {key}: {e}")))?;
            request = request.message_attributes(key, attr);
        }
        if self.topic_arn.ends_with(".fifo") {
            request = request.message_group_id(&alert.classname).message_deduplication_id(&alert.id);
        }
        let out = request.send().await.map_err(|e| fail(DisplayErrorContext(e).to_string()))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

/// `[SEVERITY] summary`, printable ASCII only (SNS's rule), at most 100 characters.
pub fn subject(alert: &AlertRecord) -> String {
    let raw = format!("[{}] {}", alert.severity, alert.summary);
    let clean: String = raw
        .chars()
        .map(|c| match c {
            c if c.is_ascii_graphic() => c,
            c if c.is_whitespace() || c.is_control() => ' ',
            _ => '?',
        })
        .take(MAX_SUBJECT_CHARS)
        .collect();
    clean.trim().to_string()
}

/// `wrap(alert JSON)` without the delivery markers (so a message or an execution input is the
/// same whichever attempt sends it), with the events' stored copies dropped if it would not fit.
fn fitting_json(alert: &AlertRecord, wrap: impl Fn(Json) -> Json) -> Json {
    let mut lean = alert.clone();
    lean.details.remove(DELIVERY_KEY);
    let full = wrap(lean.to_json());
    if full.to_string().len() <= MAX_MESSAGE_BYTES {
        return full;
    }
    for e in &mut lean.events {
        e.documentsource = Json::Null;
    }
    wrap(lean.to_json())
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;
    use tripline_event::EventRef;

    fn alert(summary: &str) -> AlertRecord {
        AlertRecord {
            id: "0123456789abcdef0123456789abcdef".into(),
            utctimestamp: chrono::Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap_or_default(),
            severity: "WARNING".into(),
            summary: summary.into(),
            category: "recon".into(),
            tags: vec![],
            events: vec![EventRef {
                documentindex: "events-2026.11.23".into(),
                documentid: "e1".into(),
                documentsource: json!({"blob": "x".repeat(300 * 1024)}),
            }],
            classname: "describe_recon".into(),
            url: String::new(),
            notify: true,
            details: Map::new(),
        }
    }

    #[test]
    fn subject_is_ascii_and_short() {
        let s = subject(&alert(&format!("café\nlogin {}", "x".repeat(200))));
        assert_eq!(s.chars().count(), MAX_SUBJECT_CHARS);
        assert!(s.starts_with("[WARNING] caf? login"), "{s}");
        assert!(s.chars().all(|c| c.is_ascii_graphic() || c == ' '));
    }

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
    fn delivery_markers_round_trip_and_merge() {
        let mut a = alert("x");
        assert_eq!(Delivery::of(&a), Delivery::default());
        Delivery { sns: Some("m-1".into()), stepfunctions: None }.apply(&mut a);
        Delivery { sns: None, stepfunctions: Some("arn:x".into()) }.apply(&mut a);
        assert_eq!(
            Delivery::of(&a),
            Delivery { sns: Some("m-1".into()), stepfunctions: Some("arn:x".into()) }
        );
        assert_eq!(a.details["delivery"]["sns"], "m-1");
    }

    #[test]
    fn execution_arn_from_state_machine_arn() {
        assert_eq!(
            execution_arn("arn:aws:states:us-east-1:123456789012:stateMachine:remediate", "n"),
            "arn:aws:states:us-east-1:123456789012:execution:remediate:n"
        );
    }
}
