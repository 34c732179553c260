//! Embedded store benchmark: index 1M synthetic CloudTrail-like events on disk, then a terms
//! aggregation over a 20-minute window (the "excessive Describe calls" alert).
//!
//! `cargo bench -p tripline-store --bench embedded` (bench profile: optimised). Indexing is timed
//! once (one writer thread, batches of 50,000 through `EventStore::index_events`, each a commit);
//! the aggregation is measured by criterion. `TRIPLINE_BENCH_EVENTS` changes the event count,
//! `TRIPLINE_BENCH_THREADS` the number of writer threads, `TRIPLINE_BENCH_BATCH` the events per
//! commit. It uses mimalloc, like the `tripline`
//! binary.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use tripline_dsl::prelude::*;
use tripline_event::Event;
use tripline_store::embedded::{EmbeddedOptions, EmbeddedStore};
use tripline_store::EventStore;

/// The allocator of the `tripline` binary, which is what indexes in practice.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SPAN_SECS: i64 = 24 * 3600;
const NAMES: [(&str, &str); 12] = [
    ("DescribeInstances", "Describe"),
    ("DescribeVolumes", "Describe"),
    ("DescribeSecurityGroups", "Describe"),
    ("ListBuckets", "List"),
    ("ListUsers", "List"),
    ("GetObject", "Get"),
    ("GetCallerIdentity", "Get"),
    ("PutObject", "Put"),
    ("AssumeRole", "Assume"),
    ("CreateUser", "Create"),
    ("RunInstances", "Run"),
    ("ConsoleLogin", "Console"),
];

fn start() -> DateTime<Utc> {
    tripline_dsl::parse_timestamp("2026-11-23T00:00:00Z").expect("start")
}

/// Event `i` of `n`, spread evenly over 24 hours; a cheap deterministic mix for the values.
fn event(i: u64, n: u64) -> Event {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let t = start() + TimeDelta::microseconds((i as i128 * SPAN_SECS as i128 * 1_000_000 / n as i128) as i64);
    let (name, verb) = NAMES[(h % NAMES.len() as u64) as usize];
    let user = (h >> 8) % 500;
    let ip = (h >> 20) % 2000;
    let mut e = Event::new(
        "cloudtrail",
        "AwsApiCall",
        format!("{name} by user{user}"),
        t,
        t + TimeDelta::seconds(90),
    );
    e.hostname = "ec2.amazonaws.com".into();
    e.processname = "cloudtrail".into();
    e.tags = vec!["cloudtrail".into(), "aws".into()];
    let d = &mut e.details;
    d.insert("eventname".into(), json!(name));
    d.insert("eventverb".into(), json!(verb));
    d.insert("eventsource".into(), json!("ec2.amazonaws.com"));
    d.insert("awsregion".into(), json!(["us-east-1", "eu-west-1", "eu-central-1"][(h >> 32) as usize % 3]));
    d.insert("sourceipaddress".into(), json!(format!("203.0.{}.{}", ip / 250, ip % 250)));
    d.insert("useragent".into(), json!("aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64"));
    d.insert(
        "useridentity".into(),
        json!({
            "type": "IAMUser",
            "username": format!("user{user}"),
            "arn": format!("arn:aws:iam::123456789012:user/user{user}"),
            "accesskeyid": format!("AKIA{user:016}"),
        }),
    );
    d.insert(
        "requestparameters".into(),
        json!(format!("{{\"instancesSet\":{{\"items\":[{{\"instanceId\":\"i-{h:016x}\"}}]}}}}")),
    );
    d.insert("eventid".into(), json!(format!("{h:032x}")));
    d.insert("readonly".into(), json!(verb != "Put" && verb != "Create" && verb != "Run"));
    e
}

/// User + system CPU seconds of this process, all threads (Linux `/proc/self/stat`; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line: indices 11 and 12 after the name (field 3
    // is index 0). Linux counts them in ticks of 1/100 s.
    (ticks(11) + ticks(12)) / 100.0
}

fn bench(c: &mut Criterion) {
    let n: u64 =
        std::env::var("TRIPLINE_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let threads: usize =
        std::env::var("TRIPLINE_BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let options = EmbeddedOptions { writer_threads: threads, ..EmbeddedOptions::default() };
    let store = EmbeddedStore::open_with(dir.path(), options).expect("store");

    let batch: u64 =
        std::env::var("TRIPLINE_BENCH_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000).max(1);
    let mut indexing = std::time::Duration::ZERO;
    let mut cpu = 0.0;
    let mut i = 0;
    while i < n {
        let events: Vec<Event> = (i..(i + batch).min(n)).map(|j| event(j, n)).collect();
        let (t0, c0) = (Instant::now(), cpu_seconds());
        let report = rt.block_on(store.index_events(&events)).expect("index");
        indexing += t0.elapsed();
        cpu += cpu_seconds() - c0;
        assert_eq!(report.written, events.len() as u64);
        i += batch;
    }
    let secs = indexing.as_secs_f64();
    println!(
        "indexed {n} events in {secs:.2} s: {:.0} events/s ({threads} writer thread(s), batches of {batch}, on disk at {})",
        n as f64 / secs,
        dir.path().display()
    );
    println!(
        "CPU time of all threads while indexing: {cpu:.2} s, {:.1} µs/event, {:.0} events per CPU-second",
        cpu * 1e6 / n as f64,
        n as f64 / cpu
    );

    let now = start() + TimeDelta::seconds(SPAN_SECS);
    let q = SearchQuery::minutes(20)
        .must((TermMatch("source", "cloudtrail"), TermMatch("details.eventverb", "Describe")))
        .aggregate(Aggregation::terms("details.useridentity.arn").size(50).samples(5).min_count(1))
        .compile(now)
        .expect("query");
    let result = rt.block_on(store.aggregate(&q.query, &q.aggregations)).expect("aggregate");
    if let tripline_store::AggregationValue::Buckets(b) = &result[0].value {
        let total: u64 = b.iter().map(|b| b.count).sum();
        println!("20-minute window: {} buckets (top 50), {total} events in them", b.len());
        assert!(!b.is_empty());
    }
    let mut group = c.benchmark_group("embedded");
    group.sample_size(20);
    group.bench_function("terms_aggregation_20min_window_1M", |b| {
        b.iter(|| rt.block_on(store.aggregate(&q.query, &q.aggregations)).expect("aggregate"))
    });
    let all = SearchQuery::hours(24)
        .aggregate(Aggregation::terms("details.useridentity.arn").size(50).samples(5).min_count(1))
        .compile(now)
        .expect("query");
    group.bench_function("terms_aggregation_24h_window_1M", |b| {
        b.iter(|| rt.block_on(store.aggregate(&all.query, &all.aggregations)).expect("aggregate"))
    });
    // A leading wildcard scans the terms of a field: the worst case for the term dictionary.
    let wildcard = SearchQuery::minutes(20)
        .must(WildcardMatch("details.requestparameters", "*instanceId*i-00*"))
        .compile(now)
        .expect("query");
    let request = tripline_store::SearchRequest {
        query: wildcard.query,
        size: 10,
        sort: tripline_store::Sort::NewestFirst,
    };
    group.bench_function("leading_wildcard_search_20min_window_1M", |b| {
        b.iter(|| rt.block_on(store.search(&request)).expect("search"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
