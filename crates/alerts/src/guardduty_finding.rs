//! Every GuardDuty finding, as an alert with the severity mapped and the resource named.
//!
//! GuardDuty does the detecting; Tripline routes. Severity is mapped from GuardDuty's number: 7
//! and above (High, Critical) `CRITICAL`, 4 to below 7 (Medium) `WARNING`, below 4 `INFO`.
//! Findings at or above `contain_min_severity` name their resource (`details.resource`:
//! `{type, id}`) for the responder.
//!
//! **This alert never starts containment** (its registry entry is
//! [`Remediation::None`](crate::Remediation::None)). It reads findings from the store, and a
//! record in the logs bucket proves nothing about where it came from: anyone who can write a
//! GuardDuty-shaped JSON object there would otherwise choose what gets isolated. Real findings
//! reach the remediation workflow only through the stack's EventBridge rule (`source:
//! aws.guardduty`, `detail-type: GuardDuty Finding`, from the account's own detector), which
//! starts it directly.
//!
//! Port-probe findings are left to [`crate::guardduty_port_probe`], which groups them by prober.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;
use tripline_event::EventRef;

use crate::{create_alert, field_text, resource, Alert, AlertDraft, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "guardduty_finding";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "Every GuardDuty finding, severity mapped and resource named (containment comes from the GuardDuty EventBridge rule, never from logs)").severity(Severity::Critical).tags(&["attack.impact", "attack.t1496"]));

/// The finding types [`crate::guardduty_port_probe`] handles.
pub const PORT_PROBE_TYPES: [&str; 2] =
    ["Recon:EC2/PortProbeUnprotectedPort", "Recon:EC2/PortProbeEMRUnprotectedPort"];

/// Settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Window length in minutes.
    pub window_minutes: i64,
    /// Findings at or above this severity name their resource for containment.
    pub contain_min_severity: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { window_minutes: 20, contain_min_severity: 7.0 }
    }
}

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct GuarddutyFinding {
    /// Its settings.
    pub config: Config,
}

/// MozDef severity for a GuardDuty severity number.
pub fn map_severity(n: f64) -> Severity {
    if n >= 7.0 {
        Severity::Critical
    } else if n >= 4.0 {
        Severity::Warning
    } else {
        Severity::Info
    }
}

impl Alert for GuarddutyFinding {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(self.config.window_minutes)
            .must((TermMatch("source", "guardduty"), ExistsMatch("details.finding")))
            .must_not(TermsMatch("details.finding", PORT_PROBE_TYPES))
    }

    fn plan(&self) -> Plan {
        Plan::Simple { limit: 500 }
    }

    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        let finding = field_text(event, "details.finding");
        let number = tripline_event::lookup(&event.documentsource, "details.severity")
            .and_then(|v| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
            .unwrap_or(0.0);
        let title = field_text(event, "details.title");
        let title = if title.is_empty() { field_text(event, "summary") } else { title };
        let summary = format!("GuardDuty {finding} (severity {number}): {title}");
        let mut draft = create_alert(
            summary,
            "guardduty",
            &["guardduty", finding.split(':').next().unwrap_or("finding")],
            vec![event.clone()],
            map_severity(number),
        )
        .key(event.documentid.clone())
        .detail("finding", finding)
        .detail("findingid", field_text(event, "details.findingid"))
        .detail("guardduty_severity", number);
        if number >= self.config.contain_min_severity {
            let named = match field_text(event, "details.resourcetype").as_str() {
                "Instance" => Some(resource::instance(&field_text(event, "details.instanceid"))),
                "AccessKey" => Some(resource::access_key(
                    &field_text(event, "details.accesskeyid"),
                    &field_text(event, "details.username"),
                )),
                "S3Bucket" => Some(resource::s3_bucket(&field_text(event, "details.bucketname"))),
                _ => None,
            };
            if let Some(r) = named {
                draft = draft.resource(r);
            }
        }
        Some(draft)
    }
}
