//! Delivery against the stand-ins: alerts to a real OpenSearch node, SNS and Step
//! Functions to moto. Read back from the servers, never from our own bookkeeping.

mod common;
#[path = "common/standins.rs"]
mod standins;

use std::collections::HashSet;

use serde_json::{json, Value as Json};
use tripline_alerts::Remediation;
use tripline_runtime::sinks::{execution_name, Delivery, Execution};
use tripline_runtime::{Route, RunError, Runner, Sinks, Sns, StepFunctions, Webhook, WebhookFormat};

use common::{now, stored_alerts, tagged, CreateUser};
use standins::{moto, os_store, two_create_users};

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
