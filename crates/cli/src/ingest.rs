//! `tripline ingest PATH…`: normalize log files into the embedded store.
//!
//! Files and folders (walked recursively, hidden entries skipped, in name order), plain or gzip,
//! any format `tripline-normalize` recognises. Reading and normalizing run on a blocking thread;
//! events go to the store writer in chunks of [`CHUNK`] through a bounded channel of
//! [`CHUNKS_IN_FLIGHT`], and each batch of `--batch` events is streamed into one commit
//! ([`EmbeddedStore::index_event_chunks`]) by the ingest pipeline the Lambda shares
//! ([`tripline_store::ingest`]), so no batch of events is ever held whole: memory is
//! bounded by a few chunks plus the commit's documents in the writer, however large the input
//! (under 256 MiB peak RSS with the defaults: docs/performance.md, "Ingest memory").
//!
//! Exit status: 0 when at least one event was stored, or when there was nothing to read; an error
//! (status 1) when records were found but every one of them failed, or when the store refused a
//! write. Individual bad records never stop the ingest: they are counted and summarised.
//!
//! Nothing a path holds stops the others: a path that does not exist, a dangling symlink, a
//! symlink loop, an entry that cannot be listed or read, a FIFO or other special file (never
//! opened: it could block forever), and a directory cycle (a symlink back to a folder being
//! walked; folders are known by device and inode, so a loop is never followed) are each an error
//! row with the path and the reason, counted; the walk goes on. A document the store refuses
//! costs only itself: it is reported with the file and record number it came from, counted, and
//! the rest of its batch is committed.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tripline_event::Event;
use tripline_normalize::{
    read_path_numbered, read_reader_numbered, FlowFormat, NormalizeError, Options, Stats,
};
use tripline_store::embedded::EmbeddedStore;
use tripline_store::ingest::{self as pipeline, Batcher, Origin};

/// How many error messages of each kind the summary shows.
const SHOWN_PER_KIND: usize = 3;
/// The range of `--batch`.
const BATCH_RANGE: std::ops::RangeInclusive<u64> = 1..=1_000_000;
/// Events per chunk sent from the reading thread to the writer. An `Event` of a CloudTrail record
/// is ≈ 6.5 KB on the heap, so a chunk is ≈ 3 MB; whole 20,000-event batches in flight were most
/// of the memory of an ingest (docs/performance.md).
const CHUNK: usize = 512;
/// Chunks waiting in the channel between the reading thread and the writer (besides the one
/// being read and the one being indexed).
const CHUNKS_IN_FLIGHT: usize = 2;

/// Arguments of `tripline ingest`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or folders (read recursively): CloudTrail, VPC flow log, GuardDuty, EventBridge and
    /// CloudWatch Logs files, plain or gzip.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Events per write to the store (one commit each). Larger batches index faster (each commit
    /// writes a segment): 5,000 per commit costs ~20% more CPU per event than 50,000.
    /// From 1 to 1,000,000; memory grows with it (a few batches are in flight).
    #[arg(long, default_value_t = 20_000, value_parser = batch_size)]
    pub batch: usize,
    /// The format of flow logs that have no header line, as field names or an AWS format string
    /// (`'${version} ${srcaddr} …'`). Default: the version-2 default format.
    #[arg(long)]
    pub flow_format: Option<String>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--batch`: a whole number in [`BATCH_RANGE`]; otherwise a message clap shows as a usage error
/// (exit status 2).
fn batch_size(s: &str) -> Result<usize, String> {
    let range = format!("{}..={} (events per write to the store)", BATCH_RANGE.start(), BATCH_RANGE.end());
    match s.trim().parse::<u64>() {
        Ok(n) if BATCH_RANGE.contains(&n) => {
            usize::try_from(n).map_err(|_| format!("{n} is too large for this machine"))
        }
        Ok(n) => Err(format!("{n} is not in {range}")),
        Err(_) => Err(format!("not a whole number in {range}")),
    }
}

/// What the reading side hands back when it is done.
#[derive(Default)]
struct ReadOutcome {
    stats: Stats,
    bytes: u64,
    samples: BTreeMap<String, Vec<String>>,
}

impl ReadOutcome {
    /// Count an error of `kind` and keep its message if few of that kind are kept yet.
    fn error(&mut self, kind: &str, message: String) {
        *self.stats.errors.entry(kind.to_owned()).or_default() += 1;
        self.sample(kind, message);
    }

    fn sample(&mut self, kind: &str, message: String) {
        let shown = self.samples.entry(kind.to_owned()).or_default();
        if shown.len() < SHOWN_PER_KIND {
            shown.push(message);
        }
    }
}

/// What the writing side hands back.
#[derive(Default)]
struct WriteOutcome {
    written: u64,
    /// Refused documents by the store's reason: how many, and the first few origins.
    failed: BTreeMap<String, (u64, Vec<String>)>,
}

impl WriteOutcome {
    fn refused(&mut self, reason: &str, origin: Option<&Origin>) {
        let (n, shown) = self.failed.entry(reason.to_owned()).or_default();
        *n += 1;
        if shown.len() < SHOWN_PER_KIND {
            shown.push(match origin {
                Some(o) => o.to_string(),
                None => "(origin unknown)".to_owned(),
            });
        }
    }

    fn total_refused(&self) -> u64 {
        self.failed.values().map(|(n, _)| n).sum()
    }
}

pub async fn run(store_dir: &Path, args: Args) -> anyhow::Result<()> {
    let flow_format = match &args.flow_format {
        Some(spec) => match FlowFormat::parse_header(spec) {
            Ok(Some(format)) => Some(format),
            Ok(None) => bail!("--flow-format: not a flow log format: {spec:?}"),
            Err(e) => bail!("--flow-format {spec:?}: {e}"),
        },
        None => None,
    };
    let walked = collect_files(&args.paths);
    if !walked.skipped.is_empty() {
        let names: Vec<String> = walked.skipped.iter().take(5).map(|p| p.display().to_string()).collect();
        eprintln!(
            "note: {} file(s) that are not logs left out (documentation, a scenario's expected.json): {}{}",
            walked.skipped.len(),
            names.join(", "),
            if walked.skipped.len() > 5 { ", …" } else { "" }
        );
    }
    let files = walked.files;
    let total_bytes: u64 = files.iter().map(|(_, n)| n).sum();
    let store = EmbeddedStore::open(store_dir)
        .with_context(|| format!("cannot open the store at {}", store_dir.display()))?;

    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(total_bytes) };
    if !args.quiet {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {prefix} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        // The spinner and the clock go on while the store commits (a commit of a large batch
        // takes seconds, with nothing read meanwhile).
        bar.enable_steady_tick(Duration::from_millis(200));
        bar.set_prefix("0 events written");
    }

    let started = Instant::now();
    let batch_size = args.batch.max(1);
    let (tx, mut rx) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
    let reader_bar = bar.clone();
    let opts = Options { flow_format, ..Options::default() };
    let reader = tokio::task::spawn_blocking(move || {
        let read = read_all(files, &opts, &reader_bar, Batcher::new(tx, CHUNK, batch_size));
        reader_bar.set_message("read; committing the last batch");
        read
    });

    let mut written = WriteOutcome::default();
    // One commit per batch: its chunks are streamed to the store as they arrive (the reading
    // thread cuts chunks at batch ends), only their origins are kept until the commit. A
    // document the store refuses costs only itself: named by its file and record.
    let store_error = pipeline::write_batches(
        &mut rx,
        batch_size,
        |chunks| store.index_event_chunks(chunks),
        |report, origins| {
            written.written += report.written;
            bar.set_prefix(format!("{} events written", written.written));
            for (f, origin) in pipeline::refusals(&report, origins) {
                written.refused(&f.reason, origin);
            }
            Ok(())
        },
    )
    .await
    .err();
    // Stop reading: dropping the receiver makes the reader stop at the next chunk.
    drop(rx);
    let mut outcome = reader.await.context("the reading thread failed")?;
    for (kind, message) in walked.errors {
        outcome.error(kind, message);
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();

    println!("{}", summary(&outcome, &written, elapsed));
    if let Some(e) = store_error {
        bail!("the store refused a write: {e}");
    }
    let stored_failures = written.total_refused();
    if stored_failures > 0 && written.written == 0 {
        bail!("the store refused every event ({stored_failures})");
    }
    if outcome.stats.total_records() == 0 && outcome.stats.total_errors() > 0 {
        bail!("every record failed ({} errors)", outcome.stats.total_errors());
    }
    Ok(())
}

/// What walking the paths found: the files to read (with their sizes, in name order) and, for
/// every entry that could not be walked, an error (kind, message naming the path and why).
#[derive(Debug, Default)]
struct Walked {
    files: Vec<(PathBuf, u64)>,
    errors: Vec<(&'static str, String)>,
    /// Files in a folder that are not logs (documentation, a scenario's `expected.json`).
    skipped: Vec<PathBuf>,
}

/// Whether a file met while walking a folder is documentation or a data set's expectations, not
/// a log: `*.md`, `*.rst`, `*.html`, `*.yml`/`*.yaml`, `*.toml`, `*.py`, `*.sh`, images, PDFs,
/// and `expected.json` (what a scenario folder expects to be raised). A file named on the
/// command line is always read.
fn not_a_log(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
    const DOCS: [&str; 12] =
        [".md", ".rst", ".html", ".yml", ".yaml", ".toml", ".py", ".sh", ".png", ".jpg", ".svg", ".pdf"];
    name == "expected.json"
        || name.starts_with("readme")
        || name.starts_with("license")
        || DOCS.iter().any(|e| name.ends_with(e))
}

/// The log files under `paths` as `tripline ingest` reads them; an error names what could not
/// be walked.
pub fn log_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let walked = collect_files(paths);
    if let Some((_, first)) = walked.errors.first() {
        bail!("{} path(s) could not be read, first: {first}", walked.errors.len());
    }
    Ok(walked.files.into_iter().map(|(p, _)| p).collect())
}

/// Every regular file under `paths`, with its size, in name order; hidden entries (below the
/// paths given) are skipped. Symlinks are followed; a folder already being walked, or already
/// walked, is known by (device, inode) and never entered twice, so a loop cannot recurse. What
/// cannot be walked is an error, and the walk goes on.
fn collect_files(paths: &[PathBuf]) -> Walked {
    struct Walk {
        out: Walked,
        /// (device, inode) of every folder entered.
        seen: HashSet<(u64, u64)>,
        /// The folders being walked, from the top: to tell a cycle from a second way in.
        stack: Vec<((u64, u64), PathBuf)>,
    }
    impl Walk {
        fn error(&mut self, kind: &'static str, p: &Path, why: impl std::fmt::Display) {
            self.out.errors.push((kind, format!("{}: {why}", p.display())));
        }

        fn walk(&mut self, p: &Path, top: bool) {
            use std::os::unix::fs::MetadataExt;
            let hidden = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
            if hidden && !top {
                return;
            }
            // `metadata` follows symlinks: a dangling link or a symlink loop fails here.
            let meta = match std::fs::metadata(p) {
                Ok(m) => m,
                Err(e) => {
                    let (kind, why) = match std::fs::symlink_metadata(p) {
                        // A dangling symlink, a symlink loop.
                        Ok(l) if l.file_type().is_symlink() => match std::fs::read_link(p) {
                            Ok(to) => (
                                "broken_symlink",
                                format!("cannot follow the symlink to {}: {e}", to.display()),
                            ),
                            Err(_) => ("broken_symlink", format!("cannot follow the symlink: {e}")),
                        },
                        _ if e.kind() == std::io::ErrorKind::NotFound => {
                            ("missing_path", "no such file or folder".to_owned())
                        }
                        _ => ("unreadable_path", format!("cannot read: {e}")),
                    };
                    return self.error(kind, p, why);
                }
            };
            if meta.is_dir() {
                let id = (meta.dev(), meta.ino());
                if let Some((_, ancestor)) = self.stack.iter().find(|(a, _)| *a == id) {
                    let why =
                        format!("directory cycle: it leads back to {}, not followed", ancestor.display());
                    return self.error("directory_cycle", p, why);
                }
                if !self.seen.insert(id) {
                    return; // the same folder by another way in: read once
                }
                let listing = match std::fs::read_dir(p) {
                    Ok(l) => l,
                    Err(e) => return self.error("unreadable_path", p, format!("cannot list: {e}")),
                };
                let mut entries = Vec::new();
                for entry in listing {
                    match entry {
                        Ok(e) => entries.push(e.path()),
                        Err(e) => self.error("unreadable_path", p, format!("cannot list an entry: {e}")),
                    }
                }
                entries.sort();
                self.stack.push((id, p.to_path_buf()));
                for e in entries {
                    self.walk(&e, false);
                }
                self.stack.pop();
            } else if meta.is_file() {
                if !top && not_a_log(p) {
                    self.out.skipped.push(p.to_path_buf());
                    return;
                }
                self.out.files.push((p.to_path_buf(), meta.len()));
            } else {
                // A FIFO, a socket, a device: opening one may block forever or never end.
                let what = {
                    use std::os::unix::fs::FileTypeExt;
                    let t = meta.file_type();
                    if t.is_fifo() {
                        "a FIFO"
                    } else if t.is_socket() {
                        "a socket"
                    } else if t.is_block_device() || t.is_char_device() {
                        "a device"
                    } else {
                        "not a regular file"
                    }
                };
                self.error("not_a_file", p, format!("{what}, not read"));
            }
        }
    }
    let mut w = Walk { out: Walked::default(), seen: HashSet::new(), stack: Vec::new() };
    for p in paths {
        w.walk(p, true);
    }
    w.out
}

/// The blocking side: read every file into the batcher (which sends full chunks, with their
/// events' origins), keep a few error messages per kind.
fn read_all(
    files: Vec<(PathBuf, u64)>,
    opts: &Options,
    bar: &ProgressBar,
    mut batcher: Batcher,
) -> ReadOutcome {
    let mut out = ReadOutcome::default();
    for (path, size) in files {
        if batcher.is_closed() {
            break;
        }
        bar.set_message(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        let name = path.display().to_string();
        let file: Arc<str> = Arc::from(name.as_str());
        let mut samples = std::mem::take(&mut out.samples);
        let mut on = |record: u64, r: Result<Event, NormalizeError>| match r {
            Ok(e) => batcher.push(e, Origin { file: file.clone(), record }),
            Err(e) => {
                let shown = samples.entry(e.kind.name().to_owned()).or_default();
                if shown.len() < SHOWN_PER_KIND {
                    shown.push(e.to_string());
                }
            }
        };
        let stats = match File::open(&path) {
            Ok(f) => {
                let position = bar.position();
                let stats = read_reader_numbered(bar.wrap_read(f), &name, opts, &mut on);
                // Gzip readers may stop before the end of the file: account for all of it.
                bar.set_position(position.saturating_add(size));
                stats
            }
            // read_path reports why it cannot be opened, as an error naming the file.
            Err(_) => read_path_numbered(&path, opts, &mut on),
        };
        out.samples = samples;
        out.bytes = out.bytes.saturating_add(size);
        out.stats.merge(&stats);
    }
    batcher.finish();
    out
}

fn summary(read: &ReadOutcome, written: &WriteOutcome, elapsed: Duration) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["", "what", "count", "notes"]);
    let right = |n: u64| Cell::new(n).set_alignment(CellAlignment::Right);
    for (source, n) in &read.stats.records {
        t.add_row(vec![Cell::new("events"), Cell::new(source), right(*n), Cell::new("")]);
    }
    for (reason, n) in &read.stats.skipped {
        t.add_row(vec![Cell::new("skipped"), Cell::new(reason), right(*n), Cell::new("")]);
    }
    for (kind, n) in &read.stats.errors {
        let notes = read.samples.get(kind).map(|v| v.join("\n")).unwrap_or_default();
        t.add_row(vec![Cell::new("errors"), Cell::new(kind), right(*n), Cell::new(notes)]);
    }
    t.add_row(vec![Cell::new("store"), Cell::new("written"), right(written.written), Cell::new("")]);
    for (reason, (n, shown)) in &written.failed {
        let mut notes = format!("{reason}\n{}", shown.join("\n"));
        if *n > shown.len() as u64 {
            notes.push_str(&format!("\n… and {} more", *n - shown.len() as u64));
        }
        t.add_row(vec![Cell::new("store"), Cell::new("refused"), right(*n), Cell::new(notes)]);
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    let records = read.stats.total_records();
    t.add_row(vec![
        Cell::new("total"),
        Cell::new(format!("{} files, {:.1} MB", read.stats.files, read.bytes as f64 / 1e6)),
        right(records),
        Cell::new(format!(
            "{:.2} s, {:.0} records/s, {:.1} MB/s{}",
            secs,
            records as f64 / secs,
            read.bytes as f64 / 1e6 / secs,
            UNOPTIMIZED
        )),
    ]);
    t
}

/// Said next to the rate when this binary is a debug build (as `make demo` uses, to share the
/// tests' build), which ingests about ten times slower than `cargo build --release`.
const UNOPTIMIZED: &str =
    if cfg!(debug_assertions) { "\n(debug build: `cargo build --release` is ≈ 10× faster)" } else { "" };
