//! The backend-neutral query AST: the only thing a store ever sees.
//!
//! Every front end (the [`SearchQuery`](crate::SearchQuery) builder, the matchers, the query-string
//! parser) lowers to [`QueryAst`] and [`Aggregation`]. Stores translate these nodes into their own
//! engine queries; [`crate::opensearch`] renders them as OpenSearch Query DSL JSON.
//!
//! The nodes are deliberately few and explicit: a node says *what* must hold, never *how* a given
//! engine spells it. Timestamps are absolute (the time window has already been resolved against a
//! clock), so an AST is deterministic and can be golden-tested.

use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The sub-aggregation name under which a terms bucket's sampled hits are returned (reserved:
/// no aggregation may be named so).
pub const SAMPLES_AGG: &str = "_samples";

/// Parse `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128 network).
pub fn parse_cidr(text: &str) -> Result<IpNet, crate::DslError> {
    let t = text.trim();
    if let Ok(net) = t.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    if let Ok(ip) = t.parse::<std::net::IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    Err(crate::DslError::Invalid {
        matcher: "SubnetMatch",
        reason: format!("{text:?} is not an IPv4 or IPv6 CIDR (such as 10.0.0.0/8 or fd00::/8)"),
    })
}

/// A scalar value in a query: a keyword, a number, a boolean or a date (as RFC 3339 text).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number (ports, byte counts, process ids).
    Int(i64),
    /// A floating-point number (severity scores).
    Float(f64),
    /// Keyword or text; dates travel as RFC 3339 strings.
    Str(String),
}

impl Value {
    /// The value as text, the way an engine would index it as a keyword.
    pub fn as_text(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str(s) => s.clone(),
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.clone()),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_text())
    }
}

macro_rules! value_from {
    ($variant:ident: $($t:ty => $conv:expr),+ $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::$variant($conv(v)) }
        })+
    };
}
value_from!(Str: &str => String::from, String => std::convert::identity, &String => Clone::clone);
value_from!(Int: i64 => std::convert::identity, i32 => i64::from, u32 => i64::from, u16 => i64::from, u8 => i64::from);
value_from!(Float: f64 => std::convert::identity, f32 => f64::from);
value_from!(Bool: bool => std::convert::identity);

impl From<chrono::DateTime<chrono::Utc>> for Value {
    fn from(t: chrono::DateTime<chrono::Utc>) -> Self {
        Value::Str(crate::format_timestamp(t))
    }
}

/// One end of a range: the value and whether the value itself is included.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    /// The boundary value.
    pub value: Value,
    /// `true` for `gte` / `lte`, `false` for `gt` / `lt`.
    pub inclusive: bool,
}

impl Bound {
    /// An inclusive bound (`gte` / `lte`).
    pub fn inclusive(value: impl Into<Value>) -> Self {
        Bound { value: value.into(), inclusive: true }
    }
    /// An exclusive bound (`gt` / `lt`).
    pub fn exclusive(value: impl Into<Value>) -> Self {
        Bound { value: value.into(), inclusive: false }
    }
}

impl fmt::Debug for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}{}", self.value, if self.inclusive { " (incl)" } else { " (excl)" })
    }
}

/// A query over MozDef-format events.
///
/// Field names are dotted paths (`details.sourceipaddress`). How a node matches depends on the
/// field's mapping, which both stores share (see the crate docs, "Semantics").
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryAst {
    /// Every event.
    MatchAll,
    /// No event.
    MatchNone,
    /// The field equals the value: exact on keywords, numbers, booleans and dates; every token of
    /// the value present on the analyzed `summary` field. An array matches if any element does.
    Term {
        /// Dotted field path.
        field: String,
        /// The value to match.
        value: Value,
        /// Compare ignoring case, as OpenSearch's `case_insensitive` does: each ASCII letter
        /// matches itself in either case; every other character (`é`, `ß`, the Kelvin sign)
        /// only itself. See [`QueryAst::validate`] for the fields it applies to.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        case_insensitive: bool,
    },
    /// The field equals any of the values.
    Terms {
        /// Dotted field path.
        field: String,
        /// Accepted values.
        values: Vec<Value>,
    },
    /// `*` (any run of characters) and `?` (one character) over the keyword value, or over each
    /// token of a text field. `\` escapes the next character.
    Wildcard {
        /// Dotted field path.
        field: String,
        /// The pattern.
        pattern: String,
        /// Compare ignoring case, as OpenSearch's `case_insensitive` does: each ASCII letter of
        /// the pattern matches itself in either case; an escaped letter (`\A`) and every other
        /// character (`é`, `ß`, the Kelvin sign) only itself. See [`QueryAst::validate`] for the
        /// fields it applies to.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        case_insensitive: bool,
    },
    /// A regular expression (Lucene flavour, anchored at both ends) over the keyword value.
    Regex {
        /// Dotted field path.
        field: String,
        /// The expression, without slashes.
        pattern: String,
        /// Compare ignoring case, as OpenSearch's `case_insensitive` (Lucene's
        /// `ASCII_CASE_INSENSITIVE`) does: each ASCII letter written as a literal (alone, in a
        /// class, negated class or quoted string) matches itself in either case; ranges (`[a-c]`
        /// is `a`, `b` or `c`) are not folded, and every other character (`é`, `ß`, the Kelvin
        /// sign) matches only itself. See [`QueryAst::validate`] for the fields it applies to.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        case_insensitive: bool,
    },
    /// The words of the phrase, in order and adjacent (`match_phrase`).
    Phrase {
        /// Dotted field path.
        field: String,
        /// The phrase.
        phrase: String,
    },
    /// The field is present and not null.
    Exists {
        /// Dotted field path.
        field: String,
    },
    /// The field lies between the bounds (either may be absent), ordered as the field's type
    /// orders: dates by time, numbers numerically, keywords lexicographically.
    Range {
        /// Dotted field path.
        field: String,
        /// Lower bound, if any.
        lower: Option<Bound>,
        /// Upper bound, if any.
        upper: Option<Bound>,
    },
    /// The `ip` field lies in the network (IPv4 or IPv6 CIDR).
    Subnet {
        /// Dotted field path.
        field: String,
        /// The network.
        net: IpNet,
    },
    /// Boolean combination. Every `must` holds, no `must_not` holds, and when `should` is not
    /// empty at least one of its clauses holds (`minimum_should_match: 1`, always).
    Bool {
        /// All of these.
        must: Vec<QueryAst>,
        /// At least one of these, when there are any.
        should: Vec<QueryAst>,
        /// None of these.
        must_not: Vec<QueryAst>,
    },
}

/// How deeply a query may nest (`Bool` inside `Bool`): far beyond any real detection (query
/// strings stop at 32 parentheses), and shallow enough that no store's recursion over it can
/// exhaust a thread's stack.
pub const MAX_AST_DEPTH: usize = 64;

impl QueryAst {
    /// Whether any store can run this query as it is: every field is a dotted path without empty
    /// segments, `Bool` nests at most [`MAX_AST_DEPTH`] deep, and `case_insensitive` is asked
    /// for only where it means something. Both stores call this before they do anything else,
    /// so every front end (matchers, query strings, Sigma, an AST built by hand or read from
    /// JSON) gets the same answer.
    ///
    /// `case_insensitive` is refused, with the reason, on the date and ip fields (OpenSearch
    /// refuses it there: "does not support case insensitive term queries"), on `summary` (its
    /// tokens are lower-cased already: matching there ignores case without the flag), and on a
    /// `Term` whose value is a number or a boolean (use a string). Anywhere else it is exact,
    /// including on a field OpenSearch maps as a number: a value or pattern with no ASCII letter
    /// is the same node without the flag, and both stores run it so
    /// ([`QueryAst::case_matters`]).
    pub fn validate(&self) -> Result<(), crate::DslError> {
        self.validate_at(1)
    }

    fn validate_at(&self, depth: usize) -> Result<(), crate::DslError> {
        if depth > MAX_AST_DEPTH {
            return Err(crate::DslError::Invalid {
                matcher: "QueryAst",
                reason: format!("nested deeper than {MAX_AST_DEPTH} levels"),
            });
        }
        if let QueryAst::Bool { must, should, must_not } = self {
            return must.iter().chain(should).chain(must_not).try_for_each(|q| q.validate_at(depth + 1));
        }
        match self.leaf_field() {
            Some(field) if field.is_empty() || field.split('.').any(str::is_empty) => {
                Err(crate::DslError::InvalidField(field.to_string()))
            }
            _ => self.validate_case(),
        }
    }

    fn validate_case(&self) -> Result<(), crate::DslError> {
        let (matcher, field) = match self {
            QueryAst::Term { field, case_insensitive: true, value } => {
                if !matches!(value, Value::Str(_)) {
                    return Err(crate::DslError::Invalid {
                        matcher: "Term",
                        reason: format!(
                            "case_insensitive on {field} needs a string value, not {value:?}: a number or \
                             a boolean has no case"
                        ),
                    });
                }
                ("Term", field)
            }
            QueryAst::Wildcard { field, case_insensitive: true, .. } => ("Wildcard", field),
            QueryAst::Regex { field, case_insensitive: true, .. } => ("Regex", field),
            _ => return Ok(()),
        };
        let why = if crate::is_text_field(field) {
            "it is analyzed text, whose lower-cased tokens match regardless of case without the flag"
        } else if crate::is_date_field(field) {
            "it is a date field (OpenSearch refuses case_insensitive on dates)"
        } else if crate::is_ip_field(field) {
            "it is an ip field (OpenSearch refuses case_insensitive on addresses)"
        } else {
            return Ok(());
        };
        Err(crate::DslError::Invalid {
            matcher,
            reason: format!("case_insensitive is not supported on {field}: {why}"),
        })
    }

    /// Whether this node's `case_insensitive` flag changes what it matches: it is set and the
    /// value or pattern holds an ASCII letter (the only characters the flag folds). Stores run a
    /// node for which this is false as the same node without the flag, so that it also runs on
    /// fields OpenSearch maps as numbers (where it refuses the flag).
    pub fn case_matters(&self) -> bool {
        match self {
            QueryAst::Term { value: Value::Str(s), case_insensitive: true, .. } => {
                s.chars().any(|c| c.is_ascii_alphabetic())
            }
            QueryAst::Wildcard { pattern, case_insensitive: true, .. }
            | QueryAst::Regex { pattern, case_insensitive: true, .. } => {
                pattern.chars().any(|c| c.is_ascii_alphabetic())
            }
            _ => false,
        }
    }

    /// This query widened so that each keyword condition on a field `F` (term, terms, wildcard,
    /// regex, range, exists, not negated) also accepts an event whose `F` was too long to index
    /// (`F` listed in [`UNINDEXED_FIELD`](crate::UNINDEXED_FIELD)); `None` when the query has no
    /// such condition. Stores count what this matches beyond the query itself: the events a
    /// search may have missed because a value was longer than
    /// [`MAX_KEYWORD_CHARS`](crate::MAX_KEYWORD_CHARS).
    pub fn widened_for_unindexed(&self) -> Option<QueryAst> {
        let (q, changed) = self.widen(true);
        changed.then_some(q)
    }

    fn widen(&self, positive: bool) -> (QueryAst, bool) {
        let keyword_leaf = |field: &str| {
            !crate::is_text_field(field)
                && !crate::is_date_field(field)
                && !crate::is_ip_field(field)
                && field != crate::UNINDEXED_FIELD
        };
        match self {
            QueryAst::Term { field, .. }
            | QueryAst::Terms { field, .. }
            | QueryAst::Wildcard { field, .. }
            | QueryAst::Regex { field, .. }
            | QueryAst::Exists { field }
            | QueryAst::Range { field, .. }
                if positive && keyword_leaf(field) =>
            {
                let marker = QueryAst::Term {
                    field: crate::UNINDEXED_FIELD.to_owned(),
                    value: Value::Str(field.clone()),
                    case_insensitive: false,
                };
                (QueryAst::Bool { must: vec![], should: vec![self.clone(), marker], must_not: vec![] }, true)
            }
            QueryAst::Bool { must, should, must_not } => {
                let mut changed = false;
                let mut map = |clauses: &[QueryAst], positive: bool| -> Vec<QueryAst> {
                    clauses
                        .iter()
                        .map(|c| {
                            let (q, ch) = c.widen(positive);
                            changed |= ch;
                            q
                        })
                        .collect()
                };
                let must = map(must, positive);
                let should = map(should, positive);
                // Widening under a negation would narrow the query (and a double negation is
                // rare): everything below a `must_not` stays as it is.
                let must_not = map(must_not, false);
                (QueryAst::Bool { must, should, must_not }, changed)
            }
            other => (other.clone(), false),
        }
    }

    /// `must` of the given clauses (or the clause itself when there is one).
    pub fn all(clauses: Vec<QueryAst>) -> QueryAst {
        match clauses.len() {
            0 => QueryAst::MatchAll,
            1 => clauses.into_iter().next().unwrap_or(QueryAst::MatchAll),
            _ => QueryAst::Bool { must: clauses, should: vec![], must_not: vec![] },
        }
    }

    /// `should` of the given clauses: at least one holds.
    pub fn any(clauses: Vec<QueryAst>) -> QueryAst {
        match clauses.len() {
            0 => QueryAst::MatchNone,
            1 => clauses.into_iter().next().unwrap_or(QueryAst::MatchNone),
            _ => QueryAst::Bool { must: vec![], should: clauses, must_not: vec![] },
        }
    }

    /// The negation of a clause.
    pub fn negate(clause: QueryAst) -> QueryAst {
        QueryAst::Bool { must: vec![], should: vec![], must_not: vec![clause] }
    }

    /// Every field this query reads, in order of first appearance.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        self.visit_fields(&mut |f| {
            if !out.contains(&f) {
                out.push(f);
            }
        });
        out
    }

    fn visit_fields<'a>(&'a self, f: &mut impl FnMut(&'a str)) {
        if let Some(field) = self.leaf_field() {
            f(field);
        } else if let QueryAst::Bool { must, should, must_not } = self {
            for q in must.iter().chain(should).chain(must_not) {
                q.visit_fields(f);
            }
        }
    }

    /// The field a leaf condition names; `None` for `MatchAll`, `MatchNone` and `Bool`.
    pub fn leaf_field(&self) -> Option<&str> {
        match self {
            QueryAst::MatchAll | QueryAst::MatchNone | QueryAst::Bool { .. } => None,
            QueryAst::Term { field, .. }
            | QueryAst::Terms { field, .. }
            | QueryAst::Wildcard { field, .. }
            | QueryAst::Regex { field, .. }
            | QueryAst::Phrase { field, .. }
            | QueryAst::Exists { field }
            | QueryAst::Range { field, .. }
            | QueryAst::Subnet { field, .. } => Some(field),
        }
    }
}

/// How `Debug` shows a set `case_insensitive` flag: `Term(f = "v", any case)`.
fn ci_note(case_insensitive: bool) -> &'static str {
    if case_insensitive {
        ", any case"
    } else {
        ""
    }
}

impl fmt::Debug for QueryAst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryAst::MatchAll => f.write_str("MatchAll"),
            QueryAst::MatchNone => f.write_str("MatchNone"),
            QueryAst::Term { field, value, case_insensitive } => {
                write!(f, "Term({field} = {value:?}{})", ci_note(*case_insensitive))
            }
            QueryAst::Terms { field, values } => write!(f, "Terms({field} in {values:?})"),
            QueryAst::Wildcard { field, pattern, case_insensitive } => {
                write!(f, "Wildcard({field} ~ {pattern:?}{})", ci_note(*case_insensitive))
            }
            QueryAst::Regex { field, pattern, case_insensitive } => {
                write!(f, "Regex({field} ~ /{pattern}/{})", ci_note(*case_insensitive))
            }
            QueryAst::Phrase { field, phrase } => write!(f, "Phrase({field} = {phrase:?})"),
            QueryAst::Exists { field } => write!(f, "Exists({field})"),
            QueryAst::Range { field, lower, upper } => {
                write!(f, "Range({field} in ")?;
                match lower {
                    Some(b) => write!(f, "{}{:?}", if b.inclusive { "[" } else { "(" }, b.value)?,
                    None => f.write_str("(*")?,
                }
                f.write_str(", ")?;
                match upper {
                    Some(b) => write!(f, "{:?}{}", b.value, if b.inclusive { "]" } else { ")" })?,
                    None => f.write_str("*)")?,
                }
                f.write_str(")")
            }
            QueryAst::Subnet { field, net } => write!(f, "Subnet({field} in {net})"),
            QueryAst::Bool { must, should, must_not } => {
                let mut s = f.debug_struct("Bool");
                if !must.is_empty() {
                    s.field("must", must);
                }
                if !should.is_empty() {
                    s.field("should", should);
                }
                if !must_not.is_empty() {
                    s.field("must_not", must_not);
                }
                s.finish()
            }
        }
    }
}

/// An aggregation the engine computes: counts stay right at any volume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Aggregation {
    /// The name results are reported under.
    pub name: String,
    /// What to compute.
    pub kind: AggregationKind,
    /// Computed inside each bucket (terms and date histogram only).
    pub subs: Vec<Aggregation>,
}

/// The kinds of aggregation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregationKind {
    /// The `size` most frequent values of a field, each with its count and up to `samples` hits.
    Terms {
        /// Dotted field path.
        field: String,
        /// How many buckets, most frequent first (ties broken by key, ascending).
        size: usize,
        /// Hits sampled per bucket (most recent first).
        samples: usize,
        /// Buckets with fewer documents are left out.
        min_count: u64,
    },
    /// The number of distinct values of a field.
    Cardinality {
        /// Dotted field path.
        field: String,
    },
    /// Counts per fixed-width time bucket.
    DateHistogram {
        /// Dotted date field path.
        field: String,
        /// Bucket width in seconds.
        interval_secs: u64,
    },
}

#[cfg(test)]
mod validate_tests {
    use super::*;

    fn nested(depth: usize) -> QueryAst {
        (1..depth).fold(QueryAst::MatchAll, |q, _| QueryAst::Bool {
            must: vec![q],
            should: vec![],
            must_not: vec![],
        })
    }

    #[test]
    fn fields_and_depth_are_checked() {
        assert!(nested(MAX_AST_DEPTH).validate().is_ok());
        let err = nested(MAX_AST_DEPTH + 1).validate().unwrap_err().to_string();
        assert!(err.contains("nested deeper than 64"), "{err}");
        // Deep enough to overflow a recursive walk that did not stop early.
        assert!(nested(1_000).validate().is_err());
        for bad in ["", "details..x", ".x", "x."] {
            let q = QueryAst::Bool {
                must: vec![QueryAst::MatchAll],
                should: vec![],
                must_not: vec![QueryAst::Exists { field: bad.into() }],
            };
            assert!(matches!(q.validate(), Err(crate::DslError::InvalidField(_))), "{bad:?}");
        }
        assert!(QueryAst::Exists { field: "details.sourceipaddress".into() }.validate().is_ok());
    }

    #[test]
    fn case_insensitive_reads_writes_shows_and_is_checked() {
        // Stored ASTs without the flag still read, and a false flag is not written.
        let old: QueryAst =
            serde_json::from_str(r#"{"term":{"field":"details.eventname","value":"A"}}"#).unwrap();
        assert_eq!(
            old,
            QueryAst::Term { field: "details.eventname".into(), value: "A".into(), case_insensitive: false }
        );
        assert_eq!(
            serde_json::to_string(&old).unwrap(),
            r#"{"term":{"field":"details.eventname","value":"A"}}"#
        );
        let ci = QueryAst::Wildcard {
            field: "details.eventname".into(),
            pattern: "Get*".into(),
            case_insensitive: true,
        };
        let text = serde_json::to_string(&ci).unwrap();
        assert_eq!(
            text,
            r#"{"wildcard":{"field":"details.eventname","pattern":"Get*","case_insensitive":true}}"#
        );
        assert_eq!(serde_json::from_str::<QueryAst>(&text).unwrap(), ci);
        assert_eq!(format!("{ci:?}"), r#"Wildcard(details.eventname ~ "Get*", any case)"#);
        assert_eq!(format!("{old:?}"), r#"Term(details.eventname = "A")"#);
        assert!(ci.validate().is_ok());

        let refused = |q: QueryAst, needle: &str| {
            let err = q.validate().expect_err("refused").to_string();
            assert!(err.contains(needle), "{err}");
        };
        let term = |f: &str, v: Value| QueryAst::Term { field: f.into(), value: v, case_insensitive: true };
        refused(term("summary", "Failed".into()), "analyzed text");
        refused(term("utctimestamp", "2026-11-23".into()), "date field");
        refused(term("details.sourceipaddress", "::1".into()), "ip field");
        refused(term("details.destinationport", Value::Int(22)), "needs a string value");
        refused(term("details.success", Value::Bool(true)), "needs a string value");
        refused(
            QueryAst::Regex { field: "summary".into(), pattern: "a.*".into(), case_insensitive: true },
            "Regex: case_insensitive is not supported on summary",
        );
        // Nested under a Bool, too.
        refused(QueryAst::negate(term("details.sourceipaddress", "x".into())), "ip field");
        // The same nodes without the flag are fine.
        for f in ["summary", "utctimestamp", "details.sourceipaddress"] {
            let q = QueryAst::Term { field: f.into(), value: "x".into(), case_insensitive: false };
            assert!(q.validate().is_ok(), "{f}");
        }
    }

    #[test]
    fn the_flag_matters_only_for_ascii_letters() {
        let term = |v: &str| QueryAst::Term { field: "f".into(), value: v.into(), case_insensitive: true };
        assert!(term("a1").case_matters());
        for v in ["123456789012", "10.0.0.1", "é", "ß", "\u{212a}", "*", ""] {
            assert!(!term(v).case_matters(), "{v:?}");
        }
        let exact = QueryAst::Term { field: "f".into(), value: "a".into(), case_insensitive: false };
        assert!(!exact.case_matters());
        let regex = QueryAst::Regex { field: "f".into(), pattern: "[0-9]+".into(), case_insensitive: true };
        assert!(!regex.case_matters());
    }
}
