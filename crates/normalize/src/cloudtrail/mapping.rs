//! The CloudTrail mapping as data: which subtrees are kept as JSON strings, which of their scalar
//! members become flat fields, which verbs are read-only, how a record is recognised. Both the
//! reference implementation and the fast path read these; see [the module docs](super) for the
//! mapping field by field.

use serde_json::{Map, Value};

/// Subtrees kept as JSON strings (record key, as CloudTrail writes it).
pub const RAW_SUBTREES: [&str; 6] = [
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "insightDetails",
    "edgeDeviceDetails",
];

/// Scalar members of the raw subtrees copied into flat fields `details.<subtree>_<key>` (both
/// lower-cased), as strings.
pub const EXTRACTS: [(&str, &[&str]); 3] = [
    (
        "requestParameters",
        &[
            "bucketName",
            "key",
            "userName",
            "roleName",
            "groupName",
            "policyArn",
            "policyName",
            "accessKeyId",
            "name",
            "keyId",
            "functionName",
            "groupId",
            "instanceId",
            "secretId",
            "detectorId",
            "roleArn",
            "roleSessionName",
        ],
    ),
    ("responseElements", &["ConsoleLogin"]),
    ("additionalEventData", &["MFAUsed", "LoginTo", "MobileVersion"]),
];

pub(crate) const READ_VERBS: [&str; 8] =
    ["Describe", "Get", "List", "Head", "Lookup", "Search", "Scan", "Query"];

/// Whether a JSON object looks like a CloudTrail record: `eventSource`, `eventName`, and
/// `eventVersion` or `eventTime` (so that a record missing its time is reported as a broken
/// CloudTrail record rather than kept as an unknown one); S3 event notifications, whose
/// `eventSource` is `aws:s3`, are not.
pub fn is_record(obj: &Map<String, Value>) -> bool {
    obj.contains_key("eventName")
        && (obj.contains_key("eventTime") || obj.contains_key("eventVersion"))
        && matches!(obj.get("eventSource"), Some(Value::String(s)) if !s.starts_with("aws:"))
}

/// The leading verb of an event name: `DescribeInstances` → `Describe`, `ConsoleLogin` →
/// `Console`, `listObjects` → `list`.
pub fn event_verb(name: &str) -> &str {
    let mut end = name.len();
    for (i, c) in name.char_indices().skip(1) {
        if c.is_uppercase() || !c.is_alphanumeric() {
            end = i;
            break;
        }
    }
    &name[..end]
}

/// JSON text without the whitespace between tokens (strings untouched).
pub(crate) fn minify(text: &str) -> String {
    if !text.bytes().any(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t')) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_str, mut esc) = (false, false);
    for c in text.chars() {
        if in_str {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
            out.push(c);
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}
