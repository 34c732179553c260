//! `tripline run`: every alert of the registry (or one) over the embedded store, at a chosen
//! clock: hunting and backtesting over archived logs, with the same runner the Lambdas use.
//!
//! By default a run records what it raises like a Lambda does (alerts into the store's alerts
//! index, events tagged so the next run leaves them out); `--dry-run` only evaluates, and raises
//! what a run would. There are no AWS sinks here: nothing is published or contained from a laptop.
//!
//! Windows are by event time (`utctimestamp`): logs ingested today but written yesterday raise
//! nothing at today's clock, and raise at `--at` their own time what they raise there.
//! `--lateness` is the allowance for late deliveries (the runtime's `RunOptions::lateness`).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use tripline_event::{AlertRecord, EventRef};
use tripline_runtime::{Alert, Registry, RunOptions, Runner};
use tripline_store::embedded::EmbeddedStore;

/// Arguments of `tripline run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run only this alert (a registry name; repeat for several). Default: every alert.
    #[arg(long = "alert", value_name = "NAME")]
    pub alerts: Vec<String>,
    /// The clock the alerts run at, RFC 3339 (`2026-11-23T12:00:00Z`; 1678-01-01 to 2261-12-31).
    /// Default: now.
    #[arg(long, value_name = "TIME", value_parser = crate::search::parse_time, allow_hyphen_values = true, conflicts_with_all = ["from", "to"])]
    pub at: Option<DateTime<Utc>>,
    /// Replay from this time (RFC 3339): every alert at each tick of its own `rate(…)` schedule
    /// after it, up to `--to`, in time order, each run recorded as live runs are (so an event
    /// raises once). One run per alert per tick: exact, not fast.
    #[arg(long, value_name = "TIME", value_parser = crate::search::parse_time, allow_hyphen_values = true, requires = "to", conflicts_with = "dry_run")]
    pub from: Option<DateTime<Utc>>,
    /// The replay's last tick (with `--from`).
    #[arg(long, value_name = "TIME", value_parser = crate::search::parse_time, allow_hyphen_values = true, requires = "from")]
    pub to: Option<DateTime<Utc>>,
    /// One alert per line as JSON (MozDef format) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report of the alerts raised to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
    /// Only evaluate: write no alerts and tag no events.
    #[arg(long)]
    pub dry_run: bool,
    /// How late an event may arrive (after its utctimestamp) and still alert: simple alerts look
    /// back their window plus this; aggregations also count the settled window ending this long
    /// before the clock; deadmen judge that settled window. 0s to 24h (`0s`, `15m`, `2h`).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = tripline_runtime::runner::parse_lateness)]
    pub lateness: TimeDelta,
    #[command(flatten)]
    pub catalog: crate::rules::Catalog,
}

/// The registry entries to run: all, or those named, each once (unknown names are an error
/// listing the known ones).
pub fn select(catalog: &Registry, names: &[String]) -> anyhow::Result<Vec<Arc<dyn Alert>>> {
    let all: Vec<Arc<dyn Alert>> = catalog.iter().cloned().collect();
    if names.is_empty() {
        return Ok(all);
    }
    let mut chosen: Vec<Arc<dyn Alert>> = Vec::new();
    for n in names {
        let entry = catalog.get(n).cloned().ok_or_else(|| {
            let known: Vec<&str> = all.iter().map(|e| e.name()).collect();
            let shown: String = n.chars().take(80).collect();
            anyhow::anyhow!("--alert: no alert named {shown:?}; known alerts: {}", known.join(", "))
        })?;
        if !chosen.iter().any(|c| c.name() == entry.name()) {
            chosen.push(entry);
        }
    }
    Ok(chosen)
}

pub async fn run(store_dir: &Path, args: Args) -> anyhow::Result<()> {
    let entries = select(&args.catalog.registry()?, &args.alerts)?;
    if !store_dir.exists() {
        anyhow::bail!(
            "no store at {}: ingest logs first (`tripline ingest FILES`) or pass --store DIR",
            store_dir.display()
        );
    }
    let store = EmbeddedStore::open(store_dir)
        .with_context(|| format!("opening the store at {}", store_dir.display()))?;
    let runner =
        Runner::new(&store).with_options(RunOptions { lateness: args.lateness, ..RunOptions::default() });
    if let (Some(from), Some(to)) = (args.from, args.to) {
        return replay(&runner, &entries, from, to, &args).await;
    }
    let now = args.at.unwrap_or_else(Utc::now);
    let mut raised: Vec<AlertRecord> = Vec::new();
    let mut failed = Vec::new();
    for alert in &entries {
        let result = if args.dry_run {
            runner.evaluate(alert.as_ref(), now).await.map(|r| r.into_iter().map(|x| x.record).collect())
        } else {
            runner.run(alert.as_ref(), alert.meta().remediation, now).await.map(|r| r.raised)
        };
        match result {
            Ok(mut records) => raised.append(&mut records),
            Err(e) => {
                eprintln!("error: {e}");
                failed.push(alert.name().to_string());
            }
        }
    }
    raised.sort_by(|a, b| (a.utctimestamp, &a.classname, &a.id).cmp(&(b.utctimestamp, &b.classname, &b.id)));
    if let Some(path) = &args.html {
        crate::report::Report::run(now, &raised, &entries).write(path)?;
        eprintln!("report: {}", path.display());
    }
    if args.json {
        for a in &raised {
            println!("{}", serde_json::to_string(&a.to_json())?);
        }
    } else {
        if !raised.is_empty() {
            println!("{}", table(&raised));
        }
        eprintln!(
            "{} alert(s) from {} rule(s) at {}, lateness {}{}",
            raised.len(),
            entries.len(),
            tripline_event::format_timestamp(now),
            show_duration(args.lateness),
            if args.dry_run { " (dry run: nothing recorded)" } else { "" }
        );
    }
    if !failed.is_empty() {
        anyhow::bail!("{} alert(s) failed: {}", failed.len(), failed.join(", "));
    }
    Ok(())
}

/// `run --from --to`: each alert at each of its ticks, in time order, recorded; JSON lines as they
/// are raised, or a table at the end. A failed run stops the replay (later ticks would be judged
/// on a store missing that run's tags).
async fn replay(
    runner: &Runner<'_>,
    entries: &[Arc<dyn Alert>],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    args: &Args,
) -> anyhow::Result<()> {
    let schedules: Vec<(String, String)> =
        entries.iter().map(|a| (a.name().to_string(), a.meta().schedule.clone())).collect();
    let runs = tripline_runtime::replay::schedule(&schedules, from, to)?;
    let bar = indicatif::ProgressBar::new(runs.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} runs  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut raised: Vec<AlertRecord> = Vec::new();
    for (at, i) in &runs {
        let alert = &entries[*i];
        let report = runner.run(alert.as_ref(), alert.meta().remediation, *at).await.with_context(|| {
            format!("replay: {} at {}", alert.name(), tripline_event::format_timestamp(*at))
        })?;
        if args.json {
            for a in &report.raised {
                bar.suspend(|| println!("{}", serde_json::to_string(&a.to_json()).unwrap_or_default()));
            }
        }
        raised.extend(report.raised);
        bar.set_message(format!(
            "{} at {}, {} alert(s)",
            alert.name(),
            tripline_event::format_timestamp(*at),
            raised.len()
        ));
        bar.inc(1);
    }
    bar.finish_and_clear();
    raised.sort_by(|a, b| (a.utctimestamp, &a.classname, &a.id).cmp(&(b.utctimestamp, &b.classname, &b.id)));
    if let Some(path) = &args.html {
        let mut report = crate::report::Report::run(to, &raised, entries);
        report.title = format!(
            "tripline run {} – {}",
            tripline_event::format_timestamp(from),
            tripline_event::format_timestamp(to)
        );
        report.span = Some(crate::report::Span { from, to });
        report.write(path)?;
        eprintln!("report: {}", path.display());
    }
    if !args.json && !raised.is_empty() {
        println!("{}", table(&raised));
    }
    eprintln!(
        "{} alert(s) from {} rule(s) replayed over {} .. {} ({} runs), lateness {}",
        raised.len(),
        entries.len(),
        tripline_event::format_timestamp(from),
        tripline_event::format_timestamp(to),
        runs.len(),
        show_duration(args.lateness),
    );
    Ok(())
}

/// `86400` → `1d`, `300` → `5m`: seconds in the largest unit that divides them.
pub fn show_secs(secs: u64) -> String {
    match secs {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s => show_duration(TimeDelta::seconds(i64::try_from(s).unwrap_or(i64::MAX))),
    }
}

/// `1800s` → `30m`: in the largest unit that divides it.
fn show_duration(d: TimeDelta) -> String {
    let secs = d.num_seconds();
    match secs {
        0 => "0s".into(),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// When the alert's newest event happened (the alert's own time when it has no events).
fn event_time(alert: &AlertRecord) -> String {
    alert
        .events
        .iter()
        .filter_map(|e: &EventRef| e.documentsource.get("utctimestamp").and_then(|t| t.as_str()))
        .max()
        .map(str::to_string)
        .unwrap_or_else(|| tripline_event::format_timestamp(alert.utctimestamp))
}

fn table(alerts: &[AlertRecord]) -> crate::table::Fit {
    let mut t =
        crate::table::Fit::new(&["time", "alert", "severity", "summary", "events"]).severity(2).numeric(4);
    for a in alerts {
        t.row([
            event_time(a),
            a.classname.clone(),
            a.severity.clone(),
            a.summary.clone(),
            a.events.len().to_string(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_alerts_are_named() {
        let err = select(&Registry::builtin(), &["no_such_alert".into()]).unwrap_err().to_string();
        assert!(err.contains("--alert: no alert named \"no_such_alert\""), "{err}");
        let err = select(&Registry::builtin(), &["x".repeat(10_000)]).unwrap_err().to_string();
        assert!(err.len() < 2_000, "a long name is not echoed whole");
    }

    #[test]
    fn lateness_is_0s_to_24h() {
        use tripline_runtime::runner::parse_lateness;
        assert_eq!(parse_lateness("30m"), Ok(TimeDelta::minutes(30)));
        assert_eq!(parse_lateness("0"), Ok(TimeDelta::zero()));
        assert_eq!(parse_lateness("0s"), Ok(TimeDelta::zero()));
        assert_eq!(parse_lateness("24h"), Ok(TimeDelta::hours(24)));
        assert_eq!(show_duration(TimeDelta::minutes(30)), "30m");
        assert_eq!(show_duration(TimeDelta::seconds(90)), "90s");
        assert_eq!(show_duration(TimeDelta::hours(2)), "2h");
    }

    #[test]
    fn an_alert_named_twice_runs_once() {
        let name = Registry::builtin().metas()[0].name.clone();
        let chosen = select(&Registry::builtin(), &[name.clone(), name.clone()]).unwrap();
        assert_eq!(chosen.len(), 1);
    }
}
