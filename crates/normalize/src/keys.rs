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
    tripline_event::parse_timestamp(s).ok()
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

/// A JSON value deserialized with every object key lower-cased on the way in (one pass, no
/// rebuilt maps).
pub(crate) struct Lower(pub Value);

impl<'de> serde::Deserialize<'de> for Lower {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LowerVisitor).map(Lower)
    }
}

struct LowerVisitor;

impl<'de> serde::de::Visitor<'de> for LowerVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(LowerVisitor)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Lower(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let Lower(v) = map.next_value()?;
            out.insert(lower(k), v);
        }
        Ok(Value::Object(out))
    }
}
