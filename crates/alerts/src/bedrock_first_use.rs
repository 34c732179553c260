//! A principal invokes Bedrock models for the first time in 30 days.
//!
//! Stolen credentials are sold for free model use ("LLMjacking", MITRE ATT&CK T1496, Resource
//! Hijacking): the bill is the account's. An application that uses Bedrock does so every day; a
//! principal that never did and suddenly invokes models is worth asking about. The key is the
//! role behind a session, else the identity (see [`crate::first_seen`]). Long-term keys invoking
//! models raise on their own too (`bedrock_used_with_long_term_key`).

use std::sync::LazyLock;

use tripline_dsl::prelude::*;

use crate::common::group_text;
use crate::first_seen::{plan, sample_params, HISTORY_DAYS};
use crate::{create_alert, Alert, AlertDraft, Group, Meta, Plan, Severity};

/// The registry name.
pub const NAME: &str = "bedrock_first_use";

static META: LazyLock<Meta> = LazyLock::new(|| {
    Meta::new(NAME, "A principal invokes Bedrock models for the first time in 30 days")
        .severity(Severity::Warning)
        .tags(&["attack.impact", "attack.t1496", "attack.execution"])
});

/// The calls that run a model.
pub const EVENTS: [&str; 6] = [
    "InvokeModel",
    "InvokeModelWithResponseStream",
    "Converse",
    "ConverseStream",
    "StartAsyncInvoke",
    "CreateModelInvocationJob",
];

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct BedrockFirstUse;

impl Alert for BedrockFirstUse {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(20)
            .must((TermMatch("source", "cloudtrail"), TermMatch("details.eventsource", "bedrock.amazonaws.com")))
            .must(TermsMatch("details.eventname", EVENTS))
            .must_not(ExistsMatch("details.errorcode"))
    }

    fn plan(&self) -> Plan {
        plan(HISTORY_DAYS)
    }

    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        let who = group_text(group);
        let models = sample_params(group, "modelId");
        let summary = format!(
            "{who} invoked Bedrock for the first time in {HISTORY_DAYS} days: {} call(s) ({})",
            group.count,
            models.join(", ")
        );
        Some(
            create_alert(summary, "execution", &["cloudtrail", "bedrock", "T1496"], group.samples.clone(), Severity::Warning)
                .key(who.clone())
                .detail("principal", who)
                .detail("models", models)
                .detail("runbook", "Ask the principal's owner; if unknown, revoke its sessions or keys and check the Bedrock bill and model access"),
        )
    }
}
