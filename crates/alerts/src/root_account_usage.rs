//! The root user at work.
//!
//! The root user of an AWS account can do anything and cannot be restricted by IAM policies; good
//! practice is to lock its credentials away and never use them (MITRE ATT&CK T1078.004, Valid
//! Accounts: Cloud Accounts). Any call or sign-in by `details.useridentity.type = Root` raises,
//! except what AWS services do on the account's behalf (`invokedBy` set, or `AwsServiceEvent`
//! records).

use std::sync::LazyLock;

use tripline_dsl::prelude::*;
use tripline_event::EventRef;

use crate::common::first_text;
use crate::{create_alert, field_text, Alert, AlertDraft, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "root_account_usage";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "The root user signed in or called an API").severity(Severity::Warning));

/// Settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Window length in minutes.
    pub window_minutes: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config { window_minutes: 20 }
    }
}

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct RootAccountUsage {
    /// Its settings.
    pub config: Config,
}

impl Alert for RootAccountUsage {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(self.config.window_minutes)
            .must((TermMatch("source", "cloudtrail"), TermMatch("details.useridentity.type", "Root")))
            .must_not((
                ExistsMatch("details.useridentity.invokedby"),
                TermMatch("category", "AwsServiceEvent"),
            ))
    }

    fn plan(&self) -> Plan {
        Plan::Simple { limit: 100 }
    }

    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        let account = first_text(event, &["details.useridentity.accountid", "details.recipientaccountid"]);
        let call = field_text(event, "details.eventname");
        let ip = first_text(event, &["details.sourceipaddress", "details.sourcehostname"]);
        let outcome = if field_text(event, "details.success") == "false" { " (failed)" } else { "" };
        let summary = format!("Root user of account {account} used: {call} from {ip}{outcome}");
        Some(
            create_alert(
                summary,
                "access",
                &["cloudtrail", "root", "T1078.004"],
                vec![event.clone()],
                Severity::Warning,
            )
            .key(event.documentid.clone())
            .detail("account", account)
            .detail("eventname", call)
            .detail("sourceipaddress", field_text(event, "details.sourceipaddress")),
        )
    }
}
