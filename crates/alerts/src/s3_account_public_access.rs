//! The account-wide S3 public access block removed or weakened.
//!
//! The account-level block overrides every bucket's own settings; removing it
//! (`DeleteAccountPublicAccessBlock`) or turning one of its four settings off
//! (`PutAccountPublicAccessBlock`) is the first step to making any bucket of the account public
//! (MITRE ATT&CK T1562, Impair Defenses). It concerns no bucket, so it is not part of
//! [`crate::s3_bucket_public`]'s per-bucket grouping: each call is an alert of its own.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;
use tripline_event::EventRef;

use crate::common::{actor, get_ci, request_parameters};
use crate::s3_bucket_public::block_weakened;
use crate::{create_alert, field_text, Alert, AlertDraft, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "s3_account_public_access";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "S3 account-level public access block removed or weakened").severity(Severity::Warning).tags(&["attack.exfiltration", "attack.t1537", "attack.collection", "attack.t1530"]));

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
pub struct S3AccountPublicAccess {
    /// Its settings.
    pub config: Config,
}

impl Alert for S3AccountPublicAccess {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(self.config.window_minutes)
            .must(TermMatch("source", "cloudtrail"))
            .must(TermsMatch(
                "details.eventname",
                ["DeleteAccountPublicAccessBlock", "PutAccountPublicAccessBlock"],
            ))
            .must_not(ExistsMatch("details.errorcode"))
    }

    fn plan(&self) -> Plan {
        Plan::Simple { limit: 100 }
    }

    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        let name = field_text(event, "details.eventname");
        if name == "PutAccountPublicAccessBlock" {
            let params = request_parameters(event)?;
            let config = get_ci(&params, "PublicAccessBlockConfiguration")?;
            if !block_weakened(config) {
                return None;
            }
        }
        let account = field_text(event, "details.recipientaccountid");
        let who = actor(event);
        let summary =
            format!("S3 account-level public access block weakened in account {account} by {who} ({name})");
        Some(
            create_alert(
                summary,
                "exposure",
                &["cloudtrail", "s3", "T1562"],
                vec![event.clone()],
                Severity::Warning,
            )
            .key(event.documentid.clone())
            .detail("actor", who)
            .detail("account", account),
        )
    }
}
