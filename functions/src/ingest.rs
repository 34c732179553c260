//! The ingest Lambda: raw AWS logs → normalized events → OpenSearch.
//!
//! It accepts, as its invocation event:
//!
//! - **S3 ObjectCreated notifications** (`{"Records":[{"eventSource":"aws:s3",…}]}`) and their
//!   EventBridge form (`detail-type: Object Created`): each object (a CloudTrail delivery file, a
//!   flow log file, plain or gzip) is streamed from S3 through the normalizer into the store in
//!   batches, so memory is bounded by a few batches, not by the object;
//! - **CloudWatch Logs subscription events** (`{"awslogs":{"data":…}}`): CloudTrail records or
//!   flow log lines (in `TRIPLINE_FLOW_FORMAT`, default the version-2 format);
//! - anything else the normalizer reads: EventBridge "AWS API Call via CloudTrail" and "GuardDuty
//!   Finding" events, a bare record.
//!
//! ## Failures
//!
//! A malformed record is logged (JSON tracing, with the object and record ordinal), counted in the
//! returned [`IngestReport`], and the rest goes on: retrying would fail the same way. A document
//! the store refuses for good (a mapping conflict, or a document too large for any request) costs
//! only itself: it is logged with the object (or `event`) and the record number it came from,
//! counted in `refused`, listed in `refusals` (the first few hundred), and the rest of its bulk
//! request is committed; the invocation succeeds.
//!
//! A successful invocation writes its counts as one CloudWatch EMF line on stdout
//! ([`IngestReport::metrics`]: `EventsIngested`, `EventsRefused`, `RecordsMalformed` in the
//! `Tripline` namespace), so refusals and malformed records can be graphed and alarmed on.
//!
//! Everything else fails the invocation ([`IngestError`]), so that AWS retries it (twice for
//! asynchronous S3 invocations, until the record expires for CloudWatch Logs) and then hands it
//! to the function's on-failure destination; an event is never dropped silently:
//!
//! - [`IngestError::Retryable`]: the store unreachable or throttling after its own retries, a
//!   document refused as retryable, S3 throttling or a broken download;
//! - [`IngestError::Refused`]: the store refused a whole request (401, 403, any 4xx other than
//!   per-document failures inside a bulk answer; a 413 is first split by the store down to single
//!   documents), including the index template installation before the first write, or its
//!   configuration cannot work. A retry may not fix it (a missing permission), but the failure is
//!   visible and the events are kept by the on-failure destination until it is fixed.
//!
//! Retries are safe: event ids are deterministic, so a re-run replaces what the first run wrote,
//! and events keep the alert names alerts have given them meanwhile (no alert fires twice on a
//! replayed object). Only an S3 object that no longer exists (or is otherwise refused for good by
//! S3) is reported in `dropped` and not retried.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;

use aws_lambda_events::s3::S3Event;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tripline_event::Event;
use tripline_normalize::{FlowFormat, NormalizeError, Options, Stats};
use tripline_runtime::metrics::{Metrics, MetricsOut};
use tripline_store::ingest::{self as pipeline, Batcher, Chunk, Origin};
use tripline_store::opensearch::{OpenSearchConfig, OpenSearchStore};
use tripline_store::{BulkReport, EventStore, StoreError};

/// Events per bulk write.
pub const DEFAULT_BATCH: usize = 2000;
/// At most this many per-record failures are logged one by one per invocation (all are counted).
const LOGGED_FAILURES: u64 = 200;

/// Why an invocation failed (it is retried by AWS, then goes to the on-failure destination).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A failure a retry can fix (throttling, the store or S3 unreachable, a broken download).
    #[error("retryable: {0}")]
    Retryable(String),
    /// S3 refused to hand over an object (403, …), or the store refused a whole request (an
    /// HTTP status other than per-document failures: 401, 403, a template installation refused,
    /// templates not installed, …) or cannot be used as configured.
    #[error("refused: {0}")]
    Refused(String),
}

use IngestError::{Refused, Retryable};

/// What one invocation did.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct IngestReport {
    /// S3 objects read.
    pub objects: u64,
    /// Events normalized, by source.
    pub records: BTreeMap<String, u64>,
    /// Records that failed to normalize, by kind.
    pub errors: BTreeMap<String, u64>,
    /// Rows skipped on purpose (NODATA, SKIPDATA, control messages), by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Events the store accepted.
    pub written: u64,
    /// Events the store refused for good (mapping conflicts, …).
    pub refused: u64,
    /// The first `LOGGED_FAILURES` of those, each with the file and record it came from.
    pub refusals: Vec<Refusal>,
    /// S3 objects given up on because they are gone (GetObject answered 404).
    pub dropped: Vec<String>,
}

/// One document the store refused for good, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    /// The object (`s3://bucket/key`) or `event` (an invocation event read as a whole).
    pub file: String,
    /// The record's 1-based ordinal there (as normalization errors number it).
    pub record: u64,
    /// The document's id.
    pub id: String,
    /// The store's reason.
    pub reason: String,
}

impl IngestReport {
    /// The invocation's EMF metrics: `EventsIngested` (written), `EventsRefused` (refused one by
    /// one, for good), `RecordsMalformed` (records that did not normalize), in `Tripline`.
    pub fn metrics(&self) -> Metrics {
        Metrics::new()
            .count("EventsIngested", self.written)
            .count("EventsRefused", self.refused)
            .count("RecordsMalformed", self.errors.values().sum())
    }

    fn add(&mut self, s: &Stats) {
        for (k, v) in &s.records {
            *self.records.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &s.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &s.skipped {
            *self.skipped.entry(k.clone()).or_default() += v;
        }
    }
}

/// The ingest function: a store, an S3 client, normalizer options.
#[derive(Clone)]
pub struct Ingest {
    store: Arc<dyn EventStore>,
    s3: aws_sdk_s3::Client,
    options: Options,
    batch: usize,
    metrics: MetricsOut,
}

impl Ingest {
    /// Build from parts (tests, other hosts).
    pub fn new(store: Arc<dyn EventStore>, s3: aws_sdk_s3::Client, options: Options) -> Self {
        Ingest { store, s3, options, batch: DEFAULT_BATCH, metrics: MetricsOut::Stdout }
    }

    /// Where the invocation's metrics go (stdout, as EMF, unless told otherwise).
    pub fn with_metrics(mut self, metrics: MetricsOut) -> Self {
        self.metrics = metrics;
        self
    }

    /// Events per bulk write.
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Configuration from the environment, read once per cold start: the OpenSearch variables of
    /// [`OpenSearchConfig::from_env`], the AWS configuration, and `TRIPLINE_FLOW_FORMAT`.
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let config = OpenSearchConfig::from_env()?;
        let store = match config.auth {
            tripline_store::opensearch::Auth::SigV4 { .. } => OpenSearchStore::with_sdk_config(config, &sdk)?,
            _ => OpenSearchStore::connect(config).await?,
        };
        let flow_format = match std::env::var("TRIPLINE_FLOW_FORMAT").ok().filter(|s| !s.is_empty()) {
            Some(spec) => match FlowFormat::parse_header(&spec) {
                Ok(Some(format)) => Some(format),
                Ok(None) => {
                    return Err(format!("TRIPLINE_FLOW_FORMAT is not a flow log format: {spec:?}").into())
                }
                Err(e) => return Err(format!("TRIPLINE_FLOW_FORMAT {spec:?}: {e}").into()),
            },
            None => None,
        };
        let s3 = aws_sdk_s3::Client::new(&sdk);
        Ok(Self::new(Arc::new(store), s3, Options { flow_format, ..Options::default() }))
    }

    /// The Lambda handler.
    pub async fn invoke(
        &self,
        event: lambda_runtime::LambdaEvent<Value>,
    ) -> Result<IngestReport, lambda_runtime::Error> {
        let report = self.handle(event.payload).await.inspect_err(|e| {
            tracing::error!(error = %e, "ingest failed; the invocation is failed so that it is retried");
        })?;
        tracing::info!(report = %serde_json::to_string(&report).unwrap_or_default(), "ingest done");
        Ok(report)
    }

    /// Handle one invocation event. `Err` for anything but per-record failures (see the
    /// [module docs](self)).
    pub async fn handle(&self, event: Value) -> Result<IngestReport, IngestError> {
        let mut report = IngestReport::default();
        for (bucket, key) in s3_objects(&event) {
            self.object(&bucket, &key, &mut report).await?;
        }
        if report.objects == 0 && !is_s3_notification(&event) {
            self.value(event, &mut report).await?;
        }
        self.metrics.emit(&report.metrics());
        Ok(report)
    }

    /// A JSON invocation event (CloudWatch Logs, EventBridge, a record): normalized whole (it is
    /// in memory already), then written batch by batch.
    async fn value(&self, event: Value, report: &mut IngestReport) -> Result<(), IngestError> {
        let mut events = Vec::new();
        let mut origins = Vec::new();
        let mut logged = 0;
        let file: Arc<str> = Arc::from("event");
        let stats =
            tripline_normalize::read_value_numbered(event, "event", &self.options, |record, r| match r {
                Ok(e) => {
                    events.push(e);
                    origins.push(Origin { file: file.clone(), record });
                }
                Err(e) => log_failure(&e, &mut logged),
            });
        report.add(&stats);
        // Every batch is queued at once (the events are in memory already), then written.
        let batch = self.batch;
        let (tx, mut rx) = mpsc::channel(events.len().div_ceil(batch).max(1));
        let mut events = events.into_iter();
        let mut origins = origins.into_iter();
        loop {
            let chunk = Chunk {
                events: events.by_ref().take(batch).collect(),
                origins: origins.by_ref().take(batch).collect(),
            };
            if chunk.events.is_empty() || tx.try_send(chunk).is_err() {
                break;
            }
        }
        drop(tx);
        self.write_batches(&mut rx, report).await
    }

    /// Stream one S3 object through the normalizer into the store.
    async fn object(&self, bucket: &str, key: &str, report: &mut IngestReport) -> Result<(), IngestError> {
        let name = format!("s3://{bucket}/{key}");
        let resp = match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(r) => r,
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let text = format!("{name}: {}", aws_sdk_s3::error::DisplayErrorContext(&e));
                return match status {
                    // Gone (deleted, or expired by a lifecycle rule, before we read it): nothing
                    // to retry, and nothing was lost that still exists.
                    Some(404) => {
                        tracing::warn!(object = %name, status = 404, error = %text, "object gone; not retried");
                        report.dropped.push(text);
                        Ok(())
                    }
                    // Throttled, timed out, failed on S3's side, or no answer at all.
                    None | Some(408 | 429 | 500..) => Err(Retryable(text)),
                    // Access denied (a missing grant, a bucket or key policy) and any other
                    // refusal: the object exists and must not be skipped, so the invocation fails
                    // (retried, then kept by the on-failure destination until it is fixed).
                    Some(s) => Err(Refused(format!("S3 answered {s}: {text}"))),
                };
            }
        };
        report.objects += 1;
        let mut body = resp.body;

        // S3 body (async) → bytes channel → normalizer (blocking thread) → batches → store.
        let (byte_tx, byte_rx) = mpsc::channel::<io::Result<Bytes>>(8);
        let download = tokio::spawn(async move {
            loop {
                match body.next().await {
                    None => return Ok(()),
                    Some(Ok(chunk)) => {
                        if byte_tx.send(Ok(chunk)).await.is_err() {
                            return Ok(());
                        }
                    }
                    Some(Err(e)) => {
                        let msg = e.to_string();
                        let _ = byte_tx.send(Err(io::Error::other(msg.clone()))).await;
                        return Err(msg);
                    }
                }
            }
        });
        let (batch_tx, mut batch_rx) = mpsc::channel(2);
        let options = self.options.clone();
        let batch = self.batch;
        let reader_name = name.clone();
        let normalize =
            tokio::task::spawn_blocking(move || {
                let reader = ChannelReader { rx: byte_rx, current: Bytes::new() };
                // A chunk is a whole batch: each is one bulk request.
                let mut batcher = Batcher::new(batch_tx, batch, batch);
                let file: Arc<str> = Arc::from(reader_name.as_str());
                let mut logged = 0;
                let stats =
                    tripline_normalize::read_reader_numbered(reader, &reader_name, &options, |record, r| {
                        match r {
                            Ok(e) => batcher.push(e, Origin { file: file.clone(), record }),
                            Err(e) => log_failure(&e, &mut logged),
                        }
                    });
                batcher.finish();
                stats
            });
        let outcome = self.write_batches(&mut batch_rx, report).await;
        drop(batch_rx);
        let stats = normalize.await.map_err(|e| Retryable(format!("{name}: normalizer failed: {e}")))?;
        outcome?;
        if let Ok(Err(e)) = download.await {
            // The download broke: what was read is stored, the rest needs a retry.
            return Err(Retryable(format!("{name}: download failed: {e}")));
        }
        report.add(&stats);
        Ok(())
    }

    /// The shared batching pipeline ([`tripline_store::ingest`]) into this function's store:
    /// each batch one bulk request, its refusals named by file and record.
    async fn write_batches(
        &self,
        chunks: &mut mpsc::Receiver<Chunk>,
        report: &mut IngestReport,
    ) -> Result<(), IngestError> {
        pipeline::write_batches(
            chunks,
            self.batch,
            |chunks| async move { self.write(&pipeline::gather(chunks).await).await },
            |written, origins| account(&written, origins, report),
        )
        .await
    }

    /// Write one batch. A whole request refused fails the invocation, never drops the batch;
    /// per-document refusals are in the report ([`account`]).
    async fn write(&self, events: &[Event]) -> Result<BulkReport, IngestError> {
        match self.store.index_events(events).await {
            Ok(r) => Ok(r),
            // A whole request refused (401, 403, a template the role may not install, …):
            // fail the invocation, never drop the batch. Per-document refusals are in `account`.
            Err(StoreError::Rejected { status, reason }) => Err(Refused(format!(
                "the store answered HTTP {status} for {} events: {reason}",
                events.len()
            ))),
            Err(e @ (StoreError::Config(_) | StoreError::Unsupported(_))) => {
                Err(Refused(format!("{e} ({} events)", events.len())))
            }
            Err(e) => Err(Retryable(format!("store: {e}"))),
        }
    }
}

/// What the store did with one batch; `origins[i]` is where its event `i` came from. A document
/// refused for good costs only itself (named, counted, the rest of the batch is written); one
/// refused as retryable fails the invocation.
fn account(r: &BulkReport, origins: &[Origin], report: &mut IngestReport) -> Result<(), IngestError> {
    report.written += r.written;
    let mut retryable = None;
    for (f, origin) in pipeline::refusals(r, origins) {
        if f.retryable {
            retryable.get_or_insert_with(|| f.reason.clone());
        } else {
            report.refused += 1;
            let (file, record) = match origin {
                Some(o) => (o.file.to_string(), o.record),
                None => ("?".to_owned(), 0),
            };
            if report.refused <= LOGGED_FAILURES {
                tracing::warn!(file = %file, record, id = %f.id, reason = %f.reason, "event refused by the store");
                report.refusals.push(Refusal { file, record, id: f.id.clone(), reason: f.reason.clone() });
            }
        }
    }
    match retryable {
        Some(reason) => Err(Retryable(format!("the store refused events, retryable: {reason}"))),
        None => Ok(()),
    }
}

fn log_failure(e: &NormalizeError, logged: &mut u64) {
    *logged += 1;
    if *logged <= LOGGED_FAILURES {
        tracing::warn!(file = %e.file, record = e.record, kind = e.kind.name(), error = %e.kind, "record not normalized");
    }
}

/// `Read` over chunks arriving on a channel (the S3 body).
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

fn is_s3_notification(event: &Value) -> bool {
    let records = event.get("Records").and_then(Value::as_array);
    records.is_some_and(|r| r.iter().any(|x| x.get("s3").is_some()))
        || event.get("detail-type").and_then(Value::as_str) == Some("Object Created")
}

/// The (bucket, key) pairs an event announces: S3 notifications (keys URL-decoded), EventBridge
/// "Object Created" events (keys as they are). Other S3 notifications (deletes) are ignored.
pub fn s3_objects(event: &Value) -> Vec<(String, String)> {
    if event.get("detail-type").and_then(Value::as_str) == Some("Object Created") {
        let bucket = event.pointer("/detail/bucket/name").and_then(Value::as_str);
        let key = event.pointer("/detail/object/key").and_then(Value::as_str);
        return match (bucket, key) {
            (Some(b), Some(k)) => vec![(b.to_owned(), k.to_owned())],
            _ => Vec::new(),
        };
    }
    if !is_s3_notification(event) {
        return Vec::new();
    }
    let Ok(parsed) = serde_json::from_value::<S3Event>(event.clone()) else { return Vec::new() };
    parsed
        .records
        .into_iter()
        .filter(|r| r.event_name.as_deref().is_none_or(|n| n.starts_with("ObjectCreated")))
        .filter_map(|r| Some((r.s3.bucket.name?, url_decode(&r.s3.object.key?))))
        .collect()
}

/// S3 notification keys are form-URL-encoded (`+` for a space, `%XX` for other bytes).
pub fn url_decode(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(url_decode("AWSLogs/a+b%3Dc.json.gz"), "AWSLogs/a b=c.json.gz");
        assert_eq!(url_decode("x%2"), "x%2");
        assert_eq!(url_decode("x%zz"), "x%zz");
        assert_eq!(url_decode("%E2%9C%93"), "✓");
    }
}
