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
//! JSON string** in its lower-cased field (`details.requestparameters`): the record's own text,
//! original keys and values, whitespace between tokens removed, searchable with wildcards (`*AllUsers*`) and query strings. A fixed list of well-known
//! scalar members is also copied into flat keyword fields named `<subtree>_<key>` (for example
//! `details.requestparameters_bucketname`, `details.additionaleventdata_mfaused`,
//! `details.responseelements_consolelogin`): see [`EXTRACTS`]. The list is fixed so the number of
//! fields in the index stays bounded.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tripline_event::Event;

use serde_json::value::RawValue;

use crate::keys::{canonical_ip, lower, parse_time, scalar_string, Lower};
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

/// A record's top-level members, borrowed from its JSON text and not yet parsed.
pub(crate) struct TopLevel<'a>(pub Vec<(&'a str, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(24);
                while let Some(k) = map.next_key::<&'de str>()? {
                    out.push((k, map.next_value::<&'de RawValue>()?));
                }
                Ok(TopLevel(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> TopLevel<'a> {
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn string(&self, key: &str) -> Option<String> {
        self.get(key).and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    }

    /// [`is_record`] without parsing anything but `eventSource`.
    pub(crate) fn is_record(&self) -> bool {
        self.get("eventName").is_some()
            && (self.get("eventTime").is_some() || self.get("eventVersion").is_some())
            && self.string("eventSource").is_some_and(|s| !s.starts_with("aws:"))
    }
}

/// Normalize one CloudTrail record.
pub fn normalize(record: Value, received: DateTime<Utc>) -> Result<Event, ErrorKind> {
    if !record.is_object() {
        return Err(ErrorKind::NotAnObject);
    }
    normalize_json(&record.to_string(), received)
}

/// Normalize one CloudTrail record from its JSON text (the fast path: the record is parsed once,
/// keys lower-cased on the way in, the variable subtrees copied as text).
pub fn normalize_json(text: &str, received: DateTime<Utc>) -> Result<Event, ErrorKind> {
    let top: TopLevel<'_> = serde_json::from_str(text).map_err(|e| {
        if e.is_data() && text.trim_start().starts_with('{') {
            ErrorKind::Json(format!("{e} (keys with escapes are not supported)"))
        } else if e.is_data() {
            ErrorKind::NotAnObject
        } else {
            ErrorKind::Json(e.to_string())
        }
    })?;
    normalize_top(&top, received)
}

pub(crate) fn normalize_top(rec: &TopLevel<'_>, received: DateTime<Utc>) -> Result<Event, ErrorKind> {
    let time = match rec.get("eventTime") {
        None => return Err(ErrorKind::MissingField("eventTime")),
        Some(raw) => match serde_json::from_str::<String>(raw.get()) {
            Ok(s) => parse_time(&s).ok_or(ErrorKind::BadTimestamp { field: "eventTime", value: s })?,
            Err(_) => return Err(ErrorKind::MissingField("eventTime")),
        },
    };
    let name = rec.string("eventName").ok_or(ErrorKind::MissingField("eventName"))?;
    let service = rec.string("eventSource").ok_or(ErrorKind::MissingField("eventSource"))?;
    let category =
        rec.string("eventType").filter(|s| !s.is_empty()).unwrap_or_else(|| "cloudtrail".to_owned());
    let verb = event_verb(&name).to_owned();
    let read_only = match rec.get("readOnly").map(|r| r.get()) {
        Some("true") => true,
        Some("false") => false,
        Some(other) => serde_json::from_str::<String>(other).is_ok_and(|s| s.eq_ignore_ascii_case("true")),
        None => READ_VERBS.contains(&verb.as_str()),
    };
    let mut success = !matches!(rec.get("errorCode").map(|r| r.get()), Some(v) if v != "null");
    let mut source_ip = None;

    let mut details = Map::with_capacity(rec.0.len() + 6);
    for (key, raw) in &rec.0 {
        let key = *key;
        if key == "sourceIPAddress" {
            source_ip = serde_json::from_str::<Value>(raw.get()).ok().as_ref().and_then(scalar_string);
            continue;
        }
        if let Some(subtree) = RAW_SUBTREES.iter().find(|r| **r == key) {
            let text = raw.get();
            if text == "null" {
                details.insert(key.to_lowercase(), Value::Null);
                continue;
            }
            if EXTRACTS.iter().any(|(r, _)| r == subtree) && text.starts_with('{') {
                if let Ok(obj) = serde_json::from_str::<Map<String, Value>>(text) {
                    extract(subtree, &obj, &mut details);
                    if *subtree == "responseElements"
                        && matches!(obj.get("ConsoleLogin"), Some(Value::String(s)) if s != "Success")
                    {
                        success = false;
                    }
                }
            }
            details.insert(key.to_lowercase(), Value::String(minify(text)));
            continue;
        }
        let value = serde_json::from_str::<Lower>(raw.get()).map_err(|e| ErrorKind::Json(e.to_string()))?.0;
        details.insert(lower(key.to_owned()), value);
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

/// JSON text without the whitespace between tokens (strings untouched).
fn minify(text: &str) -> String {
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

fn extract(raw: &str, obj: &Map<String, Value>, details: &mut Map<String, Value>) {
    let Some((_, keys)) = EXTRACTS.iter().find(|(r, _)| *r == raw) else { return };
    for key in keys.iter() {
        if let Some(s) = obj.get(*key).and_then(scalar_string) {
            details.insert(format!("{}_{}", raw.to_lowercase(), key.to_lowercase()), Value::String(s));
        }
    }
}
