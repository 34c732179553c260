//! An S3 bucket made public, unless it was created moments before (the workshop's "extra points").
//!
//! Three ways a bucket becomes readable by anyone (MITRE ATT&CK T1530, Data from Cloud Storage, is
//! what follows):
//!
//! - `PutBucketAcl` granting `AllUsers` or `AuthenticatedUsers` (a grant to the group URI
//!   `http://acs.amazonaws.com/groups/global/AllUsers`, in the ACL body or an `x-amz-grant-*`
//!   header) or a canned `public-read`, `public-read-write` or `authenticated-read` ACL;
//! - `PutBucketPolicy` with an `Allow` statement whose principal is `*` (or `{"AWS": "*"}`) and no
//!   `Condition` (a condition such as `aws:SourceVpce` narrows who can read; a `Deny` for
//!   `Principal: *`, the usual "TLS only" statement, exposes nothing);
//! - the bucket's public access block turned off: `DeletePublicAccessBlock`, or
//!   `PutPublicAccessBlock` with any of its four settings `false` (the account-level block is
//!   [`crate::s3_account_public_access`]).
//!
//! A bucket created shortly before it was exposed is a website or a data drop being set up, not a
//! leak: those are not raised. Telling them apart needs two events (`CreateBucket` and the
//! exposing call) about one bucket, so the alert groups both kinds by bucket name
//! (`details.requestparameters_bucketname`) in the engine, with the event names inside each group,
//! and skips the exposures that follow their bucket's creation within `creation_grace_minutes`.
//! The query reaches back `window_minutes + creation_grace_minutes` so the creation is still seen
//! while its exposure is a candidate; with the run's clock ([`Alert::on_aggregation_at`]) only
//! exposures of the last `window_minutes` raise, so an exempt exposure never raises later when its
//! `CreateBucket` has slid out of the window.
//!
//! Request parameters are a JSON string in the event (their shape varies per API). The query
//! selects the calls by name only and the alert parses each sampled call's parameters to decide
//! (a `Deny` statement, a conditional policy or a grant to the log-delivery group is no exposure).
//! Wildcards over that string (`*AllUsers*`) would select more narrowly, but a leading wildcard
//! walks the whole term dictionary of the field: measured on the embedded store, 1.2 s per run
//! against 50 ms, and OpenSearch pays the same way.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value as Json;
use std::sync::LazyLock;

use tripline_dsl::prelude::*;
use tripline_event::EventRef;

use crate::common::{actor, event_time, get_ci, group_text, request_parameters, sub_keys};
use crate::{create_alert, resource, Alert, AlertDraft, Group, Plan, Severity, Meta};

/// The registry name.
pub const NAME: &str = "s3_bucket_public";

/// What this alert is and how it is deployed (its catalog entry).
static META: LazyLock<Meta> = LazyLock::new(|| Meta::new(NAME, "S3 bucket made public (ACL, policy, public access block), unless just created").severity(Severity::Critical).contain().tags(&["attack.exfiltration", "attack.t1537", "attack.collection", "attack.t1530"]));

/// The field holding the bucket name (extracted by the normalizer from `requestParameters`).
pub const BUCKET_FIELD: &str = "details.requestparameters_bucketname";

const ALL_USERS: &str = "acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "acs.amazonaws.com/groups/global/AuthenticatedUsers";
const PUBLIC_CANNED_ACLS: [&str; 3] = ["public-read", "public-read-write", "authenticated-read"];
/// The calls the alert looks at: the creation and every call that can expose a bucket.
pub const CALLS: [&str; 5] =
    ["CreateBucket", "PutBucketAcl", "PutBucketPolicy", "DeletePublicAccessBlock", "PutPublicAccessBlock"];
const PAB_SETTINGS: [&str; 4] =
    ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"];

/// Settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Exposures of the last this many minutes raise.
    pub window_minutes: i64,
    /// A bucket created at most this long before its exposure is not raised.
    pub creation_grace_minutes: i64,
    /// Events sampled per bucket (a bucket sees few calls; they are all read to find the creation).
    pub samples: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { window_minutes: 20, creation_grace_minutes: 60, samples: 50 }
    }
}

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct S3BucketPublic {
    /// Its settings.
    pub config: Config,
}

impl S3BucketPublic {
    /// With these settings.
    pub fn new(config: Config) -> Self {
        S3BucketPublic { config }
    }

    fn decide(&self, group: &Group, now: Option<DateTime<Utc>>) -> Option<AlertDraft> {
        let bucket = group_text(group);
        let names = sub_keys(group, "calls");
        let creations: Vec<DateTime<Utc>> = group
            .samples
            .iter()
            .filter(|e| crate::field_text(e, "details.eventname") == "CreateBucket")
            .filter_map(event_time)
            .collect();
        // The group holds a creation that was not sampled (a bucket with more calls than samples):
        // it happened in the window, so the bucket is new.
        if creations.is_empty() && names.iter().any(|n| n == "CreateBucket") {
            return None;
        }
        let grace = TimeDelta::minutes(self.config.creation_grace_minutes);
        let since = now.map(|n| n - TimeDelta::minutes(self.config.window_minutes));
        let mut exposures: Vec<(EventRef, Exposure)> = Vec::new();
        for event in &group.samples {
            let Some(kind) = exposure(event) else { continue };
            let Some(at) = event_time(event) else { continue };
            if since.is_some_and(|s| at < s) {
                continue;
            }
            if creations.iter().any(|c| *c <= at && at - *c <= grace) {
                continue;
            }
            exposures.push((event.clone(), kind));
        }
        if exposures.is_empty() {
            return None;
        }
        let public = exposures.iter().any(|(_, k)| *k != Exposure::BlockRemoved);
        let mut how: Vec<&str> = exposures.iter().map(|(_, k)| k.describe()).collect();
        how.sort_unstable();
        how.dedup();
        let who = actor(&exposures[0].0);
        let summary = format!("S3 bucket {bucket} made public by {who}: {}", how.join(", "));
        let severity = if public { Severity::Critical } else { Severity::Warning };
        let events = exposures.into_iter().map(|(e, _)| e).collect();
        Some(
            create_alert(summary, "exposure", &["cloudtrail", "s3", "T1530"], events, severity)
                .key(bucket.clone())
                .detail("bucketname", bucket.clone())
                .detail("actor", who)
                .resource(resource::s3_bucket(&bucket)),
        )
    }
}

/// How a call exposes a bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exposure {
    /// An ACL grant to everyone (or every AWS account).
    Acl,
    /// A policy allowing `Principal: *`.
    Policy,
    /// The public access block removed or weakened.
    BlockRemoved,
}

impl Exposure {
    fn describe(self) -> &'static str {
        match self {
            Exposure::Acl => "ACL grants public access",
            Exposure::Policy => "policy allows Principal *",
            Exposure::BlockRemoved => "public access block removed",
        }
    }
}

/// Whether a (successful) CloudTrail call exposes its bucket, and how.
pub fn exposure(event: &EventRef) -> Option<Exposure> {
    if !crate::field_text(event, "details.errorcode").is_empty() {
        return None;
    }
    let params = request_parameters(event);
    match crate::field_text(event, "details.eventname").as_str() {
        "PutBucketAcl" => {
            let text = params.as_ref().map(Json::to_string).unwrap_or_default();
            let grant = text.contains(ALL_USERS) || text.contains(AUTHENTICATED_USERS);
            let canned = params
                .as_ref()
                .and_then(|p| get_ci(p, "x-amz-acl"))
                .map(|v| json_strings(v).iter().any(|s| PUBLIC_CANNED_ACLS.contains(&s.as_str())))
                .unwrap_or(false);
            (grant || canned).then_some(Exposure::Acl)
        }
        "PutBucketPolicy" => {
            let policy = params.as_ref().and_then(|p| get_ci(p, "bucketPolicy"))?;
            // The policy may itself be a JSON string.
            let policy = match policy {
                Json::String(s) => serde_json::from_str(s).ok()?,
                other => other.clone(),
            };
            policy_is_public(&policy).then_some(Exposure::Policy)
        }
        "DeletePublicAccessBlock" => Some(Exposure::BlockRemoved),
        "PutPublicAccessBlock" => {
            let config = params.as_ref().and_then(|p| get_ci(p, "PublicAccessBlockConfiguration"))?;
            block_weakened(config).then_some(Exposure::BlockRemoved)
        }
        _ => None,
    }
}

/// Whether a public access block configuration turns any of its four settings off.
pub fn block_weakened(config: &Json) -> bool {
    PAB_SETTINGS.iter().any(|k| match get_ci(config, k) {
        Some(Json::Bool(b)) => !b,
        Some(Json::String(s)) => s.eq_ignore_ascii_case("false"),
        _ => false,
    })
}

/// Whether a bucket policy has an unconditional `Allow` for everyone.
pub fn policy_is_public(policy: &Json) -> bool {
    let statements = match get_ci(policy, "Statement") {
        Some(Json::Array(a)) => a.clone(),
        Some(one @ Json::Object(_)) => vec![one.clone()],
        _ => return false,
    };
    statements.iter().any(|s| {
        let allow = get_ci(s, "Effect").and_then(Json::as_str) == Some("Allow");
        let conditional =
            get_ci(s, "Condition").is_some_and(|c| c.as_object().is_some_and(|o| !o.is_empty()));
        let everyone = match get_ci(s, "Principal") {
            Some(Json::String(p)) => p == "*",
            Some(p @ Json::Object(_)) => {
                get_ci(p, "AWS").is_some_and(|a| json_strings(a).iter().any(|x| x == "*"))
            }
            _ => false,
        };
        allow && everyone && !conditional
    })
}

fn json_strings(v: &Json) -> Vec<String> {
    match v {
        Json::String(s) => vec![s.clone()],
        Json::Array(a) => a.iter().filter_map(Json::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

impl Alert for S3BucketPublic {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(self.config.window_minutes + self.config.creation_grace_minutes)
            .must(TermMatch("source", "cloudtrail"))
            .must(TermMatch("details.eventsource", "s3.amazonaws.com"))
            .must(TermsMatch("details.eventname", CALLS))
            .must(ExistsMatch(BUCKET_FIELD))
            .must_not(ExistsMatch("details.errorcode"))
    }

    fn plan(&self) -> Plan {
        Plan::Aggregation {
            field: BUCKET_FIELD.into(),
            threshold: 1,
            samples: self.config.samples,
            max_groups: 1000,
            per_bucket: vec![Aggregation::terms("details.eventname").named("calls").size(20).samples(0)],
        }
    }

    /// Without the run's clock: every sampled exposure counts, creations still exempt theirs.
    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        self.decide(group, None)
    }

    fn on_aggregation_at(&self, group: &Group, now: DateTime<Utc>) -> Option<AlertDraft> {
        self.decide(group, Some(now))
    }
}
