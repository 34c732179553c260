//! Helpers shared by the normalizers: lower-case keys, timestamps, addresses.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Lower-case every object key, recursively (MozDef's `details` convention). Keys already in lower
/// case are moved, not copied.
pub fn lower_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(lower_map(m)),
        Value::Array(a) => Value::Array(a.into_iter().map(lower_keys).collect()),
        other => other,
    }
}

/// [`lower_keys`] for a map.
pub fn lower_map(m: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::with_capacity(m.len());
    for (k, v) in m {
        out.insert(lower(k), lower_keys(v));
    }
    out
}

/// One key in lower case.
#[inline]
pub fn lower(k: String) -> String {
    if k.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        k.to_lowercase()
    } else {
        k
    }
}

/// An RFC 3339 timestamp (any offset) in UTC.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim()).ok().map(|t| t.with_timezone(&Utc))
}

/// An IPv4 or IPv6 address in canonical text form, or `None` for anything else (a hostname,
/// `AWS Internal`, an empty string).
pub fn canonical_ip(s: &str) -> Option<String> {
    s.trim().parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

/// A scalar as a string (numbers and booleans in their JSON form); `None` for null, arrays and
/// objects.
pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A key looked up case-insensitively (`accountId`, `AccountId` and `accountid` alike).
pub fn get_ci<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}
