//! The index mapping: how a JSON document becomes tantivy terms and columns.
//!
//! tantivy's schema is fixed when an index is created, while MozDef events carry `details.*` of
//! any shape. So every leaf of a document is written into a few fixed, typed fields as
//! `path \0 encoded value` terms (the path is the dotted field path, arrays contribute each
//! element under the same path):
//!
//! | leaf | field | term | used by |
//! |---|---|---|---|
//! | string (except `summary` and dates) | `_kw` | `path\0value`, exact | term, terms, wildcard, regex, keyword ranges |
//! | string that parses as a date | `_date` (not `_kw`: no wildcards on dates, as in OpenSearch) | `path\0` + 16 hex digits of the UTC instant (µs), order-preserving | date terms and ranges |
//! | string that parses as an IP | `_ip` | `path\0` + 32 hex digits of the IPv6(-mapped) address | subnets, IP terms and ranges |
//! | number | `_num` | `path\0` + 16 hex digits of the f64, order-preserving | numeric terms and ranges |
//! | boolean | `_bool` | `path\0true` / `path\0false` | boolean terms |
//! | any non-null leaf | `_exists` | `path` and each enclosing object path | exists |
//! | `summary` | `summary` | lower-cased word tokens with positions | text term, phrase, wildcard, regex |
//!
//! Because every encoding orders like its type, a range is a range of terms in the term
//! dictionary (tantivy's inverted-index range query), whatever the path. Dates and IPs are
//! *detected by value*: a string that parses as RFC 3339 (any offset; also `YYYY-MM-DDTHH:MM:SS`
//! without offset, and `YYYY-MM-DD`, both read as UTC) is also indexed as a date, and a string
//! that parses as an IPv4 or IPv6 address is also indexed as an IP. OpenSearch's template types
//! the MozDef fields (`utctimestamp`, `details.sourceipaddress`, ...) the same way, so both agree
//! on those; the embedded store additionally understands dates and IPs in any other field.
//!
//! For aggregations and sorting, the document (without `summary`) is also written to `_fast`, a
//! tantivy JSON fast field (columnar, one column per path and type; dates as date columns), and
//! `utctimestamp` / `receivedtimestamp` to the i64 fast fields `_utc` / `_recv` (µs), which also
//! serve the time window. The original document is stored in `_source`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value as Json;
use tantivy::schema::document::{ReferenceValue, ReferenceValueLeaf, Value};
use tantivy::schema::{
    Field, IndexRecordOption, JsonObjectOptions, NumericOptions, Schema, TextFieldIndexing, TextOptions,
    FAST, STORED,
};
use tantivy::tokenizer::{LowerCaser, SimpleTokenizer, TextAnalyzer};
use tantivy::{TantivyDocument, Term};

/// Separates the path from the value in a term.
pub(crate) const SEP: char = '\u{0}';

/// The analyzer of `summary`: word tokens (runs of letters and digits), lower-cased.
pub(crate) const TEXT_TOKENIZER: &str = "tripline_text";

/// The analyzer for `summary`, registered on every opened index.
pub(crate) fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser).build()
}

/// The tokens the analyzer makes of `text`.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    let mut analyzer = text_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    stream.process(&mut |t| out.push(t.text.clone()));
    out
}

/// The fields of the schema.
#[derive(Clone, Debug)]
pub(crate) struct Fields {
    pub uid: Field,
    pub kind: Field,
    pub index: Field,
    pub id: Field,
    pub source: Field,
    pub utc: Field,
    pub recv: Field,
    pub kw: Field,
    pub num: Field,
    pub date: Field,
    pub ip: Field,
    pub boolean: Field,
    pub exists: Field,
    pub text: Field,
}

/// Name of the JSON fast field (aggregations).
pub(crate) const FAST_JSON: &str = "_fast";
/// Name of the `utctimestamp` fast field (µs).
pub(crate) const UTC: &str = "_utc";
/// Name of the `receivedtimestamp` fast field (µs).
pub(crate) const RECV: &str = "_recv";
/// What a document is.
pub(crate) const KIND_EVENT: &str = "event";
/// What a document is.
pub(crate) const KIND_ALERT: &str = "alert";

/// The schema, and its fields.
pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let raw = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer("raw").set_index_option(IndexRecordOption::Basic),
    );
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TEXT_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        uid: b.add_text_field("_uid", raw.clone()),
        kind: b.add_text_field("_kind", raw.clone()),
        index: b.add_text_field("_index", raw.clone() | STORED),
        id: b.add_text_field("_id", STORED),
        source: b.add_text_field("_source", STORED),
        utc: b.add_i64_field(UTC, NumericOptions::from(FAST)),
        recv: b.add_i64_field(RECV, NumericOptions::from(FAST)),
        kw: b.add_text_field("_kw", raw.clone()),
        num: b.add_text_field("_num", raw.clone()),
        date: b.add_text_field("_date", raw.clone()),
        ip: b.add_text_field("_ip", raw.clone()),
        boolean: b.add_text_field("_bool", raw.clone()),
        exists: b.add_text_field("_exists", raw),
        text: b.add_text_field("summary", text),
    };
    b.add_json_field(FAST_JSON, JsonObjectOptions::from(FAST).set_expand_dots_enabled());
    (b.build(), fields)
}

/// Separates the index from the id in a document's unique key.
pub(crate) const UID_SEP: u8 = 0x1f;

/// The unique key of a document: its index and id.
pub(crate) fn uid(index: &str, id: &str) -> String {
    let mut s = String::with_capacity(index.len() + 1 + id.len());
    s.push_str(index);
    s.push(char::from(UID_SEP));
    s.push_str(id);
    s
}

/// `path\0value`.
pub(crate) fn term_text(path: &str, value: &str) -> String {
    let mut s = String::with_capacity(path.len() + 1 + value.len());
    s.push_str(path);
    s.push(SEP);
    s.push_str(value);
    s
}

/// A term of one of the `path\0value` fields.
pub(crate) fn term(field: Field, path: &str, value: &str) -> Term {
    Term::from_field_text(field, &term_text(path, value))
}

/// An f64 as 16 hex digits that sort like the numbers.
pub(crate) fn encode_num(x: f64) -> String {
    let mut s = String::with_capacity(16);
    write_num(&mut s, x);
    s
}

fn write_num(s: &mut String, x: f64) {
    let x = if x == 0.0 { 0.0 } else { x }; // -0.0 == 0.0
    let bits = x.to_bits();
    let key = if bits >> 63 == 1 { !bits } else { bits | (1 << 63) };
    let _ = write!(s, "{key:016x}");
}

/// The number back from [`encode_num`].
#[cfg(test)]
pub(crate) fn decode_num(hex: &str) -> Option<f64> {
    let key = u64::from_str_radix(hex, 16).ok()?;
    let bits = if key >> 63 == 1 { key & !(1 << 63) } else { !key };
    Some(f64::from_bits(bits))
}

/// An instant (µs since the epoch) as 16 hex digits that sort like the instants.
pub(crate) fn encode_date(micros: i64) -> String {
    let mut s = String::with_capacity(16);
    write_date(&mut s, micros);
    s
}

fn write_date(s: &mut String, micros: i64) {
    let _ = write!(s, "{:016x}", (micros as u64) ^ (1 << 63));
}

/// An IP address as 32 hex digits (IPv4 mapped into IPv6), sorting like the addresses.
pub(crate) fn encode_ip(ip: IpAddr) -> String {
    let mut s = String::with_capacity(32);
    write_ip(&mut s, ip);
    s
}

fn write_ip(s: &mut String, ip: IpAddr) {
    let v6: Ipv6Addr = match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    let _ = write!(s, "{:032x}", u128::from(v6));
}

/// A date in any of the accepted forms, as µs since the epoch (UTC).
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if b.len() == 10 {
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc).timestamp_micros());
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc().timestamp_micros())
}

/// An IP address, if the string is one.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    if s.len() > 45 || s.len() < 2 || !(s.contains('.') || s.contains(':')) {
        return None;
    }
    s.parse().ok()
}

/// Builds tantivy documents; keeps its buffers between documents.
pub(crate) struct DocBuilder<'a> {
    fields: &'a Fields,
    fast: Field,
    path: String,
    buf: String,
    /// The serialized source.
    source: Vec<u8>,
}

impl<'a> DocBuilder<'a> {
    pub(crate) fn new(fields: &'a Fields, schema: &Schema) -> Result<Self, String> {
        let fast = schema.get_field(FAST_JSON).map_err(|e| e.to_string())?;
        Ok(DocBuilder { fields, fast, path: String::new(), buf: String::new(), source: Vec::new() })
    }

    /// The document for `source` (a JSON object) stored as `kind` in `index` under `id`.
    pub(crate) fn build(
        &mut self,
        kind: &str,
        index: &str,
        id: &str,
        source: &Json,
    ) -> Result<TantivyDocument, String> {
        let Json::Object(obj) = source else {
            return Err("the document is not a JSON object".into());
        };
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.uid, uid(index, id));
        doc.add_text(f.kind, kind);
        doc.add_text(f.index, index);
        doc.add_text(f.id, id);
        self.source.clear();
        serde_json::to_writer(&mut self.source, source).map_err(|e| e.to_string())?;
        let text = std::str::from_utf8(&self.source).map_err(|e| e.to_string())?;
        doc.add_text(f.source, text);
        for (name, field) in [("utctimestamp", f.utc), ("receivedtimestamp", f.recv)] {
            if let Some(t) = obj.get(name).and_then(Json::as_str).and_then(parse_date) {
                doc.add_i64(field, t);
            }
        }
        self.path.clear();
        self.walk(&mut doc, source, 0)?;
        doc.add_field_value(self.fast, FastJson { value: source, top: true });
        Ok(doc)
    }

    /// Add the term `path\0<value>` to `field`, the value written by `value` (no allocation).
    fn add(&mut self, doc: &mut TantivyDocument, field: Field, value: impl FnOnce(&mut String)) {
        self.buf.clear();
        self.buf.push_str(&self.path);
        self.buf.push(SEP);
        value(&mut self.buf);
        doc.add_text(field, &self.buf);
    }

    /// Index every leaf under the current path; whether any non-null leaf was found.
    fn walk(&mut self, doc: &mut TantivyDocument, v: &Json, depth: usize) -> Result<bool, String> {
        if depth > 64 {
            return Err(format!("nested deeper than 64 levels at {}", self.path));
        }
        let f = self.fields;
        let found = match v {
            Json::Null => false,
            Json::Bool(b) => {
                self.add(doc, f.boolean, |s| s.push_str(if *b { "true" } else { "false" }));
                true
            }
            Json::Number(n) => {
                if let Some(x) = n.as_f64() {
                    self.add(doc, f.num, |s| write_num(s, x));
                }
                true
            }
            Json::String(text) => {
                if self.path == "summary" {
                    doc.add_text(f.text, text);
                } else if let Some(t) = parse_date(text) {
                    // Dates are dates: matched by instant, whatever the offset they were written with.
                    self.add(doc, f.date, |s| write_date(s, t));
                } else {
                    self.add(doc, f.kw, |s| s.push_str(text));
                    if let Some(ip) = parse_ip(text) {
                        self.add(doc, f.ip, |s| write_ip(s, ip));
                    }
                }
                true
            }
            Json::Array(items) => {
                // Arrays (of arrays) flatten, as in OpenSearch: each element under the same path.
                let mut any = false;
                for item in items {
                    any |= self.walk(doc, item, depth + 1)?;
                }
                return Ok(any);
            }
            Json::Object(m) => {
                let mut any = false;
                for (k, child) in m {
                    let len = self.path.len();
                    if !self.path.is_empty() {
                        self.path.push('.');
                    }
                    self.path.push_str(k);
                    any |= self.walk(doc, child, depth + 1)?;
                    self.path.truncate(len);
                }
                any
            }
        };
        if found && !self.path.is_empty() {
            doc.add_text(f.exists, &self.path);
        }
        Ok(found)
    }
}

/// A JSON value as tantivy reads it for `_fast`, borrowed (no copy of the document): date strings
/// are dates (so date columns can be bucketed), and the top level leaves out `summary`.
#[derive(Clone, Copy, Debug)]
struct FastJson<'a> {
    value: &'a Json,
    top: bool,
}

impl<'a> FastJson<'a> {
    fn child(value: &'a Json) -> Self {
        FastJson { value, top: false }
    }
}

/// The elements of an array in `_fast`.
#[derive(Debug)]
struct FastArray<'a>(std::slice::Iter<'a, Json>);

impl<'a> Iterator for FastArray<'a> {
    type Item = FastJson<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(FastJson::child)
    }
}

/// The members of an object in `_fast` (`summary` skipped at the top level).
#[derive(Debug)]
struct FastObject<'a> {
    members: serde_json::map::Iter<'a>,
    top: bool,
}

impl<'a> Iterator for FastObject<'a> {
    type Item = (&'a str, FastJson<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (k, v) = self.members.next()?;
            if !(self.top && k == "summary") {
                return Some((k.as_str(), FastJson::child(v)));
            }
        }
    }
}

impl<'a> Value<'a> for FastJson<'a> {
    type ArrayIter = FastArray<'a>;
    type ObjectIter = FastObject<'a>;

    fn as_value(&self) -> ReferenceValue<'a, Self> {
        let leaf = match self.value {
            Json::Null => ReferenceValueLeaf::Null,
            Json::Bool(b) => ReferenceValueLeaf::Bool(*b),
            Json::Number(n) => {
                if let Some(i) = n.as_i64() {
                    ReferenceValueLeaf::I64(i)
                } else if let Some(u) = n.as_u64() {
                    ReferenceValueLeaf::U64(u)
                } else {
                    ReferenceValueLeaf::F64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Json::String(s) => match parse_date(s) {
                Some(t) => ReferenceValueLeaf::Date(tantivy::DateTime::from_timestamp_micros(t)),
                None => ReferenceValueLeaf::Str(s),
            },
            Json::Array(a) => return ReferenceValue::Array(FastArray(a.iter())),
            Json::Object(m) => {
                return ReferenceValue::Object(FastObject { members: m.iter(), top: self.top })
            }
        };
        ReferenceValue::Leaf(leaf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_encode_in_order() {
        let xs = [-1e300, -5.5, -1.0, -0.0, 0.0, 1e-9, 1.0, 2.0, 22.0, 443.0, 1e18, f64::MAX];
        for w in xs.windows(2) {
            assert!(encode_num(w[0]) <= encode_num(w[1]), "{} vs {}", w[0], w[1]);
        }
        for x in xs {
            assert_eq!(decode_num(&encode_num(x)), Some(if x == 0.0 { 0.0 } else { x }));
        }
    }

    #[test]
    fn dates_honour_offsets_and_sort_by_time() {
        let a = parse_date("2026-11-23T12:00:00+02:00").unwrap();
        let b = parse_date("2026-11-23T10:00:00Z").unwrap();
        assert_eq!(a, b);
        let c = parse_date("2026-11-23T10:00:00.001Z").unwrap();
        assert!(encode_date(b) < encode_date(c));
        assert!(encode_date(-5) < encode_date(3));
        assert_eq!(parse_date("2026-11-23"), parse_date("2026-11-23T00:00:00Z"));
        assert_eq!(parse_date("not a date"), None);
        assert_eq!(parse_date("2026-13-45T00:00:00Z"), None);
    }

    #[test]
    fn ips_map_v4_into_v6_in_order() {
        let a = encode_ip(parse_ip("10.0.0.9").unwrap());
        let b = encode_ip(parse_ip("10.0.0.10").unwrap());
        assert!(a < b);
        assert_eq!(parse_ip("example.com"), None);
        assert!(parse_ip("2001:db8::1").is_some());
    }

    #[test]
    fn tokens_are_lower_cased_words() {
        assert_eq!(tokens("Failed LOGIN for user-1"), vec!["failed", "login", "for", "user", "1"]);
    }
}
