//! The reference implementation: the record's top level borrowed as raw text
//! ([`TopLevel`]), then each member parsed on its own with `serde_json`. It defines what a
//! CloudTrail record becomes; the fast path ([`super::fast`]) must agree with it on every input.

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tripline_event::Event;

use super::mapping::{event_verb, minify, subtree_pairs, EXTRACTS, RAW_SUBTREES, READ_VERBS};
use crate::keys::{canonical_ip, lower, scalar_string, time_field, Lower};
use crate::ErrorKind;
use tripline_event::PAIRS_SUFFIX;

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

/// The plain implementation of [`normalize_json`]: the record's top level borrowed as raw text,
/// then each member parsed on its own. It defines the behaviour: the fast path returns an event
/// only when this one returns the same event, and defers to it for everything else (errors
/// included). Public for the differential tests and the fuzz target.
#[doc(hidden)]
pub fn normalize_json_reference(text: &str, received: DateTime<Utc>) -> Result<Event, ErrorKind> {
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
            Ok(s) => time_field("eventTime", s)?,
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
            let lower_key = key.to_lowercase();
            if let Some(pairs) = subtree_pairs(text) {
                details.insert(format!("{lower_key}{PAIRS_SUFFIX}"), Value::Array(pairs));
            }
            details.insert(lower_key, Value::String(minify(text)));
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

fn extract(raw: &str, obj: &Map<String, Value>, details: &mut Map<String, Value>) {
    let Some((_, keys)) = EXTRACTS.iter().find(|(r, _)| *r == raw) else { return };
    for key in keys.iter() {
        if let Some(s) = obj.get(*key).and_then(scalar_string) {
            details.insert(format!("{}_{}", raw.to_lowercase(), key.to_lowercase()), Value::String(s));
        }
    }
}
