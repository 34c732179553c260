//! The registry: every alert with how it is deployed. The SAM template's functions and schedules
//! are derived from it.

use serde::Serialize;

use crate::{Alert, Severity};

/// What happens beyond notification when an alert fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Remediation {
    /// Alerts index and SNS only.
    None,
    /// Also start the remediation workflow (Step Functions) with the alert as input.
    Contain,
}

/// One alert as deployed.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RegistryEntry {
    /// The alert's name (also its Lambda's binary name, with `-` for `_`).
    pub name: &'static str,
    /// What it detects, one line.
    pub description: &'static str,
    /// EventBridge schedule expression (`rate(5 minutes)`).
    pub schedule: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Remediation policy.
    pub remediation: Remediation,
    /// Lambda memory in MB.
    pub memory_mb: u32,
    /// Lambda timeout in seconds.
    pub timeout_secs: u32,
    /// Builds the alert with its default configuration.
    #[serde(skip)]
    pub build: fn() -> Box<dyn Alert>,
}

/// Every alert in the catalog.
pub fn entries() -> Vec<RegistryEntry> {
    Vec::new()
}

/// An entry by name.
pub fn find(name: &str) -> Option<RegistryEntry> {
    entries().into_iter().find(|e| e.name == name)
}
