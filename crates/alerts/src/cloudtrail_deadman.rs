//! Deadman: no CloudTrail events for an hour.
//!
//! Every other CloudTrail alert is only as good as the events reaching the store. An account
//! always produces some CloudTrail events each hour (AWS services alone call APIs), so an hour of
//! silence means the pipeline broke (trail stopped, delivery bucket policy changed, ingest
//! failing) or someone cut it on purpose (MITRE ATT&CK T1562.008).
//!
//! The runtime judges the silence over the *settled* window, the hour ending a lateness allowance
//! before the run (30 minutes by default; the alert's `details.window`), since events of the last
//! minutes may still be on their way: the alert speaks that much later, never for a late delivery.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;

use crate::{create_alert, Alert, AlertDraft, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "cloudtrail_deadman";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "Deadman: no CloudTrail events for an hour").schedule("rate(1 hour)").severity(Severity::Warning).tags(&["attack.defense-evasion", "attack.t1562.008"]));

/// Settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Silence this long (minutes) raises.
    pub window_minutes: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config { window_minutes: 60 }
    }
}

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct CloudtrailDeadman {
    /// Its settings.
    pub config: Config,
}

impl Alert for CloudtrailDeadman {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(self.config.window_minutes).must(TermMatch("source", "cloudtrail"))
    }

    fn plan(&self) -> Plan {
        Plan::Deadman
    }

    fn on_silence(&self) -> Option<AlertDraft> {
        let summary = format!(
            "No CloudTrail events for {} minutes: check the trail, its delivery and ingest",
            self.config.window_minutes
        );
        Some(create_alert(
            summary,
            "deadman",
            &["cloudtrail", "deadman", "T1562.008"],
            Vec::new(),
            Severity::Warning,
        ))
    }
}
