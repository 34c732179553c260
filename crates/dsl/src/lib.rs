//! # tripline-dsl: detections as code, MozDef style
//!
//! Security engineers who wrote MozDef alerts know `SearchQuery(minutes=20)`,
//! `TermMatch('details.eventname', 'CreateUser')` and `search_object.aggregate(...)`. This crate
//! gives them the same vocabulary in Rust, typed, and compiles it to one backend-neutral
//! [`QueryAst`]. The AST is the only thing a store sees: the embedded (tantivy) store translates it
//! to engine queries, and [`opensearch`] renders it as OpenSearch Query DSL JSON.
//!
//! The crate does no I/O. The clock is passed in ([`SearchQuery::compile`]), so a compiled query is
//! deterministic and golden-testable.
//!
//! ```text
//! SearchQuery + matchers ─┐
//! query strings ──────────┼─▶ QueryAst + Aggregation ─▶ opensearch::search_body (JSON)
//! (Lucene subset)         ┘                          └─▶ embedded store (tantivy queries)
//! ```
//!
//! ## Semantics (the contract both stores keep)
//!
//! Strings are keywords: exact and case-sensitive, unless a `Term`, `Wildcard` or `Regex` says
//! `case_insensitive` (OpenSearch's parameter of that name, which folds ASCII letters only: `é`
//! does not match `É`; see [`QueryAst::validate`] for where it applies). `summary` is the one analyzed text field
//! ([`TEXT_FIELDS`]): matching there is per lower-cased token. An array field matches when any of
//! its elements does. A `should` list, when present, requires at least one clause
//! (`minimum_should_match: 1`). A time window keeps events whose `utctimestamp` (when the event
//! happened) lies in `[now − window, now]`; when an event was received (`receivedtimestamp`) never
//! places it in a window, so a backfill is found at the events' own time. Subnets are ranges over
//! `ip` fields, never text. Query strings are parsed here (see [`query_string`]) and never
//! concatenated into engine query text.
//!
//! ## The workshop scenarios, as queries
//!
//! Excessive Describe calls by one actor: count Describe calls per identity in the last 20 minutes,
//! keeping a few samples per actor.
//!
//! ```
//! use tripline_dsl::prelude::*;
//! let now = tripline_dsl::parse_timestamp("2026-11-23T12:00:00Z").unwrap();
//! let q = SearchQuery::minutes(20)
//!     .must((TermMatch("source", "cloudtrail"), TermMatch("details.eventverb", "Describe")))
//!     .must_not(TermMatch("details.errorcode", "AccessDenied"))
//!     .aggregate(Aggregation::terms("details.useridentity.arn").size(50).samples(5).min_count(50));
//! let body = tripline_dsl::opensearch::search_body(&q.compile(now).unwrap(), 0);
//! assert_eq!(body["aggs"]["details.useridentity.arn"]["terms"]["min_doc_count"], 50);
//! ```
//!
//! One IAM user from several source IPs within 15 minutes: the engine counts distinct IPs per user
//! (a cardinality inside each terms bucket), so the answer stays right at any volume.
//!
//! ```
//! use tripline_dsl::prelude::*;
//! let now = tripline_dsl::parse_timestamp("2026-11-23T12:00:00Z").unwrap();
//! let q = SearchQuery::minutes(15)
//!     .must((TermMatch("source", "cloudtrail"), TermMatch("details.useridentity.type", "IAMUser")))
//!     .must(ExistsMatch("details.sourceipaddress"))
//!     .aggregate(
//!         Aggregation::terms("details.useridentity.username").size(100).samples(10)
//!             .per_bucket(Aggregation::cardinality("details.sourceipaddress").named("ips")),
//!     );
//! let compiled = q.compile(now).unwrap();
//! assert_eq!(compiled.aggregations[0].subs[0].name, "ips");
//! ```
//!
//! An S3 bucket made public: an ACL granted to everyone, a policy with `Principal: *`, or the
//! public access block removed. Request parameters are kept as JSON text (their shape varies per
//! call), so they are searched with wildcards.
//!
//! ```
//! use tripline_dsl::prelude::*;
//! let now = tripline_dsl::parse_timestamp("2026-11-23T12:00:00Z").unwrap();
//! let q = SearchQuery::minutes(30)
//!     .must(TermMatch("details.eventsource", "s3.amazonaws.com"))
//!     .should((
//!         BooleanMatch::new().must((
//!             TermMatch("details.eventname", "PutBucketAcl"),
//!             WildcardMatch("details.requestparameters", "*AllUsers*"),
//!         )),
//!         BooleanMatch::new().must((
//!             TermMatch("details.eventname", "PutBucketPolicy"),
//!             WildcardMatch("details.requestparameters", r#"*"Principal":"\*"*"#),
//!         )),
//!         TermMatch("details.eventname", "DeletePublicAccessBlock"),
//!     ));
//! let body = tripline_dsl::opensearch::search_body(&q.compile(now).unwrap(), 10);
//! assert_eq!(body["query"]["bool"]["minimum_should_match"], 1);
//!
//! // The same alert as a query string, the way an analyst would type it in the console. It is
//! // parsed into the same AST, so it renders as the same structured Query DSL, never as text.
//! let typed = SearchQuery::minutes(30).must(QueryStringMatch(
//!     r#"details.eventsource:s3.amazonaws.com AND (
//!          (details.eventname:PutBucketAcl AND details.requestparameters:*AllUsers*)
//!       OR (details.eventname:PutBucketPolicy AND details.requestparameters:*\"Principal\"\:\"\*\"*)
//!       OR details.eventname:DeletePublicAccessBlock)"#,
//! ));
//! let typed_body = tripline_dsl::opensearch::search_body(&typed.compile(now).unwrap(), 10);
//! let clauses = &typed_body["query"]["bool"]["must"][1]["bool"]["must"];
//! assert_eq!(clauses[0]["term"]["details.eventsource"], "s3.amazonaws.com");
//! assert_eq!(clauses[1]["bool"]["minimum_should_match"], 1);
//! assert_eq!(
//!     clauses[1]["bool"]["should"][1]["bool"]["must"][1]["wildcard"]["details.requestparameters"]["value"],
//!     r#"*"Principal":"\*"*"#,
//! );
//! ```
//!
//! SSH (TCP 22) from outside the VPC, accepted: a flow whose source is not in the VPC's ranges.
//!
//! ```
//! use tripline_dsl::prelude::*;
//! let now = tripline_dsl::parse_timestamp("2026-11-23T12:00:00Z").unwrap();
//! let q = SearchQuery::minutes(10)
//!     .must((
//!         TermMatch("category", "vpc-flow"),
//!         TermMatch("details.destinationport", 22),
//!         TermMatch("details.protocol", 6),
//!         TermMatch("details.action", "ACCEPT"),
//!     ))
//!     .must_not((
//!         SubnetMatch("details.sourceipaddress", "10.0.0.0/8"),
//!         SubnetMatch("details.sourceipaddress", "172.16.0.0/12"),
//!         SubnetMatch("details.sourceipaddress", "192.168.0.0/16"),
//!     ));
//! let body = tripline_dsl::opensearch::search_body(&q.compile(now).unwrap(), 10);
//! let first = &body["query"]["bool"]["must_not"][0]["range"]["details.sourceipaddress"];
//! assert_eq!(first["gte"], "10.0.0.0");
//! assert_eq!(first["lte"], "10.255.255.255");
//! ```

//! ## Query strings
//!
//! [`QueryStringMatch`] takes the Lucene query-string syntax MozDef and Kibana users type, in the
//! subset alerts really use. [`query_string::parse`] turns it into the same [`QueryAst`] (so the
//! OpenSearch rendering is structured Query DSL, exactly as for the matchers, and the embedded store
//! runs the same nodes); [`query_string::to_query_string`] prints an AST back.
//!
//! | you write | it means |
//! |---|---|
//! | `details.eventname:CreateUser` | [`TermMatch`]: exact on keywords |
//! | `details.destinationport:22`, `details.success:true` | a number / boolean (canonical spelling only: `007` stays text; `\22` is the text "22") |
//! | `failed` (no field) | a term on `summary`, the analyzed text field |
//! | `summary:"failed login"`, `field:"a b"` | [`PhraseMatch`] |
//! | `details.eventname:Describe*`, `a?c` | [`WildcardMatch`] |
//! | `field:*` | [`ExistsMatch`], as Lucene reads it |
//! | `*:*` or `*` | every event |
//! | `field:/re[gG]ex.*/` | a regular expression (Lucene flavour, anchored) |
//! | `field:[1 TO 5]`, `{1 TO 5}`, `[1 TO 5}`, `[1 TO *]` | [`RangeMatch`]: `[ ]` inclusive, `{ }` exclusive, `*` open |
//! | `field:>=5`, `>5`, `<5`, `<=5` | a one-sided range |
//! | `_exists_:field` | [`ExistsMatch`] |
//! | `details.sourceipaddress:10.0.0.0/8`, `…:"fd00::/8"` | [`SubnetMatch`], on the ip fields ([`IP_FIELDS`]) only |
//! | `a AND b`, `a && b` | both |
//! | `a OR b`, `a \|\| b`, `a b` | at least one: side by side means OR, Lucene's default |
//! | `NOT a`, `!a`, `-a`; `+a` | must not; must |
//! | `( … )`, `field:(a OR b)` | grouping; a group of values for one field |
//! | `\:` `\*` `\"` `\ ` `\\` … | the character itself |
//!
//! Refused, with the column and this list in the message ([`DslError::QueryString`]): fuzzy and
//! proximity (`~`), boosts (`^`), wildcard field names, date math (`now-1d`), AND mixed with OR at
//! one level without parentheses (Lucene's reading of `a OR b AND c` surprises), `+a b` (where `b`
//! would only change a score), and malformed input: unbalanced parentheses, brackets or quotes,
//! dangling operators, empty queries, phrases and groups. The full grammar and the rules for values
//! are in [`query_string`].
//!
//! ```
//! use tripline_dsl::{query_string, DslError};
//! let err = query_string::parse("details.eventname:CreateUser~1").unwrap_err();
//! assert!(matches!(err, DslError::QueryString { column: 29, .. }));
//! assert!(err.to_string().contains("fuzzy and proximity searches (~) are not supported"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ast;
pub mod duration;
pub mod matchers;
pub mod opensearch;
pub mod query_string;
pub mod results;
pub mod search;

pub use ast::{Aggregation, AggregationKind, Bound, QueryAst, Value, MAX_AST_DEPTH};
pub use matchers::{
    BooleanMatch, Clauses, ExistsMatch, LessThanMatch, Matcher, PhraseMatch, QueryStringMatch, RangeMatch,
    SubnetMatch, TermMatch, TermsMatch, WildcardMatch,
};
pub use query_string::to_query_string;
pub use results::{AggregationResult, AggregationValue, Bucket, Hit};
pub use search::{validate_aggregations, CompiledQuery, SearchQuery, WINDOW_FIELD};

/// Fields mapped as analyzed text (standard analyzer: lower-cased word tokens). Every other string
/// field is a keyword.
pub const TEXT_FIELDS: [&str; 1] = ["summary"];

/// Whether `field` is analyzed text rather than a keyword.
pub fn is_text_field(field: &str) -> bool {
    TEXT_FIELDS.contains(&field)
}

/// A regular expression (Lucene syntax) as it must be written for a text field, whose tokens are
/// lower case: every character lower-cased except one after a backslash (`\D`, not-a-digit, is
/// not `\d`). Neither store analyzes a pattern, so a capital letter would otherwise never match;
/// wildcards on text are lower-cased whole (a wildcard's escapes are literals, and a capital
/// literal could never match a token either).
pub fn lower_text_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut escaped = false;
    for c in pattern.chars() {
        if escaped {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
        escaped = !escaped && c == '\\';
    }
    out
}

/// Fields mapped as `ip` (IPv4 and IPv6 addresses; CIDR-searchable), as in the index template.
pub const IP_FIELDS: [&str; 5] = [
    "details.sourceipaddress",
    "details.destinationipaddress",
    "details.remoteipaddress",
    "details.pktsrcaddr",
    "details.pktdstaddr",
];

/// The longest keyword value either store indexes, in characters: OpenSearch's `ignore_above`
/// in the index template (Lucene refuses terms over 32,766 bytes, and 8,191 characters of up to
/// four UTF-8 bytes each stay under that). A longer value is kept in the stored document and
/// shown in results, but no query can match it and no aggregation counts it, on both stores;
/// the stores list such fields in the document's [`UNINDEXED_FIELD`], and a search whose
/// conditions could have matched one reports how many events it may have missed.
pub const MAX_KEYWORD_CHARS: usize = 8191;

/// The top-level keyword field in which a store lists, for each stored event, the paths whose
/// values were too long to index ([`MAX_KEYWORD_CHARS`]).
pub const UNINDEXED_FIELD: &str = "unindexed";

/// Whether `text` is too long to be indexed as a keyword ([`MAX_KEYWORD_CHARS`] characters).
pub fn is_unindexable(text: &str) -> bool {
    text.len() > MAX_KEYWORD_CHARS && text.chars().count() > MAX_KEYWORD_CHARS
}

/// Fields mapped as `date`, as in the index template. A field is a date because the mapping
/// says so, never because its value looks like one: a `userAgent` or a bucket name of
/// `9999-01-01` is a keyword on both stores. Dates are held in
/// [`TIMESTAMP_MIN`](tripline_event::TIMESTAMP_MIN)..=[`TIMESTAMP_MAX`](tripline_event::TIMESTAMP_MAX).
pub const DATE_FIELDS: [&str; 5] =
    ["utctimestamp", "receivedtimestamp", "timestamp", "details.start", "details.end"];

/// Whether `field` is a `date` field.
pub fn is_date_field(field: &str) -> bool {
    DATE_FIELDS.contains(&field)
}

/// Whether `field` is an `ip` field.
pub fn is_ip_field(field: &str) -> bool {
    IP_FIELDS.contains(&field)
}

/// What can be wrong with a query. Every variant names the part at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DslError {
    /// A field path that is empty or has an empty segment (`details..x`).
    #[error("invalid field name {0:?}: use a dotted path such as details.sourceipaddress")]
    InvalidField(String),
    /// A matcher with arguments that cannot work.
    #[error("{matcher}: {reason}")]
    Invalid {
        /// The matcher at fault (`SubnetMatch`, `RangeMatch`, ...).
        matcher: &'static str,
        /// What is wrong and what would be right.
        reason: String,
    },
    /// A query string outside the supported subset, or malformed.
    #[error("query string, column {column}: {message}")]
    QueryString {
        /// 1-based column (in characters) where the problem starts.
        column: usize,
        /// What is wrong, and what is supported.
        message: String,
    },
    /// An aggregation that cannot be computed as asked.
    #[error("aggregation {name:?}: {reason}")]
    Aggregation {
        /// The aggregation's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

pub use tripline_event::{format_timestamp, parse_timestamp};

/// Everything an alert author needs, in one import.
pub mod prelude {
    pub use crate::ast::{Aggregation, QueryAst, Value};
    pub use crate::matchers::{
        BooleanMatch, ExistsMatch, LessThanMatch, PhraseMatch, QueryStringMatch, RangeMatch, SubnetMatch,
        TermMatch, TermsMatch, WildcardMatch,
    };
    pub use crate::search::SearchQuery;
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_regexes_are_lowered_except_escaped_characters() {
        assert_eq!(super::lower_text_regex(r"LOG[A-Z]+\D\\X"), r"log[a-z]+\D\\x");
        assert_eq!(super::lower_text_regex("ÄRGER"), "ärger");
    }
}
