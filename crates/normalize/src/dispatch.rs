//! One JSON record → the right normalizer: CloudTrail, GuardDuty, an EventBridge envelope around
//! either, a CloudWatch Logs subscription payload (which holds many records), or a generic event.

use std::io::Read;

use base64::Engine;
use serde_json::{Map, Value};
use tripline_event::Event;

use crate::error::json_type;
use crate::keys::{get_ci, parse_time};
use crate::read::Ctx;
use crate::{cloudtrail, guardduty, vpcflow, ErrorKind};

/// The most a CloudWatch Logs payload may decompress to (its compressed size is capped at 1 MB by
/// AWS; this stops a gzip bomb).
const MAX_DECODED: u64 = 64 * 1024 * 1024;

/// Parse one record's bytes and dispatch it. CloudTrail records (the bulk of any volume) take a
/// fast path: [`cloudtrail`]'s one-pass reader.
pub(crate) fn bytes(ctx: &mut Ctx<'_>, b: &[u8]) {
    // One pass that builds the event directly; it declines anything it does not finish exactly
    // as the steps below would (other record types, errors).
    let received = ctx.now();
    if let Some(event) = cloudtrail::fast(b, received, &mut ctx.scratch, true) {
        return ctx.done(Ok(event));
    }
    if let Ok(top) = serde_json::from_slice::<cloudtrail::TopLevel<'_>>(b) {
        if top.is_record() {
            return ctx.done(cloudtrail::normalize_top(&top, received));
        }
    }
    match serde_json::from_slice::<Value>(b) {
        Ok(v) => value(ctx, v, 0),
        Err(e) => ctx.fail(ErrorKind::Json(e.to_string())),
    }
}

/// Dispatch one parsed record. `depth` bounds the recursion through envelopes.
pub(crate) fn value(ctx: &mut Ctx<'_>, v: Value, depth: u8) {
    let Value::Object(obj) = v else { return ctx.fail(ErrorKind::NotAnObject) };
    if depth > 4 {
        return generic(ctx, obj);
    }
    let received = ctx.now();
    if cloudtrail::is_record(&obj) {
        return ctx.done(cloudtrail::normalize(Value::Object(obj), received));
    }
    if let (Some(Value::String(dt)), Some(Value::Object(_))) = (obj.get("detail-type"), obj.get("detail")) {
        let dt = dt.clone();
        let time = obj.get("time").and_then(Value::as_str).map(str::to_owned);
        let mut obj = obj;
        let Some(Value::Object(detail)) = obj.remove("detail") else { return };
        if dt == "GuardDuty Finding" || guardduty::is_finding(&detail) {
            return ctx.done(guardduty::normalize(Value::Object(detail), time.as_deref(), received));
        }
        if cloudtrail::is_record(&detail) {
            return ctx.done(cloudtrail::normalize(Value::Object(detail), received));
        }
        obj.insert("detail".into(), Value::Object(detail));
        return generic(ctx, obj);
    }
    if guardduty::is_finding(&obj) {
        return ctx.done(guardduty::normalize(Value::Object(obj), None, received));
    }
    if let Some(Value::Object(logs)) = obj.get("awslogs") {
        let Some(Value::String(data)) = logs.get("data") else {
            return ctx.fail(ErrorKind::MissingField("awslogs.data"));
        };
        return match decode_awslogs(data) {
            Ok(payload) => value(ctx, payload, depth + 1),
            Err(e) => ctx.fail(e),
        };
    }
    match obj.get("logEvents") {
        Some(Value::Array(_)) if obj.contains_key("messageType") => return logs_payload(ctx, obj, depth),
        Some(Value::Array(_)) | None => {}
        // A payload whose list of log events is not a list: an error, not an unknown record.
        Some(other) => return ctx.fail(ErrorKind::NotAList { field: "logEvents", found: json_type(other) }),
    }
    if obj.contains_key("digestStartTime") && obj.contains_key("digestEndTime") {
        return ctx.skip("cloudtrail_digest");
    }
    // Containers parsed whole (when the fast path did not see them first). A container member
    // that is not a list (`{"Records": {…}}`, `"x"`, `null`) is a mis-shaped or truncated file:
    // an error, never a generic event that would read as success.
    for key in ["Records", "Findings", "findings"] {
        match obj.get(key) {
            Some(Value::Array(_)) => {
                let mut obj = obj;
                if let Some(Value::Array(items)) = obj.remove(key) {
                    for item in items {
                        value(ctx, item, depth + 1);
                    }
                }
                return;
            }
            Some(other) => return ctx.fail(ErrorKind::NotAList { field: key, found: json_type(other) }),
            None => {}
        }
    }
    generic(ctx, obj)
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

/// A decoded CloudWatch Logs subscription payload: each log event is a CloudTrail record (JSON)
/// or a flow log line.
fn logs_payload(ctx: &mut Ctx<'_>, mut obj: Map<String, Value>, depth: u8) {
    if obj.get("messageType").and_then(Value::as_str) == Some("CONTROL_MESSAGE") {
        return ctx.skip("control_message");
    }
    let events = match obj.remove("logEvents") {
        Some(Value::Array(events)) => events,
        Some(other) => return ctx.fail(ErrorKind::NotAList { field: "logEvents", found: json_type(&other) }),
        None => return ctx.fail(ErrorKind::MissingField("logEvents")),
    };
    for ev in events {
        let Some(Value::String(msg)) = ev.get("message") else {
            ctx.fail(ErrorKind::MissingField("logEvents[].message"));
            continue;
        };
        let msg = msg.trim();
        if msg.starts_with('{') {
            match serde_json::from_str::<Value>(msg) {
                Ok(v) => value(ctx, v, depth + 1),
                Err(e) => ctx.fail(ErrorKind::Json(e.to_string())),
            }
        } else {
            let received = ctx.now();
            let format = ctx.flow_format();
            match vpcflow::normalize_line(&format, msg, received) {
                Ok(Some(e)) => ctx.done(Ok(e)),
                Ok(None) => ctx.skip("flow_nodata_skipdata"),
                Err(e) => ctx.fail(e),
            }
        }
    }
}

/// A record of no known type: kept, as a generic event holding the whole record as a JSON string
/// (`details.raw`), so that it is searchable and can never cause a mapping conflict.
fn generic(ctx: &mut Ctx<'_>, obj: Map<String, Value>) {
    let received = ctx.now();
    let time = ["time", "eventTime", "timestamp", "@timestamp", "utctimestamp"]
        .iter()
        .find_map(|k| get_ci(&obj, k).and_then(Value::as_str).and_then(parse_time))
        .unwrap_or(received);
    let summary =
        match (obj.get("detail-type").and_then(Value::as_str), obj.get("source").and_then(Value::as_str)) {
            (Some(dt), Some(src)) => format!("{dt} from {src}"),
            _ => "unrecognized record".to_owned(),
        };
    let mut e = Event::new("unknown", "unknown", summary, time, received);
    e.details.insert("raw".into(), Value::String(Value::Object(obj).to_string()));
    ctx.done(Ok(e))
}
