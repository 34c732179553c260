//! A backtest (one read of the store per alert, the runner only at the ticks that can raise, in
//! a scratch store) gives exactly what a replay gives (every alert run at every tick of its
//! schedule against the store, recorded): the same alerts, at the same ticks, with the same ids
//! and records. Checked with the whole catalog on the workshop day and on a generated month, and
//! on OpenSearch for one alert of each plan; and the store read from is left as it was.

mod common;
#[path = "common/standins.rs"]
mod standins;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value as Json;
use tripline_alerts::{Alert, AlertDraft, Group, Meta, Plan, Registry};
use tripline_dsl::SearchQuery;
use tripline_event::{AlertRecord, Event, EventRef};
use tripline_runtime::backtest::Backtest;
use tripline_runtime::{RunOptions, Runner};
use tripline_store::embedded::EmbeddedStore;
use tripline_store::EventStore;

fn t(s: &str) -> DateTime<Utc> {
    tripline_dsl::parse_timestamp(s).expect("time")
}

/// A catalog alert on another schedule (a month of 5-minute ticks is too many runs for a
/// replay in a test; the backtest has to agree on any schedule).
struct Every {
    inner: Arc<dyn Alert>,
    meta: Meta,
}

impl Every {
    fn wrap(inner: &Arc<dyn Alert>, schedule: &str) -> Arc<dyn Alert> {
        let mut meta = inner.meta().clone();
        meta.schedule = schedule.to_string();
        Arc::new(Every { inner: inner.clone(), meta })
    }
}

impl Alert for Every {
    fn meta(&self) -> &Meta {
        &self.meta
    }
    fn query(&self) -> SearchQuery {
        self.inner.query()
    }
    fn plan(&self) -> Plan {
        self.inner.plan()
    }
    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        self.inner.on_event(event)
    }
    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        self.inner.on_aggregation(group)
    }
    fn on_aggregation_at(&self, group: &Group, now: DateTime<Utc>) -> Option<AlertDraft> {
        self.inner.on_aggregation_at(group, now)
    }
    fn on_silence(&self) -> Option<AlertDraft> {
        self.inner.on_silence()
    }
}

async fn index(store: &dyn EventStore, events: &[Event]) {
    for chunk in events.chunks(5_000) {
        let report = store.index_events(chunk).await.expect("indexed");
        assert!(report.failed.is_empty(), "{:?}", report.failed.first());
    }
}

/// The workshop's logs, as `tripline ingest` reads them.
fn workshop() -> Vec<Event> {
    let dir = tripline_testkit::workspace_file("events/scenarios/workshop");
    let opts = tripline_normalize::Options {
        clock: tripline_normalize::Clock::Fixed(t("2024-06-01T00:00:00Z")),
        ..tripline_normalize::Options::default()
    };
    let mut events = Vec::new();
    for sub in ["cloudtrail", "vpcflow", "guardduty"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(sub))
            .expect("workshop folder")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for f in files {
            tripline_normalize::read_path(&f, &opts, |r| events.push(r.expect("workshop logs normalize")));
        }
    }
    events
}

/// A month of the catalog's own test records (positive and negative cases, real-shaped
/// CloudTrail, VPC flow and GuardDuty), each case placed twice at seeded random times shortly
/// before a 6-hour tick, plus a copy of each five weeks earlier (the first-seen alerts'
/// look-back).
fn month(start: DateTime<Utc>) -> Vec<Event> {
    let mut seed: u64 = 0x7269_706c_696e_6521;
    let mut next = move |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n.max(1)
    };
    let mut out = Vec::new();
    for set in Registry::builtin_cases() {
        let base = Path::new(&set.source).parent().map(Path::to_path_buf).unwrap_or_default();
        for case in &set.cases {
            if !case.files.is_empty() {
                continue;
            }
            let Ok(events) = tripline_runtime::cases::normalize(case, &base) else { continue };
            let Some(latest) = events.iter().map(|e| e.utctimestamp).max() else { continue };
            // Each copy ends up to 25 minutes before a 6-hour tick, where the runs look.
            let mut tick = || {
                let k = next(110) as i64;
                start + TimeDelta::hours(6 * (4 + k)) - TimeDelta::seconds(next(1_500) as i64)
            };
            let (a, b) = (tick(), tick());
            let places = [start - TimeDelta::days(36) + TimeDelta::seconds(next(5 * 86_400) as i64), a, b];
            for at in places {
                let shift = at - latest;
                for e in &events {
                    let mut e = e.clone();
                    e.utctimestamp += shift;
                    e.timestamp = e.utctimestamp;
                    e.receivedtimestamp = e.utctimestamp;
                    out.push(e);
                }
            }
        }
    }
    out
}

/// Every alert at every tick, recorded: what a deployed account would have seen.
async fn replay(
    store: &dyn EventStore,
    alerts: &[Arc<dyn Alert>],
    options: &RunOptions,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<AlertRecord> {
    let schedules: Vec<(String, String)> =
        alerts.iter().map(|a| (a.name().to_string(), a.meta().schedule.clone())).collect();
    let runs = tripline_runtime::replay::schedule(&schedules, from, to).expect("replayable");
    let runner = Runner::new(store).with_options(options.clone());
    let mut raised = Vec::new();
    for (at, i) in runs {
        let a = &alerts[i];
        let report = runner.run(a.as_ref(), a.meta().remediation, at).await.unwrap_or_else(|e| panic!("{e}"));
        raised.extend(report.raised);
    }
    raised
}

async fn backtest(
    store: &dyn EventStore,
    alerts: &[Arc<dyn Alert>],
    options: &RunOptions,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (Vec<AlertRecord>, u64, u64) {
    let b = Backtest::new(store, options.clone());
    let (mut raised, mut runs, mut ticks) = (Vec::new(), 0, 0);
    for a in alerts {
        let r = b.alert(a.as_ref(), from, to).await.unwrap_or_else(|e| panic!("{e}"));
        runs += r.runs;
        ticks += r.ticks;
        raised.extend(r.raised);
    }
    (raised, runs, ticks)
}

/// Alerts as comparable JSON, in a fixed order. The copies of events inside an alert carry the
/// tags other alerts put on them in the store (`alert_names`), which depend on what else ran
/// there before: left out.
fn comparable(alerts: &[AlertRecord]) -> Vec<Json> {
    let mut out: Vec<Json> = alerts
        .iter()
        .map(|a| {
            let mut j = a.to_json();
            if let Some(events) = j.get_mut("events").and_then(Json::as_array_mut) {
                for e in events {
                    if let Some(src) = e.get_mut("documentsource").and_then(Json::as_object_mut) {
                        src.remove("alert_names");
                    }
                }
            }
            j
        })
        .collect();
    out.sort_by_key(|j| (j["utctimestamp"].to_string(), j["classname"].to_string(), j["id"].to_string()));
    out
}

fn show(alerts: &[Json]) -> Vec<String> {
    alerts.iter().map(|a| format!("{} {} {}", a["utctimestamp"], a["classname"], a["summary"])).collect()
}

/// The backtest over `store` equals the replay over it; the backtest (first) leaves the store
/// as it was.
async fn agree(
    store: &dyn EventStore,
    alerts: &[Arc<dyn Alert>],
    options: &RunOptions,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Json> {
    let (fast, runs, ticks) = backtest(store, alerts, options, from, to).await;
    assert!(runs < ticks, "the backtest ran at every tick ({runs} of {ticks})");
    // The store read from: no event tagged, no alert written.
    let tagged = store
        .search(&tripline_store::SearchRequest {
            query: tripline_dsl::QueryAst::Exists { field: "alert_names".into() },
            size: 0,
            sort: tripline_store::Sort::NewestFirst,
        })
        .await
        .expect("search");
    assert_eq!(tagged.total, 0, "the backtest tagged events in the store it read");
    let written = store.search_alerts(&tripline_dsl::QueryAst::MatchAll, 1).await.expect("alerts");
    assert_eq!(written.total, 0, "the backtest wrote alerts to the store it read");
    let exact = replay(store, alerts, options, from, to).await;
    let (fast, exact) = (comparable(&fast), comparable(&exact));
    if fast != exact {
        let only_fast: Vec<Json> = fast.iter().filter(|a| !exact.contains(a)).cloned().collect();
        let only_exact: Vec<Json> = exact.iter().filter(|a| !fast.contains(a)).cloned().collect();
        panic!(
            "backtest and replay differ:\nbacktest only: {:#?}\nreplay only: {:#?}\nfirst difference: {}\n{}",
            show(&only_fast),
            show(&only_exact),
            only_fast.first().map(|j| j.to_string()).unwrap_or_default(),
            only_exact.first().map(|j| j.to_string()).unwrap_or_default(),
        );
    }
    fast
}

fn classes(alerts: &[Json]) -> Vec<String> {
    let mut c: Vec<String> =
        alerts.iter().filter_map(|a| a["classname"].as_str().map(str::to_string)).collect();
    c.sort();
    c.dedup();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workshop_day_backtests_as_it_replays() {
    let events = workshop();
    let store = EmbeddedStore::in_memory().expect("store");
    index(&store, &events).await;
    let alerts: Vec<Arc<dyn Alert>> = Registry::builtin().iter().cloned().collect();
    let options = RunOptions::default();
    let raised = agree(&store, &alerts, &options, t("2024-05-14T00:00:00Z"), t("2024-05-15T02:30:00Z")).await;
    let c = classes(&raised);
    // The workshop's scenarios, and the silence after its last log.
    for name in ["describe_recon", "root_account_usage", "guardduty_finding", "cloudtrail_deadman"] {
        assert!(c.iter().any(|x| x == name), "{name} did not raise: {c:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_month_backtests_as_it_replays() {
    let start = t("2024-07-01T00:00:00Z");
    let events = month(start);
    assert!(events.len() > 500, "{} events", events.len());
    let store = EmbeddedStore::in_memory().expect("store");
    index(&store, &events).await;
    let alerts: Vec<Arc<dyn Alert>> =
        Registry::builtin().iter().map(|a| Every::wrap(a, "rate(6 hours)")).collect();
    let options = RunOptions::default();
    let raised = agree(&store, &alerts, &options, start, start + TimeDelta::days(30)).await;
    let c = classes(&raised);
    assert!(c.len() >= 30, "most of the catalog raises on its own cases: {c:?}");
    // One alert of each plan.
    for name in [
        "root_account_usage",        // simple (Sigma)
        "iam_admin_policy_granted",  // simple (Rust, reads the policy)
        "describe_recon",            // aggregation (Rust, sub-aggregations)
        "console_login_brute_force", // Sigma event_count correlation
        "secrets_mass_read",         // Sigma value_count correlation
        "iam_new_admin_user",        // Sigma temporal correlation
        "ssm_session_new_principal", // first seen
        "cloudtrail_deadman",        // deadman
    ] {
        assert!(c.iter().any(|x| x == name), "{name} did not raise: {c:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_on_opensearch_backtests_as_it_replays() {
    let start = t("2024-07-01T00:00:00Z");
    let events = month(start);
    let store = standins::os_store().await;
    index(&store, &events).await;
    let catalog = Registry::builtin();
    let alerts: Vec<Arc<dyn Alert>> = [
        "root_account_usage",
        "describe_recon",
        "iam_new_admin_user",
        "ssm_session_new_principal",
        "cloudtrail_deadman",
    ]
    .iter()
    .map(|n| Every::wrap(catalog.get(n).expect("in the catalog"), "rate(6 hours)"))
    .collect();
    let options = RunOptions::default();
    let raised = agree(&store, &alerts, &options, start, start + TimeDelta::days(30)).await;
    assert!(classes(&raised).len() >= 3, "{:?}", classes(&raised));
}
