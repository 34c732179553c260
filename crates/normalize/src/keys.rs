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

/// An RFC 3339 timestamp (any offset) in UTC, within the range the stores hold.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    tripline_event::parse_timestamp(s).ok()
}

/// [`parse_time`] for a record's time field, with the reason when it fails: not a timestamp
/// ([`ErrorKind::BadTimestamp`]) or a valid one outside the stored range
/// ([`ErrorKind::TimestampOutOfRange`]).
pub(crate) fn time_field(field: &'static str, s: String) -> Result<DateTime<Utc>, crate::ErrorKind> {
    match tripline_event::parse_timestamp(&s) {
        Ok(t) => Ok(t),
        Err(tripline_event::TimestampError::OutOfRange(_)) => {
            Err(crate::ErrorKind::TimestampOutOfRange { field, value: s })
        }
        Err(_) => Err(crate::ErrorKind::BadTimestamp { field, value: s }),
    }
}

/// An IPv4 or IPv6 address in canonical text form, or `None` for anything else (a hostname,
/// `AWS Internal`, an empty string).
pub fn canonical_ip(s: &str) -> Option<String> {
    match s.trim().parse::<IpAddr>().ok()? {
        // What `Display` writes, without the formatting machinery (this runs once per record).
        IpAddr::V4(ip) => {
            let mut out = String::with_capacity(15);
            for (i, o) in ip.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if o >= 100 {
                    out.push(char::from(b'0' + o / 100));
                }
                if o >= 10 {
                    out.push(char::from(b'0' + o / 10 % 10));
                }
                out.push(char::from(b'0' + o % 10));
            }
            Some(out)
        }
        ip => Some(ip.to_string()),
    }
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

// A key looked up case-insensitively (`accountId`, `AccountId` and `accountid` alike).
pub use tripline_event::get_ci;

/// A JSON value deserialized with every object key lower-cased on the way in (one pass, no
/// rebuilt maps).
pub(crate) struct Lower(pub Value);

impl<'de> serde::Deserialize<'de> for Lower {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LowerVisitor).map(Lower)
    }
}

/// The scalar `visit_*` methods of a visitor whose `Value` is a JSON value: leaves are kept as
/// they are (keys are what the visitors below lower-case).
macro_rules! scalar_visits {
    () => {
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
    };
}

struct LowerVisitor;

impl<'de> serde::de::Visitor<'de> for LowerVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    scalar_visits!();
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

/// [`lower`] for a borrowed key: the key in lower case, in one allocation.
#[inline]
pub(crate) fn lower_str(k: &str) -> String {
    if k.is_ascii() {
        k.to_ascii_lowercase()
    } else {
        k.to_lowercase()
    }
}

/// Map entries being built, shared by every level of one parse: a map's members are pushed above
/// its parent's and moved into the map (sized exactly) when it closes.
pub(crate) type Stack = Vec<(String, Value)>;

/// What the CloudTrail fast path reuses from one record to the next.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Map entries being built.
    pub stack: Stack,
    /// How many entries the last record's `details` had (and a few more): the next one is sized so.
    pub width: usize,
}

/// [`Lower`] as a seed that reuses a [`Stack`]: the same values, fewer allocations (each map is
/// allocated once at its final size).
pub(crate) struct LowerSeed<'s>(pub &'s mut Stack);

impl<'de> serde::de::DeserializeSeed<'de> for LowerSeed<'_> {
    type Value = Value;
    #[inline]
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for LowerSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    scalar_visits!();
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        build_seq(self.0, seq)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        build_map(self.0, map)
    }
}

fn build_seq<'de, A: serde::de::SeqAccess<'de>>(stack: &mut Stack, mut seq: A) -> Result<Value, A::Error> {
    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
    while let Some(v) = seq.next_element_seed(LowerSeed(stack))? {
        out.push(v);
    }
    Ok(Value::Array(out))
}

fn build_map<'de, A: serde::de::MapAccess<'de>>(stack: &mut Stack, mut map: A) -> Result<Value, A::Error> {
    let start = stack.len();
    while let Some(k) = map.next_key_seed(LowerKey)? {
        let v = map.next_value_seed(LowerSeed(stack))?;
        stack.push((k, v));
    }
    let mut out = Map::with_capacity(stack.len() - start);
    for (k, v) in stack.drain(start..) {
        out.insert(k, v);
    }
    Ok(Value::Object(out))
}

/// An object key, lower-cased as it is read.
struct LowerKey;

impl<'de> serde::de::DeserializeSeed<'de> for LowerKey {
    type Value = String;
    #[inline]
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for LowerKey {
    type Value = String;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(lower_str(v))
    }
    fn visit_string<E>(self, v: String) -> Result<String, E> {
        Ok(lower(v))
    }
}

/// A top-level member: a string kept borrowed when it can be, anything else as a [`LowerSeed`]
/// value.
pub(crate) enum Top<'de> {
    /// A JSON string.
    Str(std::borrow::Cow<'de, str>),
    /// Any other JSON value, keys lower-cased.
    Other(Value),
}

impl Top<'_> {
    /// The value as it goes into `details`.
    pub(crate) fn into_value(self) -> Value {
        match self {
            Top::Str(s) => Value::String(s.into_owned()),
            Top::Other(v) => v,
        }
    }
}

pub(crate) struct TopSeed<'s>(pub &'s mut Stack);

impl<'de> serde::de::DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Top<'de>;
    #[inline]
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Top<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TopSeed<'_> {
    type Value = Top<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Top<'de>, E> {
        Ok(Top::Other(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Top<'de>, E> {
        Ok(Top::Other(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Top<'de>, E> {
        Ok(Top::Other(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Top<'de>, E> {
        Ok(Top::Other(serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null)))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Top<'de>, E> {
        Ok(Top::Str(std::borrow::Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Top<'de>, E> {
        Ok(Top::Str(std::borrow::Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Top<'de>, E> {
        Ok(Top::Str(std::borrow::Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Top<'de>, E> {
        Ok(Top::Other(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Top<'de>, E> {
        Ok(Top::Other(Value::Null))
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Top<'de>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Top<'de>, A::Error> {
        build_seq(self.0, seq).map(Top::Other)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Top<'de>, A::Error> {
        build_map(self.0, map).map(Top::Other)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ipv4_is_what_display_writes() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let ip = std::net::Ipv4Addr::new(a, b, b, a);
                assert_eq!(canonical_ip(&format!(" {ip} ")), Some(ip.to_string()));
            }
        }
        assert_eq!(canonical_ip("::ffff:10.0.0.1"), Some("::ffff:10.0.0.1".to_owned()));
        assert_eq!(canonical_ip("2001:DB8::0:1"), Some("2001:db8::1".to_owned()));
        assert_eq!(canonical_ip("ec2.amazonaws.com"), None);
    }

    #[test]
    fn lower_str_matches_lower() {
        for k in ["", "eventName", "already", "ÉVÉNEMENT", "x-Amz-Id", "İstanbul", "ß", "MFAUsed"] {
            assert_eq!(lower_str(k), lower(k.to_owned()), "{k}");
        }
    }
}
