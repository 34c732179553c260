//! Rule files from folders, and the test cases next to the rules, run from raw logs.
//!
//! [`load`] reads every `.yml`/`.yaml` file under the given folders (sorted, recursively) into
//! the built-in catalog's rule set ([`Registry::with_rules`]). [`run_case`] sends a case's raw
//! records (and files) through the real normalizer into a store, runs the alert at the case's
//! clock ([`Runner::evaluate`]: nothing delivered) and compares what it raised with what the case
//! expects. Every case gets a fresh store from the caller, so cases never see each other's events.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value as Json;
use tripline_alerts::{Alert, LoadReport, Registry};
use tripline_event::AlertRecord;
use tripline_sigma::{Expect, TestCase};
use tripline_store::EventStore;

use crate::runner::Runner;

/// The largest rule file read (rules are small; a test log file may be larger).
pub const MAX_RULE_BYTES: u64 = 4 * 1024 * 1024;

/// Files as (path, text), or (path, why it could not be read).
pub type Files = Vec<(String, String)>;

/// Every rule file under `dirs` (sorted, recursive; `.yml` and `.yaml`), as (path, text); files
/// that cannot be read are returned as errors beside them.
pub fn read_rule_files(dirs: &[PathBuf]) -> (Files, Files) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for dir in dirs {
        if !dir.is_dir() {
            errors.push((dir.display().to_string(), "not a folder".to_string()));
            continue;
        }
        walk(dir, &mut files, &mut errors);
    }
    (files, errors)
}

fn walk(dir: &Path, files: &mut Vec<(String, String)>, errors: &mut Vec<(String, String)>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return errors.push((dir.display().to_string(), e.to_string())),
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let shown = p.display().to_string();
        if p.is_dir() {
            walk(&p, files, errors);
            continue;
        }
        if !matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
            continue;
        }
        match std::fs::metadata(&p) {
            Ok(m) if m.len() > MAX_RULE_BYTES => {
                errors.push((shown, format!("larger than {} MiB", MAX_RULE_BYTES / 1024 / 1024)))
            }
            Ok(_) => match std::fs::read_to_string(&p) {
                Ok(text) => files.push((shown, text)),
                Err(e) => errors.push((shown, e.to_string())),
            },
            Err(e) => errors.push((shown, e.to_string())),
        }
    }
}

/// The built-in catalog plus the rules under `dirs`, with what loaded and what was refused.
pub fn load(dirs: &[PathBuf]) -> (Registry, LoadReport) {
    let (files, errors) = read_rule_files(dirs);
    let (registry, mut report) = Registry::with_rules(files.iter().map(|(p, t)| (p.as_str(), t.as_str())));
    for (source, reason) in errors {
        report.refused.push(tripline_alerts::Refusal { source, title: None, reason });
    }
    (registry, report)
}

/// Why a case could not be run (as opposed to running and failing).
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// A record or file the normalizer refused.
    #[error("{0}")]
    Input(String),
    /// The store refused the events or the query.
    #[error("store: {0}")]
    Store(String),
    /// The alert did not run.
    #[error("run: {0}")]
    Run(String),
}

/// What one case did.
#[derive(Debug)]
pub struct CaseOutcome {
    /// The clock it ran at.
    pub at: DateTime<Utc>,
    /// Events stored.
    pub events: usize,
    /// Alerts raised.
    pub raised: Vec<AlertRecord>,
    /// Why it failed; `None` when it passed.
    pub failure: Option<String>,
}

/// Normalize the case's records and files (`file:` relative to `base`); each event counts as
/// received when it happened.
pub fn normalize(case: &TestCase, base: &Path) -> Result<Vec<tripline_event::Event>, CaseError> {
    let opts = |t| tripline_normalize::Options {
        clock: tripline_normalize::Clock::Fixed(t),
        ..tripline_normalize::Options::default()
    };
    let received = case.at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in case.records.iter().enumerate() {
        tripline_normalize::read_value(record.clone(), &format!("record {}", i + 1), &opts(received), |r| {
            match r {
                Ok(e) => events.push(e),
                Err(e) => errors.push(e.to_string()),
            }
        });
    }
    for f in &case.files {
        let path = base.join(f);
        tripline_normalize::read_path(&path, &opts(received), |r| match r {
            Ok(e) => events.push(e),
            Err(e) => errors.push(e.to_string()),
        });
    }
    if !errors.is_empty() {
        return Err(CaseError::Input(errors.join("; ")));
    }
    Ok(events)
}

/// Run one case of `alert` on `store` (empty; the caller's, fresh per case) at the case's clock,
/// with no lateness allowance (the case's logs are complete). `base` is the folder `file:` paths
/// are relative to.
pub async fn run_case(
    store: &dyn EventStore,
    alert: &dyn Alert,
    case: &TestCase,
    base: &Path,
) -> Result<CaseOutcome, CaseError> {
    let mut events = normalize(case, base)?;
    // The clock: the case's, else a minute after its latest event.
    let at = match case.at {
        Some(t) => t,
        None => {
            let latest = events
                .iter()
                .map(|e| e.utctimestamp)
                .max()
                .ok_or_else(|| CaseError::Input("no event to run on (and no `at` clock)".to_string()))?;
            latest + TimeDelta::minutes(1)
        }
    };
    for e in &mut events {
        e.receivedtimestamp = e.utctimestamp;
    }
    let report = store.index_events(&events).await.map_err(|e| CaseError::Store(e.to_string()))?;
    if let Some(f) = report.failed.first() {
        return Err(CaseError::Store(format!(
            "{} of {} events refused: {}",
            report.failed.len(),
            events.len(),
            f.reason
        )));
    }
    // The case's logs are all there: no allowance for late deliveries (one window per alert).
    let options =
        crate::runner::RunOptions { lateness: TimeDelta::zero(), ..crate::runner::RunOptions::default() };
    let raised = Runner::new(store)
        .with_options(options)
        .evaluate(alert, at)
        .await
        .map_err(|e| CaseError::Run(e.to_string()))?;
    let raised: Vec<AlertRecord> = raised.into_iter().map(|r| r.record).collect();
    let failure = judge(&case.expect, &raised);
    Ok(CaseOutcome { at, events: events.len(), raised, failure })
}

/// Whether `raised` is what `expect` says; the reason when not.
pub fn judge(expect: &Expect, raised: &[AlertRecord]) -> Option<String> {
    let shown = || raised.iter().map(|r| format!("{:?}", r.summary)).collect::<Vec<_>>().join(", ");
    match expect {
        Expect::NoAlert if raised.is_empty() => None,
        Expect::NoAlert => Some(format!("expected no alert, raised {}: {}", raised.len(), shown())),
        Expect::Alerts { alerts, .. } if raised.len() != *alerts => {
            Some(format!("expected {alerts} alert(s), raised {}: {}", raised.len(), shown()))
        }
        Expect::Alerts { group, count, .. } => {
            let fits = |r: &AlertRecord| {
                let group_ok = group.as_ref().is_none_or(|g| {
                    r.details.get("group").and_then(|v| v.get("value")).and_then(Json::as_str)
                        == Some(g.as_str())
                        || r.details.values().any(|v| v.as_str() == Some(g.as_str()))
                });
                let count_ok = count.is_none_or(|c| r.details.get("count").and_then(Json::as_u64) == Some(c));
                group_ok && count_ok
            };
            if raised.iter().any(fits) {
                None
            } else {
                let got: Vec<String> = raised
                    .iter()
                    .map(|r| {
                        format!(
                            "group {} count {}",
                            r.details.get("group").and_then(|v| v.get("value")).unwrap_or(&Json::Null),
                            r.details.get("count").unwrap_or(&Json::Null)
                        )
                    })
                    .collect();
                Some(format!(
                    "expected group {} count {}, raised {}",
                    group.as_deref().unwrap_or("any"),
                    count.map_or("any".to_string(), |c| c.to_string()),
                    got.join("; ")
                ))
            }
        }
    }
}
