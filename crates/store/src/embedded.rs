//! The embedded store: a tantivy index on disk (or in RAM), no server.
//!
//! For testing alerts, hunting and backtesting on one machine. It implements the mapping and the
//! semantics of the crate docs with these choices (details in [`mapping`]):
//!
//! - **Mapping.** tantivy's schema is fixed, MozDef events are not: every leaf is indexed as
//!   `path\0value` terms in a few typed fields (keyword, number, date, IP, boolean, exists), with
//!   order-preserving encodings so that ranges are term ranges. Dates are the date fields of the
//!   mapping (`tripline_dsl::DATE_FIELDS`, as in OpenSearch's template), never a string that
//!   merely looks like one; IPs are recognised by value (IPv4/IPv6 literals), so `details.*` of
//!   any shape works. `summary` is analyzed text (word tokens, lower-cased, with positions for
//!   phrases).
//! - **Queries** ([`query`]): a node matches the union of what it means for each type its value
//!   can be read as; `should` next to `must` is rewritten so that at least one must hold.
//! - **Aggregations** ([`aggregate`]): computed from columnar (fast field) values of every
//!   matching document, merged across segments by key: exact at any volume.
//! - **Documents** are keyed by index and id: writing the same id again replaces the document
//!   (delete-by-term and add in one commit), carrying its `alert_names` over when the new one has
//!   none. The writer keeps a hash of every id in the index
//!   (8 bytes each, read from the term dictionary on the first write), so a new id is added without
//!   a delete, which tantivy would otherwise look up in every segment. Events and alerts share one
//!   tantivy index and are told apart by a `_kind` field.
//! - **Durability.** Every write call is one tantivy commit, after which the reader is reloaded:
//!   a search sees all of a batch or none of it, and a process killed mid-batch leaves the last
//!   commit intact (tantivy writes new segment files, then atomically replaces `meta.json`).
//! - **Damage.** tantivy trusts its files: flipped bytes in a column can give wrong answers or a
//!   panic. So every segment file's checksum (in its footer) is checked when the store is opened,
//!   once per file (`tripline-verified.json` remembers the files verified, by length and
//!   modification time), and a damaged store refuses to open, naming the files; a read that fails
//!   or panics later verifies everything and answers [`StoreError::Damaged`].
//!   [`EmbeddedStore::verify_dir`] checks every file (`tripline store verify`).
//! - **Threads.** Searches, aggregations and the writer run in `tokio::task::spawn_blocking`,
//!   never on the async runtime's threads; a write holds the single writer (a mutex) for the whole
//!   batch. `index_events` builds the documents on the caller's task from the borrowed events
//!   and streams them to the writer 512 at a time (yielding between chunks), so building and
//!   indexing overlap and the events are never copied; the writer hands them to tantivy as
//!   operation batches (`IndexWriter::run`), one wake-up of its indexing thread per chunk. Indexing
//!   uses one tantivy writer thread by default ([`EmbeddedOptions`]).
//! - **Term dictionary.** tantivy's sstable dictionary (its `quickwit` feature), not the FST:
//!   events carry unique terms (ids, request parameters), and building an FST for them at every
//!   commit was a third of the indexing thread's time. A leading-wildcard search is faster on it
//!   too (see docs/performance.md).

pub mod aggregate;
pub mod mapping;
pub mod query;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value as Json;
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::indexer::UserOperation;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema, Value as _};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument, Term,
};
use tripline_dsl::{Aggregation, QueryAst};
use tripline_event::{AlertRecord, Event};

use self::mapping::{DocBuilder, Fields, KIND_ALERT, KIND_EVENT, UTC};
use crate::{
    event_index, AggregationResult, BulkFailure, BulkReport, DocRef, EventStore, Hit, SearchRequest,
    SearchResult, Sort, StoreError, ALERTS_INDEX,
};

/// How the embedded store writes.
#[derive(Clone, Debug)]
pub struct EmbeddedOptions {
    /// Indexing threads (default 1).
    pub writer_threads: usize,
    /// Memory for buffered documents before a segment is flushed, over all threads
    /// (default [`WRITER_MEMORY_BYTES`]). A batch larger than this is flushed as several segments
    /// (still published by its one commit).
    pub writer_memory_bytes: usize,
}

/// The default indexing budget: 64 MiB, which holds a 20,000-event batch (`tripline ingest`'s
/// default) in one segment (≈ 3 KB per event) and bounds the writer's arena for any batch. It was
/// 256 MiB, the whole memory target of an ingest by itself (docs/performance.md).
pub const WRITER_MEMORY_BYTES: usize = 64 << 20;

/// No background merge produces a segment of more than this many documents. tantivy's default
/// policy merges ever larger segments (8 × 160,000 documents at about 1.3 million), and a merge
/// maps every page of its inputs: the file-backed pages count in the process's RSS, so merges
/// made peak memory grow with the store. Capped, a merge maps at most ≈ 80 MB (≈ 400 bytes per
/// event on disk) and a store of N events has about N / 160,000 segments.
pub const MAX_MERGED_DOCS: u32 = 200_000;

/// Background merge threads (tantivy's default is 4): merges one at a time, so that their memory
/// does not add up, and the second core stays with indexing.
const MERGE_THREADS: usize = 1;

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions { writer_threads: 1, writer_memory_bytes: WRITER_MEMORY_BYTES }
    }
}

/// tantivy's `LogMergePolicy` (segments of similar sizes, eight at a time) with merges capped at
/// [`MAX_MERGED_DOCS`]: of each merge it proposes, the smallest segments that fit are merged.
#[derive(Debug)]
struct BoundedMerges(tantivy::indexer::LogMergePolicy);

impl BoundedMerges {
    fn new() -> Self {
        let mut log = tantivy::indexer::LogMergePolicy::default();
        // A segment over half the cap could never be merged with another.
        log.set_max_docs_before_merge(MAX_MERGED_DOCS as usize / 2);
        BoundedMerges(log)
    }
}

impl tantivy::indexer::MergePolicy for BoundedMerges {
    fn compute_merge_candidates(
        &self,
        segments: &[tantivy::index::SegmentMeta],
    ) -> Vec<tantivy::indexer::MergeCandidate> {
        self.0
            .compute_merge_candidates(segments)
            .into_iter()
            .filter_map(|candidate| {
                let mut sized: Vec<_> = candidate
                    .0
                    .into_iter()
                    .filter_map(|id| segments.iter().find(|s| s.id() == id).map(|s| (s.max_doc(), id)))
                    .collect();
                sized.sort_unstable_by_key(|(docs, _)| *docs);
                let (mut total, mut kept) = (0u64, Vec::new());
                for (docs, id) in sized {
                    if total + u64::from(docs) > u64::from(MAX_MERGED_DOCS) {
                        break;
                    }
                    total += u64::from(docs);
                    kept.push(id);
                }
                (kept.len() >= 2).then_some(tantivy::indexer::MergeCandidate(kept))
            })
            .collect()
    }
}

/// Events and alerts in a tantivy index. Cheap to clone (shared).
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").field("path", &self.inner.path).finish()
    }
}

struct Inner {
    path: Option<PathBuf>,
    schema: Schema,
    fields: Fields,
    reader: IndexReader,
    /// `None` when opened read-only.
    writer: Option<Mutex<Writer>>,
}

/// The single writer, and what it knows about the ids in the index.
struct Writer {
    writer: IndexWriter,
    /// Hashes of every `_uid` in the index or added since (built on the first write from the term
    /// dictionaries). A uid whose hash is absent has no document, so adding it needs no
    /// replace-by-id delete, which would otherwise be looked up in every segment at each commit.
    /// Extra hashes (deleted documents, rolled-back batches, collisions) only cost a needless
    /// delete.
    known: Option<HashSet<u64>>,
}

/// A document ready for the writer, or why it could not be made.
struct Prepared {
    index: String,
    id: String,
    doc: Result<TantivyDocument, String>,
}

/// What `index_events` sends its writer thread.
enum Batch {
    /// The next documents, in order ([`CHUNK`] at a time: one wake-up of the writer per chunk,
    /// not per document).
    Docs(Vec<Prepared>),
    /// The end of the batch: commit.
    Done,
}

/// Documents per message to the writer thread, and per operation batch handed to tantivy.
const CHUNK: usize = 512;

/// The hash of a uid (given in parts, concatenated), for [`Writer::known`].
fn uid_hash(parts: &[&[u8]]) -> u64 {
    use std::hash::{DefaultHasher, Hasher};
    let mut h = DefaultHasher::new();
    for part in parts {
        h.write(part);
    }
    h.finish()
}

impl Writer {
    /// The set of known uid hashes `known`, built from `searcher` (the last commit) if not yet.
    fn known_in<'k>(
        known: &'k mut Option<HashSet<u64>>,
        searcher: &Searcher,
        uid: tantivy::schema::Field,
    ) -> Result<&'k mut HashSet<u64>, StoreError> {
        if known.is_none() {
            let mut set = HashSet::with_capacity(searcher.num_docs() as usize);
            for segment in searcher.segment_readers() {
                let inverted = segment.inverted_index(uid).map_err(index_err)?;
                let mut terms = inverted.terms().stream().map_err(index_err)?;
                while terms.advance() {
                    set.insert(uid_hash(&[terms.key()]));
                }
            }
            *known = Some(set);
        }
        Ok(known.get_or_insert_with(HashSet::new))
    }
}

/// `f`'s result; if it fails, everything added to the writer since the last commit is rolled back,
/// so that no later commit can publish half of a failed batch.
fn or_rollback<T>(
    writer: &mut IndexWriter,
    f: impl FnOnce(&mut IndexWriter) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let result = f(writer);
    if result.is_err() {
        let _ = writer.rollback();
    }
    result
}

/// The file, in a store's directory, that remembers which segment files were verified (name,
/// length and modification time): segments never change once written, so each file is read for
/// its checksum once, and again only if it changes. Not one of tantivy's managed files, so its
/// garbage collection leaves it alone.
const VERIFIED_FILE: &str = "tripline-verified.json";

type Seen = std::collections::BTreeMap<String, (u64, i128)>;

fn file_stamp(path: &Path) -> Option<(u64, i128)> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos();
    Some((meta.len(), i128::try_from(mtime).ok()?))
}

/// Check every file of every segment of the last commit: present, readable, and matching the
/// checksum tantivy wrote in its footer. With `cache` (the store's directory), files verified
/// before and unchanged since are skipped, and the intact ones are remembered.
fn verify_index(index: &Index, cache: Option<&Path>) -> Result<Verification, StoreError> {
    use tantivy::directory::Directory as _;
    use tantivy::index::SegmentComponent as C;
    let metas = index.load_metas().map_err(|e| StoreError::Damaged(format!("meta.json: {e}")))?;
    let dir = index.directory();
    let mut seen: Seen = cache
        .and_then(|d| std::fs::read(d.join(VERIFIED_FILE)).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut intact = Seen::new();
    let mut v = Verification { segments: metas.segments.len(), ..Verification::default() };
    let mut files: Vec<PathBuf> = metas.list_segment_files().into_iter().collect();
    files.sort();
    for file in files {
        let name = file.display().to_string();
        // A segment lists the files every component could have; those it never wrote are not
        // there, which is fine unless the component is one every segment has (below).
        match dir.exists(&file) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                v.damaged.push((name, format!("cannot be read: {e}")));
                continue;
            }
        }
        v.files += 1;
        let stamp = cache.and_then(|d| file_stamp(&d.join(&file)));
        if let (Some(stamp), Some(before)) = (stamp, seen.remove(&name)) {
            if stamp == before {
                v.bytes += stamp.0;
                intact.insert(name, stamp);
                continue;
            }
        }
        v.checked += 1;
        v.bytes += dir.open_read(&file).map(|f| f.num_bytes().get_bytes()).unwrap_or(0);
        match dir.validate_checksum(&file) {
            Ok(true) => {
                if let Some(stamp) = stamp {
                    intact.insert(name, stamp);
                }
            }
            Ok(false) => v.damaged.push((name, "checksum mismatch".into())),
            Err(e) => v.damaged.push((name, format!("unreadable: {e}"))),
        }
    }
    for m in &metas.segments {
        let deletes = m.has_deletes().then_some(C::Delete);
        for component in
            [C::Postings, C::Terms, C::Store, C::FastFields, C::FieldNorms].into_iter().chain(deletes)
        {
            let file = m.relative_path(component);
            if !dir.exists(&file).unwrap_or(false) {
                v.damaged.push((file.display().to_string(), "missing".into()));
            }
        }
    }
    // Rewritten only when it changed: a file checked now, or one remembered that is gone. An
    // open of an unchanged store writes nothing.
    let changed = v.checked > 0 || !seen.is_empty();
    if let (Some(d), true) = (cache, changed) {
        // Best effort: without it the next open checks again.
        if let Ok(json) = serde_json::to_vec(&intact) {
            let tmp = d.join(format!("{VERIFIED_FILE}.{}.tmp", std::process::id()));
            if std::fs::write(&tmp, json).is_ok() {
                let _ = std::fs::rename(&tmp, d.join(VERIFIED_FILE));
            }
        }
    }
    Ok(v)
}

/// Open-time check: the files not verified before (see [`VERIFIED_FILE`]); damage refuses the
/// open with every damaged file named.
fn check_on_open(index: &Index, path: &Path) -> Result<(), StoreError> {
    let v = verify_index(index, Some(path))?;
    if v.is_ok() {
        Ok(())
    } else {
        Err(StoreError::Damaged(format!("{}: {v}", path.display())))
    }
}

fn index_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Index(e.to_string())
}

impl EmbeddedStore {
    /// Open the store in directory `path` (created if missing), or create it there.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, EmbeddedOptions::default())
    }

    /// [`open`](Self::open) with options.
    pub fn open_with(path: impl AsRef<Path>, options: EmbeddedOptions) -> Result<Self, StoreError> {
        let path = path.as_ref();
        std::fs::create_dir_all(path).map_err(|e| StoreError::Index(format!("{}: {e}", path.display())))?;
        let dir =
            MmapDirectory::open(path).map_err(|e| StoreError::Index(format!("{}: {e}", path.display())))?;
        let (schema, _) = mapping::schema();
        let index = Index::open_or_create(dir, schema).map_err(|e| {
            StoreError::Index(format!("{}: {e} (an index of another version of Tripline?)", path.display()))
        })?;
        check_on_open(&index, path)?;
        Self::from_index(index, Some(path.to_path_buf()), options)
    }

    /// Open an existing store for searching only: no writer lock is taken, so this works while
    /// another process ingests. It sees the data committed when it was opened; writes fail.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if !path.join("meta.json").exists() {
            return Err(StoreError::Index(format!(
                "no store at {} (ingest something first)",
                path.display()
            )));
        }
        let dir =
            MmapDirectory::open(path).map_err(|e| StoreError::Index(format!("{}: {e}", path.display())))?;
        let index = Index::open(dir).map_err(|e| StoreError::Index(format!("{}: {e}", path.display())))?;
        check_on_open(&index, path)?;
        Self::from_parts(index, Some(path.to_path_buf()), None)
    }

    /// Verify the store in directory `path` without opening it for use: every file's checksum,
    /// computed now (what `tripline store verify` prints). Works on a store too damaged to open.
    pub fn verify_dir(path: impl AsRef<Path>) -> Result<Verification, StoreError> {
        let path = path.as_ref();
        if !path.join("meta.json").exists() {
            return Err(StoreError::Index(format!("no store at {}", path.display())));
        }
        let dir =
            MmapDirectory::open(path).map_err(|e| StoreError::Index(format!("{}: {e}", path.display())))?;
        let index = Index::open(dir).map_err(|e| StoreError::Damaged(format!("{}: {e}", path.display())))?;
        verify_index(&index, None)
    }

    /// A store in RAM, gone when dropped (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        let (schema, _) = mapping::schema();
        Self::from_index(Index::create_in_ram(schema), None, EmbeddedOptions::default())
    }

    fn from_index(index: Index, path: Option<PathBuf>, options: EmbeddedOptions) -> Result<Self, StoreError> {
        Self::from_parts(index, path, Some(options))
    }

    fn from_parts(
        index: Index,
        path: Option<PathBuf>,
        options: Option<EmbeddedOptions>,
    ) -> Result<Self, StoreError> {
        index.tokenizers().register(mapping::TEXT_TOKENIZER, mapping::text_analyzer());
        let schema = index.schema();
        let (expected, fields) = mapping::schema();
        if schema != expected {
            return Err(StoreError::Index(format!(
                "{}: the index was made with another mapping; re-ingest into a new directory",
                path.as_deref().map(Path::display).map(|d| d.to_string()).unwrap_or_default()
            )));
        }
        let writer = match options {
            None => None,
            Some(options) => {
                let threads = options.writer_threads.max(1);
                let memory = options.writer_memory_bytes.max(threads * (16 << 20));
                let writer_options = tantivy::indexer::IndexWriterOptions::builder()
                    .num_worker_threads(threads)
                    .memory_budget_per_thread(memory / threads)
                    .num_merge_threads(MERGE_THREADS)
                    .build();
                let writer = index.writer_with_options(writer_options).map_err(|e| match e {
                    tantivy::TantivyError::LockFailure(..) => StoreError::Index(format!(
                        "{}: another process is writing to this store",
                        path.as_deref().map(|p| p.display().to_string()).unwrap_or_default()
                    )),
                    e => index_err(e),
                })?;
                writer.set_merge_policy(Box::new(BoundedMerges::new()));
                Some(Mutex::new(Writer { writer, known: None }))
            }
        };
        let reader =
            index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(index_err)?;
        Ok(EmbeddedStore { inner: Arc::new(Inner { path, schema, fields, reader, writer }) })
    }

    /// Where the store lives (`None` in RAM).
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| StoreError::Index(format!("store task failed: {e}")))?
    }

    /// A read (search, aggregation) that checks the store when it fails: an I/O or decoding error,
    /// or a panic inside the engine (tantivy trusts its own files, and flipped bytes in a column
    /// can make it panic), is answered with [`verify`](Self::verify)'s verdict naming the damaged
    /// files, so that a damaged store is never mistaken for a bug or an empty answer. Release
    /// builds of the CLI unwind on panic for this reason (`[profile.release]`).
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&inner)));
            let failure = match run {
                Ok(Err(StoreError::Index(e))) => e,
                Ok(other) => return other,
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".into());
                    format!("the engine failed while reading: {what}")
                }
            };
            match inner.verify() {
                Ok(v) if !v.damaged.is_empty() => Err(StoreError::Damaged(format!("{failure}; {v}"))),
                Ok(_) => Err(StoreError::Index(failure)),
                Err(e) => Err(StoreError::Damaged(format!("{failure}; verifying the store failed too: {e}"))),
            }
        })
        .await;
        outcome.map_err(|e| StoreError::Index(format!("store task failed: {e}")))?
    }

    /// Check every file of every segment of the last commit: present, readable, and matching
    /// the checksum tantivy wrote in its footer. Reads all of the store once (about as fast as the
    /// disk reads). `tripline store verify` prints this; a failing read runs it by itself.
    pub async fn verify(&self) -> Result<Verification, StoreError> {
        self.blocking(|inner| inner.verify()).await
    }
}

impl EmbeddedStore {
    /// [`EventStore::index_events`] over events that arrive in chunks: everything received until
    /// `chunks` closes is written in one commit, exactly as if it had been one slice (failure
    /// positions count from the first event received). The caller never needs to hold all of a
    /// large commit's events at once: `tripline ingest` commits every 20,000 events but keeps only
    /// a few chunks of them in memory (an `Event` is ≈ 6.5 KB on the heap). If this future is
    /// dropped before `chunks` closes, the batch is rolled back.
    pub async fn index_event_chunks(
        &self,
        mut chunks: tokio::sync::mpsc::Receiver<Vec<Event>>,
    ) -> Result<BulkReport, StoreError> {
        let (tx, writer) = self.batch_writer();
        let inner = self.inner.clone();
        let build = async move {
            let mut builder = DocBuilder::new(&inner.fields, &inner.schema).map_err(StoreError::Index)?;
            while let Some(events) = chunks.recv().await {
                if !send_docs(&mut builder, &events, &tx).await {
                    return Ok(());
                }
            }
            let _ = tx.send(Batch::Done);
            Ok::<(), StoreError>(())
        };
        let (written, built) = tokio::join!(writer, build);
        built?;
        written
    }

    /// The writer side of a batch: a blocking task that hands the documents sent on the channel
    /// to tantivy as they come and commits at [`Batch::Done`]; the channel closing before it
    /// rolls the batch back.
    fn batch_writer(
        &self,
    ) -> (
        std::sync::mpsc::Sender<Batch>,
        impl std::future::Future<Output = Result<BulkReport, StoreError>> + '_,
    ) {
        let (tx, rx) = std::sync::mpsc::channel::<Batch>();
        let writer = self.blocking(move |s| {
            let mut chunk = Vec::new().into_iter();
            let items = std::iter::from_fn(|| loop {
                if let Some(prepared) = chunk.next() {
                    return Some(Ok(prepared));
                }
                match rx.recv() {
                    Ok(Batch::Docs(docs)) => chunk = docs.into_iter(),
                    Ok(Batch::Done) => return None,
                    Err(_) => {
                        return Some(Err(StoreError::Index("the batch was abandoned before its end".into())))
                    }
                }
            });
            s.write_prepared(items)
        });
        (tx, writer)
    }
}

/// Build the documents of `events` and send them to a batch's writer [`CHUNK`] at a time,
/// yielding between chunks (building is CPU work on the caller's task). `false`: the writer
/// stopped (its error is the batch's result).
async fn send_docs(
    builder: &mut DocBuilder<'_>,
    events: &[Event],
    tx: &std::sync::mpsc::Sender<Batch>,
) -> bool {
    for events in events.chunks(CHUNK) {
        let chunk = events
            .iter()
            .map(|event| {
                let (index, id) = (event_index(event.utctimestamp), event.id());
                let doc = builder.build_event(&index, &id, event);
                Prepared { index, id, doc }
            })
            .collect();
        if tx.send(Batch::Docs(chunk)).is_err() {
            return false;
        }
        tokio::task::yield_now().await;
    }
    true
}

/// What [`EmbeddedStore::verify`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verification {
    /// Segments in the last commit.
    pub segments: usize,
    /// Files in the segments.
    pub files: usize,
    /// Files whose checksum was computed now (the others were verified before and have not
    /// changed since; [`EmbeddedStore::verify`] computes every one).
    pub checked: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Damaged files: `(file name, what is wrong)`.
    pub damaged: Vec<(String, String)>,
}

impl Verification {
    /// Whether every file is intact.
    pub fn is_ok(&self) -> bool {
        self.damaged.is_empty()
    }
}

impl std::fmt::Display for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.damaged.is_empty() {
            return write!(
                f,
                "{} segments, {} files, {} bytes: all checksums match",
                self.segments, self.files, self.bytes
            );
        }
        write!(f, "{} of {} files damaged:", self.damaged.len(), self.files)?;
        for (file, problem) in &self.damaged {
            write!(f, " {file} ({problem});")?;
        }
        write!(f, " restore the store from a copy, or re-ingest the logs into a new directory")
    }
}

impl Inner {
    fn verify(&self) -> Result<Verification, StoreError> {
        verify_index(self.reader.searcher().index(), None)
    }

    fn kind_query(&self, kind: &str, q: Box<dyn Query>) -> Box<dyn Query> {
        let kind = TermQuery::new(Term::from_field_text(self.fields.kind, kind), IndexRecordOption::Basic);
        Box::new(BooleanQuery::new(vec![(Occur::Must, Box::new(kind)), (Occur::Must, q)]))
    }

    fn hit(&self, searcher: &Searcher, addr: DocAddress) -> Result<Hit, StoreError> {
        let doc: TantivyDocument = searcher.doc(addr).map_err(index_err)?;
        let text =
            |field| doc.get_first(field).and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let source = text(self.fields.source);
        let source: Json = serde_json::from_str(&source)
            .map_err(|e| StoreError::Index(format!("stored document {addr:?} is not JSON: {e}")))?;
        Ok(Hit { index: text(self.fields.index), id: text(self.fields.id), source })
    }

    fn search(
        &self,
        kind: &str,
        query: &QueryAst,
        size: usize,
        sort: Sort,
    ) -> Result<SearchResult, StoreError> {
        let q = self.kind_query(kind, query::translate(&self.fields, query)?);
        let searcher = self.reader.searcher();
        let (total, hits) = if size == 0 {
            (searcher.search(&q, &Count).map_err(index_err)?, Vec::new())
        } else {
            let order = match sort {
                Sort::NewestFirst => Order::Desc,
                Sort::OldestFirst => Order::Asc,
            };
            let top = TopDocs::with_limit(size).order_by_fast_field::<i64>(UTC, order);
            let (total, docs) = searcher.search(&q, &(Count, top)).map_err(index_err)?;
            let hits =
                docs.into_iter().map(|(_, addr)| self.hit(&searcher, addr)).collect::<Result<_, _>>()?;
            (total, hits)
        };
        // Events a keyword condition could not see (values too long to index): what the widened
        // query matches beyond this answer.
        let unindexed_candidates = match query.widened_for_unindexed() {
            Some(wide) => {
                let wide = self.kind_query(kind, query::translate(&self.fields, &wide)?);
                searcher.search(&wide, &Count).map_err(index_err)?.saturating_sub(total) as u64
            }
            None => 0,
        };
        Ok(SearchResult { total: total as u64, hits, unindexed_candidates })
    }

    fn aggregate(
        &self,
        query: &QueryAst,
        aggs: &[Aggregation],
    ) -> Result<Vec<AggregationResult>, StoreError> {
        let q = self.kind_query(KIND_EVENT, query::translate(&self.fields, query)?);
        let searcher = self.reader.searcher();
        let matches = searcher.search(&q, &aggregate::DocIds).map_err(index_err)?;
        aggregate::aggregate(&searcher, matches, aggs, &|addr| self.hit(&searcher, addr))
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Writer>, StoreError> {
        let writer =
            self.writer.as_ref().ok_or_else(|| StoreError::Index("the store was opened read-only".into()))?;
        writer.lock().map_err(|_| StoreError::Index("a previous write panicked; reopen the store".into()))
    }

    /// Write documents `(kind, index, id, source)` in one commit.
    fn write(&self, docs: Vec<(&'static str, String, String, Json)>) -> Result<BulkReport, StoreError> {
        let mut builder = DocBuilder::new(&self.fields, &self.schema).map_err(StoreError::Index)?;
        let items = docs.into_iter().map(|(kind, index, id, source)| {
            let doc = builder.build(kind, &index, &id, &source);
            Ok(Prepared { index, id, doc })
        });
        self.write_prepared(items)
    }

    /// Add prepared documents (in order; a `Prepared` with an error is reported, not written), then
    /// commit. An `Err` item ends the batch: nothing of it is committed.
    fn write_prepared(
        &self,
        items: impl Iterator<Item = Result<Prepared, StoreError>>,
    ) -> Result<BulkReport, StoreError> {
        let mut guard = self.lock()?;
        let Writer { writer, known } = &mut *guard;
        // The reader is current: every write reloads it before releasing the writer.
        let searcher = self.reader.searcher();
        let known = Writer::known_in(known, &searcher, self.fields.uid)?;
        let report = or_rollback(writer, |writer| {
            let mut report = BulkReport::default();
            // Operations go to tantivy's indexing thread in batches (`IndexWriter::run`): one
            // channel message per chunk instead of one per document.
            let mut ops: Vec<UserOperation> = Vec::with_capacity(CHUNK + 1);
            for (position, item) in items.enumerate() {
                let Prepared { index, id, doc } = item?;
                match doc {
                    Ok(mut doc) => {
                        let hash = uid_hash(&[index.as_bytes(), &[mapping::UID_SEP], id.as_bytes()]);
                        if !known.insert(hash) {
                            // Perhaps a replacement: it keeps the alert names of what it replaces.
                            let uid = Term::from_field_text(self.fields.uid, &mapping::uid(&index, &id));
                            if let Some(kept) = self.keep_alert_names(&searcher, &uid, &index, &id, &doc)? {
                                doc = kept;
                            }
                            ops.push(UserOperation::Delete(uid));
                        }
                        ops.push(UserOperation::Add(doc));
                        report.written += 1;
                        if ops.len() >= CHUNK {
                            writer.run(ops.drain(..)).map_err(index_err)?;
                        }
                    }
                    Err(reason) => report.failed.push(BulkFailure { position, id, reason, retryable: false }),
                }
            }
            writer.run(ops).map_err(index_err)?;
            Ok(report)
        })?;
        self.commit(writer)?;
        Ok(report)
    }

    /// The committed document with the `_uid` term `uid`, if there is one.
    fn find(&self, searcher: &Searcher, uid: &Term) -> Result<Option<Hit>, StoreError> {
        let found = searcher
            .search(
                &TermQuery::new(uid.clone(), IndexRecordOption::Basic),
                &TopDocs::with_limit(1).order_by_score(),
            )
            .map_err(index_err)?;
        found.first().map(|(_, addr)| self.hit(searcher, *addr)).transpose()
    }

    /// `doc` (which replaces `index`/`id`, whose `_uid` term is `uid`) rebuilt with the
    /// `alert_names` of the committed document, when it brings none of its own and the committed
    /// one has some: re-ingesting an event (a retried Lambda, a replayed S3 notification, a second
    /// `tripline ingest`) must not make the alerts that already fired on it fire again. `None`:
    /// `doc` is right as it is.
    fn keep_alert_names(
        &self,
        searcher: &Searcher,
        uid: &Term,
        index: &str,
        id: &str,
        doc: &TantivyDocument,
    ) -> Result<Option<TantivyDocument>, StoreError> {
        let Some(old) = self.find(searcher, uid)? else { return Ok(None) };
        let names = match old.source.get("alert_names") {
            Some(Json::Array(names)) if !names.is_empty() => names.clone(),
            _ => return Ok(None),
        };
        let text = doc.get_first(self.fields.source).and_then(|v| v.as_str()).unwrap_or_default();
        let mut source: Json = serde_json::from_str(text)
            .map_err(|e| StoreError::Index(format!("{index}/{id}: the new document is not JSON: {e}")))?;
        let Some(obj) = source.as_object_mut() else { return Ok(None) };
        if obj.get("alert_names").and_then(Json::as_array).is_some_and(|own| !own.is_empty()) {
            return Ok(None);
        }
        obj.insert("alert_names".into(), Json::Array(names));
        let kind = if index == ALERTS_INDEX { KIND_ALERT } else { KIND_EVENT };
        let mut builder = DocBuilder::new(&self.fields, &self.schema).map_err(StoreError::Index)?;
        builder.build(kind, index, id, &source).map(Some).map_err(StoreError::Index)
    }

    fn commit(&self, writer: &mut IndexWriter) -> Result<(), StoreError> {
        if let Err(e) = writer.commit() {
            let _ = writer.rollback();
            return Err(index_err(e));
        }
        self.reader.reload().map_err(index_err)
    }

    fn tag(&self, refs: &[DocRef], alert_name: &str) -> Result<BulkReport, StoreError> {
        let mut builder = DocBuilder::new(&self.fields, &self.schema).map_err(StoreError::Index)?;
        let mut guard = self.lock()?;
        let writer = &mut guard.writer;
        // The reader is current: every write reloads it before releasing the writer.
        let searcher = self.reader.searcher();
        let (report, changed) = or_rollback(writer, |writer| {
            let mut report = BulkReport::default();
            let mut seen = HashSet::new();
            let mut changed = false;
            for (position, r) in refs.iter().enumerate() {
                if !seen.insert(r) {
                    report.written += 1;
                    continue;
                }
                let uid = Term::from_field_text(self.fields.uid, &mapping::uid(&r.index, &r.id));
                let Some(mut hit) = self.find(&searcher, &uid)? else {
                    report.failed.push(BulkFailure {
                        position,
                        id: r.id.clone(),
                        reason: format!("no document {} in {}", r.id, r.index),
                        retryable: false,
                    });
                    continue;
                };
                let names = hit
                    .source
                    .as_object_mut()
                    .map(|o| o.entry("alert_names").or_insert_with(|| Json::Array(vec![])));
                match names {
                    Some(Json::Array(list)) => {
                        if !list.iter().any(|n| n.as_str() == Some(alert_name)) {
                            list.push(Json::String(alert_name.to_string()));
                            let kind = if r.index == ALERTS_INDEX { KIND_ALERT } else { KIND_EVENT };
                            let doc = builder
                                .build(kind, &r.index, &r.id, &hit.source)
                                .map_err(StoreError::Index)?;
                            writer.delete_term(uid);
                            writer.add_document(doc).map_err(index_err)?;
                            changed = true;
                        }
                        report.written += 1;
                    }
                    _ => report.failed.push(BulkFailure {
                        position,
                        id: r.id.clone(),
                        reason: "alert_names is not a list".into(),
                        retryable: false,
                    }),
                }
            }
            Ok((report, changed))
        })?;
        if changed {
            self.commit(writer)?;
        }
        Ok(report)
    }
}

#[async_trait]
impl EventStore for EmbeddedStore {
    async fn search(&self, request: &SearchRequest) -> Result<SearchResult, StoreError> {
        crate::check_request(&request.query, &[])?;
        let request = request.clone();
        self.read(move |s| s.search(KIND_EVENT, &request.query, request.size, request.sort)).await
    }

    async fn aggregate(
        &self,
        query: &QueryAst,
        aggregations: &[Aggregation],
    ) -> Result<Vec<AggregationResult>, StoreError> {
        crate::check_request(query, aggregations)?;
        let (query, aggs) = (query.clone(), aggregations.to_vec());
        self.read(move |s| s.aggregate(&query, &aggs)).await
    }

    async fn index_events(&self, events: &[Event]) -> Result<BulkReport, StoreError> {
        // Documents are built here, from the borrowed events (no copy of them), and handed to the
        // writer thread as they are made, so building and indexing overlap. Only a `Done` at the
        // end commits: if this future is dropped half-way, the writer sees the channel close first
        // and rolls the batch back.
        let (tx, writer) = self.batch_writer();
        let inner = self.inner.clone();
        let build = async move {
            let mut builder = DocBuilder::new(&inner.fields, &inner.schema).map_err(StoreError::Index)?;
            if send_docs(&mut builder, events, &tx).await {
                let _ = tx.send(Batch::Done);
            }
            Ok::<(), StoreError>(())
        };
        let (written, built) = tokio::join!(writer, build);
        built?;
        written
    }

    async fn tag_events(&self, refs: &[DocRef], alert_name: &str) -> Result<BulkReport, StoreError> {
        let (refs, name) = (refs.to_vec(), alert_name.to_string());
        self.blocking(move |s| s.tag(&refs, &name)).await
    }

    async fn write_alerts(&self, alerts: &[AlertRecord]) -> Result<BulkReport, StoreError> {
        let docs: Vec<_> = alerts
            .iter()
            .map(|a| (KIND_ALERT, ALERTS_INDEX.to_string(), a.id.clone(), a.to_json()))
            .collect();
        self.blocking(move |s| s.write(docs)).await
    }

    async fn search_alerts(&self, query: &QueryAst, size: usize) -> Result<SearchResult, StoreError> {
        crate::check_request(query, &[])?;
        let query = query.clone();
        self.read(move |s| s.search(KIND_ALERT, &query, size, Sort::NewestFirst)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use serde_json::json;
    use tripline_dsl::Value;
    use tripline_event::EventRef;

    fn t(s: &str) -> DateTime<Utc> {
        tripline_dsl::parse_timestamp(s).expect("test timestamp")
    }

    fn event(n: u32, user: &str) -> Event {
        let mut e = Event::new(
            "cloudtrail",
            "AwsApiCall",
            format!("call {n}"),
            t("2026-11-23T10:00:00Z"),
            t("2026-11-23T10:01:00Z"),
        );
        e.utctimestamp += chrono::TimeDelta::seconds(n.into());
        e.details.insert("user".into(), json!(user));
        e
    }

    fn term(field: &str, v: &str) -> QueryAst {
        QueryAst::Term { field: field.into(), value: Value::Str(v.into()), case_insensitive: false }
    }

    async fn count(store: &EmbeddedStore, q: QueryAst) -> u64 {
        store
            .search(&SearchRequest { query: q, size: 0, sort: Sort::NewestFirst })
            .await
            .expect("search")
            .total
    }

    #[tokio::test]
    async fn hits_carry_index_id_and_source() {
        let store = EmbeddedStore::in_memory().unwrap();
        let e = event(1, "alice");
        let report = store.index_events(std::slice::from_ref(&e)).await.unwrap();
        assert_eq!(report.written, 1);
        let r = store
            .search(&SearchRequest { query: QueryAst::MatchAll, size: 5, sort: Sort::NewestFirst })
            .await
            .unwrap();
        assert_eq!(r.total, 1);
        assert_eq!(r.hits[0].id, e.id());
        assert_eq!(r.hits[0].index, "events-2026.11.23");
        assert_eq!(r.hits[0].source["details"]["user"], "alice");
    }

    #[tokio::test]
    async fn reindexing_an_id_replaces_it() {
        let store = EmbeddedStore::in_memory().unwrap();
        let a = event(1, "alice");
        let mut a2 = a.clone();
        a2.receivedtimestamp = t("2026-11-24T00:00:00Z"); // same id: received time is not hashed
        a2.severity = "WARNING".into();
        assert_eq!(a.id(), a2.id());
        store.index_events(&[a.clone(), event(2, "bob")]).await.unwrap();
        store.index_events(&[a2.clone()]).await.unwrap();
        // Twice in one batch too: the last one wins.
        store.index_events(&[a.clone(), a2.clone()]).await.unwrap();
        assert_eq!(count(&store, QueryAst::MatchAll).await, 2);
        assert_eq!(count(&store, term("severity", "WARNING")).await, 1);
        assert_eq!(count(&store, term("severity", "INFO")).await, 1);
    }

    #[tokio::test]
    async fn tagging_is_idempotent_and_searchable() {
        let store = EmbeddedStore::in_memory().unwrap();
        let events = [event(1, "alice"), event(2, "bob")];
        store.index_events(&events).await.unwrap();
        let r = DocRef { index: event_index(events[0].utctimestamp), id: events[0].id() };
        let missing = DocRef { index: r.index.clone(), id: "nope".into() };
        for _ in 0..2 {
            let rep =
                store.tag_events(&[r.clone(), r.clone(), missing.clone()], "describe_storm").await.unwrap();
            assert_eq!(rep.written, 2);
            assert_eq!(rep.failed.len(), 1);
            assert_eq!(rep.failed[0].id, "nope");
        }
        store.tag_events(std::slice::from_ref(&r), "other").await.unwrap();
        let hits = store
            .search(&SearchRequest {
                query: term("alert_names", "describe_storm"),
                size: 10,
                sort: Sort::NewestFirst,
            })
            .await
            .unwrap();
        assert_eq!(hits.total, 1);
        assert_eq!(hits.hits[0].source["alert_names"], json!(["describe_storm", "other"]));
        assert_eq!(hits.hits[0].source["details"]["user"], "alice");
        assert_eq!(count(&store, QueryAst::MatchAll).await, 2);
    }

    #[tokio::test]
    async fn alerts_are_kept_apart_from_events() {
        let store = EmbeddedStore::in_memory().unwrap();
        let e = event(1, "alice");
        store.index_events(std::slice::from_ref(&e)).await.unwrap();
        let refs = vec![EventRef {
            documentindex: event_index(e.utctimestamp),
            documentid: e.id(),
            documentsource: e.to_json(),
        }];
        let alert = AlertRecord {
            id: AlertRecord::compute_id("describe", "alice", &refs),
            utctimestamp: t("2026-11-23T12:00:00Z"),
            severity: "WARNING".into(),
            summary: "many describes by alice".into(),
            category: "recon".into(),
            tags: vec!["aws".into()],
            events: refs,
            classname: "describe".into(),
            url: String::new(),
            notify: true,
            details: Default::default(),
        };
        store.write_alerts(std::slice::from_ref(&alert)).await.unwrap();
        store.write_alerts(std::slice::from_ref(&alert)).await.unwrap();
        let found = store.search_alerts(&term("classname", "describe"), 10).await.unwrap();
        assert_eq!(found.total, 1);
        assert_eq!(found.hits[0].index, ALERTS_INDEX);
        assert_eq!(found.hits[0].id, alert.id);
        assert_eq!(count(&store, QueryAst::MatchAll).await, 1, "alerts must not show up as events");
        assert_eq!(store.search_alerts(&term("summary", "alice"), 10).await.unwrap().total, 1);
    }

    #[tokio::test]
    async fn committed_data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            store.index_events(&[event(1, "alice"), event(2, "bob")]).await.unwrap();
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(count(&store, QueryAst::MatchAll).await, 2);
        assert_eq!(count(&store, term("details.user", "bob")).await, 1);
        assert_eq!(store.path(), Some(dir.path()));
    }

    #[tokio::test]
    async fn ids_written_before_reopening_are_still_replaced() {
        // Deletes are skipped for ids the writer has not seen; after reopening it must learn the
        // ids already on disk (from every segment) or rewriting one would duplicate it.
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (event(1, "alice"), event(2, "bob"));
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            store.index_events(std::slice::from_ref(&a)).await.unwrap();
            store.index_events(std::slice::from_ref(&b)).await.unwrap();
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let mut b2 = b.clone();
        b2.severity = "WARNING".into();
        let mut a2 = a.clone();
        a2.severity = "ERROR".into();
        store.index_events(&[b2, event(3, "carol")]).await.unwrap();
        store.index_events(&[a2]).await.unwrap();
        assert_eq!(count(&store, QueryAst::MatchAll).await, 3);
        assert_eq!(count(&store, term("severity", "WARNING")).await, 1);
        assert_eq!(count(&store, term("severity", "ERROR")).await, 1);
        assert_eq!(count(&store, term("severity", "INFO")).await, 1);
    }

    #[tokio::test]
    async fn read_only_opens_beside_a_writer_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        assert!(EmbeddedStore::open_read_only(dir.path()).is_err(), "no store there yet");
        let writer = EmbeddedStore::open(dir.path()).unwrap();
        writer.index_events(&[event(1, "alice")]).await.unwrap();
        let reader = EmbeddedStore::open_read_only(dir.path()).unwrap();
        assert_eq!(count(&reader, QueryAst::MatchAll).await, 1);
        let err = reader.index_events(&[event(2, "bob")]).await.unwrap_err();
        assert!(err.to_string().contains("read-only"), "{err}");
    }

    #[tokio::test]
    async fn a_second_writer_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let _first = EmbeddedStore::open(dir.path()).unwrap();
        let err = EmbeddedStore::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("another process"), "{err}");
    }

    #[tokio::test]
    async fn uncommitted_documents_are_not_visible_nor_kept() {
        // What a killed writer leaves: documents added but never committed. (The crash test in
        // tests/embedded_crash.rs kills a real process mid-batch.)
        let dir = tempfile::tempdir().unwrap();
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            store.index_events(&[event(1, "alice")]).await.unwrap();
            let inner = &store.inner;
            let mut b = DocBuilder::new(&inner.fields, &inner.schema).unwrap();
            let e = event(2, "bob");
            let doc = b.build(KIND_EVENT, "events-2026.11.23", &e.id(), &e.to_json()).unwrap();
            inner.lock().unwrap().writer.add_document(doc).unwrap();
            assert_eq!(count(&store, QueryAst::MatchAll).await, 1);
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(count(&store, QueryAst::MatchAll).await, 1);
        assert_eq!(count(&store, term("details.user", "bob")).await, 0);
    }

    #[tokio::test]
    async fn a_failed_tagging_leaves_nothing_for_the_next_commit() {
        let store = EmbeddedStore::in_memory().unwrap();
        let alice = event(1, "alice");
        store.index_events(std::slice::from_ref(&alice)).await.unwrap();
        // A stored document whose source cannot be read: tagging it fails.
        let inner = &store.inner;
        let f = &inner.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.uid, mapping::uid("events-2026.11.23", "broken"));
        doc.add_text(f.kind, KIND_EVENT);
        doc.add_text(f.index, "events-2026.11.23");
        doc.add_text(f.id, "broken");
        doc.add_text(f.source, "{not json");
        {
            let mut guard = inner.lock().unwrap();
            guard.writer.add_document(doc).unwrap();
            inner.commit(&mut guard.writer).unwrap();
        }
        let refs = [
            DocRef { index: "events-2026.11.23".into(), id: alice.id() },
            DocRef { index: "events-2026.11.23".into(), id: "broken".into() },
        ];
        let err = store.tag_events(&refs, "describe_storm").await.unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
        // alice was re-added with the tag before the failure; the next commit must not publish it.
        store.index_events(&[event(2, "bob")]).await.unwrap();
        assert_eq!(count(&store, term("alert_names", "describe_storm")).await, 0);
        assert_eq!(count(&store, term("details.user", "alice")).await, 1);
    }

    #[tokio::test]
    async fn a_batch_abandoned_half_way_is_rolled_back() {
        let store = EmbeddedStore::in_memory().unwrap();
        let events: Vec<Event> = (0..3000).map(|n| event(n, "alice")).collect();
        let mut write = Box::pin(store.index_events(&events));
        // Poll the batch once: it builds and hands over its first documents, then yields.
        tokio::select! {
            biased;
            _ = &mut write => panic!("3,000 documents in one poll"),
            _ = std::future::ready(()) => {}
        }
        drop(write);
        // The next batch waits for the writer, so the abandoned one has been rolled back by then.
        store.index_events(&[event(1, "bob")]).await.unwrap();
        assert_eq!(count(&store, QueryAst::MatchAll).await, 1);
        assert_eq!(count(&store, term("details.user", "alice")).await, 0);
        // Its ids were not left half-known: writing them again writes each once.
        let report = store.index_events(&events[..10]).await.unwrap();
        assert_eq!(report.written, 10);
        assert_eq!(count(&store, term("details.user", "alice")).await, 10);
    }

    #[tokio::test]
    async fn bad_regex_is_an_error_not_an_empty_result() {
        let store = EmbeddedStore::in_memory().unwrap();
        let q =
            QueryAst::Regex { field: "details.user".into(), pattern: "a&b".into(), case_insensitive: false };
        let err =
            store.search(&SearchRequest { query: q, size: 1, sort: Sort::NewestFirst }).await.unwrap_err();
        assert!(matches!(err, StoreError::Unsupported(_)), "{err}");
    }
}
