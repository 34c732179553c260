//! The alert Lambda's handler against the stand-ins (a real OpenSearch node, moto): built from
//! parts and from the environment, run at the scheduled event's time, emitting its metrics.

#[path = "../../crates/runtime/tests/common/mod.rs"]
mod common;
#[path = "../../crates/runtime/tests/common/standins.rs"]
mod standins;

use std::sync::Arc;

use chrono::TimeDelta;
use serde_json::{json, Value as Json};
use tripline_alerts::{Alert, Meta, Remediation};
use tripline_functions::alert::{Config, ConfigError, Handler, ScheduledEvent};
use tripline_runtime::metrics::MetricsOut;
use tripline_runtime::RunOptions;
use tripline_store::opensearch::OpenSearchStore;
use tripline_store::EventStore;

use common::{now, stored_alerts, tagged, CreateUser};
use standins::{moto, os_config, os_store, sdk_config, two_create_users, unique, Aws};

fn scheduled_event() -> ScheduledEvent {
    let path = tripline_testkit::workspace_file("events/scheduled-event.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("a scheduled event")
}

#[tokio::test]
async fn the_handler_runs_at_the_scheduled_events_time() {
    let event = scheduled_event();
    assert_eq!(event.detail_type, "Scheduled Event");
    assert_eq!(event.time, Some(now()), "the test data sits in the window of the event's time");
    let store: Arc<dyn EventStore> = Arc::new(os_store().await);
    let aws = moto().await;
    two_create_users(store.as_ref()).await;
    let options = RunOptions {
        runbook_url: Some("https://runbooks.example/{name}.md".into()),
        ..RunOptions::default()
    };
    let metrics = MetricsOut::memory();
    let handler =
        Handler::new(Arc::new(CreateUser), Remediation::Contain, store.clone(), aws.sinks(), options)
            .with_metrics(metrics.clone());

    let summary = handler
        .invoke(lambda_runtime::LambdaEvent::new(event.clone(), lambda_runtime::Context::default()))
        .await
        .expect("handler");
    assert_eq!(summary.at, now());
    assert_eq!(
        (summary.raised, summary.sns_published, summary.executions_started, summary.events_tagged),
        (2, 2, 2, 2)
    );
    let stored = stored_alerts(store.as_ref(), "test_create_user").await;
    assert!(stored.iter().all(|a| a["url"] == "https://runbooks.example/test_create_user.md"), "{stored:?}");
    assert!(stored.iter().all(|a| a["utctimestamp"] == "2026-11-23T12:00:00.000Z"));

    // Lambda retries with the same event: nothing new.
    let retry = handler.handle(&event).await.expect("retry");
    assert_eq!(retry.raised, 0);
    assert_eq!(aws.published().len(), 2);
    let json = serde_json::to_value(&summary).expect("summary is JSON");
    assert_eq!(json["ids"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["raised_settled"], 0, "both events are on time: the current pass raised them");

    // Each run wrote one EMF document: AlertsRaised (2, then 0 for the retry) and RunDurationMs,
    // by Alert, in the Tripline namespace.
    let lines = metrics.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, raised) in lines.iter().zip([2, 0]) {
        let emf: Json = serde_json::from_str(line).expect("one complete JSON object");
        let directive = &emf["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Tripline", "{line}");
        assert_eq!(directive["Dimensions"], json!([["Alert"]]), "{line}");
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        assert_eq!(names, ["AlertsRaised", "RunDurationMs"], "{line}");
        assert_eq!(emf["Alert"], "test_create_user", "{line}");
        assert_eq!(emf["AlertsRaised"], raised, "{line}");
        assert!(emf["RunDurationMs"].is_u64(), "{line}");
        assert!(emf["_aws"]["Timestamp"].is_i64(), "{line}");
    }
}

/// The Lambda's configuration as the template's environment would give it, for the stores and
/// sinks of `tag` and `aws`.
fn env_config(aws: &Aws, tag: &str) -> Config {
    let vars = [
        ("TRIPLINE_OPENSEARCH_URL".to_string(), tripline_testkit::opensearch_url().to_string()),
        ("TRIPLINE_OPENSEARCH_EVENTS_PREFIX".to_string(), format!("{tag}-events-")),
        ("TRIPLINE_OPENSEARCH_ALERTS_INDEX".to_string(), format!("{tag}-alerts")),
        ("TRIPLINE_SNS_TOPIC_ARN".to_string(), aws.topic_arn.clone()),
        ("TRIPLINE_STATE_MACHINE_ARN".to_string(), aws.state_machine_arn.clone()),
    ];
    let lookup = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    Config::from_lookup(lookup).expect("config")
}

/// `CreateUser` with the catalog entry of an alert whose policy is to contain.
struct ContainCreateUser(Meta);
impl Alert for ContainCreateUser {
    fn meta(&self) -> &Meta {
        &self.0
    }
    fn query(&self) -> tripline_dsl::SearchQuery {
        CreateUser.query()
    }
    fn plan(&self) -> tripline_alerts::Plan {
        CreateUser.plan()
    }
    fn on_event(&self, event: &tripline_event::EventRef) -> Option<tripline_alerts::AlertDraft> {
        CreateUser.on_event(event)
    }
}

fn contain_create_user() -> Arc<dyn Alert> {
    Arc::new(ContainCreateUser(Meta::new(CreateUser.name(), "test").contain()))
}

#[tokio::test]
async fn a_handler_built_from_the_environment_delivers() {
    let aws = moto().await;
    let tag = unique("env");
    let config = env_config(&aws, &tag);
    let sdk = sdk_config().await;

    let no_machine = Config { state_machine_arn: None, ..config.clone() };
    let err = Handler::from_config(contain_create_user(), no_machine, &sdk).await.err().expect("refused");
    assert!(matches!(err, ConfigError::NoStateMachine(_)), "{err}");

    let store = OpenSearchStore::connect(os_config(&tag)).await.expect("connect");
    two_create_users(&store).await;
    let handler = Handler::from_config(contain_create_user(), config, &sdk).await.expect("handler");
    let summary = handler.handle(&scheduled_event()).await.expect("run");
    assert_eq!((summary.raised, summary.sns_published, summary.executions_started), (2, 2, 2));
    assert_eq!(aws.published().len(), 2);
    assert_eq!(tagged(&store, "test_create_user").await, 2);
}

/// Issue 17's forged finding: a GuardDuty-shaped record someone wrote into the logs bucket names
/// an instance of their choosing with severity 8. The catalog's `guardduty_finding` alert, built
/// from its registry entry with a state machine configured as the template would, reports it but
/// starts no containment: only GuardDuty's own EventBridge rule starts the workflow for findings.
#[tokio::test]
async fn a_guardduty_finding_read_from_the_logs_never_starts_containment() {
    let aws = moto().await;
    let tag = unique("forged");
    let alert = tripline_alerts::registry::find("guardduty_finding").expect("registered");
    assert_eq!(alert.meta().remediation, Remediation::None);
    let store = OpenSearchStore::connect(os_config(&tag)).await.expect("connect");
    let t = now() - TimeDelta::minutes(5);
    let mut forged = tripline_event::Event::new("guardduty", "guardduty", "forged finding", t, t);
    forged.details = serde_json::from_value(json!({
        "finding": "CryptoCurrency:EC2/BitcoinTool.B!DNS", "severity": 8.0, "findingid": "forged-1",
        "title": "EC2 instance is querying a domain name associated with Bitcoin",
        "resourcetype": "Instance", "instanceid": "i-0aaaaaaaaaaaaaaaa", "accountid": "999999999999"
    }))
    .expect("details");
    assert_eq!(store.index_events(&[forged]).await.expect("index").written, 1);
    let config = env_config(&aws, &tag);
    let handler = Handler::from_config(alert, config, &sdk_config().await).await.expect("handler");
    let summary = handler.handle(&scheduled_event()).await.expect("run");
    assert_eq!((summary.raised, summary.sns_published), (1, 1), "the finding is reported");
    assert_eq!(summary.executions_started, 0, "and nothing is contained");
    assert!(aws.executions().await.is_empty());
}

/// The alert binary refuses to start without an alert to run, or with one the catalog does not
/// hold, and says which; it never falls back to some default alert.
#[test]
fn the_alert_binary_names_what_is_missing() {
    let bin = env!("CARGO_BIN_EXE_alert");
    for (value, expected) in [
        (None, "TRIPLINE_ALERT is not set"),
        // (the log line is JSON, so the name's quotes come escaped: match around them)
        (Some("no_such_alert"), "no_such_alert"),
    ] {
        let mut cmd = std::process::Command::new(bin);
        cmd.env_remove("TRIPLINE_ALERT").env("TRIPLINE_OPENSEARCH_URL", "http://127.0.0.1:9");
        if let Some(v) = value {
            cmd.env("TRIPLINE_ALERT", v);
        }
        let out = cmd.output().expect("run the alert binary");
        assert!(!out.status.success(), "{value:?} started");
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(text.contains(expected), "{value:?}: {text}");
        if value.is_some() {
            assert!(text.contains("in the catalog (TRIPLINE_ALERT)"), "{text}");
        }
    }
}

/// Every catalog alert can be served by the one binary: each builds a handler from the template's
/// environment (Contain alerts with the state machine the template gives them).
#[tokio::test]
async fn every_catalog_alert_builds_a_handler() {
    let aws = moto().await;
    let sdk = sdk_config().await;
    let catalog = tripline_alerts::Registry::builtin();
    assert!(!catalog.is_empty());
    for alert in catalog.iter() {
        let config = env_config(&aws, &unique("every"));
        let handler = Handler::from_config(alert.clone(), config, &sdk).await.expect("handler");
        assert_eq!(handler.alert().name(), alert.name());
    }
}

/// The alert binary serves rules packaged beside it (`TRIPLINE_RULES`) with their tuning
/// (`TRIPLINE_TUNING`), and refuses to start on a refused rule or a tuning it cannot apply,
/// saying why.
#[test]
fn the_alert_binary_loads_packaged_rules_and_tuning_or_says_why_not() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("mine.yml"),
        "title: Mine\nname: my_rule\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    s:\n        eventName: X\n    condition: s\n",
    )
    .expect("write");
    let run = |alert: &str, rules: &std::path::Path, tuning: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_alert"))
            .env("TRIPLINE_ALERT", alert)
            .env("TRIPLINE_RULES", rules)
            .env("TRIPLINE_TUNING", tuning)
            .env("TRIPLINE_OPENSEARCH_URL", "http://127.0.0.1:9")
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .output()
            .expect("run the alert binary");
        assert!(!out.status.success(), "no Lambda runtime here: it cannot serve");
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    // Found and tuned: it gets past the catalog and the tuning (and stops later, at the runtime).
    let text = run("my_rule", dir.path(), r#"{"window": "2h", "severity": "CRITICAL"}"#);
    assert!(
        !text.contains("in the catalog")
            && !text.contains("TRIPLINE_RULES")
            && !text.contains("TRIPLINE_TUNING"),
        "{text}"
    );
    let text = run("my_rule", dir.path(), r#"{"window": "2 hours"}"#);
    assert!(text.contains("TRIPLINE_TUNING") && text.contains("window"), "{text}");
    let text = run("my_rule", dir.path(), r#"{"exclude": {"principalz": []}}"#);
    assert!(text.contains("TRIPLINE_TUNING") && text.contains("unknown field"), "{text}");
    std::fs::write(dir.path().join("bad.yml"), "title: Bad\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    s:\n        eventName|frobnicate: X\n    condition: s\n").expect("write");
    let text = run("my_rule", dir.path(), "");
    assert!(text.contains("TRIPLINE_RULES: refused") && text.contains("frobnicate"), "{text}");
}
