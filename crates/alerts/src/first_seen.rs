//! What the first-seen alerts share: whom they key on, how far back they look, what they say.
//!
//! A first-seen alert ([`Plan::NewTerms`]) raises when a principal does something it has not done
//! in the look-back. The principal is the role behind a session when there is one
//! (`sessionContext.sessionIssuer.arn`: a new ECS task or Lambda session of a known role is not
//! new), else the identity's ARN (an IAM user, root). So the people of one IAM Identity Center
//! permission set (`AWSReservedSSO_…` roles) are one principal: a new person in a set that has
//! used the thing is not new.

use chrono::TimeDelta;

use crate::common::{get_ci, request_parameters};
use crate::{Group, Plan};

/// The key fields, role first.
pub fn principal_fields() -> Vec<String> {
    vec!["details.useridentity.sessioncontext.sessionissuer.arn".into(), "details.useridentity.arn".into()]
}

/// The default look-back: 30 days.
pub const HISTORY_DAYS: i64 = 30;

/// The plan of a first-seen alert keyed by principal, looking back `days`.
pub fn plan(days: i64) -> Plan {
    Plan::NewTerms {
        fields: principal_fields(),
        history: TimeDelta::try_days(days).unwrap_or(TimeDelta::days(HISTORY_DAYS)),
        samples: 10,
        max_groups: 500,
    }
}

/// Distinct values of a `requestParameters` member among a group's samples, in order, at most 5.
pub fn sample_params(group: &Group, member: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in &group.samples {
        let Some(p) = request_parameters(e) else { continue };
        if let Some(v) = get_ci(&p, member).and_then(|v| v.as_str()) {
            if !out.iter().any(|x| x == v) && out.len() < 5 {
                out.push(v.to_string());
            }
        }
    }
    out
}
