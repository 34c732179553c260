//! Raw bytes → `tripline_normalize::read_reader` → one in-RAM embedded store → queries, with the
//! invariants of the write and read paths asserted (a failed assertion is a crash).
//!
//! Shared by the `ingest` fuzz target (`fuzz_targets/ingest.rs`) and the regression tests
//! (`crates/store/tests/ingest_regressions.rs`, which include this file with `#[path]`): one copy
//! of the harness, so that every crash the fuzzer finds replays as a plain `cargo test`.
//!
//! ## The input
//!
//! The first byte chooses the shape of the file and the batch size; the rest is the body:
//!
//! - low nibble modulo 5: [`Shape`] (`'0'` plain, `'1'` gzip, `'2'` CloudWatch Logs
//!   subscription envelope, `'3'` VPC flow file with the default header, `'4'` EventBridge
//!   GuardDuty envelope: the ASCII digits select them, so that seed files stay readable);
//! - high nibble + 1: how many events go to the store per `index_events` call (1 to 16; `'0'`
//!   to `'4'` give 4).
//!
//! ## What is asserted
//!
//! - reading gives as many events and errors as its [`Stats`](tripline_normalize::Stats) count;
//! - for every batch, `report.written + report.failed.len() == batch.len()`, failures are at
//!   distinct in-batch positions naming that position's id, and every failure is permanent;
//! - no query of the fixed set errors: `MatchAll` (size 10), a terms aggregation on `source` and
//!   on a `details` field of the events, a date histogram on `utctimestamp`, ranges on
//!   `utctimestamp` with bounds from the events and from the input;
//! - the counts agree: every query that must match every stored event counts the distinct
//!   documents written (by index and id: a second write of an id replaces the first), the
//!   histogram's and the `source` terms' buckets add up to it, hits come newest first;
//! - an id the store wrote is found exactly once by a term query (the first and last documents
//!   are tagged with a probe alert name through `tag_events`, then searched by `alert_names`:
//!   ids themselves are not an indexed field);
//! - nothing panics (the fuzz target's panic hook aborts on any panic, caught or not).

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use tripline_dsl::{Aggregation, Bound, QueryAst, Value};
use tripline_normalize::{read_reader, Clock, Event, NormalizeError, Options};
use tripline_store::embedded::EmbeddedStore;
use tripline_store::{
    event_index, AggregationResult, AggregationValue, BulkFailure, EventStore, SearchRequest, SearchResult,
    Sort, StoreError,
};

/// The ingest clock of every run (`receivedtimestamp`): fixed, so that a run replays exactly.
pub const RECEIVED: &str = "2026-11-23T12:00:00Z";

/// The probe alert name used to find written ids by a term query.
pub const PROBE: &str = "fuzz-probe";

/// How the body is wrapped before it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The body as the file.
    Plain,
    /// The body gzip-compressed (as S3 delivers CloudTrail).
    Gzip,
    /// A CloudWatch Logs subscription event: `{"awslogs":{"data": base64(gzip(payload))}}`, the
    /// payload's `logEvents` one per line of the body (lossy UTF-8).
    CloudWatch,
    /// A VPC flow log file: the default (version 2) header line, then the body.
    FlowWithHeader,
    /// An EventBridge `GuardDuty Finding` event whose `detail` is the body (spliced raw).
    EventBridgeGuardDuty,
}

/// A fuzz input, split.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The wrapping.
    pub shape: Shape,
    /// Events per `index_events` call.
    pub batch: usize,
    /// The rest.
    pub body: &'a [u8],
}

impl<'a> Input<'a> {
    /// Split `data`; `None` when empty.
    pub fn split(data: &'a [u8]) -> Option<Self> {
        let (&first, body) = data.split_first()?;
        let shape = match (first & 0x0f) % 5 {
            0 => Shape::Plain,
            1 => Shape::Gzip,
            2 => Shape::CloudWatch,
            3 => Shape::FlowWithHeader,
            _ => Shape::EventBridgeGuardDuty,
        };
        Some(Input { shape, batch: usize::from(first >> 4) + 1, body })
    }

    /// The file `tripline ingest` would be given.
    pub fn file(&self) -> Vec<u8> {
        match self.shape {
            Shape::Plain => self.body.to_vec(),
            Shape::Gzip => gzip(self.body),
            Shape::CloudWatch => {
                let text = String::from_utf8_lossy(self.body);
                let log_events: Vec<serde_json::Value> = text
                    .lines()
                    .enumerate()
                    .map(|(i, line)| {
                        serde_json::json!({
                            "id": format!("3719593095{i:026}"),
                            "timestamp": 1_795_435_200_000_i64 + i as i64,
                            "message": line,
                        })
                    })
                    .collect();
                let payload = serde_json::json!({
                    "messageType": "DATA_MESSAGE",
                    "owner": "123456789012",
                    "logGroup": "aws-cloudtrail-logs-123456789012",
                    "logStream": "123456789012_CloudTrail_us-east-1",
                    "subscriptionFilters": ["tripline"],
                    "logEvents": log_events,
                });
                let data =
                    base64::engine::general_purpose::STANDARD.encode(gzip(payload.to_string().as_bytes()));
                serde_json::json!({ "awslogs": { "data": data } }).to_string().into_bytes()
            }
            Shape::FlowWithHeader => {
                let mut f = tripline_normalize::vpcflow::DEFAULT_FORMAT.as_bytes().to_vec();
                f.push(b'\n');
                f.extend_from_slice(self.body);
                f
            }
            Shape::EventBridgeGuardDuty => {
                let mut f = br#"{"version":"0","id":"c8c4daa7-a20c-2f03-0070-b7393dd542ad","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"123456789012","time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],"detail":"#.to_vec();
                f.extend_from_slice(self.body);
                f.push(b'}');
                f
            }
        }
    }

    /// Two instants from the input, for the range query's bounds: the body's first and last 8
    /// bytes as seconds, folded into the years 0001 to 9999 (what RFC 3339 writes: bounds far
    /// outside what the store holds are valid queries too).
    pub fn bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            let n = b.len().min(8);
            w[..n].copy_from_slice(&b[..n]);
            i64::from_le_bytes(w)
        };
        let first = word(self.body);
        let last = word(&self.body[self.body.len().saturating_sub(8)..]);
        let fold = |s: i64| {
            // 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
            const FIRST: i64 = -62_135_596_800;
            const LAST: i64 = 253_402_300_799;
            let s = FIRST + s.rem_euclid(LAST - FIRST + 1);
            DateTime::from_timestamp(s, 0).unwrap_or(DateTime::UNIX_EPOCH)
        };
        let (a, b) = (fold(first), fold(last));
        (a.min(b), a.max(b))
    }
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b).expect("gzip to memory");
    gz.finish().expect("gzip to memory")
}

/// What one input did, for the regression tests to look at.
#[derive(Debug)]
pub struct Outcome {
    /// The store, after the run (with the probe tags).
    pub store: EmbeddedStore,
    /// Every event read, in order.
    pub events: Vec<Event>,
    /// Every error read, in order.
    pub errors: Vec<NormalizeError>,
    /// Documents written (all batches; a replaced id counts each time).
    pub written: u64,
    /// Documents refused, with their position in `events` (not in the batch).
    pub failed: Vec<BulkFailure>,
    /// Distinct documents stored (index, id).
    pub stored: usize,
}

/// Builds the runtime every run uses: current-thread (the store's blocking work goes to the
/// blocking pool).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

/// Read `data` as [`Input::split`] says, into a new in-RAM store, query it and check every
/// invariant (see the module docs); panics on a violation.
pub fn check(rt: &tokio::runtime::Runtime, data: &[u8]) -> Option<Outcome> {
    let input = Input::split(data)?;
    let store = EmbeddedStore::in_memory().expect("an in-RAM store");
    Some(rt.block_on(run(&input, store)))
}

fn received() -> DateTime<Utc> {
    tripline_dsl::parse_timestamp(RECEIVED).expect("RECEIVED")
}

async fn run(input: &Input<'_>, store: EmbeddedStore) -> Outcome {
    // Read as `tripline ingest` does (default options; the clock fixed).
    let opts = Options { clock: Clock::Fixed(received()), ..Options::default() };
    let file = input.file();
    let (mut events, mut errors) = (Vec::new(), Vec::new());
    let stats = read_reader(&file[..], "fuzz-input", &opts, |r| match r {
        Ok(e) => events.push(e),
        Err(e) => errors.push(e),
    });
    assert_eq!(stats.total_records(), events.len() as u64, "events counted {stats:?}");
    assert_eq!(stats.total_errors(), errors.len() as u64, "errors counted {stats:?}");

    // Write, in batches.
    let (mut written, mut failed) = (0u64, Vec::new());
    // (index, id) → the last position written under it.
    let mut stored: HashMap<(String, String), usize> = HashMap::new();
    for (n, batch) in events.chunks(input.batch).enumerate() {
        let offset = n * input.batch;
        let report = store.index_events(batch).await.unwrap_or_else(|e| panic!("index_events: {e}"));
        assert_eq!(
            report.written + report.failed.len() as u64,
            batch.len() as u64,
            "written + failed = events in the batch: {report:?}"
        );
        let mut refused = vec![false; batch.len()];
        for f in &report.failed {
            assert!(f.position < batch.len(), "failure position out of the batch: {f:?}");
            assert!(!refused[f.position], "two failures for one position: {report:?}");
            refused[f.position] = true;
            assert_eq!(f.id, batch[f.position].id(), "a failure names its document: {f:?}");
            assert!(!f.retryable, "the embedded store has nothing to retry: {f:?}");
            failed.push(BulkFailure { position: offset + f.position, ..f.clone() });
        }
        written += report.written;
        for (i, e) in batch.iter().enumerate().filter(|(i, _)| !refused[*i]) {
            stored.insert((event_index(e.utctimestamp), e.id()), offset + i);
        }
    }
    let distinct = stored.len();
    let kept: Vec<&Event> = {
        let mut at: Vec<usize> = stored.values().copied().collect();
        at.sort_unstable();
        at.into_iter().map(|i| &events[i]).collect()
    };

    queries(input, &store, &kept).await;
    probes(&store, &kept).await;

    Outcome { store, events, errors, written, failed, stored: distinct }
}

async fn search(store: &EmbeddedStore, query: QueryAst, size: usize, sort: Sort) -> SearchResult {
    let request = SearchRequest { query, size, sort };
    match store.search(&request).await {
        Ok(r) => r,
        Err(e) => panic!("search {request:?}: {e}"),
    }
}

async fn aggregate(store: &EmbeddedStore, query: &QueryAst, agg: Aggregation) -> Vec<AggregationResult> {
    let r: Result<_, StoreError> = store.aggregate(query, std::slice::from_ref(&agg)).await;
    match r {
        Ok(r) => {
            assert_eq!(r.len(), 1, "one result per aggregation: {r:?}");
            r
        }
        Err(e) => panic!("aggregate {agg:?}: {e}"),
    }
}

fn buckets(r: &[AggregationResult]) -> &[tripline_store::Bucket] {
    match &r[0].value {
        AggregationValue::Buckets(b) => b,
        other => panic!("buckets expected: {other:?}"),
    }
}

fn range(lower: Option<Bound>, upper: Option<Bound>) -> QueryAst {
    QueryAst::Range { field: "utctimestamp".into(), lower, upper }
}

fn ts(t: DateTime<Utc>) -> Value {
    Value::Str(tripline_event::format_timestamp(t))
}

/// The fixed set of queries, each against what was written.
async fn queries(input: &Input<'_>, store: &EmbeddedStore, kept: &[&Event]) {
    let distinct = kept.len() as u64;

    // Everything, newest first.
    let all = search(store, QueryAst::MatchAll, 10, Sort::NewestFirst).await;
    assert_eq!(all.total, distinct, "MatchAll counts the distinct documents written");
    assert_eq!(all.hits.len() as u64, distinct.min(10));
    let times: Vec<DateTime<Utc>> = all
        .hits
        .iter()
        .map(|h| {
            let t = h.source["utctimestamp"].as_str().unwrap_or_else(|| panic!("utctimestamp in {h:?}"));
            tripline_dsl::parse_timestamp(t).unwrap_or_else(|e| panic!("stored utctimestamp {t:?}: {e}"))
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");

    // Terms on a field every event has: the buckets add up.
    let by_source = aggregate(store, &QueryAst::MatchAll, Aggregation::terms("source").size(10)).await;
    let sum: u64 = buckets(&by_source).iter().map(|b| b.count).sum();
    let sources: BTreeMap<&str, u64> = kept.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e.source.as_str()).or_default() += 1;
        m
    });
    if sources.len() <= 10 {
        assert_eq!(sum, distinct, "terms on source: {by_source:?}");
    }

    // Terms on a field of the events (the first details key of the first event that has one).
    if let Some(key) = kept.iter().find_map(|e| e.details.keys().next()) {
        aggregate(store, &QueryAst::MatchAll, Aggregation::terms(format!("details.{key}")).size(5)).await;
    }

    // A date histogram on utctimestamp, interval from the input.
    const INTERVALS: [u64; 5] = [1, 60, 3600, 86_400, 366 * 86_400];
    let interval = INTERVALS[input.body.len() % INTERVALS.len()];
    let hist =
        aggregate(store, &QueryAst::MatchAll, Aggregation::date_histogram("utctimestamp", interval)).await;
    let hb = buckets(&hist);
    assert_eq!(hb.iter().map(|b| b.count).sum::<u64>(), distinct, "histogram buckets: {hist:?}");
    assert!(hb.iter().all(|b| b.count > 0), "empty buckets are left out: {hist:?}");
    let keys: Vec<DateTime<Utc>> = hb
        .iter()
        .map(|b| {
            let k = b.key.as_str().unwrap_or_else(|| panic!("histogram key: {b:?}"));
            tripline_dsl::parse_timestamp(k).unwrap_or_else(|e| panic!("histogram key {k:?}: {e}"))
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "histogram by time: {keys:?}");

    // Ranges on utctimestamp with bounds from the events: [min, max] holds them all, (min, max)
    // all but those at either end (the store keeps milliseconds, as the events serialize).
    if let (Some(lo), Some(hi)) =
        (kept.iter().map(|e| e.utctimestamp).min(), kept.iter().map(|e| e.utctimestamp).max())
    {
        let inclusive = search(
            store,
            range(Some(Bound::inclusive(ts(lo))), Some(Bound::inclusive(ts(hi)))),
            0,
            Sort::NewestFirst,
        )
        .await;
        assert_eq!(inclusive.total, distinct, "[{lo}, {hi}]");
        let (lo_ms, hi_ms) = (lo.timestamp_millis(), hi.timestamp_millis());
        let inside =
            kept.iter().filter(|e| (lo_ms + 1..hi_ms).contains(&e.utctimestamp.timestamp_millis())).count()
                as u64;
        let exclusive = search(
            store,
            range(Some(Bound::exclusive(ts(lo))), Some(Bound::exclusive(ts(hi)))),
            0,
            Sort::OldestFirst,
        )
        .await;
        assert_eq!(exclusive.total, inside, "({lo}, {hi})");
    }

    // A range with bounds from the input bytes (anywhere in chrono's years): a valid query.
    let (a, b) = input.bounds();
    let (a_ms, b_ms) = (a.timestamp_millis(), b.timestamp_millis());
    let expected =
        kept.iter().filter(|e| (a_ms..=b_ms).contains(&e.utctimestamp.timestamp_millis())).count() as u64;
    let from_input = search(
        store,
        range(Some(Bound::inclusive(ts(a))), Some(Bound::inclusive(ts(b)))),
        3,
        Sort::OldestFirst,
    )
    .await;
    assert_eq!(from_input.total, expected, "[{a}, {b}] from the input");
    let open = search(store, range(Some(Bound::exclusive(ts(b))), None), 0, Sort::NewestFirst).await;
    let after = kept.iter().filter(|e| e.utctimestamp.timestamp_millis() > b_ms).count() as u64;
    assert_eq!(open.total, after, "after {b}");
}

/// A written id is found exactly once by a term query: the first and the last document stored
/// are tagged with the probe alert name (one `tag_events` call, one commit), then searched by it.
async fn probes(store: &EmbeddedStore, kept: &[&Event]) {
    let (Some(first), Some(last)) = (kept.first(), kept.last()) else { return };
    let mut refs: Vec<tripline_store::DocRef> = [first, last]
        .into_iter()
        .map(|e| tripline_store::DocRef { index: event_index(e.utctimestamp), id: e.id() })
        .collect();
    refs.dedup();
    let report = store.tag_events(&refs, PROBE).await.unwrap_or_else(|e| panic!("tag_events: {e}"));
    assert_eq!((report.written, report.failed.len()), (refs.len() as u64, 0), "tagging {refs:?}: {report:?}");
    let probe = QueryAst::Term {
        field: "alert_names".into(),
        value: Value::Str(PROBE.into()),
        case_insensitive: false,
    };
    let found = search(store, probe, 10, Sort::OldestFirst).await;
    assert_eq!(found.total, refs.len() as u64, "each tagged id once: {refs:?} {found:?}");
    for r in &refs {
        let n = found.hits.iter().filter(|h| h.index == r.index && h.id == r.id).count();
        assert_eq!(n, 1, "{r:?} found {n} times: {found:?}");
    }
    let all = search(store, QueryAst::MatchAll, 0, Sort::NewestFirst).await;
    assert_eq!(all.total, kept.len() as u64, "tagging neither adds nor drops a document");
}
