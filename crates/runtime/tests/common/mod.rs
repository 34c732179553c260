//! Test alerts, events, and the store-agnostic runtime checks run against both stores.
#![allow(dead_code)]

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use tripline_alerts::{
    create_alert, field_text, resource, Alert, AlertDraft, Group, Plan, Remediation, Severity,
};
use tripline_dsl::prelude::*;
use tripline_dsl::QueryAst;
use tripline_event::Event;
use tripline_runtime::Runner;
use tripline_store::{EventStore, SearchRequest, Sort};

pub fn t(s: &str) -> DateTime<Utc> {
    tripline_dsl::parse_timestamp(s).expect("test timestamp")
}

/// The clock of every test (and of `events/scheduled-event.json`).
pub fn now() -> DateTime<Utc> {
    t("2026-11-23T12:00:00Z")
}

/// A CloudTrail-shaped event.
pub fn ct(eventname: &str, arn: &str, ip: &str, at: DateTime<Utc>) -> Event {
    let mut e = Event::new("cloudtrail", "AwsApiCall", format!("{arn} called {eventname}"), at, at);
    let verb = if eventname.starts_with("Describe") { "Describe" } else { "Other" };
    e.details.insert("eventname".into(), json!(eventname));
    e.details.insert("eventverb".into(), json!(verb));
    e.details.insert("sourceipaddress".into(), json!(ip));
    e.details.insert("useridentity".into(), json!({"type": "IAMUser", "arn": arn}));
    e.details.insert("requestparameters".into(), json!(format!(r#"{{"userName":"user-of-{ip}"}}"#)));
    e
}

/// Simple: every CreateUser call, naming an instance as the resource (so a Contain policy
/// has something to act on).
pub struct CreateUser;
impl Alert for CreateUser {
    fn name(&self) -> &str {
        "test_create_user"
    }
    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(30).must(TermMatch("details.eventname", "CreateUser"))
    }
    fn plan(&self) -> Plan {
        Plan::Simple { limit: 100 }
    }
    fn on_event(&self, event: &tripline_event::EventRef) -> Option<AlertDraft> {
        let who = field_text(event, "details.useridentity.arn");
        Some(
            create_alert(
                format!("IAM user created by {who}"),
                "access",
                &["iam"],
                vec![event.clone()],
                Severity::Warning,
            )
            .resource(resource::instance("i-0123456789abcdef0")),
        )
    }
}

/// Aggregation: Describe calls per actor, threshold 5, 3 samples, distinct IPs per actor.
pub struct DescribeRecon;
impl Alert for DescribeRecon {
    fn name(&self) -> &str {
        "test_describe_recon"
    }
    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(20).must(TermMatch("details.eventverb", "Describe"))
    }
    fn plan(&self) -> Plan {
        Plan::Aggregation {
            field: "details.useridentity.arn".into(),
            threshold: 5,
            samples: 3,
            max_groups: 10,
            per_bucket: vec![Aggregation::cardinality("details.sourceipaddress").named("ips")],
        }
    }
    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        let actor = group.value.as_str().unwrap_or_default().to_string();
        Some(
            create_alert(
                format!(
                    "{actor}: {} Describe calls from {} IPs",
                    group.count,
                    group.metric("ips").unwrap_or(0)
                ),
                "recon",
                &["describe"],
                group.samples.clone(),
                Severity::Notice,
            )
            .key(actor)
            .detail("count", group.count)
            .detail("ips", group.metric("ips").unwrap_or(0)),
        )
    }
}

/// Deadman: no CloudTrail event in the last hour.
pub struct Deadman;
impl Alert for Deadman {
    fn name(&self) -> &str {
        "test_deadman"
    }
    fn query(&self) -> SearchQuery {
        SearchQuery::hours(1).must(TermMatch("source", "cloudtrail"))
    }
    fn plan(&self) -> Plan {
        Plan::Deadman
    }
    fn on_silence(&self) -> Option<AlertDraft> {
        Some(create_alert(
            "No CloudTrail events for an hour",
            "deadman",
            &["cloudtrail"],
            vec![],
            Severity::Critical,
        ))
    }
}

/// Events tagged with `name`.
pub async fn tagged(store: &dyn EventStore, name: &str) -> u64 {
    let query = QueryAst::Term { field: "alert_names".into(), value: name.into() };
    store
        .search(&SearchRequest { query, size: 0, sort: Sort::NewestFirst })
        .await
        .expect("search tagged")
        .total
}

/// Alerts of class `name` in the alerts index.
pub async fn stored_alerts(store: &dyn EventStore, name: &str) -> Vec<serde_json::Value> {
    let query = QueryAst::Term { field: "classname".into(), value: name.into() };
    store
        .search_alerts(&query, 1000)
        .await
        .expect("search alerts")
        .hits
        .into_iter()
        .map(|h| h.source)
        .collect()
}

pub async fn index(store: &dyn EventStore, events: &[Event]) {
    let r = store.index_events(events).await.expect("index events");
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.written, events.len() as u64);
}

/// Simple alert: one alert per matching event, deterministic ids, events tagged, no rerun.
pub async fn simple(store: &dyn EventStore) {
    let n = now();
    index(
        store,
        &[
            ct("CreateUser", "arn:aws:iam::1:user/a", "198.51.100.1", n - TimeDelta::minutes(5)),
            ct("CreateUser", "arn:aws:iam::1:user/b", "198.51.100.2", n - TimeDelta::minutes(10)),
            // Beyond the 30-minute window and the 30-minute lateness allowance.
            ct("CreateUser", "arn:aws:iam::1:user/old", "198.51.100.3", n - TimeDelta::minutes(65)),
            ct("DeleteUser", "arn:aws:iam::1:user/a", "198.51.100.1", n - TimeDelta::minutes(5)),
        ],
    )
    .await;
    let runner = Runner::new(store);
    let first = runner.evaluate(&CreateUser, n).await.expect("evaluate");
    let again = runner.evaluate(&CreateUser, n).await.expect("evaluate again");
    assert_eq!(first.len(), 2, "two CreateUser calls in the window: {first:?}");
    let ids = |r: &[tripline_runtime::Raised]| r.iter().map(|x| x.record.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ids(&again), "same input and clock, same ids");
    // Newest first.
    assert!(first[0].record.summary.contains("user/a"), "{}", first[0].record.summary);
    let rec = &first[0].record;
    assert_eq!(rec.classname, "test_create_user");
    assert_eq!(rec.severity, "WARNING");
    assert_eq!(rec.utctimestamp, n);
    assert_eq!(rec.events.len(), 1);
    assert_eq!(rec.events[0].documentsource["details"]["eventname"], "CreateUser");

    let report = runner.run(&CreateUser, Remediation::None, n).await.expect("run");
    assert_eq!(report.raised.len(), 2);
    assert_eq!(report.events_tagged, 2);
    assert_eq!(tagged(store, "test_create_user").await, 2);
    assert_eq!(stored_alerts(store, "test_create_user").await.len(), 2);

    let second = runner.run(&CreateUser, Remediation::None, n).await.expect("second run");
    assert!(second.raised.is_empty(), "tagged events are not raised again: {:?}", second.raised);
    assert_eq!(stored_alerts(store, "test_create_user").await.len(), 2);
    // Another alert still sees the events: the tag only excludes the alert that raised them.
    assert_eq!(runner.evaluate(&AlsoCreateUser, n).await.expect("other alert").len(), 2);
}

/// The same query under another name.
pub struct AlsoCreateUser;
impl Alert for AlsoCreateUser {
    fn name(&self) -> &str {
        "test_create_user_too"
    }
    fn query(&self) -> SearchQuery {
        CreateUser.query()
    }
    fn plan(&self) -> Plan {
        CreateUser.plan()
    }
    fn on_event(&self, event: &tripline_event::EventRef) -> Option<AlertDraft> {
        CreateUser.on_event(event)
    }
}

/// Aggregation alert: engine counts beyond the samples, per-bucket metrics, every event of the
/// group tagged.
pub async fn aggregation(store: &dyn EventStore) {
    let n = now();
    let mut events = Vec::new();
    for i in 0..12 {
        let ip = if i % 2 == 0 { "198.51.100.7" } else { "203.0.113.9" };
        events.push(ct(
            &format!("DescribeInstances{i}"),
            "arn:aws:iam::1:user/recon",
            ip,
            n - TimeDelta::minutes(i),
        ));
    }
    for i in 0..3 {
        events.push(ct(
            &format!("DescribeVpcs{i}"),
            "arn:aws:iam::1:user/quiet",
            "198.51.100.8",
            n - TimeDelta::minutes(i),
        ));
    }
    // Outside the 20-minute window, would push "quiet" over the threshold if counted with it (a
    // window of w + lateness); too few to raise in the settled window [now − 50, now − 30] alone.
    for i in 0..4 {
        events.push(ct(
            &format!("DescribeSubnets{i}"),
            "arn:aws:iam::1:user/quiet",
            "198.51.100.8",
            n - TimeDelta::minutes(30 + i),
        ));
    }
    index(store, &events).await;
    let runner = Runner::new(store);
    let raised = runner.evaluate(&DescribeRecon, n).await.expect("evaluate");
    assert_eq!(raised.len(), 1, "{raised:?}");
    let r = &raised[0];
    assert_eq!(r.record.details["count"], 12, "counted by the engine, not from the samples");
    assert_eq!(r.record.details["ips"], 2);
    assert_eq!(r.record.events.len(), 3, "samples");
    assert_eq!(r.tag.len(), 12, "every event of the group is tagged");
    assert!(r.record.summary.starts_with("arn:aws:iam::1:user/recon: 12 Describe calls from 2 IPs"));

    let report = runner.run(&DescribeRecon, Remediation::None, n).await.expect("run");
    assert_eq!(report.raised.len(), 1);
    assert_eq!(report.events_tagged, 12);
    assert_eq!(tagged(store, "test_describe_recon").await, 12);
    let again = runner.run(&DescribeRecon, Remediation::None, n).await.expect("second run");
    assert!(again.raised.is_empty(), "{:?}", again.raised);
}

/// Deadman: raised when nothing matched, one id per window, none when events flow.
pub async fn deadman(store: &dyn EventStore) {
    let n = now();
    let runner = Runner::new(store);
    let a = runner.evaluate(&Deadman, n).await.expect("evaluate");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].record.severity, "CRITICAL");
    assert!(a[0].record.events.is_empty());
    let b = runner.evaluate(&Deadman, n).await.expect("evaluate again");
    assert_eq!(a[0].record.id, b[0].record.id, "a retry at the same clock repeats the id");
    let later = runner.evaluate(&Deadman, n + TimeDelta::hours(1)).await.expect("later");
    assert_ne!(a[0].record.id, later[0].record.id, "the next window raises its own alert");

    index(store, &[ct("GetObject", "arn:aws:iam::1:user/a", "10.0.0.1", n - TimeDelta::minutes(59))]).await;
    assert!(runner.evaluate(&Deadman, n).await.expect("with an event").is_empty());
    // The event is 2 h old by then: silence again.
    assert_eq!(runner.evaluate(&Deadman, n + TimeDelta::minutes(61)).await.expect("an hour on").len(), 1);

    let report = runner.run(&Deadman, Remediation::None, n + TimeDelta::hours(3)).await.expect("run");
    assert_eq!(report.raised.len(), 1);
    assert_eq!(stored_alerts(store, "test_deadman").await.len(), 1);
}

/// What two stores holding the same events must agree on: each alert's summary and the ids of
/// its events (alert ids also hash the index names, which differ with the index prefix).
pub async fn raised_on(
    store: &dyn EventStore,
    events: &[Event],
) -> (HashSet<String>, HashSet<(String, Vec<String>)>) {
    index(store, events).await;
    let runner = Runner::new(store);
    let mut raised = runner.evaluate(&DescribeRecon, now()).await.expect("evaluate");
    raised.extend(runner.evaluate(&CreateUser, now()).await.expect("evaluate"));
    let ids = raised.iter().map(|r| r.record.id.clone()).collect();
    let content = raised
        .into_iter()
        .map(|r| {
            let mut events: Vec<String> = r.record.events.into_iter().map(|e| e.documentid).collect();
            events.sort();
            (r.record.summary, events)
        })
        .collect();
    (ids, content)
}

pub fn mixed_events() -> Vec<Event> {
    let n = now();
    let mut v = Vec::new();
    for i in 0..7 {
        v.push(ct(
            &format!("DescribeA{i}"),
            "arn:aws:iam::1:user/x",
            "198.51.100.1",
            n - TimeDelta::minutes(i),
        ));
    }
    v.push(ct("CreateUser", "arn:aws:iam::1:user/x", "198.51.100.1", n - TimeDelta::minutes(3)));
    v
}
