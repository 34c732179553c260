//! IAM `CreateUser`: the workshop's first, simple alert.
//!
//! Where people sign in through SSO, a new IAM user is rare and a classic persistence step for an
//! intruder holding admin credentials (MITRE ATT&CK T1136.003, Create Account: Cloud Account).
//! Every successful call raises one alert naming the new user and who created it.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;
use tripline_event::EventRef;

use crate::common::{actor, first_text};
use crate::{create_alert, field_text, Alert, AlertDraft, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "iam_create_user";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "IAM user created").severity(Severity::Notice));

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
pub struct IamCreateUser {
    /// Its settings.
    pub config: Config,
}

impl Alert for IamCreateUser {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(self.config.window_minutes)
            .must((
                TermMatch("source", "cloudtrail"),
                TermMatch("details.eventsource", "iam.amazonaws.com"),
                TermMatch("details.eventname", "CreateUser"),
            ))
            .must_not(ExistsMatch("details.errorcode"))
    }

    fn plan(&self) -> Plan {
        Plan::Simple { limit: 100 }
    }

    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        let user = first_text(event, &["details.requestparameters_username"]);
        let user = if user.is_empty() { "unknown".to_string() } else { user };
        let who = actor(event);
        let ip = first_text(event, &["details.sourceipaddress", "details.sourcehostname"]);
        let summary = format!("IAM user {user} created by {who} from {ip}");
        Some(
            create_alert(
                summary,
                "persistence",
                &["cloudtrail", "iam", "T1136.003"],
                vec![event.clone()],
                Severity::Notice,
            )
            .key(event.documentid.clone())
            .detail("username", user)
            .detail("actor", who)
            .detail("sourceipaddress", field_text(event, "details.sourceipaddress")),
        )
    }
}
