//! Delivery against the stand-ins: alerts to a real OpenSearch node, SNS and Step
//! Functions to moto. Read back from the servers, never from our own bookkeeping.

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::TimeDelta;
use serde_json::{json, Value as Json};
use tripline_alerts::{Remediation, Severity};
use tripline_runtime::lambda::{Config, ConfigError, Handler, ScheduledEvent};
use tripline_runtime::metrics::MetricsOut;
use tripline_runtime::sinks::{execution_name, Delivery, Execution};
use tripline_runtime::{
    Route, RunError, RunOptions, Runner, Sinks, Sns, StepFunctions, Webhook, WebhookFormat,
};
use tripline_store::opensearch::{OpenSearchConfig, OpenSearchStore};
use tripline_store::EventStore;

use common::{ct, now, stored_alerts, tagged, CreateUser};

static N: AtomicUsize = AtomicUsize::new(0);

/// A name no other test (or run against a shared cluster) uses.
fn unique(what: &str) -> String {
    format!("rt{}x{}-{what}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

fn os_config(tag: &str) -> OpenSearchConfig {
    let mut c = OpenSearchConfig::for_url(tripline_testkit::opensearch_url()).expect("OpenSearch url");
    c.events_prefix = format!("{tag}-events-");
    c.alerts_index = format!("{tag}-alerts");
    c
}

async fn os_store() -> OpenSearchStore {
    OpenSearchStore::connect(os_config(&unique("os"))).await.expect("connect to OpenSearch")
}

async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(tripline_testkit::moto_url())
        .credentials_provider(aws_sdk_sns::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

struct Aws {
    sns: aws_sdk_sns::Client,
    sfn: aws_sdk_sfn::Client,
    topic_arn: String,
    state_machine_arn: String,
}

async fn moto() -> Aws {
    let sdk = sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let topic = sns.create_topic().name(unique("alerts")).send().await.expect("create topic");
    let machine = sfn
        .create_state_machine()
        .name(unique("remediate"))
        .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/tripline-test")
        .send()
        .await
        .expect("create state machine");
    Aws {
        topic_arn: topic.topic_arn().expect("topic arn").to_string(),
        state_machine_arn: machine.state_machine_arn().to_string(),
        sns,
        sfn,
    }
}

impl Aws {
    fn sinks(&self) -> Sinks {
        Sinks::none()
            .with(Sns::new(self.sns.clone(), &self.topic_arn))
            .with(StepFunctions::new(self.sfn.clone(), &self.state_machine_arn))
    }

    /// Messages moto recorded as published to the topic: (message, subject, attributes).
    fn published(&self) -> Vec<(Json, String, Json)> {
        let data = moto_data();
        let topics = data["sns"]["Topic"].as_array().cloned().unwrap_or_default();
        let topic =
            topics.iter().find(|t| t["arn"] == self.topic_arn.as_str()).expect("topic in moto's data");
        topic["sent_notifications"]
            .as_array()
            .expect("sent_notifications")
            .iter()
            .map(|n| {
                let message: Json =
                    serde_json::from_str(n[1].as_str().expect("message text")).expect("message is JSON");
                (message, n[2].as_str().unwrap_or_default().to_string(), n[3].clone())
            })
            .collect()
    }

    async fn executions(&self) -> Vec<String> {
        let out = self
            .sfn
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .send()
            .await
            .expect("list executions");
        out.executions().iter().map(|e| e.execution_arn().to_string()).collect()
    }
}

/// moto's internal state (`GET /moto-api/data.json`).
fn moto_data() -> Json {
    let url = tripline_testkit::moto_url();
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect to moto");
    s.write_all(format!("GET /moto-api/data.json HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .expect("request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("response");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.") && head.contains(" 200"), "{head}");
    serde_json::from_str(body).expect("moto data is JSON")
}

async fn two_create_users(store: &dyn EventStore) {
    let n = now();
    common::index(
        store,
        &[
            ct("CreateUser", "arn:aws:iam::1:user/a", "198.51.100.1", n - TimeDelta::minutes(5)),
            ct("CreateUser", "arn:aws:iam::1:user/b", "198.51.100.2", n - TimeDelta::minutes(10)),
            ct("DeleteUser", "arn:aws:iam::1:user/a", "198.51.100.1", n - TimeDelta::minutes(5)),
        ],
    )
    .await;
}

#[tokio::test]
async fn delivers_once_to_the_alerts_index_sns_and_step_functions() {
    let store = os_store().await;
    let aws = moto().await;
    two_create_users(&store).await;
    let runner = Runner::new(&store).with_sinks(aws.sinks());

    let report = runner.run(&CreateUser, Remediation::Contain, now()).await.expect("run");
    assert_eq!(report.raised.len(), 2);
    assert_eq!((report.sns_published(), report.executions_started(), report.events_tagged), (2, 2, 2));
    let ids: HashSet<String> = report.raised.iter().map(|a| a.id.clone()).collect();

    // SNS, read back from moto.
    let published = aws.published();
    assert_eq!(published.len(), 2);
    let published_ids: HashSet<String> =
        published.iter().map(|(m, _, _)| m["id"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(published_ids, ids);
    for (message, subject, attributes) in &published {
        assert_eq!(message["classname"], "test_create_user");
        assert_eq!(message["events"][0]["documentsource"]["details"]["eventname"], "CreateUser");
        assert!(subject.starts_with("[WARNING] IAM user created by arn:aws:iam::1:user/"), "{subject}");
        assert!(attributes["severity"].to_string().contains("WARNING"), "{attributes}");
        assert!(attributes["category"].to_string().contains("access"), "{attributes}");
    }

    // Step Functions: one execution per alert, named after it, with the alert and resource.
    let executions = aws.executions().await;
    assert_eq!(executions.len(), 2);
    for alert in &report.raised {
        let arn = Delivery::of(alert).get("stepfunctions").expect("execution marker").to_string();
        assert!(arn.ends_with(&execution_name(alert)), "{arn}");
        let described =
            aws.sfn.describe_execution().execution_arn(&arn).send().await.expect("describe execution");
        let input: Json = serde_json::from_str(described.input().expect("input")).expect("input is JSON");
        // What statemachines/guardduty-remediation.asl.json reads from a Tripline alert.
        assert_eq!(input["id"], alert.id.as_str());
        assert_eq!(input["classname"], "test_create_user");
        assert_eq!(input["details"]["resource"], json!({"type": "Instance", "id": "i-0123456789abcdef0"}));
        assert!(input["details"].get("delivery").is_none(), "the same input whichever attempt sends it");
    }

    // The alerts index holds both, with their delivery markers; the events are tagged.
    let stored = stored_alerts(&store, "test_create_user").await;
    assert_eq!(stored.len(), 2);
    for a in &stored {
        assert!(a["details"]["delivery"]["sns"].is_string(), "{a}");
        assert!(a["details"]["delivery"]["stepfunctions"].is_string(), "{a}");
    }
    assert_eq!(tagged(&store, "test_create_user").await, 2);

    // A second run raises nothing and sends nothing.
    let again = runner.run(&CreateUser, Remediation::Contain, now()).await.expect("second run");
    assert!(again.raised.is_empty());
    assert_eq!(aws.published().len(), 2);
    assert_eq!(aws.executions().await.len(), 2);
    assert_eq!(stored_alerts(&store, "test_create_user").await.len(), 2);
}

#[tokio::test]
async fn an_sns_failure_leaves_events_untagged_and_the_retry_delivers_once() {
    let store = os_store().await;
    let aws = moto().await;
    two_create_users(&store).await;
    let broken =
        Sinks::none().with(Sns::new(aws.sns.clone(), "arn:aws:sns:us-east-1:123456789012:no-such-topic"));
    let err = Runner::new(&store)
        .with_sinks(broken)
        .run(&CreateUser, Remediation::None, now())
        .await
        .expect_err("publishing to a missing topic fails");
    assert!(matches!(err, RunError::Sink { .. }), "{err}");
    assert!(err.to_string().contains("no-such-topic"), "{err}");
    assert_eq!(tagged(&store, "test_create_user").await, 0, "nothing tagged: a retry must see the events");
    let stored = stored_alerts(&store, "test_create_user").await;
    assert_eq!(stored.len(), 2, "alerts are indexed before the notification");
    assert!(stored.iter().all(|a| a["details"].get("delivery").is_none()));

    // The retry (same clock) raises the same ids and delivers them.
    let sinks = Sinks::none().with(Sns::new(aws.sns.clone(), &aws.topic_arn));
    let retry = Runner::new(&store)
        .with_sinks(sinks)
        .run(&CreateUser, Remediation::None, now())
        .await
        .expect("retry");
    let stored_ids: HashSet<String> =
        stored.iter().map(|a| a["id"].as_str().unwrap_or_default().to_string()).collect();
    let retry_ids: HashSet<String> = retry.raised.iter().map(|a| a.id.clone()).collect();
    assert_eq!(stored_ids, retry_ids);
    assert_eq!(retry.sns_published(), 2);
    assert_eq!(aws.published().len(), 2);
    assert_eq!(tagged(&store, "test_create_user").await, 2);
    assert_eq!(stored_alerts(&store, "test_create_user").await.len(), 2);
}

#[tokio::test]
async fn a_step_functions_failure_after_sns_does_not_publish_twice() {
    let store = os_store().await;
    let aws = moto().await;
    two_create_users(&store).await;
    let broken = Sinks::none().with(Sns::new(aws.sns.clone(), &aws.topic_arn)).with(StepFunctions::new(
        aws.sfn.clone(),
        "arn:aws:states:us-east-1:123456789012:stateMachine:no-such-machine",
    ));
    let err = Runner::new(&store)
        .with_sinks(broken)
        .run(&CreateUser, Remediation::Contain, now())
        .await
        .expect_err("starting a missing state machine fails");
    assert!(err.to_string().contains("no-such-machine"), "{err}");
    assert_eq!(aws.published().len(), 1, "the first alert was published before its remediation failed");
    assert_eq!(tagged(&store, "test_create_user").await, 0);

    let retry = Runner::new(&store)
        .with_sinks(aws.sinks())
        .run(&CreateUser, Remediation::Contain, now())
        .await
        .expect("retry");
    assert_eq!(retry.already_delivered_to("sns"), 1, "the marker stops a second message");
    assert_eq!(retry.sns_published(), 1);
    assert_eq!(retry.executions_started(), 2);
    assert_eq!(aws.published().len(), 2, "one message per alert, across both attempts");
    let published: HashSet<String> =
        aws.published().iter().map(|(m, _, _)| m["id"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(published.len(), 2);
    assert_eq!(aws.executions().await.len(), 2);
    assert_eq!(tagged(&store, "test_create_user").await, 2);
}

#[tokio::test]
async fn a_second_start_for_the_same_alert_is_already_delivered() {
    let store = os_store().await;
    let aws = moto().await;
    two_create_users(&store).await;
    let raised = Runner::new(&store).evaluate(&CreateUser, now()).await.expect("evaluate");
    let sfn = StepFunctions::new(aws.sfn.clone(), &aws.state_machine_arn);
    let first = sfn.start(&raised[0].record).await.expect("start");
    assert!(matches!(first, Execution::Started(_)), "{first:?}");
    // While it runs, an identical start is answered with the same execution.
    let again = sfn.start(&raised[0].record).await.expect("start again");
    assert_eq!(again.arn(), first.arn(), "{again:?}");
    // Once it has finished, the name is refused: ExecutionAlreadyExists, which counts as delivered.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let d = aws.sfn.describe_execution().execution_arn(first.arn()).send().await.expect("describe");
        if d.status().as_str() != "RUNNING" {
            assert_eq!(d.status().as_str(), "SUCCEEDED");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the Pass execution did not finish");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let second = sfn.start(&raised[0].record).await.expect("start after it finished");
    assert_eq!(second, Execution::AlreadyExists(first.arn().to_string()));
    assert_eq!(aws.executions().await.len(), 1);

    // A run that finds the execution already there counts it, and starts only the other one.
    let report = Runner::new(&store)
        .with_sinks(aws.sinks())
        .run(&CreateUser, Remediation::Contain, now())
        .await
        .expect("run");
    assert_eq!((report.executions_started(), report.already_delivered_to("stepfunctions")), (1, 1));
    assert_eq!(aws.executions().await.len(), 2);
}

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
        Handler::new(Box::new(CreateUser), Remediation::Contain, store.clone(), aws.sinks(), options)
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

fn build_create_user() -> Box<dyn tripline_alerts::Alert> {
    Box::new(CreateUser)
}

fn entry(remediation: Remediation) -> tripline_alerts::RegistryEntry {
    tripline_alerts::RegistryEntry {
        name: "test_create_user",
        description: "test",
        schedule: "rate(5 minutes)",
        severity: Severity::Warning,
        remediation,
        memory_mb: 256,
        timeout_secs: 60,
        build: build_create_user,
    }
}

#[tokio::test]
async fn a_handler_built_from_the_environment_delivers() {
    let aws = moto().await;
    let tag = unique("env");
    let config = env_config(&aws, &tag);
    let sdk = sdk_config().await;

    let no_machine = Config { state_machine_arn: None, ..config.clone() };
    let err =
        Handler::from_config(&entry(Remediation::Contain), no_machine, &sdk).await.err().expect("refused");
    assert!(matches!(err, ConfigError::NoStateMachine(_)), "{err}");

    let store = OpenSearchStore::connect(os_config(&tag)).await.expect("connect");
    two_create_users(&store).await;
    let handler = Handler::from_config(&entry(Remediation::Contain), config, &sdk).await.expect("handler");
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
    let entry = tripline_alerts::registry::find("guardduty_finding").expect("registered");
    assert_eq!(entry.remediation, Remediation::None);
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
    let handler = Handler::from_config(&entry, config, &sdk_config().await).await.expect("handler");
    let summary = handler.handle(&scheduled_event()).await.expect("run");
    assert_eq!((summary.raised, summary.sns_published), (1, 1), "the finding is reported");
    assert_eq!(summary.executions_started, 0, "and nothing is contained");
    assert!(aws.executions().await.is_empty());
}

// ------------------------------------------------------------------ webhooks

/// A receiving end for webhooks: answers `status` to every POST and records what it got.
async fn webhook_server(status: u16, body: Json) -> tripline_testkit::fault::FaultServer {
    tripline_testkit::fault::FaultServer::start(move |_, _| {
        tripline_testkit::fault::json_answer(status, body.clone())
    })
    .await
}

#[tokio::test]
async fn a_webhook_is_delivered_exactly_once_across_a_retried_run() {
    let store = os_store().await;
    let aws = moto().await;
    two_create_users(&store).await;
    let slack = webhook_server(200, json!("ok")).await;
    let pagerduty = webhook_server(202, json!({"status": "success", "message": "Event processed"})).await;
    let hooks = || {
        let slack_hook = Webhook::new(
            "chat",
            &format!("{}/services/T0/B0/secret", slack.url),
            WebhookFormat::Slack,
            Route::default(),
        )
        .expect("slack hook");
        let pd_hook = Webhook::new(
            "oncall",
            &format!("{}/v2/enqueue", pagerduty.url),
            WebhookFormat::PagerDuty { routing_key: "routing-key".into() },
            Route { min_severity: tripline_alerts::Severity::Warning, tags: vec!["iam".into()] },
        )
        .expect("pagerduty hook");
        (slack_hook, pd_hook)
    };

    // The first attempt delivers to both webhooks, then fails on the remediation workflow.
    let (slack_hook, pd_hook) = hooks();
    let broken = Sinks::none().with(slack_hook).with(pd_hook).with(StepFunctions::new(
        aws.sfn.clone(),
        "arn:aws:states:us-east-1:123456789012:stateMachine:no-such-machine",
    ));
    let err = Runner::new(&store)
        .with_sinks(broken)
        .run(&CreateUser, Remediation::Contain, now())
        .await
        .expect_err("the missing state machine fails the run");
    assert!(err.to_string().contains("no-such-machine"), "{err}");
    assert_eq!(slack.requests().len(), 1, "the first alert reached the chat before the failure");
    assert_eq!(pagerduty.requests().len(), 1);

    // The retry delivers the second alert to each webhook and nothing twice.
    let (slack_hook, pd_hook) = hooks();
    let sinks = Sinks::none()
        .with(slack_hook)
        .with(pd_hook)
        .with(StepFunctions::new(aws.sfn.clone(), &aws.state_machine_arn));
    let retry = Runner::new(&store)
        .with_sinks(sinks)
        .run(&CreateUser, Remediation::Contain, now())
        .await
        .expect("retry");
    assert_eq!(retry.raised.len(), 2);
    assert_eq!((retry.delivered_to("webhook:chat"), retry.already_delivered_to("webhook:chat")), (1, 1));
    assert_eq!((retry.delivered_to("webhook:oncall"), retry.already_delivered_to("webhook:oncall")), (1, 1));
    let chat = slack.requests();
    assert_eq!(chat.len(), 2, "one message per alert across both attempts");
    let texts: HashSet<String> = chat
        .iter()
        .map(|r| {
            assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/services/T0/B0/secret"));
            let body: Json = serde_json::from_str(&r.body).expect("JSON body");
            body["text"].as_str().expect("text").to_string()
        })
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts.iter().all(|t| t.starts_with("[WARNING] IAM user created by")), "{texts:?}");
    let pd: Vec<Json> =
        pagerduty.requests().iter().map(|r| serde_json::from_str(&r.body).expect("JSON")).collect();
    let keys: HashSet<&str> = pd.iter().filter_map(|e| e["dedup_key"].as_str()).collect();
    let ids: HashSet<&str> = retry.raised.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(keys, ids, "PagerDuty deduplicates by alert id");
    assert!(pd.iter().all(|e| e["routing_key"] == "routing-key" && e["payload"]["severity"] == "warning"));

    // The receipts are in the alerts index, next to the others.
    for a in stored_alerts(&store, "test_create_user").await {
        assert!(a["details"]["delivery"]["webhook:chat"].is_string(), "{a}");
        assert!(a["details"]["delivery"]["webhook:oncall"].is_string(), "{a}");
        assert!(a["details"]["delivery"]["stepfunctions"].is_string(), "{a}");
    }
    // A third run has nothing left to send.
    let (slack_hook, pd_hook) = hooks();
    let again = Runner::new(&store)
        .with_sinks(Sinks::none().with(slack_hook).with(pd_hook))
        .run(&CreateUser, Remediation::None, now())
        .await
        .expect("third run");
    assert!(again.raised.is_empty());
    assert_eq!((slack.requests().len(), pagerduty.requests().len()), (2, 2));
}

#[tokio::test]
async fn a_webhook_that_refuses_fails_the_run_without_showing_its_secret() {
    let store = os_store().await;
    two_create_users(&store).await;
    let refusing = webhook_server(500, json!({"error": "down"})).await;
    let hook = Webhook::new(
        "chat",
        &format!("{}/services/T0/B0/s3cr3t", refusing.url),
        WebhookFormat::Slack,
        Route::default(),
    )
    .expect("hook");
    let err = Runner::new(&store)
        .with_sinks(Sinks::none().with(hook))
        .run(&CreateUser, Remediation::None, now())
        .await
        .expect_err("a 500 fails the run");
    let text = err.to_string();
    assert!(matches!(err, RunError::Sink { .. }), "{text}");
    assert!(text.contains("webhook:chat") && text.contains("HTTP 500"), "{text}");
    assert!(!text.contains("s3cr3t"), "{text}");
    assert_eq!(tagged(&store, "test_create_user").await, 0, "a retry must still see the events");
}

#[tokio::test]
async fn a_webhook_routed_by_severity_and_tags_skips_the_rest() {
    let store = os_store().await;
    two_create_users(&store).await;
    let server = webhook_server(200, json!("ok")).await;
    let only_critical = Webhook::new(
        "pager",
        &format!("{}/hook", server.url),
        WebhookFormat::Slack,
        Route { min_severity: tripline_alerts::Severity::Critical, tags: vec![] },
    )
    .expect("hook");
    let report = Runner::new(&store)
        .with_sinks(Sinks::none().with(only_critical))
        .run(&CreateUser, Remediation::None, now())
        .await
        .expect("run");
    assert_eq!(report.raised.len(), 2, "the alerts are raised and indexed");
    assert_eq!(report.delivered_to("webhook:pager"), 0);
    assert!(server.requests().is_empty(), "WARNING alerts do not reach a CRITICAL-only webhook");
}
