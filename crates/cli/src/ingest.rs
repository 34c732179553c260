//! `tripline ingest PATH…`: normalize log files into the embedded store.
//!
//! Files and folders (walked recursively, hidden entries skipped, in name order), plain or gzip,
//! any format `tripline-normalize` recognises. Reading and normalizing run on a blocking thread;
//! batches of events go through a small bounded channel to the store writer, so memory stays
//! bounded by a couple of batches however large the input.
//!
//! Exit status: 0 when at least one event was stored, or when there was nothing to read; an error
//! (status 1) when records were found but every one of them failed, or when the store refused a
//! write. Individual bad records never stop the ingest: they are counted and summarised.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tripline_event::Event;
use tripline_normalize::{read_path, read_reader, FlowFormat, NormalizeError, Options, Stats};
use tripline_store::embedded::EmbeddedStore;
use tripline_store::EventStore;

/// How many error messages of each kind the summary shows.
const SHOWN_PER_KIND: usize = 3;

/// Arguments of `tripline ingest`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or folders (read recursively): CloudTrail, VPC flow log, GuardDuty, EventBridge and
    /// CloudWatch Logs files, plain or gzip.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Events per write to the store (one commit each). Larger batches index faster (each commit
    /// writes a segment): 5,000 per commit costs ~20% more CPU per event than 50,000.
    #[arg(long, default_value_t = 20_000)]
    pub batch: usize,
    /// The format of flow logs that have no header line, as field names or an AWS format string
    /// (`'${version} ${srcaddr} …'`). Default: the version-2 default format.
    #[arg(long)]
    pub flow_format: Option<String>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// What the reading side hands back when it is done.
#[derive(Default)]
struct ReadOutcome {
    stats: Stats,
    bytes: u64,
    samples: BTreeMap<String, Vec<String>>,
}

/// What the writing side hands back.
#[derive(Default)]
struct WriteOutcome {
    written: u64,
    failed: BTreeMap<String, u64>,
}

pub async fn run(store_dir: &Path, args: Args) -> anyhow::Result<()> {
    let flow_format = match &args.flow_format {
        Some(spec) => {
            Some(FlowFormat::parse(spec).with_context(|| format!("not a flow log format: {spec:?}"))?)
        }
        None => None,
    };
    let files = collect_files(&args.paths)?;
    let total_bytes: u64 = files.iter().map(|(_, n)| n).sum();
    let store = EmbeddedStore::open(store_dir)
        .with_context(|| format!("cannot open the store at {}", store_dir.display()))?;

    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(total_bytes) };
    if !args.quiet {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    }

    let started = Instant::now();
    let batch_size = args.batch.max(1);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Event>>(2);
    let reader_bar = bar.clone();
    let opts = Options { flow_format, ..Options::default() };
    let reader = tokio::task::spawn_blocking(move || read_all(files, &opts, batch_size, &reader_bar, tx));

    let mut written = WriteOutcome::default();
    let mut store_error = None;
    while let Some(batch) = rx.recv().await {
        match store.index_events(&batch).await {
            Ok(report) => {
                written.written += report.written;
                for f in report.failed {
                    *written.failed.entry(f.reason).or_default() += 1;
                }
            }
            Err(e) => {
                // Stop reading: dropping the receiver makes the reader stop at the next batch.
                store_error = Some(e);
                break;
            }
        }
    }
    drop(rx);
    let outcome = reader.await.context("the reading thread failed")?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();

    println!("{}", summary(&outcome, &written, elapsed));
    if let Some(e) = store_error {
        bail!("the store refused a write: {e}");
    }
    let stored_failures: u64 = written.failed.values().sum();
    if stored_failures > 0 && written.written == 0 {
        bail!("the store refused every event ({stored_failures})");
    }
    if outcome.stats.total_records() == 0 && outcome.stats.total_errors() > 0 {
        bail!("every record failed ({} errors)", outcome.stats.total_errors());
    }
    Ok(())
}

/// Every file under `paths`, with its size, in name order; hidden entries are skipped.
fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, u64)>> {
    fn walk(p: &Path, out: &mut Vec<(PathBuf, u64)>, top: bool) -> anyhow::Result<()> {
        let hidden = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if hidden && !top {
            return Ok(());
        }
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for e in entries {
                walk(&e, out, false)?;
            }
        } else {
            out.push((p.to_path_buf(), meta.len()));
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out, true)?;
    }
    Ok(out)
}

/// The blocking side: read every file, send full batches, keep a few error messages per kind.
fn read_all(
    files: Vec<(PathBuf, u64)>,
    opts: &Options,
    batch_size: usize,
    bar: &ProgressBar,
    tx: tokio::sync::mpsc::Sender<Vec<Event>>,
) -> ReadOutcome {
    let mut out = ReadOutcome::default();
    let mut batch = Vec::with_capacity(batch_size);
    let mut closed = false;
    for (path, size) in files {
        if closed {
            break;
        }
        bar.set_message(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        let mut on = |r: Result<Event, NormalizeError>| match r {
            Ok(e) => {
                if closed {
                    return;
                }
                batch.push(e);
                if batch.len() >= batch_size {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                    closed = tx.blocking_send(full).is_err();
                }
            }
            Err(e) => {
                let shown = out.samples.entry(e.kind.name().to_owned()).or_default();
                if shown.len() < SHOWN_PER_KIND {
                    shown.push(e.to_string());
                }
            }
        };
        let stats = match File::open(&path) {
            Ok(f) => {
                let name = path.display().to_string();
                let position = bar.position();
                let stats = read_reader(bar.wrap_read(f), &name, opts, &mut on);
                // Gzip readers may stop before the end of the file: account for all of it.
                bar.set_position(position + size);
                stats
            }
            // read_path reports why it cannot be opened, as an error naming the file.
            Err(_) => read_path(&path, opts, &mut on),
        };
        out.bytes += size;
        out.stats.merge(&stats);
    }
    if !batch.is_empty() && !closed {
        let _ = tx.blocking_send(batch);
    }
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
    for (reason, n) in &written.failed {
        t.add_row(vec![Cell::new("store"), Cell::new("refused"), right(*n), Cell::new(reason)]);
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
