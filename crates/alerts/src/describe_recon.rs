//! Excessive `Describe*` calls by one actor: reconnaissance.
//!
//! An attacker holding stolen credentials first maps what they can reach: `DescribeInstances`,
//! `DescribeSecurityGroups`, `DescribeVpcs`, ... in a burst. Applications call a few Describe APIs
//! steadily; a burst of many, by one identity, in a short window stands out (MITRE ATT&CK T1580,
//! Cloud Infrastructure Discovery). The engine counts Describe calls per identity ARN
//! (`details.useridentity.arn`); an identity at or above the threshold raises one alert, with the
//! number of distinct APIs it called. Failed calls count too: enumerating what is denied is
//! reconnaissance as much as what is allowed.
//!
//! What is counted is what a leaked key does: calls by an IAM user or root, by hand (signed with
//! the long-term key `AKIA…`, or with the temporary `ASIA…` key `GetSessionToken` turns it into). Left out, because ordinary accounts make such bursts all day: calls AWS
//! services make for a principal (`invokedBy`), the console's background calls (a person opening
//! the EC2 or IAM pages), service-linked roles, and infrastructure-as-code runs (Terraform,
//! CloudFormation, Pulumi, CDK user agents: `Config::skip_user_agents`, which an intruder who sets
//! that user agent also gets past; clear it if your IaC never runs with long-term keys). Roles'
//! temporary credentials (CI, SSO, monitoring vendors) are left to the alerts on how they are
//! obtained and used.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;

use crate::common::{group_text, iac_user_agents, not_by_hand, sub_keys};
use crate::{create_alert, Alert, AlertDraft, Group, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "describe_recon";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "Excessive Describe calls by an IAM user or root, by hand (50 in 20 minutes): reconnaissance").severity(Severity::Warning).tags(&["attack.discovery", "attack.t1580"]));

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
    /// User agents (wildcards, any case) whose calls are not counted: infrastructure as code.
    pub skip_user_agents: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window_minutes: 20,
            threshold: 50,
            verbs: vec!["Describe".into()],
            samples: 10,
            skip_user_agents: iac_user_agents(),
        }
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
            .must(TermsMatch("details.useridentity.type", ["IAMUser", "Root"]))
            .must_not(not_by_hand(&self.config.skip_user_agents))
    }

    fn plan(&self) -> Plan {
        Plan::Aggregation {
            field: "details.useridentity.arn".into(),
            threshold: self.config.threshold,
            samples: self.config.samples,
            max_groups: 100,
            per_bucket: vec![
                Aggregation::cardinality("details.eventname").named("apis"),
                Aggregation::terms("details.eventname").named("top_apis").size(5).samples(0),
                Aggregation::terms("details.useridentity.accesskeyid").named("keys").size(3).samples(0),
            ],
        }
    }

    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        let arn = group_text(group);
        let apis = group.metric("apis").unwrap_or(0);
        let top = sub_keys(group, "top_apis");
        let keys = sub_keys(group, "keys");
        let summary = format!(
            "Excessive Describe calls: {arn} made {} calls to {apis} distinct APIs in {} minutes with access key {} ({})",
            group.count,
            self.config.window_minutes,
            keys.join(", "),
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
            .detail("distinct_apis", apis)
            .detail("accesskeyids", keys),
        )
    }
}
