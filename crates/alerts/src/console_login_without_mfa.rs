//! Console sign-in without MFA.
//!
//! A password alone is what phishing and credential stuffing take (MITRE ATT&CK T1078.004). A
//! successful `ConsoleLogin` by an IAM user or the root user with `MFAUsed: No` raises. Federated
//! sign-ins (SAML, Identity Center: `AssumedRole`) are left out: their MFA happens at the identity
//! provider and CloudTrail always reports `No` for them.
//!
//! The normalizer copies the two members this needs into flat fields:
//! `details.responseelements_consolelogin` (`Success`/`Failure`) and
//! `details.additionaleventdata_mfaused` (`Yes`/`No`).

use std::sync::LazyLock;

use tripline_dsl::prelude::*;
use tripline_event::EventRef;

use crate::common::{actor, first_text};
use crate::{create_alert, field_text, Alert, AlertDraft, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "console_login_without_mfa";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "Successful console sign-in by an IAM or root user without MFA").severity(Severity::Warning));

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
pub struct ConsoleLoginWithoutMfa {
    /// Its settings.
    pub config: Config,
}

impl Alert for ConsoleLoginWithoutMfa {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(self.config.window_minutes).must((
            TermMatch("source", "cloudtrail"),
            TermMatch("details.eventname", "ConsoleLogin"),
            TermMatch("details.responseelements_consolelogin", "Success"),
            TermMatch("details.additionaleventdata_mfaused", "No"),
            TermsMatch("details.useridentity.type", ["IAMUser", "Root"]),
        ))
    }

    fn plan(&self) -> Plan {
        Plan::Simple { limit: 100 }
    }

    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        let who = actor(event);
        let ip = first_text(event, &["details.sourceipaddress", "details.sourcehostname"]);
        let summary = format!("Console sign-in without MFA: {who} from {ip}");
        Some(
            create_alert(
                summary,
                "access",
                &["cloudtrail", "mfa", "T1078.004"],
                vec![event.clone()],
                Severity::Warning,
            )
            .key(event.documentid.clone())
            .detail("actor", who)
            .detail("username", field_text(event, "details.useridentity.username"))
            .detail("sourceipaddress", field_text(event, "details.sourceipaddress")),
        )
    }
}
