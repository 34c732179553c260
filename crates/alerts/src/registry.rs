//! The catalog: every alert with how it is deployed. Each alert carries its own [`Meta`] (name,
//! description, schedule, severity, remediation policy); the [`Registry`] holds alerts built in
//! code (the [`builtin`](Registry::builtin) catalog, one line per alert in `lib.rs`) and alerts
//! added at run time (rules loaded from files), and refuses two alerts of one name. The SAM
//! template's functions and schedules are derived from it.

use std::sync::Arc;

use serde::Serialize;

use crate::sigma::{CaseSet, LoadReport, RuleSet};
use crate::{Alert, Severity};

/// The built-in catalog, built once.
static BUILTIN: std::sync::LazyLock<(Registry, LoadReport)> = std::sync::LazyLock::new(|| {
    let (r, report) = Registry::with_rules([]);
    if let Some(bad) = report.refused.first() {
        // Not input: a mistake in the repository's rules, which every test run would hit first.
        panic!("a built-in rule does not load: {}: {}", bad.source, bad.reason);
    }
    (r, report)
});

/// What happens beyond notification when an alert fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Remediation {
    /// Alerts index and the notification sinks only.
    None,
    /// Also start the remediation workflow (Step Functions) with the alert as input.
    Contain,
}

/// The default schedule: every five minutes.
pub const DEFAULT_SCHEDULE: &str = "rate(5 minutes)";

/// What an alert is and how it is deployed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Meta {
    /// The catalog name (`snake_case`): the alert's `classname`, the tag put on events it raised
    /// from, and (with `-` for `_`) its Lambda function's name.
    pub name: String,
    /// What it detects, one line.
    pub description: String,
    /// EventBridge schedule expression (`rate(5 minutes)`).
    pub schedule: String,
    /// The most severe alert it raises.
    pub severity: Severity,
    /// Remediation policy.
    pub remediation: Remediation,
    /// Lambda memory in MB.
    pub memory_mb: u32,
    /// Lambda timeout in seconds.
    pub timeout_secs: u32,
    /// ATT&CK tags as Sigma writes them: `attack.<tactic>` and `attack.t<technique>` (what
    /// `tripline rules coverage` is built from).
    pub tags: Vec<String>,
}

impl Meta {
    /// `name` doing `description`, every five minutes, `WARNING`, notify only, 128 MB, 60 s.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Meta {
            name: name.into(),
            description: description.into(),
            schedule: DEFAULT_SCHEDULE.to_string(),
            severity: Severity::Warning,
            remediation: Remediation::None,
            memory_mb: 128,
            timeout_secs: 60,
            tags: Vec::new(),
        }
    }

    /// With these ATT&CK tags (`attack.discovery`, `attack.t1580`).
    pub fn tags(mut self, tags: &[&str]) -> Self {
        self.tags = tags.iter().map(|t| (*t).to_string()).collect();
        self
    }
    /// Run on this EventBridge schedule expression.
    pub fn schedule(mut self, expression: impl Into<String>) -> Self {
        self.schedule = expression.into();
        self
    }
    /// The most severe alert it raises.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
    /// Also start the remediation workflow.
    pub fn contain(mut self) -> Self {
        self.remediation = Remediation::Contain;
        self
    }
    /// Lambda memory and timeout.
    pub fn resources(mut self, memory_mb: u32, timeout_secs: u32) -> Self {
        self.memory_mb = memory_mb;
        self.timeout_secs = timeout_secs;
        self
    }
}

/// Why an alert cannot join the registry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    /// Names are `snake_case`: `a-z`, `0-9` and `_`, starting with a letter, at most 64.
    #[error("alert name {0:?}: use 1 to 64 characters of a-z 0-9 _, starting with a letter")]
    InvalidName(String),
    /// Two alerts of one name.
    #[error("two alerts are named {0:?}")]
    Duplicate(String),
    /// A schedule EventBridge would not take.
    #[error("alert {name}: schedule {schedule:?} is not rate(N unit) or cron(…)")]
    InvalidSchedule {
        /// The alert.
        name: String,
        /// Its schedule.
        schedule: String,
    },
    /// Memory or timeout outside what Lambda allows.
    #[error("alert {name}: {memory_mb} MB / {timeout_secs} s is outside Lambda's 128–10240 MB, 1–900 s")]
    InvalidResources {
        /// The alert.
        name: String,
        /// Memory.
        memory_mb: u32,
        /// Timeout.
        timeout_secs: u32,
    },
}

/// Alerts by name, in the order they were added.
#[derive(Clone, Default)]
pub struct Registry {
    alerts: Vec<Arc<dyn Alert>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.alerts.iter().map(|a| a.name())).finish()
    }
}

impl Registry {
    /// No alerts.
    pub fn new() -> Self {
        Registry::default()
    }

    /// The built-in catalog: the alerts written in Rust (the list in `lib.rs`) and Tripline's
    /// own rules (the repository's `rules/` folder, embedded at build time).
    pub fn builtin() -> Self {
        BUILTIN.0.clone()
    }

    /// The built-in catalog plus rule files (path, text): one rule set, so a user's correlation
    /// may correlate a built-in rule. What does not load is in the report, with the reason.
    pub fn with_rules<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> (Registry, LoadReport) {
        let mut set = RuleSet::new();
        for (source, text) in crate::RULES.iter().copied().chain(files) {
            set.add_text(source, text);
        }
        let mut r = Registry::rust_alerts();
        let report = set.load(&mut r);
        (r, report)
    }

    /// The test cases of the built-in catalog.
    pub fn builtin_cases() -> Vec<CaseSet> {
        BUILTIN.1.cases.clone()
    }

    /// The alerts written in Rust alone.
    fn rust_alerts() -> Self {
        let mut r = Registry::new();
        for alert in crate::builtin_alerts() {
            if let Err(e) = r.add(alert) {
                // Not input: a mistake in the catalog, which every test run would hit first.
                panic!("the built-in catalog is invalid: {e}");
            }
        }
        r
    }

    /// Add an alert after checking its metadata.
    pub fn add(&mut self, alert: Arc<dyn Alert>) -> Result<(), RegistryError> {
        let meta = alert.meta();
        check(meta)?;
        if self.get(&meta.name).is_some() {
            return Err(RegistryError::Duplicate(meta.name.clone()));
        }
        self.alerts.push(alert);
        Ok(())
    }

    /// The alert named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Alert>> {
        self.alerts.iter().find(|a| a.name() == name)
    }

    /// Every alert, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Alert>> {
        self.alerts.iter()
    }

    /// Every alert's metadata, in order.
    pub fn metas(&self) -> Vec<Meta> {
        self.alerts.iter().map(|a| a.meta().clone()).collect()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    /// None at all.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }
}

/// The checks every alert's metadata passes before it joins a registry.
pub fn check(meta: &Meta) -> Result<(), RegistryError> {
    let n = &meta.name;
    let valid = !n.is_empty()
        && n.len() <= 64
        && n.starts_with(|c: char| c.is_ascii_lowercase())
        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(RegistryError::InvalidName(n.clone()));
    }
    let s = meta.schedule.as_str();
    let rate_ok = s
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|r| r.split_once(' '))
        .is_some_and(|(num, unit)| {
            let one = num == "1";
            num.parse::<u32>().is_ok_and(|v| v > 0)
                && matches!(
                    (one, unit),
                    (true, "minute" | "hour" | "day") | (false, "minutes" | "hours" | "days")
                )
        });
    let cron_ok = s.starts_with("cron(") && s.ends_with(')') && s[5..s.len() - 1].split(' ').count() == 6;
    if !(rate_ok || cron_ok) {
        return Err(RegistryError::InvalidSchedule { name: n.clone(), schedule: s.to_string() });
    }
    if !(128..=10240).contains(&meta.memory_mb) || !(1..=900).contains(&meta.timeout_secs) {
        return Err(RegistryError::InvalidResources {
            name: n.clone(),
            memory_mb: meta.memory_mb,
            timeout_secs: meta.timeout_secs,
        });
    }
    Ok(())
}

/// The built-in catalog's metadata, in order (what the template is rendered from).
pub fn entries() -> Vec<Meta> {
    Registry::builtin().metas()
}

/// A built-in alert by name.
pub fn find(name: &str) -> Option<Arc<dyn Alert>> {
    Registry::builtin().get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_checked() {
        assert_eq!(check(&Meta::new("ok_name", "d")), Ok(()));
        for bad in ["", "CamelCase", "1st", "with-dash", &"x".repeat(65)] {
            assert!(matches!(check(&Meta::new(bad, "d")), Err(RegistryError::InvalidName(_))), "{bad}");
        }
        for s in ["rate(5 minutes)", "rate(1 hour)", "cron(0 12 * * ? *)"] {
            assert_eq!(check(&Meta::new("a", "d").schedule(s)), Ok(()), "{s}");
        }
        for s in ["rate(0 minutes)", "rate(1 minutes)", "rate(5 minute)", "every 5m", "cron(0 12 * *)"] {
            assert!(
                matches!(check(&Meta::new("a", "d").schedule(s)), Err(RegistryError::InvalidSchedule { .. })),
                "{s}"
            );
        }
        assert!(matches!(
            check(&Meta::new("a", "d").resources(64, 60)),
            Err(RegistryError::InvalidResources { .. })
        ));
    }
}
