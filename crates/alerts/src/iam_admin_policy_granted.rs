//! A user, role or group given every action on every resource in a policy of its own (inline,
//! or a new version of a customer-managed policy): administrator rights under another name.
//!
//! Attaching `AdministratorAccess` is the obvious way to escalate (the Sigma rules
//! `iam_user_admin_policy_attached` and `iam_admin_policy_attached` see it); writing
//! `{"Effect": "Allow", "Action": "*", "Resource": "*"}` into an inline policy
//! (`PutUserPolicy`, `PutRolePolicy`, `PutGroupPolicy`), a new managed policy (`CreatePolicy`,
//! to attach next) or a new version of one (`CreatePolicyVersion`) does the same and names
//! nothing (MITRE ATT&CK T1098.003, T1484). The document is read from the call: `NotAction` (all
//! but a few) and `NotResource` count as everything. Behind a `Condition` (which may always
//! hold) it still raises, as a warning.
//! It stays in Rust: it parses the policy document.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;
use tripline_event::EventRef;

use crate::common::{actor, first_text, get_ci, request_parameters};
use crate::policy::{document, grants_everything};
use crate::{create_alert, field_text, Alert, AlertDraft, Meta, Plan, Severity};

/// The registry name.
pub const NAME: &str = "iam_admin_policy_granted";

static META: LazyLock<Meta> = LazyLock::new(|| {
    Meta::new(NAME, "Inline policy or new policy version grants every action on every resource").severity(Severity::Critical).tags(&["attack.privilege-escalation", "attack.persistence", "attack.t1098.003"])
});

/// The calls that write a policy document.
pub const EVENTS: [&str; 5] = ["PutUserPolicy", "PutRolePolicy", "PutGroupPolicy", "CreatePolicy", "CreatePolicyVersion"];

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct IamAdminPolicyGranted;

impl Alert for IamAdminPolicyGranted {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(20)
            .must((TermMatch("source", "cloudtrail"), TermMatch("details.eventsource", "iam.amazonaws.com")))
            .must(TermsMatch("details.eventname", EVENTS))
            .must_not(ExistsMatch("details.errorcode"))
    }

    fn plan(&self) -> Plan {
        Plan::Simple { limit: 100 }
    }

    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        let params = request_parameters(event)?;
        let doc = document(get_ci(&params, "policyDocument")?)?;
        let unconditional = grants_everything(&doc)?;
        let severity = if unconditional { Severity::Critical } else { Severity::Warning };
        let what = field_text(event, "details.eventname");
        let target = first_text(
            event,
            &[
                "details.requestparameters_username",
                "details.requestparameters_rolename",
                "details.requestparameters_groupname",
                "details.requestparameters_policyarn",
                "details.requestparameters_policyname",
            ],
        );
        let who = actor(event);
        let summary = format!(
            "Administrator rights (every action on every resource{}) given to {target}: {what} by {who}",
            if unconditional { "" } else { ", behind a condition" }
        );
        Some(
            create_alert(summary, "privilege-escalation", &["cloudtrail", "iam", "T1098.003"], vec![event.clone()], severity)
                .key(event.documentid.clone())
                .detail("actor", who)
                .detail("target", target)
                .detail("runbook", "Remove the statement (or restore the previous default version), then find out how the caller could write it"),
        )
    }
}
