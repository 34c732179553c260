//! A Lambda function's code replaced by a principal that has not replaced any in 30 days.
//!
//! Code is deployed by a pipeline, the same role every time. New code from anyone else is a back
//! door waiting to run with the function's role (MITRE ATT&CK T1525, T1648). The key is the role
//! behind a session, else the identity (see [`crate::first_seen`]); calls AWS services make for a
//! principal (CloudFormation applying a stack) are left out.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;

use crate::common::{by_aws_services, group_text};
use crate::first_seen::{plan, sample_params, HISTORY_DAYS};
use crate::{create_alert, Alert, AlertDraft, Group, Meta, Plan, Severity};

/// The registry name.
pub const NAME: &str = "lambda_code_new_principal";

static META: LazyLock<Meta> = LazyLock::new(|| {
    Meta::new(NAME, "Lambda code replaced by a principal that has not deployed any in 30 days")
        .severity(Severity::Warning)
        .tags(&["attack.persistence", "attack.t1525", "attack.execution", "attack.t1648"])
});

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct LambdaCodeNewPrincipal;

impl Alert for LambdaCodeNewPrincipal {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(20)
            .must((TermMatch("source", "cloudtrail"), TermMatch("details.eventsource", "lambda.amazonaws.com")))
            .must(WildcardMatch("details.eventname", "UpdateFunctionCode*"))
            .must_not(ExistsMatch("details.errorcode"))
            .must_not(by_aws_services())
    }

    fn plan(&self) -> Plan {
        plan(HISTORY_DAYS)
    }

    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        let who = group_text(group);
        let functions = sample_params(group, "functionName");
        let summary = format!(
            "Lambda code replaced by {who}, who has not deployed code in {HISTORY_DAYS} days: {}",
            functions.join(", ")
        );
        Some(
            create_alert(summary, "persistence", &["cloudtrail", "lambda", "T1525"], group.samples.clone(), Severity::Warning)
                .key(who.clone())
                .detail("principal", who)
                .detail("functions", functions)
                .detail("runbook", "Compare the new code with the pipeline's last build; if foreign, roll back the version and rotate the principal's credentials"),
        )
    }
}
