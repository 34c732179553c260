//! Test alerts, events, and the store-agnostic runtime checks run against both stores.
#![allow(dead_code)]

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use tripline_alerts::{
    create_alert, field_text, resource, Alert, AlertDraft, Group, Meta, Plan, Remediation, Severity,
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
    fn meta(&self) -> &Meta {
        static META: std::sync::LazyLock<Meta> =
            std::sync::LazyLock::new(|| Meta::new("test_create_user", "a test alert"));
        &META
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
    fn meta(&self) -> &Meta {
        static META: std::sync::LazyLock<Meta> =
            std::sync::LazyLock::new(|| Meta::new("test_describe_recon", "a test alert"));
        &META
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
    fn meta(&self) -> &Meta {
        static META: std::sync::LazyLock<Meta> =
            std::sync::LazyLock::new(|| Meta::new("test_deadman", "a test alert"));
        &META
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
    let query = QueryAst::Term { field: "alert_names".into(), value: name.into(), case_insensitive: false };
    store
        .search(&SearchRequest { query, size: 0, sort: Sort::NewestFirst })
        .await
        .expect("search tagged")
        .total
}

/// Alerts of class `name` in the alerts index.
pub async fn stored_alerts(store: &dyn EventStore, name: &str) -> Vec<serde_json::Value> {
    let query = QueryAst::Term { field: "classname".into(), value: name.into(), case_insensitive: false };
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
    // Read oldest first.
    assert!(first[0].record.summary.contains("user/b"), "{}", first[0].record.summary);
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

/// A simple alert that reads each event and raises on one in many, ten events a page.
pub struct PickyCreateUser;
impl Alert for PickyCreateUser {
    fn meta(&self) -> &Meta {
        static META: std::sync::LazyLock<Meta> =
            std::sync::LazyLock::new(|| Meta::new("test_picky_create_user", "a test alert"));
        &META
    }
    fn query(&self) -> SearchQuery {
        CreateUser.query()
    }
    fn plan(&self) -> Plan {
        Plan::Simple { limit: 10 }
    }
    fn on_event(&self, event: &tripline_event::EventRef) -> Option<AlertDraft> {
        let who = field_text(event, "details.useridentity.arn");
        who.ends_with("/needle").then(|| {
            create_alert(
                format!("IAM user created by {who}"),
                "access",
                &["iam"],
                vec![event.clone()],
                Severity::Warning,
            )
            .key(event.documentid.clone())
        })
    }
}

/// A flood of ordinary matches (five pages of them, before and after, some in the same second)
/// does not push the one that matters out of a simple alert's run.
pub async fn simple_pages(store: &dyn EventStore) {
    let n = now();
    let mut events = Vec::new();
    for i in 0..45 {
        let at = n - TimeDelta::minutes(20) + TimeDelta::seconds(i / 3 * 20);
        events.push(ct("CreateUser", &format!("arn:aws:iam::1:user/u{i}"), "198.51.100.9", at));
    }
    events.push(ct("CreateUser", "arn:aws:iam::1:user/needle", "198.51.100.66", n - TimeDelta::minutes(19)));
    index(store, &events).await;
    let raised = Runner::new(store).evaluate(&PickyCreateUser, n).await.expect("evaluate");
    assert_eq!(raised.len(), 1, "the one event that raises, among 46 read ten at a time");
    assert!(raised[0].record.summary.contains("user/needle"));
}

/// The same query under another name.
pub struct AlsoCreateUser;
impl Alert for AlsoCreateUser {
    fn meta(&self) -> &Meta {
        static META: std::sync::LazyLock<Meta> =
            std::sync::LazyLock::new(|| Meta::new("test_create_user_too", "a test alert"));
        &META
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

// ------------------------------------------------------------------ late delivery and backfills

/// `ct` with its own receipt time: when the event reached the store.
pub fn ct_received(
    eventname: &str,
    arn: &str,
    ip: &str,
    at: DateTime<Utc>,
    received: DateTime<Utc>,
) -> Event {
    let mut e = ct(eventname, arn, ip, at);
    e.receivedtimestamp = received;
    e
}

/// Simple, with a 15-minute window: shorter than the 20-minute delivery delay below, so only the
/// lateness allowance lets the late event alert.
pub struct QuickCreateUser;
impl Alert for QuickCreateUser {
    fn meta(&self) -> &Meta {
        static META: std::sync::LazyLock<Meta> =
            std::sync::LazyLock::new(|| Meta::new("test_quick_create_user", "a test alert"));
        &META
    }
    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(15).must(TermMatch("details.eventname", "CreateUser"))
    }
    fn plan(&self) -> Plan {
        Plan::Simple { limit: 100 }
    }
    fn on_event(&self, event: &tripline_event::EventRef) -> Option<AlertDraft> {
        CreateUser.on_event(event)
    }
}

/// What a schedule of runs raised: per run, the alert ids and how many the settled pass raised.
#[derive(Debug, Default)]
pub struct Schedule {
    pub runs: Vec<(DateTime<Utc>, Vec<String>, usize)>,
}

impl Schedule {
    pub fn ids(&self) -> Vec<String> {
        self.runs.iter().flat_map(|(_, ids, _)| ids.clone()).collect()
    }
    pub fn raising_runs(&self) -> Vec<DateTime<Utc>> {
        self.runs.iter().filter(|(_, ids, _)| !ids.is_empty()).map(|(t, _, _)| *t).collect()
    }
    pub fn settled(&self) -> usize {
        self.runs.iter().map(|(_, _, s)| s).sum()
    }
}

/// Run `alert` every 5 minutes from `start` for an hour, as the Lambda schedule does; before each
/// run, index the events received by then (an event reaches the store at its receivedtimestamp).
/// Every run's dry run (evaluate) must raise exactly what the run then raises.
pub async fn scheduled(
    store: &dyn EventStore,
    alert: &dyn Alert,
    lateness: TimeDelta,
    events: &[Event],
    start: DateTime<Utc>,
) -> Schedule {
    let options = tripline_runtime::RunOptions { lateness, ..Default::default() };
    let runner = Runner::new(store).with_options(options);
    let mut pending: Vec<Event> = events.to_vec();
    let mut out = Schedule::default();
    for k in 0..=12 {
        let at = start + TimeDelta::minutes(5 * k);
        let (arrived, later): (Vec<Event>, Vec<Event>) =
            pending.into_iter().partition(|e| e.receivedtimestamp <= at);
        pending = later;
        if !arrived.is_empty() {
            index(store, &arrived).await;
        }
        let dry = runner.evaluate(alert, at).await.expect("evaluate");
        let report = runner.run(alert, Remediation::None, at).await.expect("run");
        let ids: Vec<String> = report.raised.iter().map(|a| a.id.clone()).collect();
        let dry_ids: Vec<String> = dry.iter().map(|r| r.record.id.clone()).collect();
        assert_eq!(dry_ids, ids, "at {at}: the dry run raises what the run raises");
        out.runs.push((at, ids, report.raised_settled));
    }
    out
}

/// (a), simple: an event delivered 20 minutes late raises the alert exactly once over an hour of
/// runs every 5 minutes, at the first run after it arrived; without the allowance, never (its
/// time is out of the 15-minute window by then).
pub async fn late_simple(store: &dyn EventStore, no_lateness: &dyn EventStore) {
    let start = now();
    let happened = start + TimeDelta::minutes(7);
    let received = happened + TimeDelta::minutes(20); // start + 27 min: the run at +30 sees it
    let events = [ct_received("CreateUser", "arn:aws:iam::1:user/late", "198.51.100.9", happened, received)];
    let s = scheduled(store, &QuickCreateUser, TimeDelta::minutes(30), &events, start).await;
    assert_eq!(s.ids().len(), 1, "exactly once: {s:?}");
    assert_eq!(s.raising_runs(), [start + TimeDelta::minutes(30)], "{s:?}");
    assert_eq!(tagged(store, "test_quick_create_user").await, 1);
    assert_eq!(stored_alerts(store, "test_quick_create_user").await.len(), 1);

    let s0 = scheduled(no_lateness, &QuickCreateUser, TimeDelta::zero(), &events, start).await;
    assert!(s0.ids().is_empty(), "with no allowance a 20-minute-late event is missed: {s0:?}");
}

/// (a), aggregation: a burst that crosses the threshold (5 in 20 minutes) but arrives 20 minutes
/// late raises exactly once, from the settled pass, once its window has settled; an on-time burst
/// raises at once from the current pass and never again from the settled one.
pub async fn late_aggregation(store: &dyn EventStore) {
    let start = now();
    // An older event, so that the store holds an events index before the first run (OpenSearch
    // answers an aggregation over an index pattern matching no index without `aggregations`,
    // which the OpenSearch store reports as a malformed answer).
    let mut events =
        vec![ct("GetCallerIdentity", "arn:aws:iam::1:role/app", "10.0.0.5", start - TimeDelta::hours(3))];
    for i in 0..6 {
        let happened = start + TimeDelta::minutes(10) + TimeDelta::seconds(30 * i);
        events.push(ct_received(
            &format!("DescribeLate{i}"),
            "arn:aws:iam::1:user/late",
            "198.51.100.10",
            happened,
            start + TimeDelta::minutes(32),
        ));
        let on_time = start + TimeDelta::minutes(20) + TimeDelta::seconds(30 * i);
        events.push(ct_received(
            &format!("DescribeOnTime{i}"),
            "arn:aws:iam::1:user/prompt",
            "198.51.100.11",
            on_time,
            on_time,
        ));
    }
    let s = scheduled(store, &DescribeRecon, TimeDelta::minutes(30), &events, start).await;
    assert_eq!(s.ids().len(), 2, "one alert per actor, each once: {s:?}");
    // The on-time burst (20:00–22:30) is complete at the run of +25; the late one (10:00–12:30,
    // arrived at +32) lies in a settled window [at − 50, at − 30] first at the run of +45.
    assert_eq!(s.raising_runs(), [start + TimeDelta::minutes(25), start + TimeDelta::minutes(45)], "{s:?}");
    assert_eq!(s.settled(), 1, "the late burst is raised by the settled pass: {s:?}");
    let alerts = stored_alerts(store, "test_describe_recon").await;
    assert_eq!(alerts.len(), 2);
    for a in &alerts {
        assert_eq!(a["details"]["count"], 6, "{a}");
        assert!(a["details"]["window"]["since"].is_string(), "the alert names its window: {a}");
    }
    let late =
        alerts.iter().find(|a| a["summary"].as_str().unwrap_or("").contains("user/late")).expect("late");
    assert_eq!(late["details"]["window"]["until"], "2026-11-23T12:15:00.000Z", "{late}");
    assert_eq!(tagged(store, "test_describe_recon").await, 12);
}

/// (b), an aggregation counts over windows of exactly its length: Describe calls every 6 minutes
/// for two hours are at most 4 in any 20-minute window (the threshold is 5), though 9 in a
/// window of 20 minutes + the 30-minute allowance. No run raises.
pub async fn aggregation_windows_are_w_long(store: &dyn EventStore) {
    let start = now();
    let events: Vec<Event> = (0..20)
        .map(|i| {
            let at = start - TimeDelta::minutes(60) + TimeDelta::minutes(6 * i);
            ct(&format!("DescribeSlow{i}"), "arn:aws:iam::1:user/steady", "198.51.100.12", at)
        })
        .collect();
    let s = scheduled(store, &DescribeRecon, TimeDelta::minutes(30), &events, start).await;
    assert!(s.ids().is_empty(), "{s:?}");
}

/// Dry runs dedup between passes as runs do with tags. Windows of an hour overlap with a 30-minute
/// allowance (settled [now − 90, now − 30], current [now − 60, now]); a group raised by the
/// settled pass still has newer events in the current window. The run raises twice (the settled
/// events, then the newer ones); the dry run must too, not once over all six.
pub async fn dry_run_dedups_like_tags(store: &dyn EventStore) {
    struct HourRecon;
    impl Alert for HourRecon {
        fn meta(&self) -> &Meta {
            static META: std::sync::LazyLock<Meta> =
                std::sync::LazyLock::new(|| Meta::new("test_hour_recon", "a test alert"));
            &META
        }
        fn query(&self) -> SearchQuery {
            SearchQuery::hours(1).must(TermMatch("details.eventverb", "Describe"))
        }
        fn plan(&self) -> Plan {
            Plan::Aggregation {
                field: "details.useridentity.arn".into(),
                threshold: 3,
                samples: 10,
                max_groups: 10,
                per_bucket: vec![],
            }
        }
        fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
            DescribeRecon.on_aggregation(group)
        }
    }
    let n = now();
    let mut events = Vec::new();
    for i in 0..3 {
        let arn = "arn:aws:iam::1:user/x";
        events.push(ct(&format!("DescribeOld{i}"), arn, "198.51.100.1", n - TimeDelta::minutes(40 + i)));
        events.push(ct(&format!("DescribeNew{i}"), arn, "198.51.100.1", n - TimeDelta::minutes(10 + i)));
    }
    index(store, &events).await;
    let runner = Runner::new(store);
    let dry = runner.evaluate(&HourRecon, n).await.expect("evaluate");
    let passes: Vec<tripline_runtime::Pass> = dry.iter().map(|r| r.pass).collect();
    assert_eq!(passes, [tripline_runtime::Pass::Settled, tripline_runtime::Pass::Current], "{dry:?}");
    assert_eq!(dry[0].record.details["count"], 3);
    assert_eq!(dry[1].record.details["count"], 3, "the settled pass's events are left out");
    let report = runner.run(&HourRecon, Remediation::None, n).await.expect("run");
    let ids = |v: Vec<String>| v;
    assert_eq!(
        ids(report.raised.iter().map(|a| a.id.clone()).collect()),
        ids(dry.iter().map(|r| r.record.id.clone()).collect())
    );
    assert_eq!((report.raised_settled, report.events_tagged), (1, 6));
}

/// An OpenSearch store of its own (unique index names) on the test node (make test's, or
/// `TRIPLINE_OPENSEARCH_URL`); `prefix` names the test file in the indices.
pub async fn opensearch_store(prefix: &str) -> tripline_store::opensearch::OpenSearchStore {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let tag = format!("{prefix}{}x{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    let mut c = tripline_store::opensearch::OpenSearchConfig::for_url(tripline_testkit::opensearch_url())
        .expect("url");
    c.events_prefix = format!("{tag}-events-");
    c.alerts_index = format!("{tag}-alerts");
    tripline_store::opensearch::OpenSearchStore::connect(c).await.expect("connect")
}
