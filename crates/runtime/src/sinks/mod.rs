//! Where alerts go after the alerts index: SNS, the remediation workflow in Step Functions,
//! webhooks (Slack-compatible JSON, PagerDuty Events v2): each one a [`Sink`] in its own file,
//! and each safe to call again for the same alert.
//!
//! The runner writes every alert to the [`AlertsIndex`] first, then hands it to each sink that
//! [accepts](Sink::accepts) it, and records the sink's [`Receipt`] in the alert's
//! `details.delivery` (a map from sink name to receipt, [`Delivery`]) right after. A retried run
//! reads those receipts back and skips the sinks that already have one, so an alert reaches each
//! sink once however often the run is retried.
//!
//! - [`Sns`] (`sns`) publishes the alert as JSON; the receipt is the message id. SNS has no
//!   idempotency key on standard topics; on a FIFO topic (`….fifo`) the alert id is also the
//!   `MessageDeduplicationId`.
//! - [`StepFunctions`] (`stepfunctions`) starts the remediation workflow, for alerts whose policy
//!   is `Contain` only, with an execution name derived from the alert id. Step Functions keeps
//!   execution names unique per state machine, so a second start for the same alert is refused
//!   (`ExecutionAlreadyExists`) and counts as delivered; the receipt is the execution ARN.
//! - [`Webhook`] (`webhook:NAME`) POSTs a Slack-compatible message or a PagerDuty Events v2
//!   event (whose `dedup_key` is the alert id), routed by severity and tags.
//!
//! A new sink is one file here implementing [`Sink`], plus its configuration in `tripline_functions::alert`.
//! SNS and Step Functions strip the events' stored copies (`documentsource`) when the alert would
//! not fit their 256 KB limit, keeping the references.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value as Json};
use tripline_alerts::Remediation;
use tripline_event::AlertRecord;
use tripline_store::StoreError;

mod alerts_index;
mod sns;
mod step_functions;
mod webhook;

pub use alerts_index::AlertsIndex;
pub use sns::{subject, Sns, MAX_SUBJECT_CHARS};
pub use step_functions::{execution_arn, execution_input, execution_name, Execution, StepFunctions};
pub use webhook::{Route, Webhook, WebhookFormat};

/// The SNS sink's name.
pub const SNS: &str = "sns";
/// The Step Functions sink's name.
pub const STEP_FUNCTIONS: &str = "stepfunctions";

/// The key under an alert's `details` that records where it was delivered.
pub const DELIVERY_KEY: &str = "delivery";
/// SNS and Step Functions refuse messages and inputs above 256 KiB; keep a margin for the
/// envelope.
pub const MAX_MESSAGE_BYTES: usize = 250 * 1024;

/// A place alerts are delivered to.
#[async_trait]
pub trait Sink: Send + Sync + fmt::Debug {
    /// The sink's name: the key of its receipt in `details.delivery`. Stable across runs (a
    /// renamed sink delivers again).
    fn name(&self) -> &str;

    /// Whether this alert goes to this sink; `remediation` is the alert's policy.
    fn accepts(&self, alert: &AlertRecord, remediation: Remediation) -> bool;

    /// Deliver one alert. Called at most once per alert unless an earlier attempt failed before
    /// its receipt was recorded; a sink that can tell (an idempotency key) says so in the receipt.
    async fn deliver(&self, alert: &AlertRecord) -> Result<Receipt, SinkError>;
}

/// What a sink hands back for a delivered alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// What the sink calls the delivery (a message id, an execution ARN, a dedup key).
    pub id: String,
    /// The sink recognised the alert as delivered by an earlier attempt.
    pub earlier: bool,
}

impl Receipt {
    /// A new delivery.
    pub fn new(id: impl Into<String>) -> Self {
        Receipt { id: id.into(), earlier: false }
    }
    /// A delivery an earlier attempt made.
    pub fn earlier(id: impl Into<String>) -> Self {
        Receipt { id: id.into(), earlier: true }
    }
}

/// What went wrong delivering an alert.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The store failed (alerts index).
    #[error("alerts index: {0}")]
    Store(#[from] StoreError),
    /// The alerts index refused documents.
    #[error("alerts index refused {count} alert(s), first {first_id}: {first_reason}")]
    Refused {
        /// How many.
        count: usize,
        /// The first refused alert's id.
        first_id: String,
        /// The engine's reason.
        first_reason: String,
    },
    /// SNS refused or could not be reached.
    #[error("SNS publish to {topic}: {reason}")]
    Sns {
        /// The topic ARN.
        topic: String,
        /// The SDK's error, with its causes.
        reason: String,
    },
    /// Step Functions refused or could not be reached.
    #[error("Step Functions StartExecution on {state_machine}: {reason}")]
    StepFunctions {
        /// The state machine ARN.
        state_machine: String,
        /// The SDK's error, with its causes.
        reason: String,
    },
    /// A webhook refused or could not be reached.
    #[error("webhook {sink} ({endpoint}): {reason}")]
    Webhook {
        /// The sink's name.
        sink: String,
        /// Scheme, host and port only: a webhook URL's path is often its secret.
        endpoint: String,
        /// What happened.
        reason: String,
    },
}

/// Where an alert has been delivered: sink name → receipt, as recorded in `details.delivery`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    receipts: BTreeMap<String, String>,
}

impl Delivery {
    /// The receipts an alert carries.
    pub fn of(alert: &AlertRecord) -> Self {
        Self::from_details(&alert.details)
    }

    pub(crate) fn from_details(details: &Map<String, Json>) -> Self {
        let receipts = details
            .get(DELIVERY_KEY)
            .and_then(Json::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        Delivery { receipts }
    }

    /// One receipt.
    pub fn with(mut self, sink: impl Into<String>, receipt: impl Into<String>) -> Self {
        self.receipts.insert(sink.into(), receipt.into());
        self
    }

    /// The receipt of `sink`, if delivered there.
    pub fn get(&self, sink: &str) -> Option<&str> {
        self.receipts.get(sink).map(String::as_str)
    }

    /// Record the receipts in the alert (receipts already there are kept, unless replaced).
    pub fn apply(&self, alert: &mut AlertRecord) {
        let mut merged = Self::of(alert);
        merged.receipts.extend(self.receipts.iter().map(|(k, v)| (k.clone(), v.clone())));
        if !merged.receipts.is_empty() {
            let m: Map<String, Json> =
                merged.receipts.into_iter().map(|(k, v)| (k, Json::String(v))).collect();
            alert.details.insert(DELIVERY_KEY.into(), Json::Object(m));
        }
    }
}

/// The sinks a run delivers to after the alerts index, in order.
#[derive(Clone, Debug, Default)]
pub struct Sinks(Vec<Arc<dyn Sink>>);

impl Sinks {
    /// No sink: the alerts index only.
    pub fn none() -> Self {
        Sinks(Vec::new())
    }

    /// Also deliver to `sink` (after the ones already listed).
    pub fn with(mut self, sink: impl Sink + 'static) -> Self {
        self.0.push(Arc::new(sink));
        self
    }

    /// The sinks, in delivery order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Sink>> {
        self.0.iter()
    }
}

/// `wrap(alert JSON)` without the delivery receipts (so a message or an execution input is the
/// same whichever attempt sends it), with the events' stored copies dropped if it would not fit.
pub(crate) fn fitting_json(alert: &AlertRecord, wrap: impl Fn(Json) -> Json) -> Json {
    let mut lean = alert.clone();
    lean.details.remove(DELIVERY_KEY);
    let full = wrap(lean.to_json());
    if full.to_string().len() <= MAX_MESSAGE_BYTES {
        return full;
    }
    for e in &mut lean.events {
        e.documentsource = Json::Null;
    }
    wrap(lean.to_json())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;
    use tripline_event::EventRef;

    pub(crate) fn alert(summary: &str) -> AlertRecord {
        AlertRecord {
            id: "0123456789abcdef0123456789abcdef".into(),
            utctimestamp: chrono::Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap_or_default(),
            severity: "WARNING".into(),
            summary: summary.into(),
            category: "recon".into(),
            tags: vec![],
            events: vec![EventRef {
                documentindex: "events-2026.11.23".into(),
                documentid: "e1".into(),
                documentsource: json!({"blob": "x".repeat(300 * 1024)}),
            }],
            classname: "describe_recon".into(),
            url: String::new(),
            notify: true,
            details: Map::new(),
        }
    }

    #[test]
    fn delivery_markers_round_trip_and_merge() {
        let mut a = alert("x");
        assert_eq!(Delivery::of(&a), Delivery::default());
        Delivery::default().with("sns", "m-1").apply(&mut a);
        Delivery::default().with("stepfunctions", "arn:x").apply(&mut a);
        assert_eq!(Delivery::of(&a), Delivery::default().with("sns", "m-1").with("stepfunctions", "arn:x"));
        assert_eq!(a.details["delivery"]["sns"], "m-1");
        assert_eq!(Delivery::of(&a).get("stepfunctions"), Some("arn:x"));
        assert_eq!(Delivery::of(&a).get("webhook:slack"), None);
    }

    #[test]
    fn receipts_that_are_not_text_are_not_receipts() {
        let mut a = alert("x");
        a.details.insert(DELIVERY_KEY.into(), json!({"sns": 7, "webhook:x": "k"}));
        assert_eq!(Delivery::of(&a), Delivery::default().with("webhook:x", "k"));
    }
}
