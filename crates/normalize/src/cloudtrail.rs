//! CloudTrail records → MozDef events.
//!
//! | event field | from |
//! |---|---|
//! | `source` | `cloudtrail` |
//! | `type` | `cloudtrail` (MozDef stored these under the document type `cloudtrail`) |
//! | `category` | `eventType` (`AwsApiCall`, `AwsConsoleSignIn`, `AwsServiceEvent`, …; `cloudtrail` if absent) |
//! | `hostname` | `eventSource` (`iam.amazonaws.com`) |
//! | `summary` | `"<sourceIPAddress> performed <eventName> in <eventSource>"` |
//! | `utctimestamp` | `eventTime` (required) |
//! | `receivedtimestamp` | the ingest clock |
//! | `details.*` | every record field, keys lower-cased recursively (`details.useridentity.arn`) |
//! | `details.eventverb` | the leading word of `eventName` (`Describe`, `Put`, `Console`) |
//! | `details.eventreadonly` | `readOnly`; when the record has none, true for the verbs `Describe`, `Get`, `List`, `Head`, `Lookup`, `Search`, `Scan`, `Query` |
//! | `details.success` | false when the record has an `errorCode` or a `ConsoleLogin` failure, else true |
//! | `details.sourceipaddress` | `sourceIPAddress` when it is an IPv4/IPv6 address (canonical form) |
//! | `details.sourcehostname` | `sourceIPAddress` when it is anything else (`ec2.amazonaws.com`, `AWS Internal`) |
//!
//! ## Subtrees whose shape varies
//!
//! `requestParameters`, `responseElements`, `additionalEventData`, `serviceEventDetails`,
//! `insightDetails` and `edgeDeviceDetails` differ from one API to the next (the same key is a
//! string in one call and an object in another). Indexed as objects they would cause mapping
//! conflicts and a field explosion in OpenSearch; so, like MozDef, Tripline keeps each as **one
//! JSON string** in its lower-cased field (`details.requestparameters`), with the original keys and
//! values, searchable with wildcards (`*AllUsers*`) and query strings. A fixed list of well-known
//! scalar members is also copied into flat keyword fields named `<subtree>_<key>` (for example
//! `details.requestparameters_bucketname`, `details.additionaleventdata_mfaused`,
//! `details.responseelements_consolelogin`): see [`EXTRACTS`]. The list is fixed so the number of
//! fields in the index stays bounded.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tripline_event::Event;

use crate::keys::{canonical_ip, lower, lower_keys, parse_time, scalar_string};
use crate::ErrorKind;

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

const READ_VERBS: [&str; 8] = ["Describe", "Get", "List", "Head", "Lookup", "Search", "Scan", "Query"];

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

/// Normalize one CloudTrail record.
pub fn normalize(record: Value, received: DateTime<Utc>) -> Result<Event, ErrorKind> {
    let Value::Object(rec) = record else { return Err(ErrorKind::NotAnObject) };
    let time = match rec.get("eventTime") {
        Some(Value::String(s)) => {
            parse_time(s).ok_or_else(|| ErrorKind::BadTimestamp { field: "eventTime", value: s.clone() })?
        }
        _ => return Err(ErrorKind::MissingField("eventTime")),
    };
    let name = match rec.get("eventName") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(ErrorKind::MissingField("eventName")),
    };
    let service = match rec.get("eventSource") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(ErrorKind::MissingField("eventSource")),
    };
    let category = match rec.get("eventType") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => "cloudtrail".to_owned(),
    };
    let source_ip = rec.get("sourceIPAddress").and_then(scalar_string);
    let verb = event_verb(&name).to_owned();
    let read_only = match rec.get("readOnly") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => READ_VERBS.contains(&verb.as_str()),
    };
    let mut success = !matches!(rec.get("errorCode"), Some(v) if !v.is_null());

    let mut details = Map::with_capacity(rec.len() + 6);
    for (key, value) in rec {
        if key == "sourceIPAddress" {
            continue;
        }
        if let Some(raw) = RAW_SUBTREES.iter().find(|r| **r == key) {
            if let Value::Object(obj) = &value {
                extract(raw, obj, &mut details);
                if *raw == "responseElements"
                    && matches!(obj.get("ConsoleLogin"), Some(Value::String(s)) if s != "Success")
                {
                    success = false;
                }
            }
            let lk = lower(key);
            let text = if value.is_null() { Value::Null } else { Value::String(value.to_string()) };
            details.insert(lk, text);
            continue;
        }
        details.insert(lower(key), lower_keys(value));
    }
    let shown_ip = source_ip.clone().unwrap_or_else(|| "unknown".to_owned());
    if let Some(s) = source_ip {
        match canonical_ip(&s) {
            Some(ip) => details.insert("sourceipaddress".into(), Value::String(ip)),
            None => details.insert("sourcehostname".into(), Value::String(s)),
        };
    }
    details.insert("eventverb".into(), Value::String(verb));
    details.insert("eventreadonly".into(), Value::Bool(read_only));
    details.insert("success".into(), Value::Bool(success));

    let summary = format!("{shown_ip} performed {name} in {service}");
    let mut event = Event::new("cloudtrail", category, summary, time, received);
    event.event_type = "cloudtrail".into();
    event.hostname = service;
    event.details = details;
    Ok(event)
}

fn extract(raw: &str, obj: &Map<String, Value>, details: &mut Map<String, Value>) {
    let Some((_, keys)) = EXTRACTS.iter().find(|(r, _)| *r == raw) else { return };
    for key in keys.iter() {
        if let Some(s) = obj.get(*key).and_then(scalar_string) {
            details.insert(format!("{}_{}", raw.to_lowercase(), key.to_lowercase()), Value::String(s));
        }
    }
}
