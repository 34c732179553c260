//! The runner against the embedded (tantivy) store: simple, aggregation, deadman, dedup, ids;
//! event-time windows with late deliveries and backfills.

mod common;

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use tripline_alerts::registry;
use tripline_event::Event;
use tripline_runtime::{Remediation, Runner};
use tripline_store::embedded::EmbeddedStore;
use tripline_store::{EventStore, SearchRequest, Sort};

fn store() -> EmbeddedStore {
    EmbeddedStore::in_memory().expect("in-memory store")
}

#[tokio::test]
async fn simple_alerts_raise_per_event_and_dedup() {
    common::simple(&store()).await;
}

#[tokio::test]
async fn simple_alerts_judge_every_page() {
    common::simple_pages(&store()).await;
}

#[tokio::test]
async fn aggregation_counts_beyond_samples_and_tags_the_group() {
    common::aggregation(&store()).await;
}

#[tokio::test]
async fn deadman_raises_once_per_silent_window() {
    common::deadman(&store()).await;
}

#[tokio::test]
async fn ids_are_deterministic_across_stores_and_orders() {
    let events = common::mixed_events();
    let mut reversed = events.clone();
    reversed.reverse();
    let (a, _) = common::raised_on(&store(), &events).await;
    let (b, _) = common::raised_on(&store(), &reversed).await;
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a, b, "same events, same alert ids, whatever the order they were stored in");
}

#[tokio::test]
async fn a_late_event_raises_a_simple_alert_exactly_once() {
    common::late_simple(&store(), &store()).await;
}

#[tokio::test]
async fn a_late_burst_raises_an_aggregation_once_from_the_settled_pass() {
    common::late_aggregation(&store()).await;
}

#[tokio::test]
async fn aggregations_never_count_beyond_a_window_of_their_length() {
    common::aggregation_windows_are_w_long(&store()).await;
}

#[tokio::test]
async fn a_dry_run_leaves_out_what_the_settled_pass_raised() {
    common::dry_run_dedups_like_tags(&store()).await;
}

// ------------------------------------------------------------------ (b) the backfill example

fn workshop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/scenarios/workshop")
}

/// The workshop data set (a day of CloudTrail, VPC flow and GuardDuty logs ending with the
/// scenarios), its event times moved so that it ends `ago` before `now`, received at `received`.
fn workshop_events(now: DateTime<Utc>, ago: TimeDelta, received: DateTime<Utc>) -> Vec<Event> {
    let at = tripline_dsl::parse_timestamp("2024-05-15T00:00:00Z").expect("the data set's time");
    let shift = (now - ago) - at;
    let opts = tripline_normalize::Options {
        clock: tripline_normalize::Clock::Fixed(received),
        ..tripline_normalize::Options::default()
    };
    let mut events = Vec::new();
    for sub in ["cloudtrail", "vpcflow", "guardduty"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(workshop().join(sub))
            .expect("data set folder")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for f in files {
            tripline_normalize::read_path(&f, &opts, |r| {
                let mut e = r.expect("the data set normalizes");
                e.utctimestamp += shift;
                e.timestamp += shift;
                events.push(e);
            });
        }
    }
    events
}

async fn indexed(events: &[Event]) -> EmbeddedStore {
    let store = store();
    for chunk in events.chunks(2000) {
        let r = store.index_events(chunk).await.expect("index");
        assert!(r.failed.is_empty(), "{:?}", r.failed.first());
    }
    store
}

/// Every catalog alert at `at`, dry run: (class name, summary, id), sorted.
async fn catalog_at(store: &EmbeddedStore, at: DateTime<Utc>) -> Vec<(String, String, String)> {
    let runner = Runner::new(store);
    let mut out = Vec::new();
    for alert in registry::Registry::builtin().iter() {
        for r in runner.evaluate(alert.as_ref(), at).await.expect("evaluate") {
            out.push((r.record.classname, r.record.summary, r.record.id));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_raises_nothing_now_and_what_the_logs_raise_at_their_own_time() {
    let now = common::now();
    let day = TimeDelta::days(1);
    // Yesterday's logs, ingested a minute ago; and the account's own current CloudTrail trickle
    // (a call every 10 minutes over the last two hours), as a live store has.
    let mut events = workshop_events(now, day, now - TimeDelta::minutes(1));
    let trickle: Vec<Event> = (0..12)
        .map(|i| {
            let at = now - TimeDelta::minutes(10 * i);
            common::ct("GetCallerIdentity", "arn:aws:iam::1:role/app", "10.0.0.5", at)
        })
        .collect();
    let backfilled = indexed(&events).await;
    let just_received = SearchRequest {
        query: tripline_dsl::QueryAst::Range {
            field: "receivedtimestamp".into(),
            lower: Some(tripline_dsl::Bound::inclusive(now - TimeDelta::minutes(20))),
            upper: Some(tripline_dsl::Bound::inclusive(now)),
        },
        size: 0,
        sort: Sort::NewestFirst,
    };
    let received = backfilled.search(&just_received).await.expect("search").total;
    assert!(received > 5000, "every event was received in the last 20 minutes: {received}");

    // Without the trickle, the one true alert at `now` is the deadman: no CloudTrail event
    // happened in the settled hour (the backfill's receipt time does not count).
    let alone = catalog_at(&backfilled, now).await;
    assert_eq!(alone.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(), ["cloudtrail_deadman"], "{alone:?}");

    common::index(&backfilled, &trickle).await;
    // Runs (not dry runs), as the schedule would make them around now: nothing is raised.
    let runner = Runner::new(&backfilled);
    for minutes in [0, 5, 30, 60] {
        let at = now + TimeDelta::minutes(minutes);
        for alert in registry::Registry::builtin().iter() {
            let report = runner.run(alert.as_ref(), Remediation::None, at).await.expect("run");
            assert!(report.raised.is_empty(), "{} at {at}: {:?}", alert.name(), report.raised);
        }
    }

    // At the logs' own time the backfill raises exactly what the same logs raise when they were
    // delivered on time (receivedtimestamp = utctimestamp): the same alerts, the same ids.
    let then = now - day;
    let from_backfill = catalog_at(&backfilled, then).await;
    events.iter_mut().for_each(|e| e.receivedtimestamp = e.utctimestamp);
    let on_time = indexed(&events).await;
    let from_on_time = catalog_at(&on_time, then).await;
    assert_eq!(from_backfill, from_on_time);
    let text = std::fs::read_to_string(workshop().join("expected.json")).expect("expected.json");
    let expected: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    for w in expected["alerts"].as_array().expect("alerts") {
        let (name, needle) =
            (w["alert"].as_str().expect("alert"), w["summary_contains"].as_str().expect("s"));
        assert!(
            from_backfill.iter().any(|(c, s, _)| c == name && s.contains(needle)),
            "{name} ({needle}) at the logs' own time: {from_backfill:#?}"
        );
    }
}

/// One way to aggregate: an alert whose query carries its own aggregations is refused (before,
/// they were dropped with a warning while the plan aggregated).
#[tokio::test]
async fn an_alert_whose_query_aggregates_is_refused() {
    use std::sync::LazyLock;
    use tripline_alerts::{Alert, Meta, Plan};
    use tripline_dsl::prelude::*;

    struct QueryAggregates;
    impl Alert for QueryAggregates {
        fn meta(&self) -> &Meta {
            static META: LazyLock<Meta> =
                LazyLock::new(|| Meta::new("test_query_aggregates", "a test alert"));
            &META
        }
        fn query(&self) -> SearchQuery {
            SearchQuery::minutes(20)
                .must(TermMatch("source", "cloudtrail"))
                .aggregate(Aggregation::terms("details.sourceipaddress"))
        }
        fn plan(&self) -> Plan {
            Plan::Simple { limit: 10 }
        }
    }
    let store = store();
    let now = common::now();
    let runner = Runner::new(&store);
    for err in [
        runner.run(&QueryAggregates, Remediation::None, now).await.map(|_| ()).unwrap_err(),
        runner.evaluate(&QueryAggregates, now).await.map(|_| ()).unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(matches!(err, tripline_runtime::RunError::AggregationInQuery { .. }), "{text}");
        assert!(text.contains("test_query_aggregates") && text.contains("through its plan"), "{text}");
    }
}
