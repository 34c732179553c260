//! The batching ingest pipeline that `tripline ingest` and the ingest Lambda share: events, each
//! with its origin (file and record), are cut into chunks on the reading side ([`Batcher`], a
//! blocking thread that normalizes), and written on the async side one batch at a time
//! ([`write_batches`]) through the host's `write` (the embedded store's streamed commit, an
//! [`EventStore::index_events`](crate::EventStore::index_events) call). Each batch's
//! [`BulkReport`] is handed back with the batch's origins, so that a refused document is named by
//! the file and record it came from ([`refusals`]).
//!
//! Memory is bounded by the chunks in flight: the channel's capacity, the chunk being filled and
//! the one being written; a batch is streamed to `write` chunk by chunk, never held whole here.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::mpsc;
use tripline_event::Event;

use crate::{BulkFailure, BulkReport};

/// Where an event came from: its file (or object, or `event`) and its record's 1-based ordinal
/// there, as normalization errors number it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file, S3 object (`s3://bucket/key`) or `event`.
    pub file: Arc<str>,
    /// The record's ordinal in it.
    pub record: u64,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: record {}", self.file, self.record)
    }
}

/// Events on their way to the store, never across a batch's end: the events and, position by
/// position, where each came from.
#[derive(Debug, Default)]
pub struct Chunk {
    /// The events.
    pub events: Vec<Event>,
    /// `origins[i]` is where `events[i]` came from.
    pub origins: Vec<Origin>,
}

impl Chunk {
    fn with_capacity(n: usize) -> Self {
        Chunk { events: Vec::with_capacity(n), origins: Vec::with_capacity(n) }
    }
}

/// The reading side: collects events into chunks of at most `chunk` events, ending a chunk at
/// every batch's end (`batch` events), and sends each full chunk (blocking: call it from the
/// thread that normalizes). Once the writing side has gone, it drops what it is given.
pub struct Batcher {
    tx: mpsc::Sender<Chunk>,
    chunk: usize,
    batch: usize,
    /// The chunk being filled.
    current: Chunk,
    /// Events of the current batch in the chunks sent so far.
    in_batch: usize,
    closed: bool,
}

/// The most events a chunk allocates room for in advance (it grows as events arrive).
const PREALLOCATED: usize = 4096;

impl Batcher {
    /// A batcher sending chunks of at most `chunk` events, cut at every `batch` events, to `tx`.
    pub fn new(tx: mpsc::Sender<Chunk>, chunk: usize, batch: usize) -> Self {
        let (chunk, batch) = (chunk.max(1), batch.max(1));
        let current = Chunk::with_capacity(chunk.min(batch).min(PREALLOCATED));
        Batcher { tx, chunk, batch, current, in_batch: 0, closed: false }
    }

    /// One event and its origin.
    pub fn push(&mut self, event: Event, origin: Origin) {
        if self.closed {
            return;
        }
        self.current.events.push(event);
        self.current.origins.push(origin);
        let n = self.current.events.len();
        let batch_full = self.in_batch + n >= self.batch;
        if n >= self.chunk || batch_full {
            self.in_batch = if batch_full { 0 } else { self.in_batch + n };
            let room = self.chunk.min(self.batch).min(PREALLOCATED);
            let full = std::mem::replace(&mut self.current, Chunk::with_capacity(room));
            self.closed = self.tx.blocking_send(full).is_err();
        }
    }

    /// Whether the writing side has stopped (a store error): reading can stop too.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Send what is left.
    pub fn finish(self) {
        if !self.closed && !self.current.events.is_empty() {
            let _ = self.tx.blocking_send(self.current);
        }
    }
}

/// The writing side: each batch of up to `batch` events (the chunks received until a batch's end)
/// is streamed to `write`, which returns the store's report for it; `on_batch` gets that report
/// with the batch's origins (`origins[f.position]` for a failure `f`). Stops at the first error of
/// either (the reading side then stops at its next chunk: the receiver is the caller's to drop).
pub async fn write_batches<E, W, Fut, B>(
    chunks: &mut mpsc::Receiver<Chunk>,
    batch: usize,
    mut write: W,
    mut on_batch: B,
) -> Result<(), E>
where
    W: FnMut(mpsc::Receiver<Vec<Event>>) -> Fut,
    Fut: Future<Output = Result<BulkReport, E>>,
    B: FnMut(BulkReport, &[Origin]) -> Result<(), E>,
{
    let batch = batch.max(1);
    while let Some(first) = chunks.recv().await {
        let (tx, rx) = mpsc::channel::<Vec<Event>>(1);
        let mut origins: Vec<Origin> = Vec::new();
        let forward = async {
            let mut next = Some(first);
            while let Some(Chunk { events, origins: from }) = next.take() {
                origins.extend(from);
                if tx.send(events).await.is_err() || origins.len() >= batch {
                    break; // the store stopped (its error is the result), or the batch is full
                }
                next = chunks.recv().await;
            }
            drop(tx); // the end of the batch
        };
        let (report, ()) = tokio::join!(write(rx), forward);
        on_batch(report?, &origins)?;
    }
    Ok(())
}

/// Every events of a chunk stream, gathered: for a `write` that needs the whole batch as one slice.
pub async fn gather(mut chunks: mpsc::Receiver<Vec<Event>>) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(chunk) = chunks.recv().await {
        if events.is_empty() {
            events = chunk;
        } else {
            events.extend(chunk);
        }
    }
    events
}

/// A report's failures, each with the origin of its document (`None` if the store named a
/// position outside the batch).
pub fn refusals<'a>(
    report: &'a BulkReport,
    origins: &'a [Origin],
) -> impl Iterator<Item = (&'a BulkFailure, Option<&'a Origin>)> + 'a {
    report.failed.iter().map(move |f| (f, origins.get(f.position)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn event(i: u64) -> (Event, Origin) {
        let e = Event::new("test", "test", format!("e{i}"), Utc::now(), Utc::now());
        (e, Origin { file: Arc::from("f"), record: i })
    }

    #[tokio::test]
    async fn batches_are_cut_at_their_end_and_failures_named_by_origin() {
        let (tx, mut rx) = mpsc::channel(2);
        let reader = tokio::task::spawn_blocking(move || {
            let mut b = Batcher::new(tx, 3, 5);
            for i in 1..=12 {
                let (e, o) = event(i);
                b.push(e, o);
            }
            b.finish();
        });
        let mut sizes = Vec::new();
        let mut named = Vec::new();
        let written = write_batches(
            &mut rx,
            5,
            |chunks| async move {
                let events = gather(chunks).await;
                let failed = vec![BulkFailure {
                    position: events.len() - 1,
                    id: "x".into(),
                    reason: "no".into(),
                    retryable: false,
                }];
                Ok::<_, ()>(BulkReport { written: events.len() as u64 - 1, failed })
            },
            |report, origins| {
                sizes.push(origins.len());
                named.extend(refusals(&report, origins).map(|(_, o)| o.map(ToString::to_string)));
                Ok(())
            },
        )
        .await;
        reader.await.unwrap();
        assert_eq!(written, Ok(()));
        assert_eq!(sizes, vec![5, 5, 2]);
        let expected: Vec<_> = [5, 10, 12].iter().map(|n| Some(format!("f: record {n}"))).collect();
        assert_eq!(named, expected);
    }

    #[tokio::test]
    async fn an_error_stops_the_writer_and_closes_the_batcher() {
        let (tx, mut rx) = mpsc::channel(1);
        let reader = tokio::task::spawn_blocking(move || {
            let mut b = Batcher::new(tx, 2, 2);
            let mut i = 0;
            while !b.is_closed() && i < 10_000 {
                i += 1;
                let (e, o) = event(i);
                b.push(e, o);
            }
            i
        });
        let mut calls = 0;
        let result = write_batches(
            &mut rx,
            2,
            |chunks| {
                calls += 1;
                async move {
                    gather(chunks).await;
                    Err::<BulkReport, _>("down")
                }
            },
            |_, _| Ok(()),
        )
        .await;
        drop(rx);
        assert_eq!(result, Err("down"));
        assert_eq!(calls, 1);
        assert!(reader.await.unwrap() < 10_000);
    }
}
