//! `tripline respond`: start the IR runbook and remediation workflows, wait, and show the outcome.
//!
//! Containment itself runs in Step Functions (`statemachines/`), so that every action is an
//! audited execution and no EC2 or IAM SDK is compiled in here: this module only starts an
//! execution with `aws-sdk-sfn`, polls `DescribeExecution` until it ends (bounded by
//! `--timeout`), and prints the status, the output or the error and cause, and one line per state
//! from `GetExecutionHistory`. A run that does not end `SUCCEEDED` is an error (non-zero exit).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use chrono::Utc;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde_json::{json, Value};

/// Subcommands of `tripline respond`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Deny everything to an IAM user (inline policy `DenyAll`), through the IR runbook.
    BlockUser(Principal),
    /// Remove the `DenyAll` inline policy from an IAM user.
    UnblockUser(Principal),
    /// Deny everything to an IAM role (inline policy `DenyAll`).
    BlockRole(Principal),
    /// Remove the `DenyAll` inline policy from an IAM role.
    UnblockRole(Principal),
    /// Deny everything to the members of an IAM group (inline policy `DenyAll`).
    BlockGroup(Principal),
    /// Remove the `DenyAll` inline policy from an IAM group.
    UnblockGroup(Principal),
    /// Isolate, snapshot and stop an EC2 instance through the remediation workflow.
    QuarantineInstance(Quarantine),
}

/// An IR runbook request.
#[derive(clap::Args, Debug)]
pub struct Principal {
    /// The IAM user, role or group name.
    pub name: String,
    /// The IR runbook state machine.
    #[arg(long, env = "TRIPLINE_IR_STATE_MACHINE_ARN")]
    pub state_machine_arn: String,
    /// Why: kept in the execution input (the audit record) and quoted in the SNS notice (at most
    /// 1024 characters).
    #[arg(long, value_parser = parse_reason)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub run: RunOptions,
}

/// A quarantine request.
#[derive(clap::Args, Debug)]
pub struct Quarantine {
    /// The EC2 instance id (`i-…`).
    pub instance_id: String,
    /// The remediation state machine.
    #[arg(long, env = "TRIPLINE_REMEDIATION_STATE_MACHINE_ARN")]
    pub state_machine_arn: String,
    /// Why: becomes the alert summary, kept in the execution input (at most 1024 characters).
    #[arg(long, value_parser = parse_reason)]
    pub reason: Option<String>,
    /// The id the instance and its snapshots are tagged with (default: the execution name).
    /// Reuse one to make a rerun reuse the snapshots it already took (1 to 256 characters, an
    /// EC2 tag value).
    #[arg(long, value_parser = parse_finding_id)]
    pub finding_id: Option<String>,
    #[command(flatten)]
    pub run: RunOptions,
}

/// How to reach Step Functions and how long to wait.
#[derive(clap::Args, Debug)]
pub struct RunOptions {
    /// Step Functions endpoint (e.g. moto's server); AWS's when absent.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// AWS region (else the usual AWS configuration chain).
    #[arg(long)]
    pub region: Option<String>,
    /// The execution name (default: unique, from the action, target and time): 1 to 80 of
    /// `A-Z a-z 0-9 - _ . = + @`, as Step Functions accepts.
    #[arg(long, value_parser = parse_execution_name)]
    pub execution_name: Option<String>,
    /// Seconds to wait for the execution to end (1 to 86400).
    #[arg(long, default_value_t = 900, value_parser = parse_timeout, allow_negative_numbers = true)]
    pub timeout: u64,
    /// Print the result as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The longest `--timeout`: a day (the workflows end in minutes; Step Functions keeps running
/// an execution the CLI stops waiting for).
pub const MAX_TIMEOUT_SECS: u64 = 86_400;
/// The longest `--reason`.
pub const MAX_REASON_CHARS: usize = 1024;
/// The longest `--finding-id` (an EC2 tag value holds 256 characters).
pub const MAX_FINDING_ID_CHARS: usize = 256;
/// The longest execution name Step Functions accepts.
pub const MAX_EXECUTION_NAME_CHARS: usize = 80;

fn shown(text: &str) -> String {
    format!("{:?}", text.chars().take(60).collect::<String>())
}

fn parse_timeout(text: &str) -> Result<u64, String> {
    let bad =
        || format!("{} is out of range: a whole number of seconds from 1 to {MAX_TIMEOUT_SECS}", shown(text));
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits {
        return Err(format!(
            "{} is not a number: a whole number of seconds from 1 to {MAX_TIMEOUT_SECS}",
            shown(text)
        ));
    }
    text.parse::<u64>().ok().filter(|n| (1..=MAX_TIMEOUT_SECS).contains(n)).ok_or_else(bad)
}

fn parse_reason(text: &str) -> Result<String, String> {
    let n = text.chars().count();
    if n > MAX_REASON_CHARS {
        return Err(format!("the reason is {n} characters long; at most {MAX_REASON_CHARS}"));
    }
    Ok(text.to_string())
}

fn parse_finding_id(text: &str) -> Result<String, String> {
    let n = text.chars().count();
    if !(1..=MAX_FINDING_ID_CHARS).contains(&n) {
        return Err(format!(
            "the finding id is {n} characters long; it must be 1 to {MAX_FINDING_ID_CHARS} (an EC2 tag value)"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{}: a finding id has no control characters", shown(text)));
    }
    Ok(text.to_string())
}

fn parse_execution_name(text: &str) -> Result<String, String> {
    let n = text.chars().count();
    if !(1..=MAX_EXECUTION_NAME_CHARS).contains(&n) {
        return Err(format!(
            "the execution name is {n} characters long; Step Functions accepts 1 to {MAX_EXECUTION_NAME_CHARS}"
        ));
    }
    if let Some(c) = text.chars().find(|&c| sanitize(c) != c) {
        return Err(format!(
            "{}: {c:?} is not allowed in an execution name (use A-Z a-z 0-9 - _ . = + @)",
            shown(text)
        ));
    }
    Ok(text.to_string())
}

/// Run a `tripline respond` subcommand.
pub async fn run(cmd: Command) -> anyhow::Result<()> {
    let (arn, input, name, opts) = match cmd {
        Command::BlockUser(p) => ir_request("block", "user", p),
        Command::UnblockUser(p) => ir_request("unblock", "user", p),
        Command::BlockRole(p) => ir_request("block", "role", p),
        Command::UnblockRole(p) => ir_request("unblock", "role", p),
        Command::BlockGroup(p) => ir_request("block", "group", p),
        Command::UnblockGroup(p) => ir_request("unblock", "group", p),
        Command::QuarantineInstance(q) => quarantine_request(q),
    };
    let client = sfn_client(&opts).await;
    let outcome = start_and_wait(&client, &arn, &name, &input, Duration::from_secs(opts.timeout)).await?;
    print_outcome(&outcome, opts.json)?;
    if outcome.status != ExecutionStatus::Succeeded {
        bail!(
            "execution {} ended {}{}",
            outcome.execution_arn,
            outcome.status.as_str(),
            outcome.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
        );
    }
    Ok(())
}

fn ir_request(action: &str, principal_type: &str, p: Principal) -> (String, Value, String, RunOptions) {
    let mut input = json!({
        "action": action,
        "principalType": principal_type,
        "name": p.name,
        "requestedBy": requested_by(),
    });
    if let Some(reason) = p.reason {
        input["reason"] = Value::String(reason);
    }
    let name = p
        .run
        .execution_name
        .clone()
        .unwrap_or_else(|| execution_name(&format!("{action}-{principal_type}"), &p.name));
    (p.state_machine_arn, input, name, p.run)
}

fn quarantine_request(q: Quarantine) -> (String, Value, String, RunOptions) {
    let name = q.run.execution_name.clone().unwrap_or_else(|| execution_name("quarantine", &q.instance_id));
    let summary =
        q.reason.unwrap_or_else(|| format!("manual quarantine of {} by tripline respond", q.instance_id));
    // A Tripline alert naming the instance: what guardduty-remediation.asl.json accepts besides
    // GuardDuty findings (see statemachines/README.md).
    let input = json!({
        "id": q.finding_id.unwrap_or_else(|| name.clone()),
        "utctimestamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "severity": "CRITICAL",
        "summary": summary,
        "category": "response",
        "tags": ["tripline-respond"],
        "events": [],
        "classname": "TriplineRespondQuarantine",
        "url": "",
        "notify": true,
        "details": {
            "resource": {"type": "Instance", "id": q.instance_id},
            "requestedBy": requested_by(),
        },
    });
    (q.state_machine_arn, input, name, q.run)
}

fn requested_by() -> String {
    std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into())
}

/// A unique execution name: `{action}-{target}-{UTC time to the millisecond}-{pid}`, with the
/// characters Step Functions refuses replaced, at most 80 characters.
pub fn execution_name(action: &str, target: &str) -> String {
    let stamp = Utc::now().format("%Y%m%dT%H%M%S%3fZ");
    let suffix = format!("-{stamp}-{}", std::process::id());
    let head: String = format!("{action}-{target}").chars().map(sanitize).collect();
    let room = 80usize.saturating_sub(suffix.len());
    let head: String = head.chars().take(room).collect();
    format!("{head}{suffix}")
}

fn sanitize(c: char) -> char {
    // Step Functions names may not contain whitespace, brackets, wildcards, `"#%\^|~`$&,;:/` or
    // control characters.
    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=' | '+' | '@') {
        c
    } else {
        '-'
    }
}

async fn sfn_client(opts: &RunOptions) -> aws_sdk_sfn::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = &opts.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    aws_sdk_sfn::Client::new(&loader.load().await)
}

/// What an execution ended with.
#[derive(Debug)]
pub struct Outcome {
    pub execution_arn: String,
    pub status: ExecutionStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub steps: Vec<Step>,
}

/// One state the execution entered.
#[derive(Debug, serde::Serialize)]
pub struct Step {
    pub state: String,
    pub kind: String,
    pub resource: String,
    pub outcome: String,
}

async fn start_and_wait(
    client: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    name: &str,
    input: &Value,
    timeout: Duration,
) -> anyhow::Result<Outcome> {
    let started = client
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .with_context(|| format!("starting execution {name} of {state_machine_arn}"))?;
    let arn = started.execution_arn().to_string();
    eprintln!("started {arn}");

    let deadline = Instant::now()
        .checked_add(timeout)
        .with_context(|| format!("--timeout {} s is too far in the future", timeout.as_secs()))?;
    let mut pause = Duration::from_millis(250);
    let desc = loop {
        let desc = client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .with_context(|| format!("describing execution {arn}"))?;
        if desc.status() != &ExecutionStatus::Running {
            break desc;
        }
        if Instant::now() >= deadline {
            bail!(
                "execution {arn} is still RUNNING after {} s; follow it with `aws stepfunctions describe-execution --execution-arn {arn}`",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(3));
    };

    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(&arn)
            .set_next_token(token.take())
            .max_results(1000)
            .send()
            .await
            .with_context(|| format!("reading the history of {arn}"))?;
        events.extend(page.events().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }

    let output = match desc.output() {
        Some(text) => Some(
            serde_json::from_str(text)
                .with_context(|| format!("execution {arn} returned output that is not JSON"))?,
        ),
        None => None,
    };
    Ok(Outcome {
        execution_arn: arn,
        status: desc.status().clone(),
        output,
        error: desc.error().map(str::to_string),
        cause: desc.cause().map(str::to_string),
        steps: steps(&events),
    })
}

/// One row per state entered, in order. Map iterations interleave their events, so each event
/// is given to its state by following `previous_event_id` back to that state's `…StateEntered`.
pub fn steps(events: &[HistoryEvent]) -> Vec<Step> {
    let by_id: HashMap<i64, &HistoryEvent> = events.iter().map(|e| (e.id(), e)).collect();
    let mut rows: Vec<Step> = Vec::new();
    let mut row_of_entered: HashMap<i64, usize> = HashMap::new();
    for e in events {
        let ty = e.r#type().as_str();
        if let Some(kind) = ty.strip_suffix("StateEntered") {
            let state = e.state_entered_event_details().map(|d| d.name().to_string()).unwrap_or_default();
            row_of_entered.insert(e.id(), rows.len());
            let outcome = if kind == "Choice" { "decided" } else { "ok" };
            rows.push(Step {
                state,
                kind: kind.to_string(),
                resource: String::new(),
                outcome: outcome.into(),
            });
            continue;
        }
        // Find the state this event belongs to (bounded walk: histories are finite and acyclic).
        let mut cur = e.previous_event_id();
        let mut row = None;
        for _ in 0..events.len() {
            if let Some(&r) = row_of_entered.get(&cur) {
                row = Some(r);
                break;
            }
            match by_id.get(&cur) {
                Some(prev) if prev.r#type().as_str().ends_with("StateEntered") => break,
                Some(prev) => cur = prev.previous_event_id(),
                None => break,
            }
        }
        let Some(row) = row.and_then(|r| rows.get_mut(r)) else { continue };
        match e.r#type() {
            HistoryEventType::TaskScheduled => {
                if let Some(d) = e.task_scheduled_event_details() {
                    row.resource = format!("{}:{}", d.resource_type(), d.resource());
                }
            }
            HistoryEventType::TaskFailed => {
                let err = e.task_failed_event_details().and_then(|d| d.error()).unwrap_or("");
                row.outcome = format!("failed {err}").trim_end().to_string();
            }
            HistoryEventType::TaskTimedOut => row.outcome = "timed out".into(),
            _ => {}
        }
    }
    rows
}

fn print_outcome(o: &Outcome, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        let v = json!({
            "executionArn": o.execution_arn,
            "status": o.status.as_str(),
            "output": o.output,
            "error": o.error,
            "cause": o.cause,
            "steps": o.steps,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("execution: {}", o.execution_arn);
    println!("status:    {}", o.status.as_str());
    if let Some(e) = &o.error {
        println!("error:     {e}");
    }
    if let Some(c) = &o.cause {
        println!("cause:     {c}");
    }
    if let Some(out) = &o.output {
        println!("output:\n{}", serde_json::to_string_pretty(out)?);
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(["step", "type", "resource", "outcome"]);
    for s in &o.steps {
        table.add_row([s.state.as_str(), s.kind.as_str(), s.resource.as_str(), s.outcome.as_str()]);
    }
    println!("{table}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_names_are_legal_unique_and_bounded() {
        let a = execution_name("block-user", "alice,bob: /x");
        assert!(a.starts_with("block-user-alice-bob---x-"), "{a}");
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || "-_.=+@".contains(c)), "{a}");
        let long = execution_name("quarantine", &"i".repeat(200));
        assert_eq!(long.chars().count(), 80);
        assert!(long.ends_with(&format!("-{}", std::process::id())));
    }

    #[test]
    fn timeouts_are_1_to_86400_seconds() {
        assert_eq!(parse_timeout("1"), Ok(1));
        assert_eq!(parse_timeout("86400"), Ok(MAX_TIMEOUT_SECS));
        for bad in ["0", "86401", "18446744073709551615", "99999999999999999999999", "-5", "", "1.5", "15m"] {
            assert!(parse_timeout(bad).unwrap_err().contains("from 1 to 86400"), "{bad:?}");
        }
    }

    #[test]
    fn free_text_arguments_are_bounded() {
        assert!(parse_reason(&"r".repeat(MAX_REASON_CHARS)).is_ok());
        assert!(parse_reason(&"r".repeat(MAX_REASON_CHARS + 1)).unwrap_err().contains("at most 1024"));
        assert!(parse_finding_id("f-1").is_ok());
        assert!(parse_finding_id("").unwrap_err().contains("1 to 256"));
        assert!(parse_finding_id(&"f".repeat(257)).unwrap_err().contains("1 to 256"));
        assert!(parse_finding_id("a\nb").is_err());
        assert!(parse_execution_name("block-user-alice-1").is_ok());
        assert!(parse_execution_name(&"x".repeat(80)).is_ok());
        assert!(parse_execution_name(&"x".repeat(81)).unwrap_err().contains("1 to 80"));
        assert!(parse_execution_name("").unwrap_err().contains("1 to 80"));
        assert!(parse_execution_name("a b").unwrap_err().contains("' ' is not allowed"));
        assert!(parse_execution_name("é").is_err());
    }

    #[test]
    fn quarantine_input_is_an_alert_naming_the_instance() {
        let q = Quarantine {
            instance_id: "i-0123456789abcdef0".into(),
            state_machine_arn: "arn".into(),
            reason: None,
            finding_id: Some("f-1".into()),
            run: RunOptions {
                endpoint_url: None,
                region: None,
                execution_name: None,
                timeout: 1,
                json: false,
            },
        };
        let (_, input, name, _) = quarantine_request(q);
        assert_eq!(input["details"]["resource"], json!({"type": "Instance", "id": "i-0123456789abcdef0"}));
        assert_eq!(input["id"], "f-1");
        assert!(input["classname"].is_string() && input["summary"].is_string());
        assert!(name.starts_with("quarantine-i-0123456789abcdef0-"));
    }
}
