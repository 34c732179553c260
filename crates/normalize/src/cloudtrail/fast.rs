//! The fast path.
//!
//! One pass of serde_json over the record's text builds `details` directly: keys lower-cased as
//! they are read, the variable subtrees borrowed as raw text, nested maps' entries gathered on a
//! reused stack (each map allocated once, at its final size; `details` itself sized like the
//! previous record's), the fields the mapping needs (time, name, service, …) noted on the way. It returns an event only when the reference path
//! ([`super::normalize_json_reference`]) would return the very same event; whenever that path would fail
//! (or the record is not one the caller wants), it returns `None` and the caller takes the
//! reference path, so errors and their messages are the reference's own.
//!
//! Why the results are the same: the pass accepts no more than the reference (the same parser,
//! keys borrowed as the reference borrows them, every member parsed where the reference's first
//! step only checks it, under the same recursion limit counted from the record rather than from
//! the member); members go into `details` in the same order with the same keys and values; the
//! reference's lookups (`eventTime`, `eventName`, …) take the first member of that exact name, as
//! here; the variable subtrees are the same raw text, and their flat fields are picked as
//! serde_json's `Value` reads them. The differential tests (`tests/cloudtrail_fast.rs`) and the
//! fuzz target check this.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tripline_event::Event;

use super::mapping::{event_verb, minify, subtree_pairs, EXTRACTS, RAW_SUBTREES, READ_VERBS};
use crate::keys::{
    canonical_ip, lower_str, parse_time, scalar_string, LowerSeed, Scratch, Stack, Top, TopSeed,
};
use tripline_event::PAIRS_SUFFIX;

/// Lower-case names of [`RAW_SUBTREES`], same order.
const RAW_LOWER: [&str; 6] = [
    "requestparameters",
    "responseelements",
    "additionaleventdata",
    "serviceeventdetails",
    "insightdetails",
    "edgedevicedetails",
];

const SEEN_TIME: u8 = 1;
const SEEN_NAME: u8 = 2;
const SEEN_SOURCE: u8 = 4;
const SEEN_TYPE: u8 = 8;
const SEEN_READONLY: u8 = 16;
const SEEN_ERROR: u8 = 32;
const SEEN_VERSION: u8 = 64;
/// [`RAW_SUBTREES`]`[i]` is classified as `SUBTREE + i`.
const SUBTREE: u8 = 128;

/// What one pass over a record gathered.
#[derive(Default)]
struct Gathered<'de> {
    /// The record's members, in order, keys lower-cased (the subtrees as text).
    details: Map<String, Value>,
    /// Which of the looked-up members were present (their first occurrence decides).
    seen: u8,
    /// The first `eventTime`, when it is a string holding a valid time.
    time: Option<DateTime<Utc>>,
    /// The first `eventName`, `eventSource` and `eventType`, when strings.
    name: Option<Cow<'de, str>>,
    service: Option<Cow<'de, str>>,
    category: Option<Cow<'de, str>>,
    /// The first `readOnly`, interpreted.
    read_only: bool,
    /// The first `errorCode` is present and not null.
    error: bool,
    /// The last `sourceIPAddress`, when a scalar.
    source_ip: Option<Cow<'de, str>>,
    /// A `responseElements.ConsoleLogin` other than `Success`.
    login_failed: bool,
}

/// The fast path: `Some(event)` exactly when [`super::normalize_json_reference`] would return that
/// event (and, with `only_records`, when [`super::TopLevel::is_record`] holds); `None` otherwise.
/// `scratch` is reused between calls.
pub(crate) fn fast(
    bytes: &[u8],
    received: DateTime<Utc>,
    scratch: &mut Scratch,
    only_records: bool,
) -> Option<Event> {
    use serde::de::DeserializeSeed;

    let Scratch { stack, width } = scratch;
    stack.clear();
    // Checking the whole record at once is cheaper than string by string (the reference checks
    // the same bytes; invalid UTF-8 is left to it).
    let text = std::str::from_utf8(bytes).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    // Sized like the previous record's: CloudTrail records of one file are alike.
    let g = RecordSeed(stack, Map::with_capacity(*width)).deserialize(&mut de).ok()?;
    de.end().ok()?;

    let is_record = g.seen & SEEN_NAME != 0
        && g.seen & (SEEN_TIME | SEEN_VERSION) != 0
        && g.service.as_deref().is_some_and(|s| !s.starts_with("aws:"));
    if only_records && !is_record {
        return None;
    }
    let time = g.time?;
    let name = g.name?;
    let service = g.service?.into_owned();
    let category = match g.category {
        Some(c) if !c.is_empty() => c.into_owned(),
        _ => "cloudtrail".to_owned(),
    };
    let verb = event_verb(&name);
    let read_only = if g.seen & SEEN_READONLY != 0 { g.read_only } else { READ_VERBS.contains(&verb) };
    let success = !g.error && !g.login_failed;

    let details = g.details;
    // Bounded: one very wide record must not make every later event carry a huge map.
    *width = (details.len() + 4).min(64);
    Some(finish(details, g.source_ip, &name, verb, service, category, read_only, success, time, received))
}

/// The end of the fast path: the derived fields and the event, as the reference's end builds them.
#[allow(clippy::too_many_arguments)]
fn finish(
    mut details: Map<String, Value>,
    source_ip: Option<Cow<'_, str>>,
    name: &str,
    verb: &str,
    service: String,
    category: String,
    read_only: bool,
    success: bool,
    time: DateTime<Utc>,
    received: DateTime<Utc>,
) -> Event {
    let shown_ip = source_ip.as_deref().unwrap_or("unknown");
    let mut summary = String::with_capacity(shown_ip.len() + name.len() + service.len() + 15);
    summary.push_str(shown_ip);
    summary.push_str(" performed ");
    summary.push_str(name);
    summary.push_str(" in ");
    summary.push_str(&service);
    if let Some(s) = source_ip {
        match canonical_ip(&s) {
            Some(ip) => details.insert("sourceipaddress".into(), Value::String(ip)),
            None => details.insert("sourcehostname".into(), Value::String(s.into_owned())),
        };
    }
    details.insert("eventverb".into(), Value::String(verb.to_owned()));
    details.insert("eventreadonly".into(), Value::Bool(read_only));
    details.insert("success".into(), Value::Bool(success));

    // What `Event::new` gives, with the CloudTrail fields (the differential tests compare this
    // with the reference path, which calls `Event::new`).
    Event {
        utctimestamp: time,
        receivedtimestamp: received,
        timestamp: time,
        category,
        source: "cloudtrail".to_owned(),
        event_type: "cloudtrail".to_owned(),
        summary,
        hostname: service,
        processname: String::new(),
        processid: None,
        severity: "INFO".to_owned(),
        tags: Vec::new(),
        alert_names: Vec::new(),
        details,
    }
}

/// `sourceIPAddress` from its raw text, as the reference reads it (a string without escapes is
/// taken as it stands).
fn source_ip(raw: &str) -> Option<Cow<'_, str>> {
    let b = raw.as_bytes();
    if b.len() >= 2 && b[0] == b'"' && b[b.len() - 1] == b'"' && !b.contains(&b'\\') {
        return Some(Cow::Borrowed(&raw[1..raw.len() - 1]));
    }
    serde_json::from_str::<Value>(raw).ok().as_ref().and_then(scalar_string).map(Cow::Owned)
}

/// The record's top level, read in one pass.
struct RecordSeed<'s>(&'s mut Stack, Map<String, Value>);

impl<'de> serde::de::DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Gathered<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Gathered<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for RecordSeed<'_> {
    type Value = Gathered<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Gathered<'de>, A::Error> {
        let stack = self.0;
        let mut g = Gathered { details: self.1, ..Gathered::default() };
        // Keys borrowed, as the reference reads them (a key with escapes fails both).
        while let Some(key) = map.next_key::<&'de str>()? {
            // One match over the names that matter (the subtrees by their index).
            let bit = match key {
                "sourceIPAddress" => {
                    let raw: &'de RawValue = map.next_value()?;
                    g.source_ip = source_ip(raw.get());
                    continue;
                }
                "requestParameters" => SUBTREE,
                "responseElements" => SUBTREE + 1,
                "additionalEventData" => SUBTREE + 2,
                "serviceEventDetails" => SUBTREE + 3,
                "insightDetails" => SUBTREE + 4,
                "edgeDeviceDetails" => SUBTREE + 5,
                "eventTime" => SEEN_TIME,
                "eventName" => SEEN_NAME,
                "eventSource" => SEEN_SOURCE,
                "eventType" => SEEN_TYPE,
                "readOnly" => SEEN_READONLY,
                "errorCode" => SEEN_ERROR,
                "eventVersion" => SEEN_VERSION,
                _ => 0,
            };
            if bit >= SUBTREE {
                let raw: &'de RawValue = map.next_value()?;
                raw_subtree(usize::from(bit - SUBTREE), raw.get(), &mut g.details, &mut g.login_failed);
                continue;
            }
            let value = if bit == 0 || g.seen & bit != 0 || bit == SEEN_VERSION {
                g.seen |= bit;
                map.next_value_seed(LowerSeed(&mut *stack))?
            } else {
                g.seen |= bit;
                let top = map.next_value_seed(TopSeed(&mut *stack))?;
                match (bit, top) {
                    (SEEN_TIME, Top::Str(s)) => {
                        g.time = parse_time(&s);
                        Value::String(s.into_owned())
                    }
                    (SEEN_NAME, Top::Str(s)) => {
                        let v = Value::String(s.to_string());
                        g.name = Some(s);
                        v
                    }
                    (SEEN_SOURCE, Top::Str(s)) => {
                        let v = Value::String(s.to_string());
                        g.service = Some(s);
                        v
                    }
                    (SEEN_TYPE, Top::Str(s)) => {
                        let v = Value::String(s.to_string());
                        g.category = Some(s);
                        v
                    }
                    (SEEN_READONLY, top) => {
                        g.read_only = match &top {
                            Top::Other(Value::Bool(b)) => *b,
                            Top::Str(s) => s.eq_ignore_ascii_case("true"),
                            Top::Other(_) => false,
                        };
                        top.into_value()
                    }
                    (SEEN_ERROR, top) => {
                        g.error = !matches!(top, Top::Other(Value::Null));
                        top.into_value()
                    }
                    (_, top) => top.into_value(),
                }
            };
            g.details.insert(lower_str(key), value);
        }
        Ok(g)
    }
}

/// One of [`RAW_SUBTREES`] (index `i`) into `details`, as the reference does it:
/// `null` stays null; an object of a subtree with [`EXTRACTS`] gives its flat fields first; then
/// the text itself, whitespace between tokens removed.
fn raw_subtree(i: usize, text: &str, details: &mut Map<String, Value>, login_failed: &mut bool) {
    let (key, lower_key) = (RAW_SUBTREES[i], RAW_LOWER[i]);
    if text == "null" {
        details.insert(lower_key.to_owned(), Value::Null);
        return;
    }
    if let Some((_, keys)) = EXTRACTS.iter().find(|(r, _)| *r == key) {
        let mut found = [const { None }; MAX_PICKS];
        if text.starts_with('{') && pick(text, keys, &mut found) {
            for (k, v) in keys.iter().zip(&found) {
                if let Some(s) = v.as_ref().and_then(scalar_string) {
                    // `<subtree>_<key>`, both lower case (they are ASCII).
                    let mut name = String::with_capacity(lower_key.len() + 1 + k.len());
                    name.push_str(lower_key);
                    name.push('_');
                    name.extend(k.chars().map(|c| c.to_ascii_lowercase()));
                    details.insert(name, Value::String(s));
                }
            }
            if key == "responseElements" {
                let login = keys.iter().position(|k| *k == "ConsoleLogin").and_then(|j| found[j].as_ref());
                if matches!(login, Some(Value::String(s)) if s != "Success") {
                    *login_failed = true;
                }
            }
        }
    }
    if let Some(pairs) = subtree_pairs(text) {
        let mut name = String::with_capacity(lower_key.len() + PAIRS_SUFFIX.len());
        name.push_str(lower_key);
        name.push_str(PAIRS_SUFFIX);
        details.insert(name, Value::Array(pairs));
    }
    details.insert(lower_key.to_owned(), Value::String(minify(text)));
}

/// serde_json's marker key for raw values: `serde_json::Value` treats an object whose first key
/// is this specially, so where it appears [`pick`] leaves the work to `Value` itself.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// The most keys any subtree of [`EXTRACTS`] lists.
const MAX_PICKS: usize = 17;

/// The members `keys` of the JSON object `text` (the last of each name) into `found`, as
/// `serde_json::from_str::<Map<String, Value>>(text)` followed by lookups would give them; false
/// where that parse fails. The rest of the object is checked, not built.
fn pick(text: &str, keys: &[&str], found: &mut [Option<Value>; MAX_PICKS]) -> bool {
    use serde::de::DeserializeSeed;
    if keys.len() > MAX_PICKS {
        return false;
    }
    let mut token = false;
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = Pick { keys, found: &mut *found, token: &mut token };
    let ok = seed.deserialize(&mut de).and_then(|()| de.end()).is_ok();
    if token {
        // The exact way, rare.
        let Ok(obj) = serde_json::from_str::<Map<String, Value>>(text) else { return false };
        for (slot, k) in found.iter_mut().zip(keys) {
            *slot = obj.get(*k).cloned();
        }
        return true;
    }
    ok
}

struct Pick<'a> {
    keys: &'a [&'a str],
    found: &'a mut [Option<Value>; MAX_PICKS],
    token: &'a mut bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for Pick<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Pick<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(i) = map.next_key_seed(KeyIndex(self.keys))? {
            match i {
                Some(i) => self.found[i] = Some(map.next_value::<Value>()?),
                None => map.next_value_seed(Check { token: &mut *self.token })?,
            }
        }
        Ok(())
    }
}

/// A key's index in a list (`None` if absent), without allocating.
struct KeyIndex<'a>(&'a [&'a str]);

impl<'de> serde::de::DeserializeSeed<'de> for KeyIndex<'_> {
    type Value = Option<usize>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeyIndex<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|k| *k == v))
    }
}

/// A JSON value accepted exactly when `serde_json::Value` would accept it (same parser calls,
/// same recursion limit), without building it; sets `token` (and fails) on serde_json's raw
/// value marker key.
struct Check<'a> {
    token: &'a mut bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for Check<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Check<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Check { token: &mut *self.token })?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(is_token) = map.next_key_seed(IsToken)? {
            if is_token {
                *self.token = true;
                return Err(serde::de::Error::custom("raw value marker"));
            }
            map.next_value_seed(Check { token: &mut *self.token })?;
        }
        Ok(())
    }
}

/// Whether a key is [`RAW_VALUE_TOKEN`].
struct IsToken;

impl<'de> serde::de::DeserializeSeed<'de> for IsToken {
    type Value = bool;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for IsToken {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, v: &str) -> Result<bool, E> {
        Ok(v == RAW_VALUE_TOKEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_tables_agree_with_the_public_ones() {
        for (raw, lower) in RAW_SUBTREES.iter().zip(RAW_LOWER) {
            assert_eq!(raw.to_lowercase(), lower);
        }
        for (raw, keys) in EXTRACTS {
            assert!(RAW_SUBTREES.contains(&raw));
            assert!(keys.len() <= MAX_PICKS);
            assert!(keys.iter().all(|k| k.is_ascii()));
        }
    }
}
