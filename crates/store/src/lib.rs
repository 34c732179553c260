//! # tripline-store: where events live, behind one contract
//!
//! Alerts run against an [`EventStore`]. On one machine that is the `embedded` store (tantivy, on
//! disk or in RAM: no server, no cloud), for testing alerts, hunting and backtesting over archived
//! logs. At scale it is [`opensearch`] (Amazon OpenSearch Service, Serverless, or self-managed).
//!
//! The embedded store is behind the cargo feature `embedded` (off by default): the CLI and the
//! tests turn it on; the Lambda functions, which only talk to OpenSearch, leave it off and do not
//! link tantivy.
//!
//! Both stores take the same [`QueryAst`] and must give the same answers:
//! the semantics in `tripline_dsl`'s crate docs are the contract, and one conformance suite
//! (`tests/conformance/*.json`) holds both to it.
//!
//! Every document has an index and an id. Events are written to `events-YYYY.MM.DD` (by their
//! `utctimestamp`) under their deterministic [`Event::id`](tripline_event::Event::id); searches read
//! every `events-*` index. Alerts go to the `alerts` index under their deterministic id.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "embedded")]
pub mod embedded;
pub mod ingest;
pub mod opensearch;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
pub use tripline_dsl::results::{AggregationResult, AggregationValue, Bucket, Hit};
use tripline_dsl::{Aggregation, QueryAst};
use tripline_event::{AlertRecord, Event};

/// The prefix of event indices; searches read `events-*`.
pub const EVENTS_PREFIX: &str = "events-";
/// The index alerts are written to.
pub const ALERTS_INDEX: &str = "alerts";

/// The daily index an event is written to: `events-YYYY.MM.DD` of its `utctimestamp`.
pub fn event_index(utctimestamp: DateTime<Utc>) -> String {
    event_index_in(EVENTS_PREFIX, utctimestamp)
}

/// The daily index under another prefix: `{prefix}YYYY.MM.DD` (both stores name days this way).
pub fn event_index_in(prefix: &str, utctimestamp: DateTime<Utc>) -> String {
    format!("{prefix}{}", utctimestamp.format("%Y.%m.%d"))
}

/// The query and aggregations a store is asked to run, checked by the query language itself
/// ([`QueryAst::validate`], [`tripline_dsl::validate_aggregations`]) before either store does
/// anything: a query no store can run is refused the same way by both.
pub fn check_request(query: &QueryAst, aggregations: &[Aggregation]) -> Result<(), StoreError> {
    query.validate().map_err(|e| StoreError::Unsupported(e.to_string()))?;
    tripline_dsl::validate_aggregations(aggregations).map_err(|e| StoreError::Unsupported(e.to_string()))
}

/// The order of hits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sort {
    /// Most recent `utctimestamp` first (what alerts want).
    #[default]
    NewestFirst,
    /// Oldest first.
    OldestFirst,
}

/// A search: which events, how many, in what order.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchRequest {
    /// The filter.
    pub query: QueryAst,
    /// At most this many hits are returned (the total is counted regardless).
    pub size: usize,
    /// Their order.
    pub sort: Sort,
}

/// What a search found.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SearchResult {
    /// How many events matched in all (not only those returned).
    pub total: u64,
    /// The first `size` of them, in the requested order.
    pub hits: Vec<Hit>,
    /// Events not counted in `total` that hold a value too long to index
    /// ([`MAX_KEYWORD_CHARS`](tripline_dsl::MAX_KEYWORD_CHARS)) in a field the query matches on,
    /// and so might match it: when not zero the answer may be incomplete, and says so.
    pub unindexed_candidates: u64,
}

/// The paths of an event's string values too long to index
/// ([`MAX_KEYWORD_CHARS`](tripline_dsl::MAX_KEYWORD_CHARS)), and of its pairs fields that were
/// cut short ([`PAIRS_TRUNCATED`](tripline_event::PAIRS_TRUNCATED)), sorted, each once: what both
/// stores write into the document's [`UNINDEXED_FIELD`](tripline_dsl::UNINDEXED_FIELD). `summary`
/// is analyzed text and has no such limit.
pub fn unindexed_paths(event: &Event) -> Vec<String> {
    use tripline_dsl::is_unindexable;
    let mut out = Vec::new();
    // `summary` (the first) is analyzed text, which has no such limit.
    for (name, text) in event.top_level_strings().into_iter().skip(1) {
        if is_unindexable(text) {
            out.push(name.to_owned());
        }
    }
    for (name, list) in [("tags", &event.tags), ("alert_names", &event.alert_names)] {
        if list.iter().any(|t| is_unindexable(t)) {
            out.push(name.to_owned());
        }
    }
    fn walk(path: &mut String, v: &Json, out: &mut Vec<String>, depth: usize) {
        match v {
            Json::String(s) if is_unindexable(s) => out.push(path.clone()),
            // A pairs field whose subtree had more leaves than it holds.
            Json::String(s)
                if s == tripline_event::PAIRS_TRUNCATED && path.ends_with(tripline_event::PAIRS_SUFFIX) =>
            {
                out.push(path.clone())
            }
            Json::Array(items) if depth < 64 => items.iter().for_each(|i| walk(path, i, out, depth + 1)),
            Json::Object(m) if depth < 64 => {
                for (k, child) in m {
                    let len = path.len();
                    path.push('.');
                    path.push_str(k);
                    walk(path, child, out, depth + 1);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut path = String::from("details");
    for (k, child) in &event.details {
        path.truncate("details".len());
        path.push('.');
        path.push_str(k);
        walk(&mut path, child, &mut out, 1);
    }
    out.sort();
    out.dedup();
    out
}

/// What a bulk write did: which documents went in, and which failed and why.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct BulkReport {
    /// Documents written (created or replaced).
    pub written: u64,
    /// Per-document failures.
    pub failed: Vec<BulkFailure>,
}

/// One document a bulk write could not store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BulkFailure {
    /// Position in the batch.
    pub position: usize,
    /// The document's id.
    pub id: String,
    /// The engine's reason.
    pub reason: String,
    /// Whether trying again may succeed (throttling, unavailable shard), as opposed to a document
    /// the engine will never take (a mapping conflict).
    pub retryable: bool,
}

/// A reference to a stored event, for tagging.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DocRef {
    /// Its index.
    pub index: String,
    /// Its id.
    pub id: String,
}

/// What went wrong talking to a store. Never an empty result in disguise.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The query uses something this store cannot execute, or a field in a way its mapping forbids.
    #[error("query not supported: {0}")]
    Unsupported(String),
    /// The engine refused the request (4xx other than throttling), with its reason.
    #[error("request rejected ({status}): {reason}")]
    Rejected {
        /// HTTP status (or 0 for the embedded store).
        status: u16,
        /// The engine's reason.
        reason: String,
    },
    /// Still failing after the bounded retries (throttling, 5xx, timeouts).
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// Some shards failed: the answer would be incomplete.
    #[error("{failed} of {total} shards failed: {reason}")]
    PartialResults {
        /// Failed shards.
        failed: u64,
        /// All shards.
        total: u64,
        /// The first failure's reason.
        reason: String,
    },
    /// The response could not be understood (truncated, not JSON, missing parts).
    #[error("malformed response: {0}")]
    Malformed(String),
    /// Transport, TLS or signing failure.
    #[error("connection: {0}")]
    Connection(String),
    /// The embedded index: I/O, corruption, locking.
    #[error("index: {0}")]
    Index(String),
    /// Configuration that cannot work (bad URL, missing credentials).
    #[error("configuration: {0}")]
    Config(String),
    /// The embedded store's files are damaged (checksums that do not match, files missing or
    /// unreadable): found when a query failed and the store verified itself, or by `verify`.
    #[error("the store is damaged: {0}")]
    Damaged(String),
}

/// A store of MozDef events and alerts.
///
/// Writes become visible to searches once the call returns (the embedded store commits, the
/// OpenSearch store refreshes): an alert run right after an ingest sees what was ingested.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Events matching the query: the total and up to `size` hits.
    async fn search(&self, request: &SearchRequest) -> Result<SearchResult, StoreError>;

    /// Aggregations computed by the engine over the events matching `query`.
    async fn aggregate(
        &self,
        query: &QueryAst,
        aggregations: &[Aggregation],
    ) -> Result<Vec<AggregationResult>, StoreError>;

    /// Store events under their deterministic ids, in their daily indices; a document that
    /// already exists is replaced, but keeps its `alert_names` when the new event has none (so
    /// re-ingesting the same logs never makes an alert fire again on them). Per-document failures
    /// are reported, not fatal.
    async fn index_events(&self, events: &[Event]) -> Result<BulkReport, StoreError>;

    /// Add `alert_name` to `alert_names` of each referenced event (once, however often called).
    async fn tag_events(&self, refs: &[DocRef], alert_name: &str) -> Result<BulkReport, StoreError>;

    /// Store alerts in the alerts index under their ids (a rerun replaces, never duplicates).
    async fn write_alerts(&self, alerts: &[AlertRecord]) -> Result<BulkReport, StoreError>;

    /// Alerts stored so far matching `query` (newest first, up to `size`).
    async fn search_alerts(&self, query: &QueryAst, size: usize) -> Result<SearchResult, StoreError>;

    /// The most buckets one aggregation answer may hold, sub-aggregations' included (`None`: no
    /// limit but memory). A backtest asks the engine for an alert's groups in every second of a
    /// month in one answer where there is no limit.
    fn max_buckets(&self) -> Option<usize> {
        None
    }
}
