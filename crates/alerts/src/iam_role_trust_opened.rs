//! A role's trust policy opened to another account or to anyone: a back door.
//!
//! Whoever a role trusts can become it. An intruder who rewrites a role's trust policy
//! (`UpdateAssumeRolePolicy`) or creates a role (`CreateRole`) trusting their own account keeps
//! access after every key is rotated (MITRE ATT&CK T1098.003, Additional Cloud Roles, and
//! T1484.002). The trust policy is read from the call: any `Allow` for `Principal: *` or an AWS
//! principal outside the account that received the call (`recipientAccountId`) raises. `*`
//! without a condition is critical; an external account behind a condition (an `sts:ExternalId`
//! for a vendor) still raises, as a notice for a new role and a warning for a changed one. Calls
//! CloudFormation makes for a stack count too: a stack can open a trust as well as a person. It
//! stays in Rust: it parses the policy document and compares its accounts with the record's.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;
use tripline_event::EventRef;

use crate::common::{actor, get_ci, request_parameters};
use crate::policy::{document, outsiders};
use crate::{create_alert, field_text, Alert, AlertDraft, Meta, Plan, Severity};

/// The registry name.
pub const NAME: &str = "iam_role_trust_opened";

static META: LazyLock<Meta> = LazyLock::new(|| {
    Meta::new(NAME, "Role trust policy lets in another account or anyone").severity(Severity::Warning).tags(&["attack.persistence", "attack.privilege-escalation", "attack.t1098.003", "attack.t1484.002"])
});

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct IamRoleTrustOpened;

impl Alert for IamRoleTrustOpened {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(20)
            .must((TermMatch("source", "cloudtrail"), TermMatch("details.eventsource", "iam.amazonaws.com")))
            .must(TermsMatch("details.eventname", ["UpdateAssumeRolePolicy", "CreateRole"]))
            .must_not(ExistsMatch("details.errorcode"))
    }

    fn plan(&self) -> Plan {
        Plan::Simple { limit: 100 }
    }

    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        let params = request_parameters(event)?;
        let what = field_text(event, "details.eventname");
        let member = if what == "CreateRole" { "assumeRolePolicyDocument" } else { "policyDocument" };
        let doc = document(get_ci(&params, member)?)?;
        let own = field_text(event, "details.recipientaccountid");
        let found = outsiders(&doc, &own);
        if found.is_empty() {
            return None;
        }
        let anyone = found.iter().any(|o| o.principal == "*" && !o.conditional);
        let guarded = found.iter().all(|o| o.conditional);
        let severity = if anyone {
            Severity::Critical
        } else if what == "CreateRole" && guarded {
            Severity::Notice
        } else {
            Severity::Warning
        };
        let role = get_ci(&params, "roleName").and_then(|v| v.as_str()).unwrap_or("unknown").to_string();
        let principals: Vec<String> = found.iter().map(|o| o.principal.clone()).collect();
        let who = actor(event);
        let summary = format!(
            "Role {role} trusts {} ({what} by {who}){}",
            principals.join(", "),
            if guarded { ", behind a condition" } else { "" }
        );
        Some(
            create_alert(summary, "persistence", &["cloudtrail", "iam", "T1098.003"], vec![event.clone()], severity)
                .key(event.documentid.clone())
                .detail("actor", who)
                .detail("role", role)
                .detail("trusted", principals)
                .detail("runbook", "Compare with the role's previous trust policy; if the account is unknown, restore it and revoke the role's sessions"),
        )
    }
}
