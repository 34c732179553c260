//! `tripline backtest`: what the catalog would have raised over archived logs, each alert as if
//! it had run on its own schedule over `[--from, --to]`, with the dedup live runs have (an event
//! raises an alert once), in one read of the store per alert (the runtime's `backtest` module
//! says how, and why it gives what `tripline run --from --to` gives tick by tick).
//!
//! The store is opened read-only and never written: a what-if question changes nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use tripline_event::AlertRecord;
use tripline_runtime::backtest::{AlertBacktest, Backtest};
use tripline_runtime::{Alert, RunOptions};
use tripline_store::embedded::EmbeddedStore;

use crate::table::Fit;

/// Arguments of `tripline backtest`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Start of the span (RFC 3339, or relative to now: `-30d`, `-2h`): ticks after it count.
    #[arg(long, value_name = "TIME", value_parser = crate::search::parse_time, allow_hyphen_values = true)]
    pub from: DateTime<Utc>,
    /// End of the span (RFC 3339, or relative: `-1h`, `now`): the last tick is at or before it.
    #[arg(long, value_name = "TIME", value_parser = crate::search::parse_time, allow_hyphen_values = true)]
    pub to: DateTime<Utc>,
    /// Backtest only this alert (repeat for several). Default: every alert.
    #[arg(long = "alert", value_name = "NAME")]
    pub alerts: Vec<String>,
    /// One alert per line as JSON (MozDef format), oldest first, instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report (alerts as cards, a timeline, counts) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// How late an event may arrive and still alert, as for `tripline run` (0s to 24h).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = tripline_runtime::runner::parse_lateness)]
    pub lateness: TimeDelta,
    /// Read an OpenSearch cluster instead of the embedded store (its auth and credentials from
    /// `TRIPLINE_OPENSEARCH_AUTH` and the rest of the store's settings). It is only read.
    #[arg(long, value_name = "URL")]
    pub opensearch_url: Option<String>,
    #[command(flatten)]
    pub catalog: crate::rules::Catalog,
}

pub async fn run(store_dir: &Path, args: Args) -> anyhow::Result<()> {
    let entries = crate::run::select(&args.catalog.registry()?, &args.alerts)?;
    let store: Box<dyn tripline_store::EventStore> = match &args.opensearch_url {
        Some(url) => {
            let conn = crate::opensearch::Connection { url: url.clone(), auth: None, region: None };
            Box::new(
                tripline_store::opensearch::OpenSearchStore::connect(conn.config()?)
                    .await
                    .context("connecting to OpenSearch")?,
            )
        }
        None => {
            if !store_dir.exists() {
                anyhow::bail!(
                    "no store at {}: ingest logs first (`tripline ingest FILES`) or pass --store DIR",
                    store_dir.display()
                );
            }
            Box::new(
                EmbeddedStore::open_read_only(store_dir)
                    .with_context(|| format!("opening the store at {}", store_dir.display()))?,
            )
        }
    };
    let options = RunOptions { lateness: args.lateness, ..RunOptions::default() };
    let started = Instant::now();
    let results = backtest_all(store.as_ref(), &entries, options, args.from, args.to).await?;
    let elapsed = started.elapsed();

    let mut alerts: Vec<AlertRecord> = results.iter().flat_map(|r| r.raised.iter().cloned()).collect();
    alerts.sort_by(|a, b| (a.utctimestamp, &a.classname, &a.id).cmp(&(b.utctimestamp, &b.classname, &b.id)));
    if args.json {
        for a in &alerts {
            println!("{}", serde_json::to_string(&a.to_json())?);
        }
    } else {
        if !alerts.is_empty() {
            println!("{}", alerts_table(&alerts));
        }
        println!("{}", counts_table(&results, &entries));
    }
    if let Some(path) = &args.html {
        let report = crate::report::Report::backtest(args.from, args.to, &alerts, &results, &entries);
        report.write(path)?;
        eprintln!("report: {}", path.display());
    }
    let runs: u64 = results.iter().map(|r| r.runs).sum();
    let ticks: u64 = results.iter().map(|r| r.ticks).sum();
    let read: u64 = results.iter().map(|r| r.events_read).sum();
    eprintln!(
        "{} alert(s) from {} rule(s) over {} .. {}: {} of {} ticks could raise, {} event(s) read, {:.1}s",
        alerts.len(),
        entries.len(),
        tripline_event::format_timestamp(args.from),
        tripline_event::format_timestamp(args.to),
        runs,
        ticks,
        read,
        elapsed.as_secs_f64(),
    );
    Ok(())
}

/// Every alert backtested in turn, with a progress bar on a terminal.
pub async fn backtest_all(
    store: &dyn tripline_store::EventStore,
    entries: &[Arc<dyn Alert>],
    options: RunOptions,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<Vec<AlertBacktest>> {
    let backtest = Backtest::new(store, options);
    let bar = indicatif::ProgressBar::new(entries.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} alerts  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut out = Vec::with_capacity(entries.len());
    for alert in entries {
        bar.set_message(alert.name().to_string());
        let result = backtest
            .alert(alert.as_ref(), from, to)
            .await
            .with_context(|| format!("backtest of {}", alert.name()))?;
        out.push(result);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// The alert's key (the grouped value), when it has one a person can read: a simple alert's
/// key is its event's id, which says nothing the summary does not.
pub fn key_of(a: &AlertRecord) -> String {
    let key = match a.details.get("key") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    if a.events.iter().any(|e| e.documentid == key) {
        return String::new();
    }
    key
}

fn alerts_table(alerts: &[AlertRecord]) -> Fit {
    let mut t = Fit::new(&["time", "alert", "severity", "key", "summary"]).severity(2);
    for a in alerts {
        t.row([
            a.utctimestamp.format("%Y-%m-%d %H:%M:%S").to_string(),
            a.classname.clone(),
            a.severity.clone(),
            key_of(a),
            a.summary.clone(),
        ]);
    }
    t
}

fn counts_table(results: &[AlertBacktest], entries: &[Arc<dyn Alert>]) -> Fit {
    let mut t =
        Fit::new(&["alert", "severity", "alerts", "runs", "events read"]).numeric(2).numeric(3).numeric(4);
    let mut rows: Vec<(&AlertBacktest, &Arc<dyn Alert>)> = results.iter().zip(entries).collect();
    rows.sort_by(|a, b| b.0.raised.len().cmp(&a.0.raised.len()).then_with(|| a.0.alert.cmp(&b.0.alert)));
    for (r, e) in rows {
        let severity =
            crate::report::top_severity(&r.raised).unwrap_or_else(|| e.meta().severity.as_str().to_string());
        t.row([
            r.alert.clone(),
            severity,
            r.raised.len().to_string(),
            format!("{}/{}", r.runs, r.ticks),
            r.events_read.to_string(),
        ]);
    }
    t
}
