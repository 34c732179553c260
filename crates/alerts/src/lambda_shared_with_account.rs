//! A Lambda function made invocable by another AWS account: a door for that account to run code
//! as the function's role.
//!
//! `AddPermission` with `principal` an account id or an ARN in another account lets that account
//! invoke the function (MITRE ATT&CK T1098, T1546). Permissions for anyone (`*`) are the Sigma
//! rule `lambda_public_invoke`'s; AWS services (`s3.amazonaws.com`, `events.amazonaws.com`) are
//! not accounts. It stays in Rust: it compares the principal's account with the record's
//! `recipientAccountId`.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;
use tripline_event::EventRef;

use crate::common::{actor, get_ci, request_parameters};
use crate::{create_alert, field_text, Alert, AlertDraft, Meta, Plan, Severity};

/// The registry name.
pub const NAME: &str = "lambda_shared_with_account";

static META: LazyLock<Meta> = LazyLock::new(|| {
    Meta::new(NAME, "Lambda function made invocable by another AWS account")
        .severity(Severity::Warning)
        .tags(&["attack.persistence", "attack.t1546", "attack.t1098"])
});

/// The account a Lambda permission's principal names, if it names one: `123456789012`,
/// `arn:aws:iam::123456789012:root` (or any ARN with an account).
pub fn principal_account(principal: &str) -> Option<&str> {
    let account = if principal.starts_with("arn:") { principal.split(':').nth(4)? } else { principal };
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct LambdaSharedWithAccount;

impl Alert for LambdaSharedWithAccount {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(20)
            .must((TermMatch("source", "cloudtrail"), TermMatch("details.eventsource", "lambda.amazonaws.com")))
            .must(WildcardMatch("details.eventname", "AddPermission*"))
            .must_not(ExistsMatch("details.errorcode"))
    }

    fn plan(&self) -> Plan {
        Plan::Simple { limit: 100 }
    }

    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        let params = request_parameters(event)?;
        let principal = get_ci(&params, "principal")?.as_str()?.to_string();
        let account = principal_account(&principal)?.to_string();
        if account == field_text(event, "details.recipientaccountid") {
            return None;
        }
        let function = get_ci(&params, "functionName").and_then(|v| v.as_str()).unwrap_or("unknown").to_string();
        let who = actor(event);
        let summary = format!("Lambda function {function} made invocable by account {account} ({principal}) by {who}");
        Some(
            create_alert(summary, "persistence", &["cloudtrail", "lambda", "T1546"], vec![event.clone()], Severity::Warning)
                .key(event.documentid.clone())
                .detail("actor", who)
                .detail("function", function)
                .detail("account", account)
                .detail("runbook", "Check the account against your organization's; if foreign, remove the permission (RemovePermission) and review the function's code and role"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_of_principals() {
        assert_eq!(principal_account("999988887777"), Some("999988887777"));
        assert_eq!(principal_account("arn:aws:iam::999988887777:root"), Some("999988887777"));
        assert_eq!(principal_account("s3.amazonaws.com"), None);
        assert_eq!(principal_account("*"), None);
        assert_eq!(principal_account("arn:aws:iam::12345:root"), None);
        assert_eq!(principal_account("é99998888777"), None, "not digits");
    }
}
