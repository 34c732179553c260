//! `tripline infra`: the SAM template's alert section, derived from the alert registry.
//!
//! Every alert in the catalog (`tripline_alerts::Registry::builtin`) becomes one
//! `AWS::Serverless::Function` of the one alert binary (`target/lambda/alert`) with
//! `TRIPLINE_ALERT` set to its name, its schedule, memory, timeout, reserved concurrency 1 and least-privilege policy (read events and
//! write alerts on the OpenSearch resource with the HTTP verbs the store sends: POST for
//! `_search`, `_bulk` and `_mget`, GET for the check that the index templates are installed,
//! never PUT, since installing them is a deploy step; publish to the alerts topic, and use its
//! KMS key; and start the remediation workflow only for alerts whose policy is `contain`), an
//! on-failure destination (the shared `FailedInvocationsQueue`, after 2 retries), and two alarms
//! to the alerts topic, on the function's `Errors` and `Throttles`. `scripts/iam_check.py` (`make
//! lint`) checks these grants against the code. `render` rewrites the block between the
//! markers in `infra/template.yaml`; `render --check` fails when the committed template has drifted
//! from the registry (a test runs the same check).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context};
use tripline_alerts::{Meta, Remediation};

/// The first line of the generated block.
pub const BEGIN: &str =
    "  # --- BEGIN GENERATED: alert functions (`tripline infra render`; edit the registry, not this) ---";
/// The last line of the generated block.
pub const END: &str = "  # --- END GENERATED: alert functions ---";

/// Subcommands of `tripline infra`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Write the alert functions into the SAM template (or check that they are up to date).
    Render {
        /// The template to update.
        #[arg(long, default_value = "infra/template.yaml")]
        template: PathBuf,
        /// Do not write: fail if the template differs from what the registry renders.
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        catalog: crate::rules::Catalog,
    },
    /// Print the registry as a table: name, schedule, severity, remediation.
    List,
}

/// Per-function environment beyond `TRIPLINE_ALERT`: the rule folders packaged beside the
/// binary (`make package RULES=…`) and the alert's tuning, since a Lambda has no tuning file.
fn function_env(catalog: &crate::rules::Catalog) -> anyhow::Result<impl Fn(&str) -> Vec<(String, String)>> {
    let rules: Vec<String> = catalog.rules.iter().map(|d| d.display().to_string()).collect();
    if let Some(bad) = rules.iter().find(|r| r.starts_with('/') || r.contains("..") || r.contains(':')) {
        bail!("--rules {bad}: give rule folders relative to the repository (they are packaged at that path)");
    }
    let tuning = catalog.tuning()?.unwrap_or_default();
    Ok(move |name: &str| {
        let mut env = Vec::new();
        if !rules.is_empty() {
            env.push(("TRIPLINE_RULES".to_string(), rules.join(":")));
        }
        if let Some(t) = tuning.alerts.get(name) {
            let t = tripline_alerts::tuning::AlertTuning { enabled: None, schedule: None, ..t.clone() };
            if t != tripline_alerts::tuning::AlertTuning::default() {
                env.push(("TRIPLINE_TUNING".to_string(), serde_json::to_string(&t).unwrap_or_default()));
            }
        }
        env
    })
}

pub async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Render { template, check, catalog } => {
            let text = read_template(&template)?;
            let env = function_env(&catalog)?;
            let updated = splice(&text, &render(&catalog.registry()?.metas(), &env))?;
            if updated == text {
                println!("{}: alert functions up to date", template.display());
            } else if check {
                bail!(
                    "{} has drifted from the alert registry: run `tripline infra render`",
                    template.display()
                );
            } else {
                std::fs::write(&template, updated)
                    .with_context(|| format!("writing {}", template.display()))?;
                println!("{}: alert functions rendered", template.display());
            }
            Ok(())
        }
        Command::List => {
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            table.set_header(["alert", "schedule", "severity", "remediation", "what it detects"]);
            for e in tripline_alerts::registry::entries() {
                table.add_row([
                    e.name.clone(),
                    e.schedule.clone(),
                    e.severity.as_str().to_string(),
                    format!("{:?}", e.remediation).to_lowercase(),
                    e.description.clone(),
                ]);
            }
            println!("{table}");
            Ok(())
        }
    }
}

/// The largest template `render` reads (the committed one is a few tens of KiB).
pub const MAX_TEMPLATE_BYTES: u64 = 16 << 20;

/// The template's text: a regular file of at most [`MAX_TEMPLATE_BYTES`] (not a FIFO or device
/// that could be read forever), in UTF-8.
fn read_template(path: &std::path::Path) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path).with_context(|| format!("--template {}", path.display()))?;
    if !meta.is_file() {
        bail!("--template {}: not a regular file", path.display());
    }
    if meta.len() > MAX_TEMPLATE_BYTES {
        bail!(
            "--template {}: {} bytes; a SAM template here is at most {MAX_TEMPLATE_BYTES} bytes",
            path.display(),
            meta.len()
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// `describe_recon` → `DescribeReconFunction`.
pub fn logical_id(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(['_', '-']).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out + "Function"
}

/// The one binary every alert function runs (`cargo lambda` artifact `target/lambda/alert`).
pub const ALERT_BINARY: &str = "alert";

fn quoted(s: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::Value::String(s.to_string()).to_string()
}

/// The generated block (markers included) for these entries, sorted by name.
pub fn render(entries: &[Meta], env: &dyn Fn(&str) -> Vec<(String, String)>) -> String {
    let mut entries = entries.to_vec();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::new();
    let _ = writeln!(out, "{BEGIN}");
    for e in &entries {
        let id = logical_id(&e.name);
        let bin = ALERT_BINARY;
        let _ = write!(
            out,
            r#"  {id}:
    Type: AWS::Serverless::Function
    Properties:
      Description: {description}
      CodeUri: ../target/lambda/{bin}/bootstrap.zip
      MemorySize: {memory}
      Timeout: {timeout}
      ReservedConcurrentExecutions: 1
      EventInvokeConfig:
        MaximumRetryAttempts: 2
        DestinationConfig:
          OnFailure:
            Type: SQS
            Destination: !GetAtt FailedInvocationsQueue.Arn
"#,
            description = quoted(&e.description),
            memory = e.memory_mb,
            timeout = e.timeout_secs,
        );
        let _ = write!(
            out,
            r#"      Environment:
        Variables:
          TRIPLINE_ALERT: {name}
"#,
            name = e.name
        );
        for (k, v) in env(&e.name) {
            let _ = writeln!(out, "          {k}: {}", quoted(&v));
        }
        if e.remediation == Remediation::Contain {
            let _ = writeln!(out, "          TRIPLINE_STATE_MACHINE_ARN: !Ref RemediationStateMachine");
        }
        let _ = write!(
            out,
            r#"      Policies:
        - Statement:
            - Sid: ReadEventsWriteAlerts
              Effect: Allow
              Action: !If [Serverless, ["aoss:APIAccessAll"], ["es:ESHttpGet", "es:ESHttpPost"]]
              Resource: !If [Serverless, !Ref OpenSearchResourceArn, !Sub "${{OpenSearchResourceArn}}/*"]
            - Sid: PublishAlerts
              Effect: Allow
              Action: sns:Publish
              Resource: !Ref AlertsTopic
            - Sid: UseAlertsKey
              Effect: Allow
              Action: [kms:GenerateDataKey, kms:Decrypt]
              Resource: !GetAtt AlertsKey.Arn
"#
        );
        if e.remediation == Remediation::Contain {
            let _ = write!(
                out,
                r#"            - Sid: StartRemediation
              Effect: Allow
              Action: states:StartExecution
              Resource: !Ref RemediationStateMachine
"#
            );
        }
        let _ = write!(
            out,
            r#"      Events:
        Schedule:
          Type: Schedule
          Properties:
            Schedule: {schedule}
            Description: {sched_desc}

"#,
            schedule = e.schedule,
            sched_desc = quoted(&format!("Run the {} alert", e.name)),
        );
        for (metric, what) in [("Errors", "failed"), ("Throttles", "was throttled")] {
            let _ = write!(
                out,
                r#"  {id}{metric}Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: {description}
      Namespace: AWS/Lambda
      MetricName: {metric}
      Dimensions:
        - Name: FunctionName
          Value: !Ref {id}
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: [!Ref AlertsTopic]

"#,
                description = quoted(&format!(
                    "Tripline: the {} alert's function {what} (retried twice, then kept in FailedInvocationsQueue)",
                    e.name
                )),
            );
        }
    }
    let _ = writeln!(out, "{END}");
    out
}

/// Replace the block between the markers in `template` with `block`.
pub fn splice(template: &str, block: &str) -> anyhow::Result<String> {
    let start = template.find(BEGIN).context("the template has no BEGIN GENERATED marker")?;
    let end_at = template[start..].find(END).context("the template has no END GENERATED marker")? + start;
    let after = template[end_at + END.len()..].strip_prefix('\n').unwrap_or(&template[end_at + END.len()..]);
    Ok(format!("{}{}{}", &template[..start], block, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_template_matches_the_registry() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
        let text = std::fs::read_to_string(path).expect("infra/template.yaml is readable");
        let rendered = splice(&text, &render(&tripline_alerts::registry::entries(), &|_| vec![]))
            .expect("markers present");
        assert!(
            rendered == text,
            "infra/template.yaml has drifted from the alert registry: run `cargo run -p tripline-cli -- infra render`"
        );
    }

    #[test]
    fn every_registry_entry_has_a_function_and_schedule() {
        let entries = tripline_alerts::registry::entries();
        let block = render(&entries, &|_| vec![]);
        for e in &entries {
            assert!(block.contains(&format!("  {}:\n", logical_id(&e.name))), "{}", e.name);
            assert!(block.contains(&format!("Schedule: {}\n", e.schedule)), "{}", e.name);
            assert!(block.contains(&format!("TRIPLINE_ALERT: {}\n", e.name)), "{}", e.name);
        }
        assert_eq!(block.matches("ReservedConcurrentExecutions: 1").count(), entries.len());
        // One binary serves them all.
        assert_eq!(block.matches("CodeUri: ../target/lambda/alert/bootstrap.zip").count(), entries.len());
    }

    #[test]
    fn every_function_has_an_on_failure_queue_and_two_alarms_and_never_puts() {
        let entries = tripline_alerts::registry::entries();
        let block = render(&entries, &|_| vec![]);
        let n = entries.len();
        assert_eq!(block.matches("Destination: !GetAtt FailedInvocationsQueue.Arn").count(), n);
        assert_eq!(block.matches("MaximumRetryAttempts: 2").count(), n);
        assert_eq!(block.matches("Type: AWS::CloudWatch::Alarm").count(), 2 * n);
        assert_eq!(block.matches("AlarmActions: [!Ref AlertsTopic]").count(), 2 * n);
        for e in &entries {
            let id = logical_id(&e.name);
            assert!(block.contains(&format!("  {id}ErrorsAlarm:\n")), "{}", e.name);
            assert!(block.contains(&format!("  {id}ThrottlesAlarm:\n")), "{}", e.name);
            assert!(block.contains(&format!("Value: !Ref {id}\n")), "{}", e.name);
        }
        assert!(!block.contains("ESHttpPut"), "templates are installed by the deploy step");
        assert_eq!(block.matches("Resource: !GetAtt AlertsKey.Arn").count(), n);
    }

    #[test]
    fn names_map_to_ids() {
        assert_eq!(logical_id("describe_recon"), "DescribeReconFunction");
        assert_eq!(logical_id("iam_user_multiple_ips"), "IamUserMultipleIpsFunction");
    }

    #[test]
    fn templates_that_are_not_small_regular_files_are_refused() {
        let err = read_template(std::path::Path::new("/dev/null")).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let err = read_template(std::path::Path::new("/no/such/template.yaml")).unwrap_err().to_string();
        assert!(err.contains("--template /no/such/template.yaml"), "{err}");
    }

    #[test]
    fn splice_replaces_only_the_block() {
        let t = format!("a\n{BEGIN}\nold\n{END}\nb\n");
        let out = splice(&t, &format!("{BEGIN}\nnew\n{END}\n")).expect("splice");
        assert_eq!(out, format!("a\n{BEGIN}\nnew\n{END}\nb\n"));
        assert!(splice("no markers", "x").is_err());
    }
}
