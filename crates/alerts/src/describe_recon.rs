//! Excessive `Describe*` calls by one actor: reconnaissance.
//!
//! An attacker holding stolen credentials first maps what they can reach: `DescribeInstances`,
//! `DescribeSecurityGroups`, `DescribeVpcs`, ... in a burst. Applications call a few Describe APIs
//! steadily; a burst of many, by one identity, in a short window stands out (MITRE ATT&CK T1580,
//! Cloud Infrastructure Discovery). The engine counts Describe calls per identity ARN
//! (`details.useridentity.arn`); an identity at or above the threshold raises one alert, with the
//! number of distinct APIs it called. Failed calls count too: enumerating what is denied is
//! reconnaissance as much as what is allowed.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;

use crate::common::{group_text, sub_keys};
use crate::{create_alert, Alert, AlertDraft, Group, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "describe_recon";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "Excessive Describe calls by one identity (50 in 20 minutes): reconnaissance").severity(Severity::Warning));

/// Settings (the defaults are the workshop's: 50 calls in 20 minutes).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Window length in minutes.
    pub window_minutes: i64,
    /// Calls per identity in the window that raise an alert.
    pub threshold: u64,
    /// The verbs counted (`details.eventverb`).
    pub verbs: Vec<String>,
    /// Sampled events per alert.
    pub samples: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { window_minutes: 20, threshold: 50, verbs: vec!["Describe".into()], samples: 10 }
    }
}

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct DescribeRecon {
    /// Its settings.
    pub config: Config,
}

impl DescribeRecon {
    /// With these settings.
    pub fn new(config: Config) -> Self {
        DescribeRecon { config }
    }
}

impl Alert for DescribeRecon {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(self.config.window_minutes)
            .must(TermMatch("source", "cloudtrail"))
            .must(TermsMatch("details.eventverb", self.config.verbs.clone()))
            .must(ExistsMatch("details.useridentity.arn"))
    }

    fn plan(&self) -> Plan {
        Plan::Aggregation {
            field: "details.useridentity.arn".into(),
            threshold: self.config.threshold,
            samples: self.config.samples,
            max_groups: 100,
            per_bucket: vec![
                Aggregation::cardinality("details.eventname").named("apis"),
                Aggregation::terms("details.eventname").named("top_apis").size(5),
            ],
        }
    }

    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        let arn = group_text(group);
        let apis = group.metric("apis").unwrap_or(0);
        let top = sub_keys(group, "top_apis");
        let summary = format!(
            "Excessive Describe calls: {arn} made {} calls to {apis} distinct APIs in {} minutes ({})",
            group.count,
            self.config.window_minutes,
            top.join(", ")
        );
        Some(
            create_alert(
                summary,
                "recon",
                &["cloudtrail", "recon", "T1580"],
                group.samples.clone(),
                Severity::Warning,
            )
            .key(arn.clone())
            .detail("actor", arn)
            .detail("calls", group.count)
            .detail("distinct_apis", apis),
        )
    }
}
