//! Sigma correlation rules over thousands of raw CloudTrail records, on both stores: counts,
//! distinct counts and order come from the engine, exact far beyond the sampled events.

mod common;

use std::path::Path;

use serde_json::{json, Value as Json};
use tripline_alerts::Registry;
use tripline_event::AlertRecord;
use tripline_runtime::cases::run_case;
use tripline_sigma::{Expect, Pos, TestCase};
use tripline_store::embedded::EmbeddedStore;
use tripline_store::opensearch::OpenSearchStore;
use tripline_store::EventStore;

const RULES: &str = r#"
title: Console sign-in failed
name: t_login_failed
logsource: {product: aws, service: cloudtrail}
detection:
    sel:
        eventName: ConsoleLogin
        responseElements.ConsoleLogin: Failure
    condition: sel
---
title: Console sign-in succeeded
name: t_login_succeeded
logsource: {product: aws, service: cloudtrail}
detection:
    sel:
        eventName: ConsoleLogin
        responseElements.ConsoleLogin: Success
    condition: sel
---
title: Many failures
name: t_many_failures
correlation:
    type: event_count
    rules: [t_login_failed]
    group-by: [userIdentity.userName]
    timespan: 1h
    condition: {gte: 1000}
---
title: Many user agents failing
name: t_many_agents
correlation:
    type: value_count
    rules: [t_login_failed]
    group-by: [userIdentity.userName]
    timespan: 1h
    condition: {field: userAgent, gte: 100}
---
title: Failures then success
name: t_failures_then_success
correlation:
    type: temporal_ordered
    rules: [t_login_failed, t_login_succeeded]
    group-by: [userIdentity.userName]
    timespan: 1h
"#;

async fn opensearch() -> OpenSearchStore {
    common::opensearch_store("co").await
}

fn login(i: usize, user: &str, agent: usize, outcome: &str, second: usize) -> Json {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "accountId": "123456789012", "userName": user},
        "eventTime": format!("2026-03-02T12:{:02}:{:02}Z", second / 60, second % 60),
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": format!("198.51.{}.{}", i / 250, i % 250 + 1),
        "userAgent": format!("Mozilla/5.0 agent-{agent}"),
        "requestParameters": null,
        "responseElements": {"ConsoleLogin": outcome},
        "additionalEventData": {"MFAUsed": "No"},
        "eventID": format!("corr-{i}"),
        "eventType": "AwsConsoleSignIn",
        "recipientAccountId": "123456789012",
    })
}

/// u1: 1,200 failures from 150 agents, then a success. u2: 999 failures from 50 agents, with
/// its one success before them. 2,201 events in 40 minutes.
fn records() -> Vec<Json> {
    let mut out = Vec::new();
    for i in 0..1200 {
        out.push(login(i, "u1", i % 150, "Failure", i * 2));
    }
    out.push(login(5000, "u2", 0, "Success", 0));
    for i in 0..999 {
        out.push(login(2000 + i, "u2", i % 50, "Failure", 1 + i * 2));
    }
    out.push(login(6000, "u1", 0, "Success", 2400));
    out
}

async fn raised<S: EventStore>(
    store: impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = S>>>,
    name: &str,
) -> Vec<AlertRecord> {
    let (registry, report) = Registry::with_rules([("correlations.yml", RULES)]);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let case = TestCase {
        name: "burst".into(),
        at: Some(tripline_dsl::parse_timestamp("2026-03-02T12:45:00Z").expect("time")),
        records: records(),
        files: vec![],
        expect: Expect::NoAlert,
        pos: Pos::default(),
    };
    let s = store().await;
    let alert = registry.get(name).expect("loaded");
    let o = run_case(&s, alert.as_ref(), &case, Path::new(".")).await.expect("runs");
    assert_eq!(o.events, 2201);
    o.raised
}

fn shown(rs: &[AlertRecord]) -> Vec<&str> {
    rs.iter().map(|r| r.summary.as_str()).collect()
}

fn group(r: &AlertRecord) -> &str {
    r.details["group"]["value"].as_str().unwrap_or_default()
}

async fn check<S: EventStore>(
    store: impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = S>>> + Copy,
) {
    let many = raised(store, "t_many_failures").await;
    assert_eq!(many.len(), 1, "{:?}", shown(&many));
    assert_eq!((group(&many[0]), many[0].details["count"].as_u64()), ("u1", Some(1200)));
    assert!(
        many[0].summary.contains("1200 events in 1h for userIdentity.userName u1"),
        "{}",
        many[0].summary
    );

    let agents = raised(store, "t_many_agents").await;
    assert_eq!(agents.len(), 1, "{:?}", shown(&agents));
    assert_eq!((group(&agents[0]), agents[0].details["count"].as_u64()), ("u1", Some(150)));

    let ordered = raised(store, "t_failures_then_success").await;
    assert_eq!(ordered.iter().map(group).collect::<Vec<_>>(), vec!["u1"], "u2's success came first");
    assert_eq!(ordered[0].details["count"].as_u64(), Some(1201));
}

#[tokio::test]
async fn correlations_count_in_the_engine_on_the_embedded_store() {
    check(|| Box::pin(async { EmbeddedStore::in_memory().expect("store") })).await;
}

#[tokio::test]
async fn correlations_count_in_the_engine_on_opensearch() {
    check(|| Box::pin(opensearch())).await;
}
