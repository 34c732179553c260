//! One IAM user's access key used from two or more source IP addresses within 15 minutes: leaked
//! credentials.
//!
//! Long-term access keys that leak (a public repository, a laptop) are used from the attacker's
//! address while the owner keeps using them from theirs (MITRE ATT&CK T1078.004, Valid Accounts:
//! Cloud Accounts). The engine groups CloudTrail calls by IAM user name and counts the distinct
//! `details.sourceipaddress` values inside each group (a cardinality per bucket), so the count stays
//! right at any volume; groups with at least `min_ips` addresses raise. Calls made by AWS services
//! on the user's behalf carry a service name, not an address, and the normalizer keeps those out
//! of `details.sourceipaddress`.
//!
//! The group is the access key (the long-term `AKIA…`, or an `ASIA…` key from `GetSessionToken`),
//! not the user: a person signed in to the
//! console at the office and running the CLI from home is two credentials (the console session's
//! temporary key, the CLI's long-term one) and one address each, which is ordinary; one key from
//! two places is what a leak looks like. Calls AWS services make for the user (`invokedBy`) and
//! console sessions are left out (see `common::not_by_hand`).

use std::sync::LazyLock;

use tripline_dsl::prelude::*;

use crate::common::{group_text, not_by_hand, sub_keys};
use crate::{create_alert, Alert, AlertDraft, Group, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "iam_user_multiple_ips";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "One IAM user's access key used from two or more source IPs within 15 minutes: leaked credentials").severity(Severity::Warning).tags(&["attack.initial-access", "attack.defense-evasion", "attack.t1078.004"]));

/// Settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Window length in minutes.
    pub window_minutes: i64,
    /// Distinct source addresses that raise an alert.
    pub min_ips: u64,
    /// Sampled events per alert.
    pub samples: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { window_minutes: 15, min_ips: 2, samples: 10 }
    }
}

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct IamUserMultipleIps {
    /// Its settings.
    pub config: Config,
}

impl IamUserMultipleIps {
    /// With these settings.
    pub fn new(config: Config) -> Self {
        IamUserMultipleIps { config }
    }
}

impl Alert for IamUserMultipleIps {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(self.config.window_minutes)
            .must(TermMatch("source", "cloudtrail"))
            .must(TermMatch("details.useridentity.type", "IAMUser"))
            .must(ExistsMatch("details.useridentity.username"))
            .must(ExistsMatch("details.sourceipaddress"))
            .must(ExistsMatch("details.useridentity.accesskeyid"))
            .must_not(not_by_hand(&[]))
    }

    fn plan(&self) -> Plan {
        Plan::Aggregation {
            field: "details.useridentity.accesskeyid".into(),
            threshold: 1,
            samples: self.config.samples,
            max_groups: 1000,
            per_bucket: vec![
                Aggregation::cardinality("details.sourceipaddress").named("ips"),
                Aggregation::terms("details.sourceipaddress").named("addresses").size(10).samples(0),
                Aggregation::terms("details.useridentity.username").named("users").size(3).samples(0),
            ],
        }
    }

    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        let ips = group.metric("ips")?;
        if ips < self.config.min_ips {
            return None;
        }
        let key = group_text(group);
        let user = sub_keys(group, "users").join(", ");
        let addresses = sub_keys(group, "addresses");
        let summary = format!(
            "IAM user {user}'s access key {key} used from {ips} source IPs within {} minutes: {}",
            self.config.window_minutes,
            addresses.join(", ")
        );
        Some(
            create_alert(
                summary,
                "access",
                &["cloudtrail", "credentials", "T1078.004"],
                group.samples.clone(),
                Severity::Warning,
            )
            .key(key.clone())
            .detail("username", user)
            .detail("sourceipaddresses", addresses)
            .detail("accesskeyid", key)
            .detail("distinct_ips", ips),
        )
    }
}
