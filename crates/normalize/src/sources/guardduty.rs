//! GuardDuty findings (the mapping is [`crate::guardduty`]): bare, in `{"Findings":[…]}`, or the
//! `detail` of an EventBridge "GuardDuty Finding" event.

use serde_json::{Map, Value};

use crate::guardduty;
use crate::pipeline::Pipeline;
use crate::source::{Confidence, Envelope, Source};

/// GuardDuty findings.
pub(crate) struct GuardDuty;

impl Source for GuardDuty {
    fn name(&self) -> &'static str {
        "guardduty"
    }

    fn recognise_json(&self, obj: &Map<String, Value>, envelope: Option<&Envelope<'_>>) -> Confidence {
        let said = envelope.is_some_and(|e| e.detail_type == "GuardDuty Finding");
        if said || guardduty::is_finding(obj) {
            Confidence::Certain
        } else {
            Confidence::No
        }
    }

    fn normalize_json(
        &self,
        obj: Map<String, Value>,
        envelope: Option<&Envelope<'_>>,
        p: &mut Pipeline<'_>,
        _depth: u8,
    ) {
        let received = p.now();
        p.done(guardduty::normalize(Value::Object(obj), envelope.and_then(|e| e.time), received))
    }
}
