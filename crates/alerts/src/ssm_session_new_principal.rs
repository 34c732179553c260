//! A principal opens an SSM session or sends a command to instances for the first time in 30
//! days.
//!
//! Session Manager and Run Command are a shell on the instance without SSH (MITRE ATT&CK T1651,
//! Cloud Administration Command; T1021.008, Direct Cloud VM Connections). Admins and patching do
//! it every week; a principal that never did is worth a look. The key is the role behind a
//! session, else the identity (see [`crate::first_seen`]); AWS services' own calls (patching
//! run by `ssm.amazonaws.com`) are left out; the principal who sets up what makes them
//! (`StartAutomationExecution`, `CreateAssociation`, `RegisterTaskWithMaintenanceWindow`) is
//! judged instead. Bursts to many instances are
//! `ssm_commands_burst`'s.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;

use crate::common::{by_aws_services, group_text};
use crate::first_seen::{plan, sample_params, HISTORY_DAYS};
use crate::{create_alert, Alert, AlertDraft, Group, Meta, Plan, Severity};

/// The registry name.
pub const NAME: &str = "ssm_session_new_principal";

static META: LazyLock<Meta> = LazyLock::new(|| {
    Meta::new(NAME, "SSM session or command by a principal that has not used them in 30 days")
        .severity(Severity::Warning)
        .tags(&["attack.execution", "attack.t1651", "attack.lateral-movement", "attack.t1021.008"])
});

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct SsmSessionNewPrincipal;

impl Alert for SsmSessionNewPrincipal {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(20)
            .must((TermMatch("source", "cloudtrail"), TermMatch("details.eventsource", "ssm.amazonaws.com")))
            .must(TermsMatch(
                "details.eventname",
                ["StartSession", "SendCommand", "StartAutomationExecution", "CreateAssociation", "RegisterTaskWithMaintenanceWindow"],
            ))
            .must_not(ExistsMatch("details.errorcode"))
            .must_not(by_aws_services())
    }

    fn plan(&self) -> Plan {
        plan(HISTORY_DAYS)
    }

    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        let who = group_text(group);
        let targets = sample_params(group, "target");
        let documents = sample_params(group, "documentName");
        let summary = format!(
            "{who} used SSM on instances for the first time in {HISTORY_DAYS} days: {} call(s){}{}",
            group.count,
            if targets.is_empty() { String::new() } else { format!(", sessions to {}", targets.join(", ")) },
            if documents.is_empty() { String::new() } else { format!(", documents {}", documents.join(", ")) }
        );
        Some(
            create_alert(summary, "execution", &["cloudtrail", "ssm", "T1651"], group.samples.clone(), Severity::Warning)
                .key(who.clone())
                .detail("principal", who)
                .detail("targets", targets)
                .detail("runbook", "Ask the principal's owner what ran; session logs (S3 or CloudWatch) show the commands"),
        )
    }
}
