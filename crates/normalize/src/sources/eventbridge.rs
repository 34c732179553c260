//! EventBridge envelopes (`detail-type`, `detail`): a wrapper. The `detail` is offered to the
//! sources that read enveloped records (GuardDuty, CloudTrail); when none does, the whole event
//! is kept as a generic one.

use serde_json::{Map, Value};

use crate::pipeline::Pipeline;
use crate::source::{self, Confidence, Envelope, Source};
use crate::sources::generic::Generic;

/// An EventBridge event around a record.
pub(crate) struct EventBridge;

impl Source for EventBridge {
    fn name(&self) -> &'static str {
        "eventbridge"
    }

    fn recognise_json(&self, obj: &Map<String, Value>, envelope: Option<&Envelope<'_>>) -> Confidence {
        match (envelope, obj.get("detail-type"), obj.get("detail")) {
            (None, Some(Value::String(_)), Some(Value::Object(_))) => Confidence::Certain,
            _ => Confidence::No,
        }
    }

    fn normalize_json(
        &self,
        mut obj: Map<String, Value>,
        _envelope: Option<&Envelope<'_>>,
        p: &mut Pipeline<'_>,
        depth: u8,
    ) {
        let detail_type = obj.get("detail-type").and_then(Value::as_str).unwrap_or_default().to_owned();
        let time = obj.get("time").and_then(Value::as_str).map(str::to_owned);
        let Some(Value::Object(detail)) = obj.remove("detail") else {
            return Generic.normalize_json(obj, None, p, depth);
        };
        let envelope = Envelope { detail_type: &detail_type, time: time.as_deref() };
        if let Err(detail) = source::object(p, detail, Some(&envelope), depth) {
            obj.insert("detail".into(), Value::Object(detail));
            Generic.normalize_json(obj, None, p, depth)
        }
    }
}
