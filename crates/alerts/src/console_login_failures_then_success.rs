//! Repeated console sign-in failures for one user, and a success: a guessed or sprayed password
//! that worked.
//!
//! Failures alone are noise (`console_login_brute_force` counts them); the moment that matters is
//! the success among them (MITRE ATT&CK T1110, Brute Force, then T1078.004). The engine groups
//! `ConsoleLogin` events of the window by user name and counts each outcome inside the group (a
//! terms sub-aggregation over `responseElements.ConsoleLogin`); a user with at least
//! `min_failures` failures and a success raises, critical. One mistyped password before a success
//! is every morning, and raises nothing. It stays in Rust: Sigma's `temporal` correlations say
//! that both kinds of event happened, not how many of one.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;

use crate::common::{group_text, sub_buckets};
use crate::{create_alert, Alert, AlertDraft, Group, Meta, Plan, Severity};

/// The registry name.
pub const NAME: &str = "console_login_failures_then_success";

static META: LazyLock<Meta> = LazyLock::new(|| {
    Meta::new(NAME, "Repeated console sign-in failures for one user, and a success (30 minutes)")
        .severity(Severity::Critical)
        .tags(&["attack.credential-access", "attack.t1110", "attack.initial-access", "attack.t1078.004"])
});

/// Settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Window length in minutes.
    pub window_minutes: i64,
    /// Failures in the window, with a success, that raise.
    pub min_failures: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config { window_minutes: 30, min_failures: 5 }
    }
}

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct ConsoleLoginFailuresThenSuccess {
    /// Its settings.
    pub config: Config,
}

impl Alert for ConsoleLoginFailuresThenSuccess {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(self.config.window_minutes)
            .must((TermMatch("source", "cloudtrail"), TermMatch("details.eventname", "ConsoleLogin")))
            .must(ExistsMatch("details.useridentity.username"))
    }

    fn plan(&self) -> Plan {
        Plan::Aggregation {
            field: "details.useridentity.username".into(),
            threshold: self.config.min_failures.saturating_add(1),
            samples: 10,
            max_groups: 1000,
            per_bucket: vec![
                Aggregation::terms("details.responseelements_consolelogin").named("outcomes").size(5).samples(0),
                Aggregation::terms("details.sourceipaddress").named("addresses").size(5).samples(0),
            ],
        }
    }

    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        let outcomes = sub_buckets(group, "outcomes");
        let count = |name: &str| -> u64 {
            outcomes.iter().filter(|(k, _)| k.as_str() == Some(name)).map(|(_, n)| *n).sum()
        };
        let (failures, successes) = (count("Failure"), count("Success"));
        if failures < self.config.min_failures || successes == 0 {
            return None;
        }
        let user = group_text(group);
        let addresses: Vec<String> = sub_buckets(group, "addresses")
            .into_iter()
            .filter_map(|(k, _)| k.as_str().map(str::to_string))
            .collect();
        let summary = format!(
            "Console sign-in for {user} succeeded after {failures} failures within {} minutes (from {})",
            self.config.window_minutes,
            addresses.join(", ")
        );
        Some(
            create_alert(summary, "credential-access", &["cloudtrail", "signin", "T1110"], group.samples.clone(), Severity::Critical)
                .key(user.clone())
                .detail("username", user)
                .detail("failures", failures)
                .detail("successes", successes)
                .detail("sourceipaddresses", addresses)
                .detail("runbook", "Ask the user whether it was them; if not, reset the password, deactivate keys (tripline respond deny-all --user) and review the session's calls"),
        )
    }
}
