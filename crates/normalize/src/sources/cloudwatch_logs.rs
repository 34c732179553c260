//! CloudWatch Logs subscriptions: the event a subscription delivers (`{"awslogs":{"data":…}}`,
//! base64 of gzip of the payload) and the decoded payload (`{"messageType":…,"logEvents":[…]}`).
//! A wrapper: each log event's message goes back to the table, as JSON when it is an object,
//! else as a line of text (a flow log line), which must be recognised like any other.

use std::io::Read;

use base64::Engine;
use serde_json::{Map, Value};

use crate::error::json_type;
use crate::pipeline::Pipeline;
use crate::source::{self, Confidence, Envelope, Source};
use crate::ErrorKind;

/// The most a CloudWatch Logs payload may decompress to (its compressed size is capped at 1 MB by
/// AWS; this stops a gzip bomb).
const MAX_DECODED: u64 = 64 * 1024 * 1024;

/// A subscription event or its payload.
pub(crate) struct CloudWatchLogs;

impl Source for CloudWatchLogs {
    fn name(&self) -> &'static str {
        "cloudwatch_logs"
    }

    fn recognise_json(&self, obj: &Map<String, Value>, envelope: Option<&Envelope<'_>>) -> Confidence {
        if envelope.is_some() {
            return Confidence::No;
        }
        if matches!(obj.get("awslogs"), Some(Value::Object(_))) {
            return Confidence::Certain;
        }
        match obj.get("logEvents") {
            Some(Value::Array(_)) if obj.contains_key("messageType") => Confidence::Certain,
            Some(Value::Array(_)) | None => Confidence::No,
            // A payload whose list of log events is not a list: an error, not an unknown record.
            Some(_) => Confidence::Certain,
        }
    }

    fn normalize_json(
        &self,
        obj: Map<String, Value>,
        _envelope: Option<&Envelope<'_>>,
        p: &mut Pipeline<'_>,
        depth: u8,
    ) {
        if let Some(Value::Object(logs)) = obj.get("awslogs") {
            let Some(Value::String(data)) = logs.get("data") else {
                return p.fail(ErrorKind::MissingField("awslogs.data"));
            };
            return match decode_awslogs(data) {
                Ok(payload) => source::value(p, payload, depth + 1),
                Err(e) => p.fail(e),
            };
        }
        payload(p, obj, depth)
    }
}

/// `awslogs.data`: base64 of gzip of the JSON payload.
pub(crate) fn decode_awslogs(data: &str) -> Result<Value, ErrorKind> {
    let gz = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| ErrorKind::Decode(format!("base64: {e}")))?;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .take(MAX_DECODED + 1)
        .read_to_end(&mut out)
        .map_err(|e| ErrorKind::Decode(format!("gzip: {e}")))?;
    if out.len() as u64 > MAX_DECODED {
        return Err(ErrorKind::Decode(format!("payload larger than {MAX_DECODED} bytes")));
    }
    serde_json::from_slice(&out).map_err(|e| ErrorKind::Decode(format!("JSON: {e}")))
}

/// A decoded payload: each log event is a JSON record (CloudTrail) or a line of text.
fn payload(p: &mut Pipeline<'_>, mut obj: Map<String, Value>, depth: u8) {
    if obj.get("messageType").and_then(Value::as_str) == Some("CONTROL_MESSAGE") {
        return p.skip("control_message");
    }
    let events = match obj.remove("logEvents") {
        Some(Value::Array(events)) => events,
        Some(other) => return p.fail(ErrorKind::NotAList { field: "logEvents", found: json_type(&other) }),
        None => return p.fail(ErrorKind::MissingField("logEvents")),
    };
    for ev in events {
        let Some(Value::String(msg)) = ev.get("message") else {
            p.fail(ErrorKind::MissingField("logEvents[].message"));
            continue;
        };
        let msg = msg.trim();
        if msg.starts_with('{') {
            match serde_json::from_str::<Value>(msg) {
                Ok(v) => source::value(p, v, depth + 1),
                Err(e) => p.fail(ErrorKind::Json(e.to_string())),
            }
        } else {
            source::text(p, msg);
        }
    }
}
