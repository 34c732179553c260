//! # tripline-event: the one record shape every Tripline crate shares
//!
//! MozDef turned every log source into one event format: a few top-level fields that every
//! detection can rely on (`category`, `source`, `summary`, `utctimestamp`, ...) and the source's own
//! fields under `details`, with lower-case keys. Tripline keeps that format so that MozDef alerts,
//! dashboards and muscle memory carry over, and adds `alert_names` (the alerts an event already
//! raised, so the next run leaves it out).
//!
//! Alerts ([`AlertRecord`]) keep MozDef's alert format: summary, category, severity, tags and
//! references to the events that raised them.
//!
//! Identifiers are deterministic: an event's id is a hash of what it says (not of when it was
//! ingested), and an alert's id a hash of its name and the events behind it. Ingesting a file twice,
//! or retrying an alert run, therefore never duplicates anything.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// MozDef severities, upper case as MozDef writes them.
pub const SEVERITIES: [&str; 5] = ["DEBUG", "INFO", "NOTICE", "WARNING", "CRITICAL"];

/// A MozDef-format event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened (from the record), UTC.
    #[serde(with = "ts")]
    pub utctimestamp: DateTime<Utc>,
    /// When Tripline received it, UTC.
    #[serde(with = "ts")]
    pub receivedtimestamp: DateTime<Utc>,
    /// MozDef keeps a local-time copy; Tripline writes UTC here too.
    #[serde(with = "ts")]
    pub timestamp: DateTime<Utc>,
    /// What kind of event: `AwsApiCall`, `vpc-flow`, `guardduty`, ...
    pub category: String,
    /// Where it came from: `cloudtrail`, `vpc_flow`, `guardduty`.
    pub source: String,
    /// MozDef's record type, normally `event`.
    #[serde(rename = "type", default = "event_type")]
    pub event_type: String,
    /// One line a person can read.
    pub summary: String,
    /// The host (or AWS service) the event is about.
    #[serde(default)]
    pub hostname: String,
    /// The process that logged it.
    #[serde(default)]
    pub processname: String,
    /// Its process id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processid: Option<u64>,
    /// One of [`SEVERITIES`].
    #[serde(default = "info")]
    pub severity: String,
    /// Free-form tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The alerts this event already raised.
    #[serde(default)]
    pub alert_names: Vec<String>,
    /// The source's own fields, lower-case keys.
    #[serde(default)]
    pub details: Map<String, Value>,
}

fn event_type() -> String {
    "event".into()
}
fn info() -> String {
    "INFO".into()
}

impl Event {
    /// A new event with the given basics; the rest is left empty (`INFO`, type `event`).
    pub fn new(
        source: impl Into<String>,
        category: impl Into<String>,
        summary: impl Into<String>,
        utctimestamp: DateTime<Utc>,
        receivedtimestamp: DateTime<Utc>,
    ) -> Self {
        Event {
            utctimestamp,
            receivedtimestamp,
            timestamp: utctimestamp,
            category: category.into(),
            source: source.into(),
            event_type: event_type(),
            summary: summary.into(),
            hostname: String::new(),
            processname: String::new(),
            processid: None,
            severity: info(),
            tags: Vec::new(),
            alert_names: Vec::new(),
            details: Map::new(),
        }
    }

    /// The deterministic id: a hash of the source, the time and the details (not of when the event
    /// was received), so the same record ingested twice is stored once.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.source.as_bytes());
        h.update([0]);
        h.update(format_timestamp(self.utctimestamp).as_bytes());
        h.update([0]);
        h.update(self.summary.as_bytes());
        h.update([0]);
        // serde_json writes maps in insertion order; hashing a sorted copy keeps the id independent
        // of the order the normalizer inserted keys in.
        hash_sorted_map(&mut h, &self.details);
        short_hex(h)
    }

    /// The top-level string fields and their values, `summary` first (the one analyzed as text;
    /// the others are keywords): what a store walks besides the timestamps, lists and `details`.
    pub fn top_level_strings(&self) -> [(&'static str, &str); 7] {
        [
            ("summary", &self.summary),
            ("category", &self.category),
            ("source", &self.source),
            ("type", &self.event_type),
            ("hostname", &self.hostname),
            ("processname", &self.processname),
            ("severity", &self.severity),
        ]
    }

    /// The event as a JSON document, the shape stores index.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// A field by dotted path (`details.useridentity.arn`).
    pub fn get(&self, path: &str) -> Option<Value> {
        lookup(&self.to_json(), path).cloned()
    }
}

fn hash_sorted_map(h: &mut Sha256, m: &Map<String, Value>) {
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    entries.sort_unstable_by_key(|(k, _)| *k);
    h.update(b"{");
    for (k, v) in entries {
        h.update(k.as_bytes());
        h.update(b":");
        hash_sorted(h, v);
        h.update(b",");
    }
    h.update(b"}");
}

fn hash_sorted(h: &mut Sha256, v: &Value) {
    match v {
        Value::Object(m) => hash_sorted_map(h, m),
        Value::Array(a) => {
            h.update(b"[");
            for x in a {
                hash_sorted(h, x);
                h.update(b",");
            }
            h.update(b"]");
        }
        // The scalar's compact JSON (what `to_string` makes), written straight into the hash.
        // Serializing a scalar into a writer that never fails cannot fail.
        other => {
            let _ = serde_json::to_writer(HashWriter(h), other);
        }
    }
}

/// Feeds what is written into a hash (writing cannot fail).
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn short_hex(h: Sha256) -> String {
    let digest = h.finalize();
    hex::encode(&digest[..16])
}

/// The value of `key` in a JSON object, in any letter case, the exact spelling first
/// (CloudTrail and GuardDuty spell some keys differently across services and versions).
pub fn get_ci<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// A value inside a JSON document by dotted path. Keys may themselves contain dots: the longest
/// key that matches wins (`details` → `{"a.b": 1}` is found by `details.a.b`).
pub fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(doc);
    }
    let obj = doc.as_object()?;
    if let Some(v) = obj.get(path) {
        return Some(v);
    }
    let mut split = path.len();
    while let Some(i) = path[..split].rfind('.') {
        if let Some(v) = obj.get(&path[..i]) {
            if let Some(found) = lookup(v, &path[i + 1..]) {
                return Some(found);
            }
        }
        split = i;
    }
    None
}

/// A reference from an alert to one stored event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRef {
    /// The index the event is stored in.
    pub documentindex: String,
    /// The event's id.
    pub documentid: String,
    /// The event itself, as stored (MozDef keeps a copy in the alert).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub documentsource: Value,
}

/// A MozDef-format alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// Deterministic id (see [`AlertRecord::compute_id`]).
    pub id: String,
    /// When the alert was raised: the clock of the run, so a rerun yields the same alert.
    #[serde(with = "ts")]
    pub utctimestamp: DateTime<Utc>,
    /// One of [`SEVERITIES`].
    pub severity: String,
    /// One line a responder can act on.
    pub summary: String,
    /// Alert category (`recon`, `access`, `exfiltration`, ...).
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The events behind the alert.
    pub events: Vec<EventRef>,
    /// The alert (detection) that raised it.
    pub classname: String,
    /// A runbook link.
    #[serde(default)]
    pub url: String,
    /// Whether people should be notified.
    #[serde(default = "yes")]
    pub notify: bool,
    /// Extra fields the detection adds (the aggregation value, the resource at fault, ...).
    #[serde(default)]
    pub details: Map<String, Value>,
}

fn yes() -> bool {
    true
}

impl AlertRecord {
    /// The id for an alert from `classname` over these events, with this distinguishing key (the
    /// aggregation value, or empty): the same inputs give the same id, whatever the order of events.
    pub fn compute_id(classname: &str, key: &str, events: &[EventRef]) -> String {
        let mut ids: Vec<(&str, &str)> =
            events.iter().map(|e| (e.documentindex.as_str(), e.documentid.as_str())).collect();
        ids.sort_unstable();
        let mut h = Sha256::new();
        h.update(classname.as_bytes());
        h.update([0]);
        h.update(key.as_bytes());
        for (index, id) in ids {
            h.update([0]);
            h.update(index.as_bytes());
            h.update([1]);
            h.update(id.as_bytes());
        }
        short_hex(h)
    }

    /// The alert as a JSON document.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// RFC 3339 in UTC with milliseconds (`2026-11-23T12:00:00.000Z`).
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// How a subtree's pairs field is named: `details.<subtree lower-cased>` + this
/// (`details.requestparameters_pairs`). Such a field is a keyword array of `path=value`
/// strings, one per scalar leaf of the subtree (see `tripline-normalize`'s CloudTrail docs):
/// in the path, `\`, `.` and `=` inside a key are escaped with a backslash, so the first
/// unescaped `=` ends the path.
pub const PAIRS_SUFFIX: &str = "_pairs";

/// The element a pairs field ([`PAIRS_SUFFIX`]) ends with when some of the subtree's leaves
/// were left out (too many, or too much text: hostile input). It is not a pair (it has no
/// unescaped `=`); the stores list the field in the event's `unindexed` paths, as they do for
/// a value too long to index, so a search on the field reports the event as one it may have
/// missed.
pub const PAIRS_TRUNCATED: &str = "(leaves left out: more than the pairs field holds)";

/// The earliest instant Tripline stores: 1678-01-01T00:00:00Z.
///
/// Both stores hold instants in `[TIMESTAMP_MIN, TIMESTAMP_MAX]`: the embedded store's engine
/// (tantivy) counts time in i64 nanoseconds, which ends in 1677 and 2262; OpenSearch's `date`
/// reaches further, and the range is the same on both so that they give the same answers. A
/// record whose own time lies outside is refused (an error naming the record), never stored
/// with a wrong date; in fields the mapping does not type as dates, a date-looking string is
/// just a string.
pub const TIMESTAMP_MIN: &str = "1678-01-01T00:00:00Z";
/// The latest instant Tripline stores: 2261-12-31T23:59:59.999Z (see [`TIMESTAMP_MIN`]).
pub const TIMESTAMP_MAX: &str = "2261-12-31T23:59:59.999Z";

/// [`TIMESTAMP_MIN`] in milliseconds since the epoch.
pub const TIMESTAMP_MIN_MILLIS: i64 = -9_214_560_000_000;
/// [`TIMESTAMP_MAX`] in milliseconds since the epoch.
pub const TIMESTAMP_MAX_MILLIS: i64 = 9_214_646_399_999;

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not RFC 3339.
    #[error("not an RFC 3339 timestamp: {0}")]
    Syntax(#[from] chrono::ParseError),
    /// A valid instant outside what the stores hold.
    #[error("{0} is outside the range Tripline stores ({TIMESTAMP_MIN} to {TIMESTAMP_MAX})")]
    OutOfRange(String),
}

/// Whether `t` lies in `[TIMESTAMP_MIN, TIMESTAMP_MAX]`.
pub fn in_range(t: DateTime<Utc>) -> bool {
    (TIMESTAMP_MIN_MILLIS..=TIMESTAMP_MAX_MILLIS).contains(&t.timestamp_millis())
}

/// `t` if it lies in the stored range, else [`TimestampError::OutOfRange`].
pub fn check_timestamp(t: DateTime<Utc>) -> Result<DateTime<Utc>, TimestampError> {
    if in_range(t) {
        Ok(t)
    } else {
        Err(TimestampError::OutOfRange(format_timestamp(t)))
    }
}

/// Parse an RFC 3339 timestamp with any offset (surrounding whitespace ignored), into UTC; an
/// instant outside [`TIMESTAMP_MIN`]..=[`TIMESTAMP_MAX`] is refused.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, TimestampError> {
    let t = DateTime::parse_from_rfc3339(text.trim())?.with_timezone(&Utc);
    check_timestamp(t)
}

/// Serde helpers for timestamps in Tripline's RFC 3339 form.
pub mod ts {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize as RFC 3339 UTC with milliseconds.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_timestamp(*t))
    }

    /// Deserialize RFC 3339 with any offset.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_timestamp(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn timestamps_outside_the_stored_range_are_refused() {
        assert_eq!(parse_timestamp(TIMESTAMP_MIN).unwrap().timestamp_millis(), TIMESTAMP_MIN_MILLIS);
        assert_eq!(parse_timestamp(TIMESTAMP_MAX).unwrap().timestamp_millis(), TIMESTAMP_MAX_MILLIS);
        for bad in
            ["9999-01-01T00:00:00Z", "1600-01-01T00:00:00Z", "2262-01-01T00:00:00Z", "1677-12-31T23:59:59Z"]
        {
            assert!(matches!(parse_timestamp(bad), Err(TimestampError::OutOfRange(_))), "{bad}");
        }
        assert!(matches!(parse_timestamp("yesterday"), Err(TimestampError::Syntax(_))));
        // An alert or event read back with such a time is refused too.
        let e: Result<Event, _> = serde_json::from_value(json!({"utctimestamp": "9999-01-01T00:00:00Z",
            "receivedtimestamp": "2026-01-01T00:00:00Z", "timestamp": "2026-01-01T00:00:00Z",
            "category": "c", "source": "s", "summary": ""}));
        assert!(e.unwrap_err().to_string().contains("outside the range"));
    }

    #[test]
    fn id_ignores_received_time_and_key_order() {
        let mut a =
            Event::new("cloudtrail", "AwsApiCall", "x", t("2026-11-23T10:00:00Z"), t("2026-11-23T10:05:00Z"));
        a.details.insert("a".into(), json!(1));
        a.details.insert("b".into(), json!({"y": 2, "x": 1}));
        let mut b = a.clone();
        b.receivedtimestamp = t("2026-11-24T00:00:00Z");
        b.details = serde_json::from_value(json!({"b": {"x": 1, "y": 2}, "a": 1})).unwrap();
        assert_eq!(a.id(), b.id());
        b.details.insert("a".into(), json!(2));
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id().len(), 32);
    }

    /// Ids are stored: a change to how they are computed would make every event ingested again
    /// after an upgrade a duplicate of itself. This pins the id of an event with every kind of
    /// value (nested objects, arrays, numbers, escapes, non-ASCII).
    #[test]
    fn ids_are_stable_across_versions() {
        let mut e = Event::new(
            "cloudtrail",
            "AwsApiCall",
            "Ünïcode \"quoted\" summary",
            t("2026-11-23T10:00:00.123+02:00"),
            t("2026-11-23T10:05:00Z"),
        );
        e.details = serde_json::from_value(json!({
            "z": "last", "a": 1, "neg": -7, "big": u64::MAX, "f": 0.5, "e": 1e300, "t": true, "n": null,
            "esc": "tab\tnew\nline \u{1} \\ / é 日本",
            "nested": {"y": [1, "two", {"k": false}, []], "x": {}},
        }))
        .unwrap();
        assert_eq!(e.id(), "6b3e2727e0463a61d5bd46f0a1ec487c");
    }

    #[test]
    fn json_round_trip_keeps_mozdef_names() {
        let e = Event::new(
            "vpc_flow",
            "vpc-flow",
            "s",
            t("2026-11-23T10:00:00+01:00"),
            t("2026-11-23T10:00:00Z"),
        );
        let j = e.to_json();
        assert_eq!(j["type"], "event");
        assert_eq!(j["utctimestamp"], "2026-11-23T09:00:00.000Z");
        assert_eq!(j["severity"], "INFO");
        let back: Event = serde_json::from_value(j).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn lookup_walks_dotted_paths_and_dotted_keys() {
        let doc = json!({"details": {"useridentity": {"arn": "a"}, "x.y": 3}});
        assert_eq!(lookup(&doc, "details.useridentity.arn"), Some(&json!("a")));
        assert_eq!(lookup(&doc, "details.x.y"), Some(&json!(3)));
        assert_eq!(lookup(&doc, "details.nope"), None);
    }

    #[test]
    fn alert_id_is_order_independent() {
        let r = |i: &str| EventRef {
            documentindex: "events".into(),
            documentid: i.into(),
            documentsource: Value::Null,
        };
        let a = AlertRecord::compute_id("describe", "arn:x", &[r("1"), r("2")]);
        assert_eq!(a, AlertRecord::compute_id("describe", "arn:x", &[r("2"), r("1")]));
        assert_ne!(a, AlertRecord::compute_id("describe", "arn:y", &[r("2"), r("1")]));
    }
}
