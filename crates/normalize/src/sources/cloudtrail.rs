//! CloudTrail records (the mapping is [`crate::cloudtrail`]), and CloudTrail digest files
//! (skipped).

use serde_json::{Map, Value};

use crate::cloudtrail;
use crate::keys::Scratch;
use crate::pipeline::Pipeline;
use crate::source::{Confidence, Envelope, Source};

/// CloudTrail records: bare, in a `Records` delivery file, in an EventBridge "AWS API Call via
/// CloudTrail" event, in a CloudWatch Logs log event.
pub(crate) struct CloudTrail;

/// The fast path's buffers, reused from record to record of one read.
#[derive(Default)]
struct State(Scratch);

impl Source for CloudTrail {
    fn name(&self) -> &'static str {
        "cloudtrail"
    }

    /// CloudTrail records are the bulk of any volume: the one-pass reader builds the event from
    /// the bytes, declining anything it does not finish exactly as the reference would; then the
    /// reference reads the top level borrowed, so that a broken CloudTrail record gets the
    /// reference's own error.
    fn raw(&self, bytes: &[u8], p: &mut Pipeline<'_>) -> bool {
        let received = p.now();
        if let Some(event) = cloudtrail::fast(bytes, received, &mut p.state.get::<State>().0, true) {
            p.done(Ok(event));
            return true;
        }
        if let Ok(top) = serde_json::from_slice::<cloudtrail::TopLevel<'_>>(bytes) {
            if top.is_record() {
                p.done(cloudtrail::normalize_top(&top, received));
                return true;
            }
        }
        false
    }

    fn recognise_json(&self, obj: &Map<String, Value>, envelope: Option<&Envelope<'_>>) -> Confidence {
        match (cloudtrail::is_record(obj), envelope) {
            (false, _) => Confidence::No,
            (true, None) => Confidence::Certain,
            // In an envelope, a `detail-type` naming another source wins.
            (true, Some(_)) => Confidence::Likely,
        }
    }

    fn normalize_json(
        &self,
        obj: Map<String, Value>,
        _envelope: Option<&Envelope<'_>>,
        p: &mut Pipeline<'_>,
        _depth: u8,
    ) {
        let received = p.now();
        p.done(cloudtrail::normalize(Value::Object(obj), received))
    }
}

/// CloudTrail digest files (`digestStartTime`, `digestEndTime`): counted as skipped.
pub(crate) struct Digest;

impl Source for Digest {
    fn name(&self) -> &'static str {
        "cloudtrail_digest"
    }

    fn recognise_json(&self, obj: &Map<String, Value>, envelope: Option<&Envelope<'_>>) -> Confidence {
        if envelope.is_none() && obj.contains_key("digestStartTime") && obj.contains_key("digestEndTime") {
            Confidence::Certain
        } else {
            Confidence::No
        }
    }

    fn normalize_json(&self, _: Map<String, Value>, _: Option<&Envelope<'_>>, p: &mut Pipeline<'_>, _: u8) {
        p.skip("cloudtrail_digest")
    }
}
