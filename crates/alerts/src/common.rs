//! Small helpers the catalog's alerts share: reading events, sub-aggregation buckets, address
//! ranges.

use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use tripline_event::EventRef;

use crate::{field_text, Group};

/// Networks that are not "outside": RFC 1918, loopback, link-local (IPv4), and loopback,
/// link-local and unique-local (IPv6).
pub const INTERNAL_NETWORKS: [&str; 8] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "::1/128",
    "fe80::/10",
    "fc00::/7",
];

/// The networks above as owned strings (the default of configurable lists).
pub fn internal_networks() -> Vec<String> {
    INTERNAL_NETWORKS.iter().map(|s| (*s).to_string()).collect()
}

/// User agents of infrastructure-as-code tools (matched case-insensitively): a plan or apply reads
/// dozens of APIs in seconds, which is what reconnaissance looks like. A user agent is whatever
/// the client says, so an intruder can borrow one: the alerts that skip these say so, and the
/// list is their `Config`'s to shorten.
pub const IAC_USER_AGENTS: [&str; 6] =
    ["*terraform*", "*opentofu*", "*cloudformation*", "*pulumi*", "*aws-cdk*", "*crossplane*"];

/// Calls made by AWS itself: by a service on the principal's behalf (`invokedBy`, such as
/// CloudFormation applying a stack), by a service (`AWSService`) or a service-linked role. As
/// `must_not` clauses.
pub fn by_aws_services() -> Vec<tripline_dsl::QueryAst> {
    use tripline_dsl::{QueryAst, Value};
    vec![
        QueryAst::Exists { field: "details.useridentity.invokedby".into() },
        QueryAst::Term {
            field: "details.useridentity.type".into(),
            value: Value::Str("AWSService".into()),
            case_insensitive: false,
        },
        QueryAst::Wildcard {
            field: "details.useridentity.sessioncontext.sessionissuer.arn".into(),
            pattern: "*:role/aws-service-role/*".into(),
            case_insensitive: false,
        },
    ]
}

/// Calls no leaked key makes by itself: [`by_aws_services`], calls from a console session
/// (`sessionCredentialFromConsole`: the console's own background calls), and (for each pattern
/// given) calls by a tool whose user agent matches. As `must_not` clauses.
pub fn not_by_hand(user_agents: &[String]) -> Vec<tripline_dsl::QueryAst> {
    use tripline_dsl::{QueryAst, Value};
    let mut out = by_aws_services();
    out.push(QueryAst::Term {
        field: "details.sessioncredentialfromconsole".into(),
        value: Value::Bool(true),
        case_insensitive: false,
    });
    out.extend(user_agents.iter().map(|p| QueryAst::Wildcard {
        field: "details.useragent".into(),
        pattern: p.clone(),
        case_insensitive: true,
    }));
    out
}

/// The default `user_agents` of [`not_by_hand`], owned.
pub fn iac_user_agents() -> Vec<String> {
    IAC_USER_AGENTS.iter().map(|s| (*s).to_string()).collect()
}

/// The first non-empty of several fields, as text.
pub fn first_text(event: &EventRef, paths: &[&str]) -> String {
    paths.iter().map(|p| field_text(event, p)).find(|s| !s.is_empty()).unwrap_or_default()
}

/// Who did it: the identity's ARN, else its user name, else its principal id, else `unknown`.
pub fn actor(event: &EventRef) -> String {
    let a = first_text(
        event,
        &["details.useridentity.arn", "details.useridentity.username", "details.useridentity.principalid"],
    );
    if a.is_empty() {
        "unknown".into()
    } else {
        a
    }
}

/// The event's `utctimestamp`, when it parses.
pub fn event_time(event: &EventRef) -> Option<DateTime<Utc>> {
    let t = field_text(event, "utctimestamp");
    DateTime::parse_from_rfc3339(t.trim()).ok().map(|t| t.with_timezone(&Utc))
}

/// A group's value as text (strings as they are, other JSON as written).
pub fn group_text(group: &Group) -> String {
    match &group.value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The buckets of a terms sub-aggregation, as (key, count); empty when the metric is absent or
/// not a bucket list.
pub fn sub_buckets(group: &Group, metric: &str) -> Vec<(Json, u64)> {
    let Some(buckets) = group.metrics.get(metric).and_then(|m| m.buckets()) else { return Vec::new() };
    buckets.iter().map(|b| (b.key.clone(), b.count)).collect()
}

/// The keys of a terms sub-aggregation, as text.
pub fn sub_keys(group: &Group, metric: &str) -> Vec<String> {
    sub_buckets(group, metric)
        .into_iter()
        .map(|(k, _)| match k {
            Json::String(s) => s,
            other => other.to_string(),
        })
        .collect()
}

/// Sum and maximum of a numeric field inside a group, from a terms sub-aggregation over that
/// field (each distinct value and its count): `Σ value × count` is exact as long as the
/// sub-aggregation returned every distinct value (`covered == group.count`); otherwise both are
/// lower bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NumericSpread {
    /// Σ value × count over the returned buckets.
    pub sum: f64,
    /// The largest value seen.
    pub max: f64,
    /// How many events the returned buckets cover.
    pub covered: u64,
}

/// See [`NumericSpread`].
pub fn numeric_spread(group: &Group, metric: &str) -> NumericSpread {
    let mut out = NumericSpread::default();
    for (key, count) in sub_buckets(group, metric) {
        let v = match &key {
            Json::Number(n) => n.as_f64(),
            Json::String(s) => s.parse::<f64>().ok(),
            _ => None,
        };
        if let Some(v) = v {
            out.sum += v * count as f64;
            out.max = out.max.max(v);
            out.covered += count;
        }
    }
    out
}

/// `details.requestparameters` (kept by the normalizer as one JSON string) parsed back, or the
/// object itself when a producer stored it as an object.
pub fn request_parameters(event: &EventRef) -> Option<Json> {
    match tripline_event::lookup(&event.documentsource, "details.requestparameters")? {
        Json::String(s) => serde_json::from_str(s).ok(),
        Json::Object(o) => Some(Json::Object(o.clone())),
        _ => None,
    }
}

/// A member of a JSON object (`tripline_event::get_ci` on a value that may not be one).
pub fn get_ci<'a>(v: &'a Json, key: &str) -> Option<&'a Json> {
    tripline_event::get_ci(v.as_object()?, key)
}
