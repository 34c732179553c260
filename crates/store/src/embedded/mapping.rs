//! The index mapping: how a JSON document becomes tantivy terms and columns.
//!
//! tantivy's schema is fixed when an index is created, while MozDef events carry `details.*` of
//! any shape. So every leaf of a document is written into a few fixed, typed fields as
//! `path \0 encoded value` terms (the path is the dotted field path, arrays contribute each
//! element under the same path):
//!
//! | leaf | field | term | used by |
//! |---|---|---|---|
//! | string (except `summary` and the date fields) | `_kw` | `path\0value`, exact | term, terms, wildcard, regex, keyword ranges |
//! | string of a date field ([`DATE_FIELDS`](tripline_dsl::DATE_FIELDS)) | `_date` (not `_kw`: no wildcards on dates, as in OpenSearch) | `path\0` + 16 hex digits of the UTC instant (µs, whole milliseconds as in OpenSearch), order-preserving | date terms and ranges (except the window fields, below) |
//! | string that parses as an IP | `_ip` | `path\0` + 32 hex digits of the IPv6(-mapped) address | subnets, IP terms and ranges |
//! | number | `_num` | `path\0` + 16 hex digits of the f64, order-preserving | numeric terms and ranges |
//! | boolean | `_bool` | `path\0true` / `path\0false` | boolean terms |
//! | `summary` | `_exists` | `summary` | exists on `summary` (the only field not in `_fast`) |
//! | `summary` | `summary` | lower-cased word tokens with positions | text term, phrase, wildcard, regex |
//!
//! `exists` on any other path is answered from the `_fast` columns below (a document has a value
//! in some column at or under the path), so no per-leaf `_exists` terms are written: they were
//! half of all terms.
//!
//! Because every encoding orders like its type, a range is a range of terms in the term
//! dictionary (tantivy's inverted-index range query), whatever the path. **Dates are typed by the
//! mapping, not by value**: only the date fields hold dates (RFC 3339 with any offset; also
//! `YYYY-MM-DDTHH:MM:SS` without offset, and `YYYY-MM-DD`, both read as UTC), as OpenSearch's
//! template says (`date_detection: false`); a date-looking string anywhere else (a `userAgent` of
//! `9999-01-01`, a bucket named `3000-01-01`) is a keyword, so no caller-chosen value can reach
//! a date conversion. A date field whose value is not a date in the stored range
//! ([`tripline_event::TIMESTAMP_MIN`]..=[`tripline_event::TIMESTAMP_MAX`]) refuses its document,
//! reported alone, as OpenSearch refuses a document whose date does not parse. IPs are still
//! detected by value: a string that parses as an IPv4 or IPv6 address is also indexed as an IP.

//! For aggregations and sorting, the document (without `summary`) is also written to `_fast`, a
//! tantivy JSON fast field (columnar, one column per path and type; dates as date columns), and
//! `utctimestamp` / `receivedtimestamp` to the i64 fast fields `_utc` / `_recv` (µs). Those two
//! columns answer every term and range on the window fields, so the two (unique, per-event)
//! instants are not also written as `_date` terms: unique terms are what building the term
//! dictionary at each commit costs most. The original document is stored in `_source`.
//!
//! Events are indexed straight from [`Event`] (`DocBuilder::build_event`): the source is
//! serialized from the struct and the leaves are walked from its fields, with no intermediate
//! `serde_json::Value` of the whole event. Other documents (alerts, re-tagged events) go through
//! `DocBuilder::build`, from JSON; both give the same document for the same event.

use std::net::{IpAddr, Ipv6Addr};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value as Json;
use tantivy::schema::document::{ReferenceValue, ReferenceValueLeaf, Value};
use tantivy::schema::{
    Field, IndexRecordOption, JsonObjectOptions, NumericOptions, Schema, TextFieldIndexing, TextOptions,
    FAST, STORED,
};
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy::{TantivyDocument, Term};
use tripline_dsl::{is_date_field, is_unindexable, UNINDEXED_FIELD};
use tripline_event::Event;

/// Separates the path from the value in a term.
pub(crate) const SEP: char = '\u{0}';

/// The analyzer of `summary`: OpenSearch's `standard` analyzer (see [`StandardTokenizer`]).
pub(crate) const TEXT_TOKENIZER: &str = "tripline_text";

/// The analyzer for `summary`, registered on every opened index.
pub(crate) fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(StandardTokenizer).build()
}

/// The longest token, in UTF-16 code units: Lucene's `StandardTokenizer` (`max_token_length`
/// 255) splits a longer word into pieces of this length.
pub(crate) const MAX_TOKEN_LENGTH: usize = 255;

/// The tokens of OpenSearch's `standard` analyzer (Lucene's `StandardTokenizer` and
/// `LowerCaseFilter`): words as Unicode's word-break rules (UAX#29) find them, so that letters
/// and digits joined by `.`, `'`, `:` or `_` stay one word (`test.mozilla.domain`,
/// `ldap_invalid_credentials`, `o'neil`) as do numbers with `,` or `.` (`1,000.5`), while
/// spaces, `/`, `-`, `@` and other punctuation separate words; pieces without a letter, digit,
/// ideograph or emoji are no token. Each character is lower-cased on its own, as Java's
/// `Character.toLowerCase` does. A word longer than [`MAX_TOKEN_LENGTH`] UTF-16 units becomes
/// pieces of that length. `tests::standard_analyzer_agrees_with_opensearch` holds this to a real
/// node's `_analyze`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StandardTokenizer;

/// The token stream of [`StandardTokenizer`].
pub(crate) struct StandardTokenStream<'a> {
    /// The words still to be cut into tokens (offset, text), in order.
    words: std::collections::VecDeque<(usize, &'a str)>,
    token: Token,
}

impl Tokenizer for StandardTokenizer {
    type TokenStream<'a> = StandardTokenStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> StandardTokenStream<'a> {
        let mut words = std::collections::VecDeque::new();
        standard_words(text, 0, &mut words);
        StandardTokenStream { words, token: Token::default() }
    }
}

/// The words of `text` (at `offset` in the whole), as Lucene's `StandardTokenizer` finds them:
/// UAX#29 segments holding a letter, digit or emoji, with two of Lucene's own rules on top.
/// Runs of South-East Asian letters (Thai, Lao, Myanmar, Khmer), which UAX#29 leaves to a
/// dictionary, are one word; and a zero-width joiner before an emoji that follows a word joins
/// that word, the emoji starting a token of its own (`é\u{200d}👍` is `é\u{200d}` and `👍`).
fn standard_words<'a>(text: &'a str, offset: usize, out: &mut std::collections::VecDeque<(usize, &'a str)>) {
    use unicode_segmentation::UnicodeSegmentation as _;
    let mut segments = text.split_word_bound_indices().peekable();
    while let Some((at, segment)) = segments.next() {
        if is_south_east_asian(segment) {
            let mut end = at + segment.len();
            while let Some(&(next, s)) = segments.peek() {
                if next != end || !is_south_east_asian(s) {
                    break;
                }
                end += s.len();
                segments.next();
            }
            out.push_back((offset + at, &text[at..end]));
            continue;
        }
        if let Some(split) = joiner_split(segment) {
            let (left, right) = segment.split_at(split);
            standard_words(left, offset + at, out);
            standard_words(right, offset + at + split, out);
            continue;
        }
        if is_word(segment) {
            out.push_back((offset + at, segment));
        }
    }
}

/// Where Lucene splits a segment with zero-width joiners before an emoji that does not follow
/// another emoji: after the joiners when a letter or digit precedes them, else before them.
fn joiner_split(segment: &str) -> Option<usize> {
    const ZWJ: char = '\u{200d}';
    let first = segment.chars().next()?;
    if is_emoji(first) || !segment.contains(ZWJ) {
        return None;
    }
    let chars: Vec<(usize, char)> = segment.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        if !is_emoji(c) || k == 0 || chars[k - 1].1 != ZWJ {
            continue;
        }
        let mut run = k;
        while run > 0 && chars[run - 1].1 == ZWJ {
            run -= 1;
        }
        if run == 0 {
            return None;
        }
        return Some(if chars[run - 1].1.is_alphanumeric() { i } else { chars[run].0 });
    }
    None
}

/// A segment of South-East Asian letters only (Lucene's `SOUTHEAST_ASIAN` tokens).
fn is_south_east_asian(segment: &str) -> bool {
    segment.chars().all(|c| {
        matches!(u32::from(c), 0x0E00..=0x0EFF | 0x1000..=0x109F | 0x1780..=0x17FF | 0x1950..=0x19DF | 0x1A20..=0x1AAF)
    }) && segment.chars().any(char::is_alphabetic)
}

/// Whether a UAX#29 segment is a word the standard tokenizer emits: it holds a letter (any
/// script; ideographs are letters), a digit or an emoji. Numbers that are not digits (`½`, `₂`,
/// `①`) make no word.
fn is_word(segment: &str) -> bool {
    segment.chars().any(|c| c.is_alphabetic() || (c.is_numeric() && !is_other_number(c)) || is_emoji(c))
}

/// Unicode's "other numbers" (general category No) that logs might hold: super- and subscripts,
/// vulgar fractions, circled and parenthesized numbers.
fn is_other_number(c: char) -> bool {
    matches!(u32::from(c),
        0xB2 | 0xB3 | 0xB9 | 0xBC..=0xBE | 0x2070..=0x2089 | 0x2150..=0x215F | 0x2189 | 0x2460..=0x24FF
        | 0x2776..=0x2793 | 0x3192..=0x3195 | 0x3220..=0x3229 | 0x3248..=0x325F | 0x3280..=0x3289
        | 0x32B1..=0x32BF | 0x1F100..=0x1F10C)
}

/// Emoji the standard tokenizer emits as tokens of their own (the pictographic blocks; not `#`,
/// `*` or digits, which are Emoji in Unicode's table but only as keycaps).
fn is_emoji(c: char) -> bool {
    matches!(u32::from(c),
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2300..=0x23FF | 0x2B00..=0x2BFF)
}

/// Java's `Character.toLowerCase` for one character: the simple mapping (`İ` becomes `i`, not
/// `i` and a combining dot).
fn push_lower(out: &mut String, c: char) {
    if c == '\u{130}' {
        out.push('i');
        return;
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => out.push(l),
        _ => out.push(c),
    }
}

impl TokenStream for StandardTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let Some((offset, word)) = self.words.pop_front() else {
            return false;
        };
        // Cut at MAX_TOKEN_LENGTH UTF-16 units (a character never splits).
        let mut units = 0;
        let mut end = word.len();
        for (i, c) in word.char_indices() {
            if units + c.len_utf16() > MAX_TOKEN_LENGTH {
                end = i;
                break;
            }
            units += c.len_utf16();
        }
        let (piece, more) = word.split_at(end);
        if !more.is_empty() {
            self.words.push_front((offset + end, more));
        }
        self.token.text.clear();
        for c in piece.chars() {
            push_lower(&mut self.token.text, c);
        }
        self.token.offset_from = offset;
        self.token.offset_to = offset + end;
        self.token.position = self.token.position.wrapping_add(1);
        true
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
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
    push_hex(s, u128::from(key), 16);
}

/// The low `digits` hex digits of `x`, most significant first, lower case (as `{:0digits$x}`
/// for values that fit), without the formatting machinery: this runs for every leaf indexed.
fn push_hex(s: &mut String, x: u128, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        s.push(char::from(HEX[((x >> (4 * i)) & 0xf) as usize]));
    }
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
    push_hex(s, u128::from((micros as u64) ^ (1 << 63)), 16);
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
    push_hex(s, u128::from(v6), 32);
}

/// A date in any of the accepted forms, as µs since the epoch (UTC), if it lies in the stored
/// range ([`tripline_event::TIMESTAMP_MIN`]..=[`tripline_event::TIMESTAMP_MAX`]).
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    parse_any_date(s).filter(|t| (MIN_MICROS..=MAX_MICROS).contains(t))
}

/// The first stored instant, µs.
pub(crate) const MIN_MICROS: i64 = tripline_event::TIMESTAMP_MIN_MILLIS * 1000;
/// The last stored instant, µs (its last microsecond).
pub(crate) const MAX_MICROS: i64 = tripline_event::TIMESTAMP_MAX_MILLIS * 1000 + 999;

/// How a date bound of a query reads: in the stored range, or before or after all of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DateReading {
    /// Before every instant a store holds.
    Before,
    /// An instant in the stored range, µs.
    At(i64),
    /// After every instant a store holds.
    After,
}

/// A query value on a date field: an instant, or (valid but out of the stored range) before or
/// after everything, so that a range with such a bound means what it says without a conversion
/// that could overflow.
pub(crate) fn read_date_bound(s: &str) -> Option<DateReading> {
    let t = parse_any_date(s)?;
    Some(if t < MIN_MICROS {
        DateReading::Before
    } else if t > MAX_MICROS {
        DateReading::After
    } else {
        DateReading::At(t)
    })
}

/// A date in any of the accepted forms, as µs since the epoch (UTC), whatever its year (chrono
/// refuses what an i64 of µs cannot hold), truncated to the millisecond: OpenSearch's `date`
/// type holds milliseconds and reads a value or query bound with more digits as the millisecond
/// it falls in (Java's `Instant::toEpochMilli`, towards the past), so both stores store and
/// compare milliseconds. `LessThanMatch('utctimestamp', '…12.316450Z')` does not match an event
/// at `…12.316450Z` (stored as `…12.316Z`), and a range from that instant does.
fn parse_any_date(s: &str) -> Option<i64> {
    parse_any_date_micros(s).map(|t| t.div_euclid(1000) * 1000)
}

fn parse_any_date_micros(s: &str) -> Option<i64> {
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

/// A date in a date-mapped field, or why the document cannot be stored (as OpenSearch refuses a
/// document whose date field does not parse).
fn mapped_date(path: &str, text: &str) -> Result<i64, String> {
    match parse_any_date(text) {
        Some(t) if (MIN_MICROS..=MAX_MICROS).contains(&t) => Ok(t),
        Some(_) => Err(format!(
            "{path}: {text:?} is outside the range Tripline stores ({} to {})",
            tripline_event::TIMESTAMP_MIN,
            tripline_event::TIMESTAMP_MAX
        )),
        None => Err(format!("{path}: {text:?} is not a date (the field is mapped as a date)")),
    }
}

/// An IP address, if the string is one.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    if s.len() > 45 || s.len() < 2 || !(s.contains('.') || s.contains(':')) {
        return None;
    }
    s.parse().ok()
}

/// The top-level fields whose instants live only in the `_utc` / `_recv` columns.
pub(crate) fn is_window_field(path: &str) -> bool {
    path == "utctimestamp" || path == "receivedtimestamp"
}

/// An instant as the stored JSON says it (RFC 3339 with milliseconds), in µs.
fn stored_micros(t: &DateTime<Utc>) -> i64 {
    t.timestamp_millis().saturating_mul(1000)
}

/// An event's own instant, µs, if the store can hold it (an `Event` built in code is not
/// checked by the parser that bounds what normalizers produce).
fn event_micros(name: &str, t: &DateTime<Utc>) -> Result<i64, String> {
    tripline_event::check_timestamp(*t).map(|t| stored_micros(&t)).map_err(|e| format!("{name}: {e}"))
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

    /// A document with its identity fields and the stored source in `self.source`.
    fn start(&self, kind: &str, index: &str, id: &str) -> Result<TantivyDocument, String> {
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.uid, uid(index, id));
        doc.add_text(f.kind, kind);
        doc.add_text(f.index, index);
        doc.add_text(f.id, id);
        let text = std::str::from_utf8(&self.source).map_err(|e| e.to_string())?;
        doc.add_text(f.source, text);
        Ok(doc)
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
        self.source.clear();
        serde_json::to_writer(&mut self.source, source).map_err(|e| e.to_string())?;
        let mut doc = self.start(kind, index, id)?;
        let f = self.fields;
        for (name, field) in [("utctimestamp", f.utc), ("receivedtimestamp", f.recv)] {
            match obj.get(name) {
                None | Some(Json::Null) => {}
                Some(Json::String(text)) => doc.add_i64(field, mapped_date(name, text)?),
                Some(other) => return Err(format!("{name}: {other} is not a date")),
            }
        }
        self.path.clear();
        self.walk(&mut doc, source, 0)?;
        doc.add_field_value(self.fast, Fast::Json(source, Pos::Top));
        Ok(doc)
    }

    /// The document for an event in `index` under `id`: the same document [`build`](Self::build)
    /// makes of `event.to_json()`, without that copy.
    pub(crate) fn build_event(
        &mut self,
        index: &str,
        id: &str,
        event: &Event,
    ) -> Result<TantivyDocument, String> {
        self.source.clear();
        serde_json::to_writer(&mut self.source, event).map_err(|e| e.to_string())?;
        // Values too long to index are listed in the document, as the OpenSearch store does.
        let long = crate::unindexed_paths(event);
        if !long.is_empty() && self.source.last() == Some(&b'}') {
            self.source.pop();
            self.source.extend_from_slice(b",\"");
            self.source.extend_from_slice(UNINDEXED_FIELD.as_bytes());
            self.source.extend_from_slice(b"\":");
            serde_json::to_writer(&mut self.source, &long).map_err(|e| e.to_string())?;
            self.source.push(b'}');
        }
        let mut doc = self.start(KIND_EVENT, index, id)?;
        let f = self.fields;
        // The window fields live only in their columns; `timestamp` is an ordinary date.
        doc.add_i64(f.utc, event_micros("utctimestamp", &event.utctimestamp)?);
        doc.add_i64(f.recv, event_micros("receivedtimestamp", &event.receivedtimestamp)?);
        self.path.clear();
        self.path.push_str("timestamp");
        let micros = event_micros("timestamp", &event.timestamp)?;
        self.add(&mut doc, f.date, |s| write_date(s, micros));
        for (name, text) in event.top_level_strings() {
            self.path.clear();
            self.path.push_str(name);
            self.string_leaf(&mut doc, text)?;
        }
        if let Some(pid) = event.processid {
            self.path.clear();
            self.path.push_str("processid");
            self.add(&mut doc, f.num, |s| write_num(s, pid as f64));
        }
        for (name, list) in
            [("tags", &event.tags), ("alert_names", &event.alert_names), (UNINDEXED_FIELD, &long)]
        {
            self.path.clear();
            self.path.push_str(name);
            for text in list {
                self.string_leaf(&mut doc, text)?;
            }
        }
        for (k, child) in &event.details {
            self.path.clear();
            self.path.push_str("details.");
            self.path.push_str(k);
            self.walk(&mut doc, child, 1)?;
        }
        doc.add_field_value(self.fast, Fast::Event(event, &long));
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

    /// A string at the current path (`summary` analyzed; the date fields as dates, IPs
    /// recognised). A value in a date field that is not a date in the stored range refuses the
    /// document, as OpenSearch's mapping does.
    fn string_leaf(&mut self, doc: &mut TantivyDocument, text: &str) -> Result<(), String> {
        let f = self.fields;
        if self.path == "summary" {
            doc.add_text(f.text, text);
            doc.add_text(f.exists, "summary");
        } else if is_date_field(&self.path) {
            // Dates are dates: matched by instant, whatever the offset they were written with.
            // The window fields are matched from their columns.
            let t = mapped_date(&self.path, text)?;
            if !is_window_field(&self.path) {
                self.add(doc, f.date, |s| write_date(s, t));
            }
        } else if is_unindexable(text) {
            // Kept in the source, not indexed: as OpenSearch's `ignore_above`.
        } else {
            self.add(doc, f.kw, |s| s.push_str(text));
            if let Some(ip) = parse_ip(text) {
                self.add(doc, f.ip, |s| write_ip(s, ip));
            }
        }
        Ok(())
    }

    /// Index every leaf under the current path.
    fn walk(&mut self, doc: &mut TantivyDocument, v: &Json, depth: usize) -> Result<(), String> {
        if depth > 64 {
            return Err(format!("nested deeper than 64 levels at {}", self.path));
        }
        let f = self.fields;
        match v {
            Json::Null => {}
            Json::Bool(b) => self.add(doc, f.boolean, |s| s.push_str(if *b { "true" } else { "false" })),
            Json::Number(n) => {
                if let Some(x) = n.as_f64() {
                    self.add(doc, f.num, |s| write_num(s, x));
                }
            }
            Json::String(text) => self.string_leaf(doc, text)?,
            Json::Array(items) => {
                // Arrays (of arrays) flatten, as in OpenSearch: each element under the same path.
                for item in items {
                    self.walk(doc, item, depth + 1)?;
                }
            }
            Json::Object(m) => {
                for (k, child) in m {
                    let len = self.path.len();
                    if !self.path.is_empty() {
                        self.path.push('.');
                    }
                    self.path.push_str(k);
                    self.walk(doc, child, depth + 1)?;
                    self.path.truncate(len);
                }
            }
        }
        Ok(())
    }
}

/// Where a JSON value sits in a document, as far as `_fast` cares: the date fields
/// ([`DATE_FIELDS`](tripline_dsl::DATE_FIELDS)) are at the top level or directly under `details`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pos {
    /// The document itself.
    Top,
    /// The `details` object.
    Details,
    /// A date-mapped field (or an element of its array).
    Date,
    /// Anywhere else.
    Other,
}

impl Pos {
    /// The position of member `key` of an object at this position.
    fn member(self, key: &str) -> Pos {
        match self {
            Pos::Top if key == "details" => Pos::Details,
            Pos::Top if matches!(key, "utctimestamp" | "receivedtimestamp" | "timestamp") => Pos::Date,
            Pos::Details if matches!(key, "start" | "end") => Pos::Date,
            _ => Pos::Other,
        }
    }
}

/// A value as tantivy reads it for `_fast`, borrowed (no copy of the document): the date fields'
/// strings are dates (so date columns can be bucketed), and the top level leaves out `summary`.
#[derive(Clone, Copy, Debug)]
enum Fast<'a> {
    /// A JSON value, and where it sits.
    Json(&'a Json, Pos),
    /// An event, as its JSON would read, and the paths of its values too long to index.
    Event(&'a Event, &'a [String]),
    /// A string leaf of a field that is not a date.
    Str(&'a str),
    /// An instant, µs.
    Date(i64),
    /// A number.
    U64(u64),
    /// A list of strings.
    Strs(&'a [String]),
    /// An object below the top level.
    Map(&'a serde_json::Map<String, Json>),
}

/// The elements of an array in `_fast`.
#[derive(Debug)]
enum FastArray<'a> {
    Json(std::slice::Iter<'a, Json>, Pos),
    Strs(std::slice::Iter<'a, String>),
}

impl<'a> Iterator for FastArray<'a> {
    type Item = Fast<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            // The elements of a date field's array are dates; arrays below elsewhere are not.
            FastArray::Json(items, pos) => {
                let pos = if *pos == Pos::Date { Pos::Date } else { Pos::Other };
                items.next().map(|v| Fast::Json(v, pos))
            }
            FastArray::Strs(items) => items.next().map(|s| Fast::Str(s)),
        }
    }
}

/// The members of an object in `_fast` (`summary` skipped at the top level).
#[derive(Debug)]
enum FastObject<'a> {
    Json {
        members: serde_json::map::Iter<'a>,
        pos: Pos,
    },
    /// The fields of an event, by position.
    Event {
        event: &'a Event,
        unindexed: &'a [String],
        next: usize,
    },
}

impl<'a> Iterator for FastObject<'a> {
    type Item = (&'a str, Fast<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            FastObject::Json { members, pos } => loop {
                let (k, v) = members.next()?;
                if !(*pos == Pos::Top && k == "summary") {
                    return Some((k.as_str(), Fast::Json(v, pos.member(k))));
                }
            },
            FastObject::Event { event: e, unindexed, next } => loop {
                let field = *next;
                *next += 1;
                let item = match field {
                    0 => ("utctimestamp", Fast::Date(stored_micros(&e.utctimestamp))),
                    1 => ("receivedtimestamp", Fast::Date(stored_micros(&e.receivedtimestamp))),
                    2 => ("timestamp", Fast::Date(stored_micros(&e.timestamp))),
                    3 => ("category", Fast::Str(&e.category)),
                    4 => ("source", Fast::Str(&e.source)),
                    5 => ("type", Fast::Str(&e.event_type)),
                    6 => ("hostname", Fast::Str(&e.hostname)),
                    7 => ("processname", Fast::Str(&e.processname)),
                    8 => match e.processid {
                        Some(pid) => ("processid", Fast::U64(pid)),
                        None => continue,
                    },
                    9 => ("severity", Fast::Str(&e.severity)),
                    10 => ("tags", Fast::Strs(&e.tags)),
                    11 => ("alert_names", Fast::Strs(&e.alert_names)),
                    12 => ("details", Fast::Map(&e.details)),
                    13 if !unindexed.is_empty() => (UNINDEXED_FIELD, Fast::Strs(unindexed)),
                    13 => continue,
                    _ => return None,
                };
                return Some(item);
            },
        }
    }
}

/// A string of a date field is a date (the walk has already refused the document if it is not
/// one in the stored range); any other string is a string.
fn str_leaf(s: &str, pos: Pos) -> ReferenceValueLeaf<'_> {
    if pos == Pos::Date {
        if let Some(t) = parse_date(s) {
            return ReferenceValueLeaf::Date(tantivy_date(t));
        }
    }
    plain_str(s)
}

/// A string that is not a date: in its column unless too long to index (then, as in
/// OpenSearch, it has no column value and does not count as present).
fn plain_str(s: &str) -> ReferenceValueLeaf<'_> {
    if is_unindexable(s) {
        ReferenceValueLeaf::Null
    } else {
        ReferenceValueLeaf::Str(s)
    }
}

/// An instant as tantivy's date (nanoseconds in an i64): clamped to the stored range, which
/// every caller has checked already, so that no value can overflow tantivy's conversion.
fn tantivy_date(micros: i64) -> tantivy::DateTime {
    tantivy::DateTime::from_timestamp_micros(micros.clamp(MIN_MICROS, MAX_MICROS))
}

impl<'a> Value<'a> for Fast<'a> {
    type ArrayIter = FastArray<'a>;
    type ObjectIter = FastObject<'a>;

    fn as_value(&self) -> ReferenceValue<'a, Self> {
        let leaf = match *self {
            Fast::Json(value, pos) => match value {
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
                Json::String(s) => str_leaf(s, pos),
                Json::Array(a) => return ReferenceValue::Array(FastArray::Json(a.iter(), pos)),
                Json::Object(m) => {
                    return ReferenceValue::Object(FastObject::Json { members: m.iter(), pos })
                }
            },
            Fast::Event(event, unindexed) => {
                return ReferenceValue::Object(FastObject::Event { event, unindexed, next: 0 })
            }
            Fast::Str(s) => plain_str(s),
            Fast::Date(t) => ReferenceValueLeaf::Date(tantivy_date(t)),
            // As `Json::Number` reads a u64: an i64 when it fits.
            Fast::U64(u) => match i64::try_from(u) {
                Ok(i) => ReferenceValueLeaf::I64(i),
                Err(_) => ReferenceValueLeaf::U64(u),
            },
            Fast::Strs(items) => return ReferenceValue::Array(FastArray::Strs(items.iter())),
            Fast::Map(m) => {
                return ReferenceValue::Object(FastObject::Json { members: m.iter(), pos: Pos::Details })
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

    /// Every field's values, each field's list sorted and without repeats (the builders add them
    /// in different orders, and the JSON walk repeats `_exists` once per array element).
    fn normalized(doc: &TantivyDocument, schema: &Schema) -> Json {
        use tantivy::Document as _;
        let mut json: Json = serde_json::from_str(&doc.to_json(schema)).unwrap();
        for values in json.as_object_mut().unwrap().values_mut() {
            if let Json::Array(list) = values {
                list.sort_by_key(|v| v.to_string());
                list.dedup();
            }
        }
        json
    }

    #[test]
    fn events_make_the_same_document_from_the_struct_as_from_json() {
        let (schema, fields) = schema();
        let mut b = DocBuilder::new(&fields, &schema).unwrap();
        let t = |s: &str| tripline_event::parse_timestamp(s).unwrap();
        let mut plain =
            Event::new("cloudtrail", "AwsApiCall", "", t("2026-11-23T10:00:00Z"), t("2026-11-23T10:01:00Z"));
        plain.hostname = String::new();
        // Sub-millisecond instants are stored (and so matched) at millisecond precision.
        let mut full = Event::new(
            "vpc_flow",
            "vpc-flow",
            "10.0.0.1 -> 10.0.0.2 REJECT",
            t("2026-11-23T10:00:00.123456+02:00"),
            t("1969-12-31T23:59:59.999999Z"),
        );
        full.hostname = "10.0.0.1".into();
        full.processname = "2026-11-23".into();
        full.processid = Some(u64::MAX);
        full.tags = vec!["a".into(), "2026-11-23T00:00:00Z".into()];
        full.alert_names = vec!["ssh".into()];
        full.details = serde_json::from_value(serde_json::json!({
            "port": 22, "ratio": 0.5, "neg": -3, "ok": true, "none": null, "empty": [],
            "nested": {"deeper": {"ip": "2001:db8::1", "list": [1, [2, null], {"x": "y"}]}, "nulls": {"a": null}},
            "when": "2026-11-23T12:00:00+01:00", "text": "", "Mixed.Key": "v"
        }))
        .unwrap();
        for e in [plain, full] {
            let from_json = b.build(KIND_EVENT, "events-x", "id1", &e.to_json()).unwrap();
            let from_struct = b.build_event("events-x", "id1", &e).unwrap();
            assert_eq!(normalized(&from_struct, &schema), normalized(&from_json, &schema), "{e:?}");
        }
    }

    #[test]
    fn hex_is_what_format_writes() {
        for x in [0u128, 1, 0xdead_beef, u128::from(u64::MAX), u128::MAX] {
            let mut s = String::new();
            push_hex(&mut s, x, 32);
            assert_eq!(s, format!("{x:032x}"));
        }
        let mut s = String::new();
        push_hex(&mut s, 0xabc, 16);
        assert_eq!(s, format!("{:016x}", 0xabc));
    }

    #[test]
    fn tokens_are_lower_cased_words() {
        assert_eq!(tokens("Failed LOGIN for user-1"), vec!["failed", "login", "for", "user", "1"]);
    }

    #[test]
    fn tokens_follow_the_standard_analyzer() {
        // What OpenSearch's `_analyze` with the standard analyzer says (see the differential
        // test below): UAX#29 keeps letters joined by . ' : _ and numbers with , . together.
        assert_eq!(tokens("test.mozilla.domain"), ["test.mozilla.domain"]);
        assert_eq!(tokens("mozilla.test"), ["mozilla.test"]);
        assert_eq!(tokens("LDaP_InVaLID_CREDeNTiALS"), ["ldap_invalid_credentials"]);
        assert_eq!(tokens("/test/abc/def"), ["test", "abc", "def"]);
        assert_eq!(
            tokens("O'Neil paid 1,000.50 at 10.0.0.1:443"),
            ["o'neil", "paid", "1,000.50", "at", "10.0.0.1", "443"]
        );
        assert_eq!(tokens("test.exe test.1234 .exe.test"), ["test.exe", "test", "1234", "exe.test"]);
        assert_eq!(tokens("İSTANBUL"), ["istanbul"]);
        let long = "a".repeat(600);
        assert_eq!(tokens(&long), ["a".repeat(255), "a".repeat(255), "a".repeat(90)]);
    }

    /// The strings the differential test below analyzes on both sides.
    fn analyzer_corpus() -> Vec<String> {
        let mut v: Vec<String> = [
            "test",
            "Test",
            "test summary",
            "example summary tes",
            "testing",
            "test.mozilla.domain",
            "mozilla.test.domain",
            "mozilla.test",
            "LDAP",
            "lDaP",
            "LDaP_InVaLID_CREDeNTiALS",
            "test run",
            "this is test run source",
            "test sample run",
            "/test/abc",
            "/test/abc/def",
            "path /test/abc",
            "test.exe",
            "test.sh",
            "test.exe.abcd",
            "testexe",
            "test.1234",
            ".exe.test",
            "abcteabc",
            "abc te abc",
            "tabs 4 spaces",
            "we are testing",
            "arn:aws:iam::123456789012:user/alice performed GetUser in iam.amazonaws.com",
            "203.0.113.7 performed DescribeInstances in ec2.amazonaws.com",
            "10.0.0.1 -> 10.0.0.2 REJECT",
            "2001:db8::1 port 443",
            "fe80::1%eth0",
            "user@example.com",
            "https://foo.bar.baz.com/somepath?x=1&y=2#frag",
            "C:\\Windows\\System32\\cmd.exe",
            "O'Neil's dog",
            "rock'n'roll",
            "don't",
            "1,000,000",
            "1,000.50",
            "3.14abc",
            "v1.2.3-beta+build.5",
            "a_b_c",
            "_leading",
            "trailing_",
            "___",
            "snake_case_42",
            "x:y:z",
            "a::b",
            "a:b:",
            ":a",
            "foo--bar",
            "foo—bar",
            "foo…bar",
            "e-mail",
            "#hashtag",
            "@mention",
            "$100",
            "50%",
            "a+b=c",
            "ünïcödé Straße",
            "İstanbul ISTANBUL ıi",
            "ΣΊΣΥΦΟΣ σίσυφος",
            "Ελληνικά",
            "Привет, мир!",
            "中文分词测试",
            "日本語のテキスト",
            "カタカナ テスト",
            "ひらがな",
            "한국어 텍스트",
            "ภาษาไทย",
            "עברית \"שלום\" ו'",
            "العربية",
            "👍 thumbs 👍🏽 up",
            "❤️ love",
            "🇫🇷 flag",
            "👨‍👩‍👧 family",
            "mixed123abc 123 abc123 123abc",
            "0x1F 0b101 1e10 -5 +7",
            "tab\tnew\nline",
            "",
            "   ",
            "...",
            "ALL CAPS SHOUT",
            "camelCaseWord",
            "file.tar.gz",
            "192.168.1.1/24",
            "a.b",
            "a.b.",
            "a..b",
            "1.2.3.4:80",
            "host-v2-test6.groupa.test.subdomain.domain.company.com",
            "ab'",
            "'ab",
            "a'b'c",
            "1'000",
            "1_000",
            "a1.b2",
            "1.a",
            "a.1",
            "₂ subscript",
            "½ fraction",
            "Ⅻ roman",
            "ﬁ ligature",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push("a".repeat(255));
        v.push("b".repeat(256));
        v.push(format!("{} tail", "c".repeat(600)));
        v.push(format!("{}.{}", "d".repeat(200), "e".repeat(100)));
        v.push("ü".repeat(300));
        // Random strings over the characters word breaking turns on.
        let alphabet: Vec<char> = "aZ9_.:,'’- /@\"(\u{301}é中カ한👍\u{200d}\u{fe0f}0١".chars().collect();
        let mut seed: u64 = 0x7269_706c_696e_6521;
        for _ in 0..300 {
            let mut s = String::new();
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let len = (seed >> 59) as usize + 1;
            for _ in 0..len {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                s.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
            }
            v.push(s);
        }
        v
    }

    /// The embedded store's `summary` tokens against a real node's standard analyzer, string by
    /// string (`POST /_analyze`): the node make test starts, or the cluster
    /// `TRIPLINE_OPENSEARCH_URL` names.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn standard_analyzer_agrees_with_opensearch() {
        use opensearch::http::transport::Transport;
        use opensearch::indices::IndicesAnalyzeParts;
        let url = tripline_testkit::opensearch_url();
        let client = opensearch::OpenSearch::new(Transport::single_node(url).expect("transport"));
        let mut differences = Vec::new();
        let corpus = analyzer_corpus();
        for text in &corpus {
            let response = client
                .indices()
                .analyze(IndicesAnalyzeParts::None)
                .body(serde_json::json!({"analyzer": "standard", "text": text}))
                .send()
                .await
                .expect("_analyze");
            let body: Json = response.json().await.expect("_analyze JSON");
            let theirs: Vec<String> = body["tokens"]
                .as_array()
                .unwrap_or_else(|| panic!("_analyze answered {body}"))
                .iter()
                .map(|t| t["token"].as_str().unwrap_or_default().to_string())
                .collect();
            let ours = tokens(text);
            if ours != theirs {
                differences.push(format!("{text:?}\n  opensearch: {theirs:?}\n  embedded:   {ours:?}"));
            }
        }
        assert!(
            differences.is_empty(),
            "{} of {} strings tokenized differently:\n{}",
            differences.len(),
            corpus.len(),
            differences.join("\n")
        );
    }
}
