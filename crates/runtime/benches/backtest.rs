//! Backtest benchmark: the whole built-in catalog, each alert on its own schedule (5-minute ticks
//! for most), over 30 days and about 1,000,000 events in an embedded store on disk.
//!
//! The month is the demo's ordinary day (`events/scenarios/benign-day`: infrastructure as code,
//! CI, SSO console users, service-linked roles, backups, flow logs) twice a day, 7 hours apart,
//! for 30 days, with the attack chain (`events/scenarios/attack-chain`) on day 15: what an account
//! looks like, not one event shape repeated. The store is built once under
//! `target/bench-data/` and reused.
//!
//! `taskset -c 0 cargo bench -p tripline-runtime --bench backtest` (one core: the figure the
//! README gives). `TRIPLINE_BENCH_COPIES` sets the copies of the ordinary day per day (2);
//! `TRIPLINE_BENCH_VERBOSE=1` prints each alert's time, runs and events read;
//! `TRIPLINE_BENCH_ALERTS=a,b` backtests those alerts only.
//! It uses mimalloc, like the `tripline` binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use tripline_alerts::{Alert, Registry};
use tripline_event::Event;
use tripline_runtime::backtest::Backtest;
use tripline_runtime::RunOptions;
use tripline_store::embedded::EmbeddedStore;
use tripline_store::EventStore;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DAYS: i64 = 30;

fn t(s: &str) -> DateTime<Utc> {
    tripline_dsl::parse_timestamp(s).expect("time")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A scenario's events (its history records included), as `tripline ingest` reads them.
fn scenario(set: &str) -> Vec<Event> {
    let dir = root().join("events/scenarios").join(set);
    let opts = tripline_normalize::Options {
        clock: tripline_normalize::Clock::Fixed(t("2024-08-01T00:00:00Z")),
        ..tripline_normalize::Options::default()
    };
    let mut out = Vec::new();
    for sub in ["cloudtrail", "vpcflow", "guardduty"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else { continue };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files {
            tripline_normalize::read_path(&f, &opts, |r| {
                if let Ok(e) = r {
                    out.push(e)
                }
            });
        }
    }
    out
}

fn shifted(events: &[Event], by: TimeDelta) -> Vec<Event> {
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.utctimestamp += by;
            e.timestamp = e.utctimestamp;
            e.receivedtimestamp = e.utctimestamp;
            e
        })
        .collect()
}

/// The month's store, built once: its directory, the span and the number of events.
fn month(rt: &tokio::runtime::Runtime) -> (PathBuf, DateTime<Utc>, DateTime<Utc>, u64) {
    let copies: i64 = std::env::var("TRIPLINE_BENCH_COPIES").ok().and_then(|c| c.parse().ok()).unwrap_or(2);
    let dir = root().join(format!("target/bench-data/backtest-{copies}"));
    let benign = scenario("benign-day");
    let day0 = benign.iter().map(|e| e.utctimestamp).max().expect("events").date_naive();
    let start = t(&format!("{day0}T00:00:00Z"));
    let end = start + TimeDelta::days(DAYS);
    let done = dir.join("complete");
    if let Ok(n) = std::fs::read_to_string(&done) {
        return (dir, start, end, n.trim().parse().unwrap_or(0));
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let store = EmbeddedStore::open(&dir).expect("store");
    let attack = scenario("attack-chain");
    let attack_day = attack.iter().map(|e| e.utctimestamp).max().expect("events").date_naive();
    let began = Instant::now();
    let mut n = 0u64;
    rt.block_on(async {
        for d in 0..DAYS {
            let mut day = Vec::new();
            for c in 0..copies {
                day.extend(shifted(&benign, TimeDelta::days(d) + TimeDelta::hours(7 * c)));
            }
            if d == 15 {
                let to = start + TimeDelta::days(15);
                day.extend(shifted(&attack, to - t(&format!("{attack_day}T00:00:00Z"))));
            }
            for chunk in day.chunks(50_000) {
                let report = store.index_events(chunk).await.expect("indexed");
                assert!(report.failed.is_empty(), "{:?}", report.failed.first());
                n += report.written;
            }
        }
    });
    eprintln!("built {} with {n} events in {:.0?}", dir.display(), began.elapsed());
    std::fs::write(&done, n.to_string()).expect("marker");
    (dir, start, end, n)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (dir, from, to, n) = month(&rt);
    let store = EmbeddedStore::open_read_only(&dir).expect("store");
    let only: Option<Vec<String>> =
        std::env::var("TRIPLINE_BENCH_ALERTS").ok().map(|a| a.split(',').map(str::to_string).collect());
    let alerts: Vec<Arc<dyn Alert>> = Registry::builtin()
        .iter()
        .filter(|a| only.as_ref().is_none_or(|o| o.iter().any(|n| n == a.name())))
        .cloned()
        .collect();
    let verbose = std::env::var_os("TRIPLINE_BENCH_VERBOSE").is_some();
    let run = || async {
        let b = Backtest::new(&store, RunOptions::default());
        let (mut raised, mut runs, mut ticks, mut read) = (0, 0, 0, 0);
        for a in &alerts {
            let began = Instant::now();
            let r = b.alert(a.as_ref(), from, to).await.expect("backtest");
            if verbose {
                eprintln!(
                    "{:>8.1?} {:<45} {:>5} runs {:>7} events {} raised",
                    began.elapsed(),
                    r.alert,
                    r.runs,
                    r.events_read,
                    r.raised.len()
                );
            }
            raised += r.raised.len();
            runs += r.runs;
            ticks += r.ticks;
            read += r.events_read;
        }
        (raised, runs, ticks, read)
    };
    let began = Instant::now();
    let (raised, runs, ticks, read) = rt.block_on(run());
    eprintln!(
        "{} alerts over {n} events, {DAYS} days: {raised} raised, {runs} of {ticks} ticks run, {read} events read, {:.2?}",
        alerts.len(),
        began.elapsed()
    );
    let mut g = c.benchmark_group("backtest");
    g.sample_size(10);
    g.bench_function(format!("catalog_{}_alerts_{n}_events_{DAYS}_days", alerts.len()), |b| {
        b.iter(|| rt.block_on(run()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
