//! # tripline-alerts: detections as code, and the registry that deploys them
//!
//! An alert, in the spirit of MozDef's `AlertTask`, says three things: which events to look at (a
//! [`SearchQuery`]), how to look at them ([`Plan`]: each event on its own, per-value aggregation with
//! a threshold, silence over a window, parts matched together, or a value first seen) and what to say about what it found ([`Alert::on_event`],
//! [`Alert::on_aggregation`], [`Alert::on_silence`] → [`AlertDraft`], built with [`create_alert`]).
//!
//! This crate is pure: no I/O, no store. `tripline-runtime` runs alerts against a store and sends
//! what they raise to the sinks; the [`registry`] (name, schedule, severity, remediation policy)
//! is what the SAM template's functions and schedules are derived from.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use tripline_dsl::{Aggregation, AggregationValue, SearchQuery};
use tripline_event::EventRef;

pub mod attack;
mod common;
pub mod first_seen;
pub mod policy;
pub mod registry;
pub mod sigma;
pub mod tuning;

mod builtin_rules {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}
pub use builtin_rules::BUILTIN_RULES as RULES;
pub use builtin_rules::RULES_ROOT;

/// The built-in catalog: one line per alert, `module::Type` (its `Default` is how it runs).
/// Declares the module and puts the alert in [`Registry::builtin`], in this order.
macro_rules! catalog {
    ($($module:ident :: $alert:ident),* $(,)?) => {
        $(pub mod $module;)*
        fn builtin_alerts() -> Vec<std::sync::Arc<dyn Alert>> {
            vec![$(std::sync::Arc::new($module::$alert::default())),*]
        }
    };
}

catalog! {
    describe_recon::DescribeRecon,
    iam_user_multiple_ips::IamUserMultipleIps,
    s3_bucket_public::S3BucketPublic,
    s3_account_public_access::S3AccountPublicAccess,
    ssh_from_outside::SshFromOutside,
    cloudtrail_logging_disabled::CloudtrailLoggingDisabled,
    guardduty_finding::GuarddutyFinding,
    guardduty_port_probe::GuarddutyPortProbe,
    cloudtrail_deadman::CloudtrailDeadman,
    iam_credentials_for_other_user::IamCredentialsForOtherUser,
    iam_role_trust_opened::IamRoleTrustOpened,
    iam_admin_policy_granted::IamAdminPolicyGranted,
    s3_bucket_shared_with_account::S3BucketSharedWithAccount,
    console_login_failures_then_success::ConsoleLoginFailuresThenSuccess,
    bedrock_first_use::BedrockFirstUse,
    lambda_code_new_principal::LambdaCodeNewPrincipal,
    ssm_session_new_principal::SsmSessionNewPrincipal,
    s3_objects_encrypted_with_foreign_key::S3ObjectsEncryptedWithForeignKey,
    instance_credentials_used_elsewhere::InstanceCredentialsUsedElsewhere,
    lambda_shared_with_account::LambdaSharedWithAccount,
}

pub use registry::{Meta, Registry, RegistryError, Remediation};
pub use sigma::{CaseSet, LoadReport, Refusal, RuleSet, SigmaAlert};
pub use tuning::{Tuning, TuningError};

/// MozDef severities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// Informational.
    Info,
    /// Worth a look.
    Notice,
    /// Likely malicious.
    Warning,
    /// Act now.
    Critical,
}

impl Severity {
    /// Upper case, as MozDef writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Notice => "NOTICE",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// How an alert looks at the events its query selects.
#[derive(Clone, Debug)]
pub enum Plan {
    /// Every matching event goes to [`Alert::on_event`], read `limit` at a time, oldest first
    /// (up to 100 pages per run; a warning says when more wait for the next run).
    Simple {
        /// Events per page.
        limit: usize,
    },
    /// Events are grouped by the value of `field` (a terms aggregation, counted by the engine); each
    /// group with at least `threshold` events goes to [`Alert::on_aggregation`] with up to
    /// `samples` of its events and the `per_bucket` aggregations' values.
    Aggregation {
        /// The dotted field to group by.
        field: String,
        /// Minimum events per group.
        threshold: u64,
        /// Events sampled per group (MozDef's `samplesLimit`).
        samples: usize,
        /// At most this many groups per run.
        max_groups: usize,
        /// Computed inside each group (e.g. distinct source IPs per user). A terms aggregation
        /// here samples hits per value unless told `.samples(0)`: each is a document read, and
        /// the catalog's alerts read only keys and counts.
        per_bucket: Vec<Aggregation>,
    },
    /// A deadman: when the query matches nothing in its window, [`Alert::on_silence`] is called.
    Deadman,
    /// Each of `parts` matched within the window for one value of `field` (Sigma's `temporal`;
    /// with `ordered`, `temporal_ordered`: some event of each part after one of the part before,
    /// in the order given). Each part is counted per value by the engine (a terms aggregation per
    /// part, over the alert's query AND the part); a value found in every part goes to
    /// [`Alert::on_aggregation`], with `count` the events of all parts, samples from each part
    /// and `metrics` `part_0`, `part_1`, … holding each part's count.
    Temporal {
        /// The dotted field to group by.
        field: String,
        /// The queries that must each match in the group.
        parts: Vec<tripline_dsl::QueryAst>,
        /// In the order given.
        ordered: bool,
        /// Events sampled per part and group.
        samples: usize,
        /// At most this many groups per part and run.
        max_groups: usize,
    },
    /// First seen ("new terms"): each value of the key the window's events have that no event of
    /// the alert's query had in the `history` before the window, and that this alert has not
    /// raised on yet, goes to [`Alert::on_aggregation`] (with `count` its events in the window).
    /// The key of an event is the first of `fields` it has (a role's ARN before the session's,
    /// so every new session of a known role is not new). Counted by the engine: a terms
    /// aggregation over the window, then one over the look-back for the values found. Until the
    /// store holds events of the same `source` older than the look-back, nothing is judged new (a
    /// warning says so): without a baseline, everything would be. Values are taken by count
    /// (up to `max_groups` per field and run, a warning when reached).
    NewTerms {
        /// The fields whose first present value is the key.
        fields: Vec<String>,
        /// How far back a value counts as seen before.
        history: chrono::TimeDelta,
        /// Events sampled per value.
        samples: usize,
        /// At most this many values per field and run.
        max_groups: usize,
    },
}

/// One group of an aggregation alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The value grouped on (a user name, an IP, ...).
    pub value: Json,
    /// How many events share it, counted by the engine.
    pub count: u64,
    /// Sampled events, newest first.
    pub samples: Vec<EventRef>,
    /// The `per_bucket` aggregations, by name, as the store computed them within the group.
    pub metrics: BTreeMap<String, AggregationValue>,
}

impl Group {
    /// A cardinality (or other numeric) metric by name.
    pub fn metric(&self, name: &str) -> Option<u64> {
        self.metrics.get(name).and_then(AggregationValue::count)
    }
}

/// What an alert raises: the runtime adds the id, time and class name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertDraft {
    /// One line a responder can act on.
    pub summary: String,
    /// Alert category (`recon`, `access`, `exposure`, ...).
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Severity.
    pub severity: Severity,
    /// The events behind it.
    pub events: Vec<EventRef>,
    /// What distinguishes this alert from others of the same class in the same run (the grouped
    /// value, a bucket name); part of the deterministic id.
    pub key: String,
    /// Extra fields (the resource at fault, counts), copied into the alert's `details`.
    pub details: Map<String, Json>,
}

impl AlertDraft {
    /// Add a detail field.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<Json>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }
    /// Set the distinguishing key.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }
    /// Name the resource at fault (`details.resource`): what the remediation workflow acts on
    /// for alerts whose registry entry says [`Remediation::Contain`]. Build it with [`resource`].
    pub fn resource(self, resource: Json) -> Self {
        self.detail(resource::DETAIL_KEY, resource)
    }
}

/// The resource an alert names, as the remediation workflow
/// (`statemachines/guardduty-remediation.asl.json`) reads it from a Tripline alert:
/// `details.resource.{type, id}`, plus `userName` for an access key.
///
/// ```
/// use tripline_alerts::resource;
/// let r = resource::instance("i-0123456789abcdef0");
/// assert_eq!(r["type"], "Instance");
/// assert_eq!(r["id"], "i-0123456789abcdef0");
/// ```
pub mod resource {
    use serde_json::{json, Value as Json};

    /// The key under `details` that holds the resource.
    pub const DETAIL_KEY: &str = "resource";

    /// An EC2 instance (`type: Instance`).
    pub fn instance(instance_id: &str) -> Json {
        json!({"type": "Instance", "id": instance_id})
    }
    /// An IAM access key and its user (`type: AccessKey`).
    pub fn access_key(access_key_id: &str, user_name: &str) -> Json {
        json!({"type": "AccessKey", "id": access_key_id, "userName": user_name})
    }
    /// An S3 bucket (`type: S3Bucket`).
    pub fn s3_bucket(bucket_name: &str) -> Json {
        json!({"type": "S3Bucket", "id": bucket_name})
    }
}

/// MozDef's `createAlertDict(summary, category, tags, events, severity)`.
pub fn create_alert(
    summary: impl Into<String>,
    category: impl Into<String>,
    tags: &[&str],
    events: Vec<EventRef>,
    severity: Severity,
) -> AlertDraft {
    AlertDraft {
        summary: summary.into(),
        category: category.into(),
        tags: tags.iter().map(|t| (*t).to_string()).collect(),
        severity,
        events,
        key: String::new(),
        details: Map::new(),
    }
}

/// A detection.
pub trait Alert: Send + Sync {
    /// What it is and how it is deployed: name, description, schedule, severity, remediation.
    fn meta(&self) -> &Meta;
    /// The catalog name (`snake_case`), also the alert's `classname` and the tag put on events it
    /// raised from.
    fn name(&self) -> &str {
        &self.meta().name
    }
    /// Which events to look at.
    fn query(&self) -> SearchQuery;
    /// How to look at them.
    fn plan(&self) -> Plan;
    /// Simple alerts: one matching event.
    fn on_event(&self, _event: &EventRef) -> Option<AlertDraft> {
        None
    }
    /// Aggregation alerts: one group at or over the threshold.
    fn on_aggregation(&self, _group: &Group) -> Option<AlertDraft> {
        None
    }
    /// Aggregation alerts that need the run's clock (to tell "in the last minutes" from "earlier
    /// in the window", e.g. a bucket created shortly before it was exposed). Runners call this
    /// with the end of the event-time window the group was counted in: the run's clock for the
    /// current window, the clock minus the lateness allowance for the settled one. The default
    /// forwards to [`Alert::on_aggregation`].
    fn on_aggregation_at(&self, group: &Group, _now: chrono::DateTime<chrono::Utc>) -> Option<AlertDraft> {
        self.on_aggregation(group)
    }
    /// Deadman alerts: nothing matched in the window.
    fn on_silence(&self) -> Option<AlertDraft> {
        None
    }
}

impl std::fmt::Debug for dyn Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Alert({})", self.name())
    }
}

/// A field of an event by dotted path, as text (`""` when absent).
pub fn field_text(event: &EventRef, path: &str) -> String {
    match tripline_event::lookup(&event.documentsource, path) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}
