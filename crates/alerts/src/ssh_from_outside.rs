//! SSH from outside: accepted TCP flows to port 22 from an address that is not internal.
//!
//! Workloads behind a bastion or Session Manager never take SSH from the internet; an accepted
//! flow to port 22 from a public address means a security group is open to the world and someone
//! is using it (MITRE ATT&CK T1021.004, Remote Services: SSH; T1133, External Remote Services).
//! Flows are grouped by source address in the engine; each outside source raises one alert.
//!
//! Scanners and failed log-ins move a few hundred bytes per connection; an SSH session that got
//! past authentication moves kilobytes in one flow. The alert is `CRITICAL` when the largest single
//! flow from the source reaches `session_bytes` (default 5000), `WARNING` otherwise. The largest
//! flow, not the sum: a brute-force run of many small connections adds up to many kilobytes
//! without any session. Both are computed from a per-source terms aggregation over
//! `details.bytes` (each distinct byte count and how often it occurs), which the engine counts; the
//! DSL has no `max`/`sum` aggregation yet.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;

use crate::common::{group_text, internal_networks, numeric_spread, sub_keys};
use crate::{create_alert, Alert, AlertDraft, Group, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "ssh_from_outside";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "Accepted SSH (TCP 22) from a non-internal address; critical when a session was established").severity(Severity::Critical).tags(&["attack.initial-access", "attack.lateral-movement", "attack.t1021.004", "attack.t1133"]));

/// Settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Window length in minutes.
    pub window_minutes: i64,
    /// The port watched.
    pub port: u16,
    /// A single flow of at least this many bytes means a session was established (`CRITICAL`).
    pub session_bytes: u64,
    /// Networks that count as inside (CIDRs): RFC 1918, loopback, link-local, IPv6 ULA by default.
    pub internal_networks: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config { window_minutes: 15, port: 22, session_bytes: 5000, internal_networks: internal_networks() }
    }
}

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct SshFromOutside {
    /// Its settings.
    pub config: Config,
}

impl SshFromOutside {
    /// With these settings.
    pub fn new(config: Config) -> Self {
        SshFromOutside { config }
    }
}

impl Alert for SshFromOutside {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        let inside: Vec<_> = self
            .config
            .internal_networks
            .iter()
            .map(|n| SubnetMatch("details.sourceipaddress", n.clone()))
            .collect();
        SearchQuery::minutes(self.config.window_minutes)
            .must((
                TermMatch("source", "vpc_flow"),
                TermMatch("details.destinationport", self.config.port),
                TermMatch("details.protocol", 6),
                TermMatch("details.action", "ACCEPT"),
                ExistsMatch("details.sourceipaddress"),
            ))
            .must_not(inside)
    }

    fn plan(&self) -> Plan {
        Plan::Aggregation {
            field: "details.sourceipaddress".into(),
            threshold: 1,
            samples: 10,
            max_groups: 500,
            per_bucket: vec![
                Aggregation::terms("details.bytes").named("bytes").size(1000).samples(0),
                Aggregation::terms("details.destinationipaddress").named("targets").size(10).samples(0),
            ],
        }
    }

    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        let source = group_text(group);
        let bytes = numeric_spread(group, "bytes");
        let targets = sub_keys(group, "targets");
        let session = bytes.max >= self.config.session_bytes as f64;
        let (severity, what) = if session {
            (Severity::Critical, "a session was established")
        } else {
            (Severity::Warning, "no session established")
        };
        let summary = format!(
            "SSH from outside: {source} connected to port {} of {} ({} flows, largest {} bytes: {what})",
            self.config.port,
            targets.join(", "),
            group.count,
            bytes.max as u64,
        );
        Some(
            create_alert(
                summary,
                "access",
                &["vpc-flow", "ssh", "T1021.004"],
                group.samples.clone(),
                severity,
            )
            .key(source.clone())
            .detail("sourceipaddress", source)
            .detail("destinations", targets)
            .detail("flows", group.count)
            .detail("largest_flow_bytes", bytes.max as u64)
            .detail("total_bytes", bytes.sum as u64)
            .detail("session", session),
        )
    }
}
