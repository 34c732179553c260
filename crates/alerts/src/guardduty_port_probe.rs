//! GuardDuty port probes, grouped by the prober.
//!
//! `Recon:EC2/PortProbeUnprotectedPort` says an instance has a port open to the internet and
//! someone knocked (MITRE ATT&CK T1595, Active Scanning). One scanner sweeping a fleet produces a
//! finding per instance; grouped by the remote address (`details.remoteipaddress`) in the engine,
//! it becomes one alert naming the instances it reached.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;

use crate::common::{group_text, sub_keys};
use crate::guardduty_finding::PORT_PROBE_TYPES;
use crate::{create_alert, Alert, AlertDraft, Group, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "guardduty_port_probe";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "GuardDuty port-probe findings grouped by the probing address").schedule("rate(15 minutes)").severity(Severity::Notice).tags(&["attack.reconnaissance", "attack.discovery", "attack.t1595", "attack.t1046"]));

/// Settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Window length in minutes.
    pub window_minutes: i64,
    /// Findings from one address that raise an alert.
    pub threshold: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config { window_minutes: 60, threshold: 1 }
    }
}

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct GuarddutyPortProbe {
    /// Its settings.
    pub config: Config,
}

impl Alert for GuarddutyPortProbe {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(self.config.window_minutes)
            .must((TermMatch("source", "guardduty"), TermsMatch("details.finding", PORT_PROBE_TYPES)))
            .must(ExistsMatch("details.remoteipaddress"))
    }

    fn plan(&self) -> Plan {
        Plan::Aggregation {
            field: "details.remoteipaddress".into(),
            threshold: self.config.threshold,
            samples: 10,
            max_groups: 500,
            per_bucket: vec![
                Aggregation::terms("details.instanceid").named("instances").size(20).samples(0),
                Aggregation::cardinality("details.instanceid").named("instance_count"),
            ],
        }
    }

    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        let ip = group_text(group);
        let instances = sub_keys(group, "instances");
        let count = group.metric("instance_count").unwrap_or(instances.len() as u64);
        let summary = format!(
            "GuardDuty port probe from {ip}: {} finding(s) on {count} instance(s) ({})",
            group.count,
            instances.join(", ")
        );
        Some(
            create_alert(
                summary,
                "recon",
                &["guardduty", "recon", "T1595"],
                group.samples.clone(),
                Severity::Notice,
            )
            .key(ip.clone())
            .detail("sourceipaddress", ip)
            .detail("instances", instances),
        )
    }
}
