//! CloudTrail logging turned off or narrowed.
//!
//! Intruders blind the defenders first (MITRE ATT&CK T1562.008, Impair Defenses: Disable or Modify
//! Cloud Logs): `StopLogging`, `DeleteTrail`, an `UpdateTrail` that stops covering other regions or
//! global services, or `PutEventSelectors` / `PutInsightSelectors` that drop management events.
//! Calls that failed (`details.errorcode` set, `AccessDenied` above all) changed nothing and are
//! left out: a denied attempt is for [`crate::describe_recon`]-style hunting, not for this page.

use serde_json::Value as Json;
use std::sync::LazyLock;

use tripline_dsl::prelude::*;
use tripline_event::EventRef;

use crate::common::{actor, first_text, get_ci, request_parameters};
use crate::{create_alert, field_text, Alert, AlertDraft, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "cloudtrail_logging_disabled";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "CloudTrail logging stopped, trail deleted or narrowed (successful calls only)").severity(Severity::Critical).tags(&["attack.defense-evasion", "attack.t1562.008"]));

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
pub struct CloudtrailLoggingDisabled {
    /// Its settings.
    pub config: Config,
}

/// What a (successful) CloudTrail API call did to logging, if it reduced it.
pub fn reduction(event: &EventRef) -> Option<&'static str> {
    if !field_text(event, "details.errorcode").is_empty() {
        return None;
    }
    let params = request_parameters(event).unwrap_or(Json::Null);
    let is_false = |key: &str| matches!(get_ci(&params, key), Some(Json::Bool(false)));
    match field_text(event, "details.eventname").as_str() {
        "StopLogging" => Some("logging stopped"),
        "DeleteTrail" => Some("trail deleted"),
        "UpdateTrail" if is_false("isMultiRegionTrail") => Some("trail limited to one region"),
        "UpdateTrail" if is_false("includeGlobalServiceEvents") => Some("global service events excluded"),
        "PutEventSelectors" => {
            let text = params.to_string();
            let drops_management = text.contains("\"includeManagementEvents\":false")
                || text.contains("\"IncludeManagementEvents\":false");
            let empty = match get_ci(&params, "eventSelectors") {
                Some(Json::Array(a)) => a.is_empty() && get_ci(&params, "advancedEventSelectors").is_none(),
                _ => false,
            };
            let reads_only = match get_ci(&params, "eventSelectors") {
                Some(Json::Array(a)) => !a.is_empty()
                    && a.iter().all(|sel| {
                        get_ci(sel, "readWriteType").and_then(Json::as_str).is_some_and(|v| v.eq_ignore_ascii_case("ReadOnly"))
                    }),
                _ => false,
            };
            if drops_management || empty {
                Some("management events excluded")
            } else if reads_only {
                Some("management writes excluded (read-only selectors)")
            } else if get_ci(&params, "advancedEventSelectors").is_some_and(|a| !advanced_keeps_management(a)) {
                Some("management events excluded or narrowed by advanced event selectors")
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Whether advanced event selectors keep every management event: some selector takes
/// `eventCategory` `Management` with no other field selector narrowing it (`readOnly`, an
/// `eventSource` or `eventName` left out).
fn advanced_keeps_management(selectors: &Json) -> bool {
    let Some(list) = selectors.as_array() else { return false };
    list.iter().any(|sel| {
        let fields = match get_ci(sel, "fieldSelectors") {
            Some(Json::Array(f)) => f.as_slice(),
            _ => return false,
        };
        let field = |f: &Json| get_ci(f, "field").and_then(Json::as_str).unwrap_or_default().to_ascii_lowercase();
        let management = fields.iter().any(|f| {
            field(f) == "eventcategory"
                && get_ci(f, "equals").is_some_and(|e| {
                    crate::policy::strings(e).iter().any(|v| v.eq_ignore_ascii_case("Management"))
                })
        });
        management && fields.iter().all(|f| field(f) == "eventcategory")
    })
}

impl Alert for CloudtrailLoggingDisabled {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        // Selected by name; what the parameters say is decided in `on_event` (see `reduction`):
        // a leading wildcard over the parameters' JSON text would walk the field's whole term
        // dictionary on every run.
        SearchQuery::minutes(self.config.window_minutes)
            .must((
                TermMatch("source", "cloudtrail"),
                TermMatch("details.eventsource", "cloudtrail.amazonaws.com"),
            ))
            .must(TermsMatch(
                "details.eventname",
                ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"],
            ))
            .must_not(ExistsMatch("details.errorcode"))
    }

    fn plan(&self) -> Plan {
        Plan::Simple { limit: 100 }
    }

    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        let what = reduction(event)?;
        // StopLogging, DeleteTrail and UpdateTrail name the trail `name`; PutEventSelectors and
        // PutInsightSelectors call it `trailName`.
        let params = request_parameters(event).unwrap_or(Json::Null);
        let trail = [first_text(event, &["details.requestparameters_name"])]
            .into_iter()
            .chain(["name", "trailName"].iter().filter_map(|k| get_ci(&params, k)?.as_str().map(str::to_string)))
            .find(|t| !t.is_empty())
            .unwrap_or_else(|| "unknown".to_string());
        let who = actor(event);
        let summary = format!(
            "CloudTrail {what}: {} on trail {trail} by {who}",
            field_text(event, "details.eventname")
        );
        Some(
            create_alert(
                summary,
                "defense-evasion",
                &["cloudtrail", "T1562.008"],
                vec![event.clone()],
                Severity::Critical,
            )
            .key(event.documentid.clone())
            .detail("trail", trail)
            .detail("actor", who),
        )
    }
}
