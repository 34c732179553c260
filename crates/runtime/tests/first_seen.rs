//! First-seen alerts (`Plan::NewTerms`) across scheduled runs, on both stores: a principal
//! raises once, when it first does the thing; later events of it, in the same window or after
//! it, raise nothing; another principal new in a later window raises on its own; and a role's
//! new session is not a new principal.

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value as Json};
use tripline_alerts::{registry, Remediation};
use tripline_runtime::{RunOptions, Runner};
use tripline_store::embedded::EmbeddedStore;
use tripline_store::EventStore;

fn invoke(n: usize, identity: Json, at: &str) -> Json {
    json!({
        "eventVersion": "1.09", "userIdentity": identity, "eventTime": at,
        "eventSource": "bedrock.amazonaws.com", "eventName": "InvokeModel", "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.45", "userAgent": "Boto3/1.34.131",
        "requestParameters": {"modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0"}, "responseElements": null,
        "eventID": format!("fs-{n}"), "readOnly": true, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": "123456789012", "eventCategory": "Management"
    })
}

fn user(name: &str) -> Json {
    json!({"type": "IAMUser", "principalId": format!("AIDA{name}"), "arn": format!("arn:aws:iam::123456789012:user/{name}"),
           "accountId": "123456789012", "accessKeyId": format!("AKIA{name}"), "userName": name})
}

fn task(session: &str) -> Json {
    json!({"type": "AssumedRole", "principalId": format!("AROACHAT:{session}"),
           "arn": format!("arn:aws:sts::123456789012:assumed-role/chat-task/{session}"), "accountId": "123456789012",
           "accessKeyId": "ASIACHAT", "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROACHAT",
           "arn": "arn:aws:iam::123456789012:role/chat-task", "accountId": "123456789012", "userName": "chat-task"},
           "attributes": {"creationDate": "2026-03-02T09:00:00Z", "mfaAuthenticated": "false"}}})
}

fn t(s: &str) -> DateTime<Utc> {
    tripline_dsl::parse_timestamp(s).expect("time")
}

async fn ingest(store: &dyn EventStore, records: Vec<Json>) {
    let mut events = Vec::new();
    for (i, r) in records.into_iter().enumerate() {
        let opts = tripline_normalize::Options {
            clock: tripline_normalize::Clock::Fixed(t("2026-03-03T00:00:00Z")),
            ..tripline_normalize::Options::default()
        };
        tripline_normalize::read_value(r, &format!("record {i}"), &opts, |e| {
            events.push(e.expect("normalizes"))
        });
    }
    let report = store.index_events(&events).await.expect("indexed");
    assert!(report.failed.is_empty(), "{:?}", report.failed.first());
}

async fn check(store: &dyn EventStore) {
    ingest(
        store,
        vec![
            // The baseline: the store reaches back beyond the 30-day look-back, and the chat
            // task role used Bedrock last week.
            invoke(0, task("task-1"), "2026-01-20T10:00:00Z"),
            invoke(1, task("task-1"), "2026-02-24T10:00:00Z"),
            invoke(2, user("mallory"), "2026-03-02T10:05:00Z"),
            invoke(3, user("mallory"), "2026-03-02T10:06:00Z"),
            invoke(4, task("task-2"), "2026-03-02T10:07:00Z"),
            invoke(5, user("mallory"), "2026-03-02T10:12:00Z"),
            invoke(6, user("erin"), "2026-03-02T10:13:00Z"),
            invoke(7, user("mallory"), "2026-03-02T10:40:00Z"),
        ],
    )
    .await;
    let alert = registry::find("bedrock_first_use").expect("in the catalog");
    let runner =
        Runner::new(store).with_options(RunOptions { lateness: TimeDelta::zero(), ..RunOptions::default() });
    let mut raised = Vec::new();
    let mut at = t("2026-03-02T10:00:00Z");
    while at <= t("2026-03-02T11:00:00Z") {
        let report = runner.run(alert.as_ref(), Remediation::None, at).await.expect("runs");
        raised.extend(
            report
                .raised
                .into_iter()
                .map(|a| (at, a.details["principal"].as_str().unwrap_or_default().to_string())),
        );
        at += TimeDelta::minutes(5);
    }
    let shown: Vec<(String, String)> =
        raised.iter().map(|(at, p)| (tripline_event::format_timestamp(*at), p.clone())).collect();
    assert_eq!(
        shown,
        vec![
            ("2026-03-02T10:05:00.000Z".to_string(), "arn:aws:iam::123456789012:user/mallory".to_string()),
            ("2026-03-02T10:15:00.000Z".to_string(), "arn:aws:iam::123456789012:user/erin".to_string()),
        ],
        "each new principal once, at the first tick after its first call; the task role's new session is not new"
    );
}

#[tokio::test]
async fn first_seen_on_the_embedded_store() {
    let store = EmbeddedStore::in_memory().expect("store");
    check(&store).await;
}

#[tokio::test]
async fn first_seen_on_opensearch() {
    let store = common::opensearch_store("fs").await;
    check(&store).await;
}
