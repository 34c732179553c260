//! The query AST as tantivy queries, over the fields of [`super::mapping`].
//!
//! Dates are typed by the mapping ([`DATE_FIELDS`](tripline_dsl::DATE_FIELDS)): a value on a date
//! field matches the same instant written with any offset, and a date-looking value on any other
//! field is a keyword, as in OpenSearch's template. Other types are not declared: each leaf was
//! indexed under the type(s) its value has, so a node matches the union of what it means for each
//! type its value can be read as. `Term("details.destinationport", 22)` matches the number 22 and
//! the keyword `"22"`. Since a path normally holds one type, the union gives the answer
//! OpenSearch gives for that path's mapped type.

use std::ops::Bound as StdBound;

use ipnet::IpNet;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, Occur, PhraseQuery, Query, RangeQuery, RegexQuery,
    TermQuery,
};
use tantivy::query::{AutomatonWeight, EnableScoring, Explanation, Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, SegmentReader, Term};
use tripline_dsl::{is_date_field, is_text_field, lower_text_regex, Bound, QueryAst, Value};

use super::mapping::{
    encode_date, encode_ip, encode_num, is_window_field, parse_ip, read_date_bound, term, term_text, tokens,
    DateReading, Fields, FAST_JSON, MAX_MICROS, MIN_MICROS, SEP,
};
use crate::StoreError;

type Q = Box<dyn Query>;

fn term_query(t: Term) -> Q {
    Box::new(TermQuery::new(t, IndexRecordOption::Basic))
}

fn any_of(mut qs: Vec<Q>) -> Q {
    match qs.len() {
        0 => Box::new(EmptyQuery),
        1 => qs.remove(0),
        _ => Box::new(BooleanQuery::new(qs.into_iter().map(|q| (Occur::Should, q)).collect())),
    }
}

fn all_of(mut qs: Vec<Q>) -> Q {
    match qs.len() {
        0 => Box::new(AllQuery),
        1 => qs.remove(0),
        _ => Box::new(BooleanQuery::new(qs.into_iter().map(|q| (Occur::Must, q)).collect())),
    }
}

/// Translate a query.
pub(crate) fn translate(f: &Fields, ast: &QueryAst) -> Result<Q, StoreError> {
    Ok(match ast {
        QueryAst::MatchAll => Box::new(AllQuery),
        QueryAst::MatchNone => Box::new(EmptyQuery),
        QueryAst::Term { field, value: Value::Str(s), .. } if ast.case_matters() => {
            // The keyword terms of the path, each ASCII letter in either case (validate has
            // refused the flag on text, date and ip fields).
            let folded = regex_query(f.kw, &format!("{}{}", path_prefix(field), literal_regex(s, true)))?;
            if s == "true" || s == "false" {
                any_of(vec![folded, term_query(term(f.boolean, field, s))])
            } else {
                folded
            }
        }
        QueryAst::Term { field, value, .. } => term_node(f, field, value)?,
        QueryAst::Terms { field, values } => {
            any_of(values.iter().map(|v| term_node(f, field, v)).collect::<Result<_, _>>()?)
        }
        QueryAst::Wildcard { field, pattern, .. } => {
            let fold = ast.case_matters();
            if is_text_field(field) {
                regex_query(f.text, &wildcard_regex(&pattern.to_lowercase(), false))?
            } else {
                regex_query(f.kw, &format!("{}{}", path_prefix(field), wildcard_regex(pattern, fold)))?
            }
        }
        QueryAst::Regex { field, pattern, .. } => {
            let fold = ast.case_matters();
            if is_text_field(field) {
                regex_query(f.text, &lucene_regex(&lower_text_regex(pattern), false)?)?
            } else {
                regex_query(f.kw, &format!("{}(?:{})", path_prefix(field), lucene_regex(pattern, fold)?))?
            }
        }
        QueryAst::Phrase { field, phrase } => {
            if is_text_field(field) {
                let terms: Vec<Term> =
                    tokens(phrase).iter().map(|t| Term::from_field_text(f.text, t)).collect();
                match terms.len() {
                    0 => Box::new(EmptyQuery),
                    1 => term_query(terms[0].clone()),
                    _ => Box::new(PlainSeek(Box::new(PhraseQuery::new(terms)))),
                }
            } else {
                // A keyword is one token: the phrase must be the whole value.
                term_node(f, field, &Value::Str(phrase.clone()))?
            }
        }
        QueryAst::Exists { field } => exists(f, field),
        QueryAst::Range { field, lower, upper } => range_node(f, field, lower.as_ref(), upper.as_ref())?,
        QueryAst::Subnet { field, net } => subnet(f, field, net),
        QueryAst::Bool { must, should, must_not } => {
            let mut clauses: Vec<(Occur, Q)> = Vec::new();
            for q in must {
                clauses.push((Occur::Must, translate(f, q)?));
            }
            if !should.is_empty() {
                // At least one `should`: a nested disjunction that must match (tantivy treats
                // `should` next to `must` as optional).
                let any = any_of(should.iter().map(|q| translate(f, q)).collect::<Result<_, _>>()?);
                clauses.push((Occur::Must, any));
            }
            if clauses.is_empty() {
                // Only `must_not` (or nothing): everything but.
                clauses.push((Occur::Must, Box::new(AllQuery)));
            }
            for q in must_not {
                clauses.push((Occur::MustNot, translate(f, q)?));
            }
            Box::new(BooleanQuery::new(clauses))
        }
    })
}

/// Documents with a non-null value at `field` or under it: `summary` has its `_exists` term,
/// every other path its columns in `_fast`.
fn exists(f: &Fields, field: &str) -> Q {
    if field == "summary" {
        term_query(Term::from_field_text(f.exists, field))
    } else {
        Box::new(ExistsQuery::new(format!("{FAST_JSON}.{field}"), true))
    }
}

fn path_prefix(field: &str) -> String {
    format!("{}\\x00", regex_syntax_escape(field))
}

fn regex_syntax_escape(s: &str) -> String {
    regex::escape(s)
}

fn regex_query(field: tantivy::schema::Field, pattern: &str) -> Result<Q, StoreError> {
    match RegexQuery::from_pattern(pattern, field) {
        Ok(q) => Ok(Box::new(q)),
        // tantivy-fst stops at 1,000 DFA states, far below what Lucene determinizes (10,000
        // states of a code-point automaton): build the DFA with regex-automata instead.
        Err(e) if e.to_string().contains("exceeds size limit") => {
            let dfa = BigRegex::new(pattern)
                .map_err(|e| StoreError::Unsupported(format!("pattern {pattern:?}: {e}")))?;
            Ok(Box::new(BigRegexQuery { field, dfa: std::sync::Arc::new(dfa) }))
        }
        Err(e) => Err(StoreError::Unsupported(format!("pattern {pattern:?}: {e}"))),
    }
}

/// The most memory one regular expression's DFA may take (and its determinization).
const BIG_REGEX_LIMIT: usize = 32 << 20;

/// An anchored regular expression as a DFA over bytes (regex-automata), walked over the term
/// dictionary as tantivy walks its own regex automata: for the patterns tantivy-fst refuses.
#[derive(Debug)]
pub(crate) struct BigRegex {
    dfa: regex_automata::dfa::dense::DFA<Vec<u32>>,
    start: regex_automata::util::primitives::StateID,
}

impl BigRegex {
    pub(crate) fn new(pattern: &str) -> Result<BigRegex, String> {
        use regex_automata::dfa::{dense, Automaton as _, StartKind};
        use regex_automata::util::start;
        use regex_automata::{Anchored, MatchKind};
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .start_kind(StartKind::Anchored)
                    // Every match, so that "the whole term matches" is "a match state at its end".
                    .match_kind(MatchKind::All)
                    .dfa_size_limit(Some(BIG_REGEX_LIMIT))
                    .determinize_size_limit(Some(BIG_REGEX_LIMIT)),
            )
            .build(pattern)
            .map_err(|e| e.to_string())?;
        let start =
            dfa.start_state(&start::Config::new().anchored(Anchored::Yes)).map_err(|e| e.to_string())?;
        Ok(BigRegex { dfa, start })
    }

    /// Whether the whole of `text` matches (for tests).
    #[cfg(test)]
    pub(crate) fn matches(&self, text: &str) -> bool {
        use tantivy_fst::Automaton as _;
        let mut state = self.start();
        for b in text.bytes() {
            state = self.accept(&state, b);
        }
        self.is_match(&state)
    }
}

impl tantivy_fst::Automaton for BigRegex {
    /// `None`: no continuation can match.
    type State = Option<regex_automata::util::primitives::StateID>;

    fn start(&self) -> Self::State {
        Some(self.start)
    }

    fn is_match(&self, state: &Self::State) -> bool {
        use regex_automata::dfa::Automaton as _;
        // regex-automata reports a match one transition late: at the end of input, the EOI one.
        state.is_some_and(|s| self.dfa.is_match_state(self.dfa.next_eoi_state(s)))
    }

    fn can_match(&self, state: &Self::State) -> bool {
        state.is_some()
    }

    fn accept(&self, state: &Self::State, byte: u8) -> Self::State {
        use regex_automata::dfa::Automaton as _;
        let next = self.dfa.next_state((*state)?, byte);
        (!self.dfa.is_dead_state(next) && !self.dfa.is_quit_state(next)).then_some(next)
    }
}

/// A [`BigRegex`] over one field's terms.
#[derive(Clone, Debug)]
struct BigRegexQuery {
    field: tantivy::schema::Field,
    dfa: std::sync::Arc<BigRegex>,
}

impl Query for BigRegexQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(AutomatonWeight::<BigRegex>::new(self.field, self.dfa.clone())))
    }
}

/// A query whose scorer answers tantivy's `seek_danger` with plain seeks.
///
/// tantivy 0.27's `PhraseScorer::seek_danger` leaves the scorer on `TERMINATED` when the terms
/// occur together but not as the phrase, and the next `seek_danger` from an exclusion (`NOT
/// summary:"test run"` over `test sample run`) trips its `target >= doc` assertion. Behind this
/// wrapper the default `seek_danger` (seek only forward, from a valid position) is used, which
/// gives the same documents.
#[derive(Debug)]
struct PlainSeek(Q);

impl Clone for PlainSeek {
    fn clone(&self) -> Self {
        PlainSeek(self.0.box_clone())
    }
}

impl Query for PlainSeek {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(PlainSeekWeight(self.0.weight(scoring)?)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.0.query_terms(visitor);
    }
}

struct PlainSeekWeight(Box<dyn Weight>);

impl Weight for PlainSeekWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(PlainSeekScorer(self.0.scorer(reader, boost)?)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

struct PlainSeekScorer(Box<dyn Scorer>);

impl DocSet for PlainSeekScorer {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let doc = self.0.doc();
        if doc >= target {
            return doc;
        }
        self.0.seek(target)
    }

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }

    fn cost(&self) -> u64 {
        self.0.cost()
    }
}

impl Scorer for PlainSeekScorer {
    fn score(&mut self) -> Score {
        self.0.score()
    }
}

/// One literal character as a regex, matched in either case when `fold` and it is an ASCII
/// letter: how OpenSearch's `case_insensitive` folds (its `AutomatonQueries.toCaseInsensitiveChar`
/// and Lucene 9's `RegExp` with `ASCII_CASE_INSENSITIVE` alike: the character and, for `a`-`z`
/// and `A`-`Z` only, its other case; `é`, `ß`, the Kelvin sign and every other character match
/// only themselves).
fn literal_char(c: char, fold: bool, out: &mut String) {
    if fold && c.is_ascii_alphabetic() {
        out.push('[');
        out.push(c.to_ascii_lowercase());
        out.push(c.to_ascii_uppercase());
        out.push(']');
    } else {
        let mut buf = [0u8; 4];
        out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
    }
}

/// A literal string as a regex body (see [`literal_char`] for `fold`).
pub(crate) fn literal_regex(text: &str, fold: bool) -> String {
    let mut out = String::with_capacity(text.len());
    text.chars().for_each(|c| literal_char(c, fold, &mut out));
    out
}

/// A wildcard pattern (`*`, `?`, `\` escapes) as an anchored regex body. With `fold`, ASCII
/// letters match in either case, except an escaped one: OpenSearch's case-insensitive wildcard
/// takes the character after a backslash as it is.
pub(crate) fn wildcard_regex(pattern: &str, fold: bool) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str("(?s:.)*"),
            '?' => out.push_str("(?s:.)"),
            '\\' => {
                if let Some(n) = chars.next() {
                    literal_char(n, false, &mut out);
                } else {
                    out.push_str("\\\\");
                }
            }
            c => literal_char(c, fold, &mut out),
        }
    }
    out
}

/// A Lucene regular expression (OpenSearch `regexp`) as a Rust regex body.
///
/// Supported: literals, `.`, `?`, `+`, `*`, `{n,m}`, `|`, `( )`, character classes `[...]` and
/// `[^...]`, `"quoted literal"`, `\` escapes (always a literal character, as in Lucene), and `@`
/// (any string). `^` and `$` are literal characters in Lucene. The optional operators `&`, `~`,
/// `<n-m>` and `#` are rejected rather than read differently.
pub(crate) fn lucene_regex(pattern: &str, fold: bool) -> Result<String, StoreError> {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                _ if fold => {
                    // One item of the class: a character (escaped or not), or a range `x-y`.
                    // Lucene folds the characters and leaves ranges as written.
                    let mut read = |c: char| -> Result<char, StoreError> {
                        if c == '\\' {
                            chars.next().ok_or_else(|| unsupported(pattern, "a trailing backslash"))
                        } else {
                            Ok(c)
                        }
                    };
                    let lo = read(c)?;
                    let mut ahead = chars.clone();
                    if ahead.next() == Some('-') && ahead.peek().is_some_and(|n| *n != ']') {
                        chars.next();
                        let hi =
                            chars.next().ok_or_else(|| unsupported(pattern, "an unterminated [class]"))?;
                        let hi = if hi == '\\' {
                            chars.next().ok_or_else(|| unsupported(pattern, "a trailing backslash"))?
                        } else {
                            hi
                        };
                        class_lit(lo, &mut out);
                        out.push('-');
                        class_lit(hi, &mut out);
                    } else {
                        class_lit(lo, &mut out);
                        if lo.is_ascii_alphabetic() {
                            let other = if lo.is_ascii_lowercase() {
                                lo.to_ascii_uppercase()
                            } else {
                                lo.to_ascii_lowercase()
                            };
                            out.push(other);
                        }
                    }
                }
                '\\' => {
                    let n = chars.next().ok_or_else(|| unsupported(pattern, "a trailing backslash"))?;
                    out.push_str(&class_escape(n));
                }
                '[' | '&' | '~' => out.push_str(&class_escape(c)),
                c => out.push(c),
            }
            continue;
        }
        match c {
            '.' => out.push_str("(?s:.)"),
            '?' | '+' | '*' | '|' | '(' | ')' => out.push(c),
            '{' => {
                let mut rep = String::from("{");
                for d in chars.by_ref() {
                    rep.push(d);
                    if d == '}' {
                        break;
                    }
                }
                if !rep.ends_with('}')
                    || !rep[1..rep.len() - 1].chars().all(|c| c.is_ascii_digit() || c == ',')
                {
                    return Err(unsupported(pattern, "a malformed {n,m} repetition"));
                }
                out.push_str(&rep);
            }
            '[' => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            '"' => {
                let mut lit = String::new();
                let mut closed = false;
                for d in chars.by_ref() {
                    if d == '"' {
                        closed = true;
                        break;
                    }
                    lit.push(d);
                }
                if !closed {
                    return Err(unsupported(pattern, "an unterminated \"quoted\" literal"));
                }
                out.push_str(&literal_regex(&lit, fold));
            }
            '\\' => {
                let n = chars.next().ok_or_else(|| unsupported(pattern, "a trailing backslash"))?;
                // Lucene's predefined classes (as in Lucene 9, OpenSearch 2.x); a backslash before
                // any other letter is an error there, so it is here too.
                match n {
                    'd' => out.push_str("[0-9]"),
                    'D' => out.push_str("[^0-9]"),
                    's' => out.push_str("[ \\t\\n\\r]"),
                    'S' => out.push_str("[^ \\t\\n\\r]"),
                    'w' => out.push_str("[a-zA-Z_0-9]"),
                    'W' => out.push_str("[^a-zA-Z_0-9]"),
                    n if n.is_alphabetic() => {
                        return Err(unsupported(
                            pattern,
                            &format!(
                            "\\{n}, which is not a character class (Lucene knows \\d \\D \\s \\S \\w \\W)"
                        ),
                        ))
                    }
                    n => out.push_str(&regex::escape(&n.to_string())),
                }
            }
            '@' => out.push_str("(?s:.)*"),
            '&' | '~' | '<' | '>' | '#' => {
                return Err(unsupported(pattern, &format!("the optional Lucene operator {c:?}")))
            }
            c => literal_char(c, fold, &mut out),
        }
    }
    if in_class {
        return Err(unsupported(pattern, "an unterminated [class]"));
    }
    Ok(out)
}

/// A character inside a Rust regex class: ASCII punctuation escaped, anything else as it is.
fn class_lit(c: char, out: &mut String) {
    if c.is_ascii_punctuation() {
        out.push('\\');
    }
    out.push(c);
}

fn class_escape(c: char) -> String {
    if c.is_ascii_alphanumeric() {
        c.to_string()
    } else {
        format!("\\{c}")
    }
}

fn unsupported(pattern: &str, what: &str) -> StoreError {
    StoreError::Unsupported(format!("regular expression /{pattern}/ uses {what}"))
}

/// One value against one path, as every type it can be read as.
fn term_node(f: &Fields, field: &str, value: &Value) -> Result<Q, StoreError> {
    if is_text_field(field) {
        let ts = tokens(&value.as_text());
        if ts.is_empty() {
            return Ok(Box::new(EmptyQuery));
        }
        return Ok(all_of(ts.iter().map(|t| term_query(Term::from_field_text(f.text, t))).collect()));
    }
    if is_date_field(field) {
        // An instant (any offset); anything else, or an instant no store holds, matches nothing.
        return Ok(match value {
            Value::Str(s) => match read_date_bound(s) {
                // As OpenSearch: the instants the value names, to its precision (a day, a second
                // or a millisecond).
                Some(DateReading::At(t)) if is_window_field(field) => {
                    window_range(f, field, StdBound::Included(t), StdBound::Included(round_up(s, t)))
                }
                Some(DateReading::At(t)) => term_range(
                    f.date,
                    field,
                    Some((encode_date(t), true)),
                    Some((encode_date(round_up(s, t)), true)),
                ),
                _ => Box::new(EmptyQuery),
            },
            _ => Box::new(EmptyQuery),
        });
    }
    let mut alts: Vec<Q> = Vec::new();
    match value {
        Value::Bool(b) => {
            alts.push(term_query(term(f.boolean, field, if *b { "true" } else { "false" })));
            alts.push(term_query(term(f.kw, field, if *b { "true" } else { "false" })));
        }
        Value::Int(i) => {
            alts.push(term_query(term(f.num, field, &encode_num(*i as f64))));
            alts.push(term_query(term(f.kw, field, &i.to_string())));
        }
        Value::Float(x) => {
            alts.push(term_query(term(f.num, field, &encode_num(*x))));
            alts.push(term_query(term(f.kw, field, &value.as_text())));
        }
        Value::Str(s) => {
            alts.push(term_query(term(f.kw, field, s)));
            if s == "true" || s == "false" {
                alts.push(term_query(term(f.boolean, field, s)));
            }
            if let Ok(x) = s.trim().parse::<f64>() {
                if x.is_finite() {
                    alts.push(term_query(term(f.num, field, &encode_num(x))));
                }
            }
            if let Some(ip) = parse_ip(s) {
                alts.push(term_query(term(f.ip, field, &encode_ip(ip))));
            } else if let Ok(net) = s.parse::<IpNet>() {
                // OpenSearch reads a CIDR in a term query on an `ip` field as the network.
                alts.push(subnet(f, field, &net));
            }
        }
    }
    Ok(any_of(alts))
}

fn subnet(f: &Fields, field: &str, net: &IpNet) -> Q {
    let lo = term(f.ip, field, &encode_ip(net.network()));
    let hi = term(f.ip, field, &encode_ip(net.broadcast()));
    Box::new(RangeQuery::new(StdBound::Included(lo), StdBound::Included(hi)))
}

/// The ways one range bound can be read.
struct Readings {
    num: Option<f64>,
    ip: Option<std::net::IpAddr>,
    text: String,
}

fn readings(v: &Value) -> Readings {
    match v {
        Value::Bool(b) => Readings { num: None, ip: None, text: b.to_string() },
        Value::Int(i) => Readings { num: Some(*i as f64), ip: None, text: i.to_string() },
        Value::Float(x) => Readings { num: Some(*x), ip: None, text: v.as_text() },
        Value::Str(s) => Readings {
            num: s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
            ip: parse_ip(s),
            text: s.clone(),
        },
    }
}

/// The last millisecond (µs) a date value names, to the precision it is written with: a day
/// (`2026-11-23`), a second (no fraction) or a millisecond. OpenSearch reads an inclusive upper
/// bound, an exclusive lower bound and a term so (its `roundUp` date parsing).
fn round_up(text: &str, t: i64) -> i64 {
    let last = if text.len() == 10 {
        t + 86_400_000_000 - 1000
    } else if text.as_bytes().get(19) != Some(&b'.') {
        t + 999_000
    } else {
        t
    };
    last.min(MAX_MICROS / 1000 * 1000)
}

/// A range on a date field. A bound before or after every instant a store holds (year 1600,
/// 9999) is met by every stored instant or by none, without converting it; a bound that is not a
/// date at all is an error, as OpenSearch refuses it.
fn date_range(
    f: &Fields,
    field: &str,
    lower: Option<&Bound>,
    upper: Option<&Bound>,
) -> Result<Q, StoreError> {
    let read = |b: Option<&Bound>, upper: bool| -> Result<Option<(DateReading, bool)>, StoreError> {
        let Some(b) = b else { return Ok(None) };
        let reading = match &b.value {
            // An inclusive upper or exclusive lower bound is rounded up to its precision, as
            // OpenSearch does: `lte 2026-11-23` takes the whole day, `gt …T10:00:00Z` excludes
            // the whole second.
            Value::Str(s) => read_date_bound(s).map(|r| match r {
                DateReading::At(t) if b.inclusive == upper => DateReading::At(round_up(s, t)),
                r => r,
            }),
            _ => None,
        };
        match reading {
            Some(r) => Ok(Some((r, b.inclusive))),
            None => Err(StoreError::Unsupported(format!(
                "{field} is a date field: the bound {} is not a date",
                b.value.as_text()
            ))),
        }
    };
    let (lo, hi) = (read(lower, false)?, read(upper, true)?);
    // Each bound as an inclusive/exclusive instant in the stored range, or "nothing matches".
    let lo = match lo {
        None | Some((DateReading::Before, _)) => StdBound::Included(MIN_MICROS),
        Some((DateReading::After, _)) => return Ok(Box::new(EmptyQuery)),
        Some((DateReading::At(t), true)) => StdBound::Included(t),
        Some((DateReading::At(t), false)) => StdBound::Excluded(t),
    };
    let hi = match hi {
        None | Some((DateReading::After, _)) => StdBound::Included(MAX_MICROS),
        Some((DateReading::Before, _)) => return Ok(Box::new(EmptyQuery)),
        Some((DateReading::At(t), true)) => StdBound::Included(t),
        Some((DateReading::At(t), false)) => StdBound::Excluded(t),
    };
    if is_window_field(field) {
        return Ok(window_range(f, field, lo, hi));
    }
    let enc = |b: StdBound<i64>| match b {
        StdBound::Included(t) => Some((encode_date(t), true)),
        StdBound::Excluded(t) => Some((encode_date(t), false)),
        StdBound::Unbounded => None,
    };
    Ok(term_range(f.date, field, enc(lo), enc(hi)))
}

fn range_node(
    f: &Fields,
    field: &str,
    lower: Option<&Bound>,
    upper: Option<&Bound>,
) -> Result<Q, StoreError> {
    if lower.is_none() && upper.is_none() {
        return Ok(exists(f, field));
    }
    if is_date_field(field) {
        return date_range(f, field, lower, upper);
    }
    let lo = lower.map(|b| (readings(&b.value), b.inclusive));
    let hi = upper.map(|b| (readings(&b.value), b.inclusive));
    let bounds = [&lo, &hi];
    let all = |p: &dyn Fn(&Readings) -> bool| bounds.iter().all(|b| b.as_ref().is_none_or(|(r, _)| p(r)));

    if all(&|r| r.ip.is_some()) {
        let conv = |b: &Option<(Readings, bool)>| {
            b.as_ref().and_then(|(r, inc)| r.ip.map(|ip| (encode_ip(ip), *inc)))
        };
        return Ok(term_range(f.ip, field, conv(&lo), conv(&hi)));
    }
    // Keywords lexicographically, and numbers numerically when the bounds are numbers.
    let text = |b: &Option<(Readings, bool)>| b.as_ref().map(|(r, inc)| (r.text.clone(), *inc));
    let mut alts = vec![term_range(f.kw, field, text(&lo), text(&hi))];
    if all(&|r| r.num.is_some()) {
        let conv = |b: &Option<(Readings, bool)>| {
            b.as_ref().map(|(r, inc)| (encode_num(r.num.unwrap_or_default()), *inc))
        };
        alts.push(term_range(f.num, field, conv(&lo), conv(&hi)));
    }
    Ok(any_of(alts))
}

/// A range of instants (µs) on `utctimestamp` or `receivedtimestamp`, from their columns (the
/// mapping writes no `_date` terms for them).
fn window_range(f: &Fields, field: &str, lo: StdBound<i64>, hi: StdBound<i64>) -> Q {
    let column = if field == "utctimestamp" { f.utc } else { f.recv };
    let term = |t: i64| Term::from_field_i64(column, t);
    Box::new(RangeQuery::new(lo.map(term), hi.map(term)))
}

/// Terms of `field` between `path\0lo` and `path\0hi` (an absent bound: the path's first/last term).
fn term_range(
    field: tantivy::schema::Field,
    path: &str,
    lo: Option<(String, bool)>,
    hi: Option<(String, bool)>,
) -> Q {
    let lower = match lo {
        Some((v, true)) => StdBound::Included(Term::from_field_text(field, &term_text(path, &v))),
        Some((v, false)) => StdBound::Excluded(Term::from_field_text(field, &term_text(path, &v))),
        None => StdBound::Included(Term::from_field_text(field, &term_text(path, ""))),
    };
    let upper = match hi {
        Some((v, true)) => StdBound::Included(Term::from_field_text(field, &term_text(path, &v))),
        Some((v, false)) => StdBound::Excluded(Term::from_field_text(field, &term_text(path, &v))),
        // Every term of the path sorts below `path\u{1}`.
        None => {
            StdBound::Excluded(Term::from_field_text(field, &format!("{path}{}", char::from(SEP as u8 + 1))))
        }
    };
    Box::new(RangeQuery::new(lower, upper))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::mapping::{schema, text_analyzer, DocBuilder, KIND_EVENT, TEXT_TOKENIZER};

    /// The ids of the summaries `query` matches, in an index holding one event per summary.
    fn search(summaries: &[&str], query: &str) -> Vec<String> {
        use tantivy::schema::Value as _;
        let (schema, fields) = schema();
        let index = tantivy::Index::create_in_ram(schema.clone());
        index.tokenizers().register(TEXT_TOKENIZER, text_analyzer());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let mut b = DocBuilder::new(&fields, &schema).unwrap();
        for s in summaries {
            let doc = b.build(KIND_EVENT, "events-x", s, &serde_json::json!({ "summary": s })).unwrap();
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let q = translate(&fields, &tripline_dsl::query_string::parse(query).unwrap()).unwrap();
        let mut ids: Vec<String> = searcher
            .search(&q, &tantivy::collector::DocSetCollector)
            .unwrap()
            .into_iter()
            .map(|addr| {
                let doc: tantivy::TantivyDocument = searcher.doc(addr).unwrap();
                doc.get_first(fields.id).and_then(|v| v.as_str()).unwrap().to_string()
            })
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_negated_phrase_answers_without_panicking() {
        // tantivy's PhraseScorer under an exclusion panicked here (MozDef's PhraseMatch tests;
        // on CloudTrail, NOT summary:"getuser in").
        let summaries = ["test sample run", "test run", "example test running", "this is test run source"];
        assert_eq!(
            search(&summaries, "NOT summary:\"test run\""),
            ["example test running", "test sample run"]
        );
        assert_eq!(search(&summaries, "summary:\"test run\""), ["test run", "this is test run source"]);
        let many: Vec<String> = (0..300).map(|i| format!("getuser {} in", ["x", "in"][i % 2])).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(search(&refs, "NOT summary:\"getuser in\"").len(), 150);
        assert_eq!(search(&refs, "summary:getuser AND NOT summary:\"getuser in\"").len(), 150);
    }

    #[test]
    fn regexes_beyond_tantivy_fst_s_state_limit_run() {
        // MozDef's ip_matcher: tantivy-fst refuses it ("exceeds size limit of 1000 states"),
        // Lucene (and so OpenSearch) evaluates it.
        let re = lucene_regex(r".*\..{1,3}\..{1,3}\..{1,3}(:.*|\/.*)", false).unwrap();
        assert!(tantivy_fst::Regex::new(&re).is_err(), "tantivy-fst now takes it: drop the fallback?");
        let big = BigRegex::new(&re).unwrap();
        for yes in [
            "http://1.2.3.4/somepath",
            "1.2.3.4:443",
            "https://foo.bar.baz.com/somepath",
            "foo.bar.baz.com:80",
        ] {
            assert!(big.matches(yes), "{yes}");
        }
        for no in ["https://foo.bar.mozilla.com/somepath", "foo.bar.mozilla.com:80", "example.com:443", ""] {
            assert!(!big.matches(no), "{no}");
        }
        // Anchored at both ends, like tantivy-fst's own automata.
        let small = BigRegex::new("ab|abc").unwrap();
        assert!(
            small.matches("ab") && small.matches("abc") && !small.matches("abcd") && !small.matches("xab")
        );
        assert!(BigRegex::new("(a|b)*a(a|b){30}").is_err(), "the memory limit holds");
        assert_eq!(
            search(&["db.exe", "x.y.exe.z"], "summary:/.*\\.(exe|sh)/"),
            ["db.exe"],
            "summary tokens are the standard analyzer's"
        );
    }

    #[test]
    fn wildcards_escape_everything_else() {
        assert_eq!(wildcard_regex("a*b?c", false), "a(?s:.)*b(?s:.)c");
        assert_eq!(wildcard_regex(r"a\*.b", false), r"a\*\.b");
    }

    #[test]
    fn lucene_regex_subset() {
        assert_eq!(lucene_regex("ab.*c", false).unwrap(), "ab(?s:.)*c");
        assert_eq!(lucene_regex("[a-c]+x{2,3}", false).unwrap(), "[a-c]+x{2,3}");
        assert_eq!(lucene_regex(r#""a.b"@"#, false).unwrap(), r"a\.b(?s:.)*");
        assert_eq!(lucene_regex(r"\d^$", false).unwrap(), r"[0-9]\^\$");
        assert_eq!(lucene_regex(r"\W\.\\", false).unwrap(), r"[^a-zA-Z_0-9]\.\\");
        assert!(lucene_regex(r"\Alice", false).is_err(), "Lucene refuses a backslash before another letter");
        assert!(lucene_regex("a&b", false).is_err());
        assert!(lucene_regex("[abc", false).is_err());
        assert!(lucene_regex("<1-5>", false).is_err());
    }

    #[test]
    fn case_folding_is_ascii_only_and_spares_escapes_and_ranges() {
        // What OpenSearch 2.19 answered for the same patterns (tests/conformance/case_insensitive.json
        // holds both stores to it).
        assert_eq!(literal_regex("Ab-é1", true), "[aA][bB]\\-é1");
        assert_eq!(literal_regex("\u{212a}ßİ", true), "\u{212a}ßİ");
        assert_eq!(wildcard_regex(r"x\ay*", true), "[xX]a[yY](?s:.)*");
        assert_eq!(lucene_regex(r#"[a-c]b"xy"\.[^q]"#, true).unwrap(), r"[a-c][bB][xX][yY]\.[^qQ]");
        assert_eq!(lucene_regex(r"[\-a]\w", true).unwrap(), r"[\-aA][a-zA-Z_0-9]");
        let re = regex::Regex::new(&format!("^(?:{})$", lucene_regex("[ab-d]X", true).unwrap())).unwrap();
        for (text, hit) in [("Ax", true), ("cX", true), ("Cx", false), ("éx", false)] {
            assert_eq!(re.is_match(text), hit, "{text}");
        }
        assert!(lucene_regex("[a", true).is_err());
        assert!(lucene_regex("[a-", true).is_err());
    }
}
