//! An access key or a console password created or changed for someone else: persistence.
//!
//! With `iam:CreateAccessKey` or `iam:CreateLoginProfile`/`UpdateLoginProfile` on other users, an
//! intruder gives themselves a second way in as a user who is not watched (MITRE ATT&CK
//! T1098.001, Additional Cloud Credentials). People create their own keys and change their own
//! passwords all the time; doing it for another user is rarer, and worth a look. The call names
//! its user in `requestParameters.userName` (absent: the caller's own); it is "another user" when
//! that name is not the calling IAM user's, and always when a role, root or a federated session
//! calls. Calls AWS services make (`invokedBy`: CloudFormation creating a stack's user) are left
//! out. It stays in Rust: comparing two fields of one event is Sigma's `fieldref`, which no
//! store's queries express.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;
use tripline_event::EventRef;

use crate::common::{actor, by_aws_services};
use crate::{create_alert, field_text, Alert, AlertDraft, Meta, Plan, Severity};

/// The registry name.
pub const NAME: &str = "iam_credentials_for_other_user";

static META: LazyLock<Meta> = LazyLock::new(|| {
    Meta::new(NAME, "Access key or console password created or changed for another IAM user").severity(Severity::Warning).tags(&["attack.persistence", "attack.t1098.001"])
});

/// The calls that give a user credentials.
pub const EVENTS: [&str; 3] = ["CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile"];

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct IamCredentialsForOtherUser;

impl Alert for IamCredentialsForOtherUser {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(20)
            .must((TermMatch("source", "cloudtrail"), TermMatch("details.eventsource", "iam.amazonaws.com")))
            .must(TermsMatch("details.eventname", EVENTS))
            .must(ExistsMatch("details.requestparameters_username"))
            .must_not(ExistsMatch("details.errorcode"))
            .must_not(by_aws_services())
    }

    fn plan(&self) -> Plan {
        Plan::Simple { limit: 100 }
    }

    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        let target = field_text(event, "details.requestparameters_username");
        let caller_type = field_text(event, "details.useridentity.type");
        let caller = field_text(event, "details.useridentity.username");
        if target.is_empty() || (caller_type == "IAMUser" && caller == target) {
            return None;
        }
        let what = field_text(event, "details.eventname");
        let who = actor(event);
        let summary = format!("{what} for IAM user {target} by another principal, {who}");
        Some(
            create_alert(summary, "persistence", &["cloudtrail", "iam", "T1098.001"], vec![event.clone()], Severity::Warning)
                .key(event.documentid.clone())
                .detail("actor", who)
                .detail("target_user", target)
                .detail("runbook", "Ask the caller why; if unknown, delete the new key or login profile (tripline respond deny-all --user TARGET), then contain the caller"),
        )
    }
}
