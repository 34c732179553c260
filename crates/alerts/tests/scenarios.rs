//! The demo's replayed data sets (`events/scenarios/benign-day`, `events/scenarios/attack-chain`),
//! raw logs through the whole path: normalized, indexed into an in-memory embedded store, then the
//! whole catalog backtested over the day as its schedules would run it (each alert at every tick
//! of its schedule, recorded, so an event raises once).
//!
//! - A day of ordinary work (infrastructure as code, CI deploys, SSO console use, service-linked
//!   roles, backups, a monitoring vendor) raises nothing.
//! - A compromised key's attack chain raises each of its steps, in the order they happened, and
//!   nothing else.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use tripline_alerts::Registry;
use tripline_event::AlertRecord;
use tripline_normalize::{Clock, Options};
use tripline_runtime::backtest::Backtest;
use tripline_runtime::RunOptions;
use tripline_store::embedded::EmbeddedStore;
use tripline_store::EventStore;

fn dir(set: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/scenarios").join(set)
}

fn time(v: &Value) -> DateTime<Utc> {
    tripline_dsl::parse_timestamp(v.as_str().expect("a time")).expect("an RFC 3339 time")
}

fn expected(set: &str) -> Value {
    let text = std::fs::read_to_string(dir(set).join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json is JSON")
}

/// The set's logs in a fresh store; the number of events.
async fn store(set: &str, received: DateTime<Utc>) -> (EmbeddedStore, usize) {
    let opts = Options { clock: Clock::Fixed(received), ..Options::default() };
    let (mut events, mut errors) = (Vec::new(), Vec::new());
    for sub in ["cloudtrail", "vpcflow", "guardduty"] {
        let Ok(entries) = std::fs::read_dir(dir(set).join(sub)) else { continue };
        let mut files: Vec<PathBuf> = entries.map(|e| e.expect("dir entry").path()).collect();
        files.sort();
        for f in files {
            tripline_normalize::read_path(&f, &opts, |r| match r {
                Ok(e) => events.push(e),
                Err(e) => errors.push(e.to_string()),
            });
        }
    }
    assert!(errors.is_empty(), "{set}: normalize errors: {errors:?}");
    let store = EmbeddedStore::in_memory().expect("store");
    for chunk in events.chunks(5000) {
        let report = store.index_events(chunk).await.expect("indexed");
        assert!(report.failed.is_empty(), "{:?}", report.failed.first());
    }
    (store, events.len())
}

/// What the catalog raises over `[from, to]`, each alert as if it had run at every tick of its
/// schedule, recorded (so an event raises once): a backtest, which gives what a tick-by-tick
/// replay gives (`tripline-runtime`'s `tests/backtest.rs` checks that), with the tick that
/// raised each alert.
async fn replay(
    store: &EmbeddedStore,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, AlertRecord)> {
    let catalog = Registry::builtin();
    let backtest = Backtest::new(store, RunOptions { lateness: TimeDelta::zero(), ..RunOptions::default() });
    let mut raised = Vec::new();
    for alert in catalog.iter() {
        let found = backtest
            .alert(alert.as_ref(), from, to)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", alert.name()));
        raised.extend(found.raised.into_iter().map(|r| (r.utctimestamp, r)));
    }
    raised.sort_by(|a, b| (a.0, &a.1.classname).cmp(&(b.0, &b.1.classname)));
    raised
}

fn describe(alerts: &[(DateTime<Utc>, AlertRecord)]) -> Vec<String> {
    alerts.iter().map(|(t, a)| format!("{t} {} {} {}", a.classname, a.severity, a.summary)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordinary_day_raises_nothing() {
    let exp = expected("benign-day");
    let (from, to) = (time(&exp["from"]), time(&exp["to"]));
    let (store, events) = store("benign-day", to + TimeDelta::days(30)).await;
    assert!(events > 10_000, "a day's worth of records, got {events}");
    let raised = replay(&store, from, to).await;
    assert!(raised.is_empty(), "the benign day raised: {:#?}", describe(&raised));
    assert_eq!(exp["alerts"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attack_chain_raises_every_step_in_order() {
    let exp = expected("attack-chain");
    let (from, to) = (time(&exp["from"]), time(&exp["to"]));
    let (store, _) = store("attack-chain", to + TimeDelta::days(30)).await;
    let mut raised = replay(&store, from, to).await;
    let steps = exp["alerts"].as_array().expect("alerts");
    assert!(steps.len() >= 10, "a chain across tactics");
    let mut last: Option<DateTime<Utc>> = None;
    for step in steps {
        let (name, needle, severity) = (
            step["alert"].as_str().expect("alert"),
            step["summary_contains"].as_str().expect("summary_contains"),
            step["severity"].as_str().expect("severity"),
        );
        let pos = raised
            .iter()
            .position(|(_, a)| a.classname == name && a.summary.contains(needle))
            .unwrap_or_else(|| panic!("step {:?} missing; raised: {:#?}", step["step"], describe(&raised)));
        let (at, alert) = raised.remove(pos);
        // A step that goes on past one window (pages of a read, deletions continuing) raises again
        // for the events after the first alert: those belong to the same step.
        raised.retain(|(_, a)| !(a.classname == name && a.summary.contains(needle)));
        assert_eq!(alert.severity, severity, "{}", alert.summary);
        assert!(!alert.events.is_empty(), "{name}: no evidence");
        if let Some(before) = last {
            assert!(
                at >= before,
                "step {:?} raised at {at}, before the step ahead of it ({before})",
                step["step"]
            );
        }
        last = Some(at);
    }
    assert!(raised.is_empty(), "alerts the chain does not explain: {:#?}", describe(&raised));
}
