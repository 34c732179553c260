//! # tripline-sigma: Sigma rules, compiled to Tripline's query AST
//!
//! Security teams write and share detections in [Sigma](https://sigmahq.io), the field's open
//! rule format; a Tripline detection written in Rust is a module, a fork and seven files. This
//! crate reads a Sigma rule (YAML, the Sigma 2 specification) into a [`SigmaRule`] and compiles
//! its detection to the backend-neutral [`QueryAst`](tripline_dsl::QueryAst) that both stores
//! run, so a rule can become an alert without code. It does no I/O: it takes rule text and a
//! name for it (its file).
//!
//! **Exact or refused.** A rule compiles only when the query means exactly what the rule says.
//! Anything else is a [`SigmaError`] naming the rule, the line, the column, the construct
//! (`detection.selection.eventName|windash`, `condition`, `logsource`) and the reason: never a
//! query that silently matches more or less.
//!
//! ```
//! use tripline_dsl::{QueryAst, Value};
//! let rule = tripline_sigma::SigmaRule::parse("iam_create_user.yml", r#"
//! title: IAM user created
//! logsource: {product: aws, service: cloudtrail}
//! detection:
//!     selection:
//!         eventSource|cased: iam.amazonaws.com
//!         eventName|cased: CreateUser
//!     condition: selection
//! level: medium
//! "#).unwrap();
//! let q = tripline_sigma::compile(&rule).unwrap();
//! let term = |f: &str, v: &str| QueryAst::Term { field: f.into(), value: Value::from(v), case_insensitive: false };
//! assert_eq!(q, QueryAst::all(vec![
//!     term("source", "cloudtrail"),
//!     QueryAst::all(vec![
//!         term("details.eventsource", "iam.amazonaws.com"),
//!         term("details.eventname", "CreateUser"),
//!     ]),
//! ]));
//!
//! let bad = tripline_sigma::SigmaRule::parse("b.yml", "title: t\nlogsource: {product: aws, service: cloudtrail}\n\
//!     detection:\n    s:\n        eventName|expand: x\n    condition: s\n").unwrap();
//! assert_eq!(tripline_sigma::compile(&bad).unwrap_err().to_string(),
//!     "b.yml, line 5, column 9: detection.s.eventName|expand: the expand modifier is not supported yet");
//! ```
//!
//! ## Supported
//!
//! | Sigma | query AST |
//! |---|---|
//! | rule metadata: `title`, `id`, `name`, `description`, `status`, `level`, `tags`, `falsepositives`, `fields`, `logsource` | [`SigmaRule`] fields (others are ignored) |
//! | `logsource: {product: aws, service: cloudtrail}` | `source: cloudtrail` AND the detection ([`fields::cloudtrail`]) |
//! | Tripline's own: `{product: aws, service: vpcflowlogs}`, `{product: aws, service: guardduty}` | `source: vpc_flow` / `source: guardduty`, the flow log format's and the finding's field names ([`fields::vpcflow`], [`fields::guardduty`]) |
//! | several rules in one file (`---`) | [`parse_documents`]: one [`Document`] each |
//! | correlation rules: `event_count`, `value_count`, `temporal`, `temporal_ordered` with `rules`, `group-by` (one field), `timespan`, `condition` (`gt`, `gte`, `lt`, `lte`, `eq`, `field`), `generate` | [`Correlation`]; `tripline-alerts` runs them as engine aggregations |
//! | `tests:` (Tripline's): raw records or log files, `at`, `expect` | [`TestCase`]; `*.tests.yml` files for alerts written in Rust ([`parse_case_file`]) |
//! | a selection map | `must` of its fields (AND) |
//! | a list of maps | `should` of the maps (OR) |
//! | a list of values | `should` (OR), `Terms` when every value is a plain term; with `\|all`, `must` |
//! | `field: null` | `must_not Exists` (the field is absent) |
//! | `\|exists: true/false` | `Exists` / `must_not Exists` |
//! | plain values, `*` `?` wildcards, `\*` `\?` `\\` escapes | `Term` / `Wildcard` with `case_insensitive` (a case-folded `Regex` for non-ASCII letters), see below |
//! | `\|contains`, `\|startswith`, `\|endswith` | the value with `*` around, after, before it |
//! | `\|cased` | case-sensitive (`Term`, `Wildcard`) |
//! | `\|re`, with `\|i`, `\|m`, `\|s` | `Regex`, translated from PCRE to Lucene's anchored flavour ([`translate_regex`]) |
//! | `\|cidr` | `Subnet` (on `sourceIPAddress`, and the flow logs' addresses) |
//! | `\|base64`, `\|base64offset\|contains` | the value's base64 text (`base64offset`: its three encodings at byte offsets 0, 1, 2, without the characters the surrounding bytes reach), matched exactly (base64 letters' case is information) |
//! | `requestParameters.<path>`, `responseElements.<path>`, `additionalEventData.<path>`, `serviceEventDetails.<path>`, any path | the pair `path=value` in `details.<subtree>_pairs` (path exact, value as above), see [`fields`] |
//! | `\|lt`, `\|lte`, `\|gt`, `\|gte` | `Range`, on numeric fields ([`Target::Number`]; none of CloudTrail's mapped fields is one) |
//! | conditions: `and`, `or`, `not`, `( )`, `1 of X*`, `all of X*`, `1 of them`, `all of them`, a list of conditions (OR) | `Bool` (precedence: or < and < not < `of` < parentheses) |
//!
//! Field names are CloudTrail's own (`eventName`, `userIdentity.arn`), mapped to the stored
//! MozDef fields by the table in [`fields`]. `sourceIPAddress` is split as the normalizer splits
//! it: an address is matched on `details.sourceipaddress` (an `ip` field), anything else on
//! `details.sourcehostname`; a pattern that could match an address is refused (use `|cidr`).
//!
//! ## Refused, with the reason
//!
//! Unknown modifiers; `utf16le`/`utf16be`/`utf16`/`wide`, `windash`,
//! `expand` (placeholders: without it `%x%` is, as the specification says, a literal),
//! `fieldref`; keyword searches (values without a field: Tripline matches fields, and its one
//! text field, `summary`, is not the whole event); `all` on one value (the specification forbids
//! it); two matching modifiers on one field; `null` with modifiers; numeric comparisons on text
//! fields; `cidr` off IP fields; `cidr` and numeric comparisons on members of the variable
//! subtrees (stored as `path=value` text); fields with no mapping; `x of` other than `1` and `all`; a condition naming an
//! unknown identifier, a pattern naming none, or nested deeper than
//! [`condition::MAX_NESTING`]; other log sources; `timeframe` (Sigma 1 aggregation: write a
//! correlation), correlation `aliases`, grouping by more than one field or by `sourceIPAddress`
//! (two stored fields), a condition on a temporal correlation; Sigma filters, `action: global`
//! rule collections; wildcards under `base64`; regular expressions outside the
//! common subset (lookaround and other `(?…)` groups but `(?:…)`, backreferences and escapes
//! such as `\b` `\A` `\x41`, anchors inside the expression, possessive quantifiers, POSIX classes,
//! class escapes such as `[\d]`, letter ranges other than a-z/A-Z under `|i`).
//!
//! ## Case-insensitivity
//!
//! Sigma matches strings case-insensitively unless `|cased`; both stores' keywords are exact and
//! case-sensitive, so the AST says it with the `case_insensitive` flag of `Term`, `Wildcard` and
//! `Regex`, which both stores run as OpenSearch's `case_insensitive` parameter does: each ASCII
//! letter matches itself in either case, every other character only itself (that is what
//! OpenSearch 2.19 answers; `tests/conformance/case_insensitive.json` holds the embedded store
//! to it). So that a rule still means exactly what it says:
//!
//! - a value with no cased letter (an account id, an address, `*`) is a plain `Term` or
//!   `Wildcard`: case cannot matter;
//! - `|cased` values are plain `Term` or `Wildcard`;
//! - a value whose cased letters are all ASCII is a `Term` or `Wildcard` with
//!   `case_insensitive` (`eventName: CreateUser` → `Term(details.eventname = "CreateUser", any
//!   case)`);
//! - a value with a non-ASCII cased letter (`José`), which the flag would match in one case
//!   only, is a `Regex` in which each letter is a class of its case forms (`[jJ][oO][sS][éÉ]`),
//!   `*` is `.*` and `?` is `.`; folding is per character with simple (one-character) case
//!   mappings, so `ß` does not match `SS`.
//!
//! Several case-insensitive values of one field are a `should` of terms (`Terms` has no flag).
//!
//! Regular expressions (`|re`) are case-sensitive unless `|i`, as the specification says;
//! under `|i` the translation folds literals and a-z/A-Z ranges itself rather than setting the
//! flag: OpenSearch's flag leaves ranges as written (`[a-c]` does not match `A`) and non-ASCII
//! literals exact, which `|i` does not mean.
//!
//! ## Open questions
//!
//! - Numbers: a YAML number is a number only when written as it prints (`42`, `1.5`); otherwise
//!   the text as written is kept (`012345678901`, an account id with its leading zero; `1.10`), so
//!   on CloudTrail's text fields it matches what the rule says. Whether a rule author's `1.10`
//!   on a numeric field (VPC flow logs, later) should then be refused or read as 1.1 is open.
//! - `''` (the empty string) is a `Term` with an empty value: whether both stores index an
//!   empty keyword alike needs a conformance case.
//! - The translated regular expressions (`|re`) have not run on the stores yet: they are
//!   checked against what each store's regex translation accepts by reading it, not by a
//!   conformance run (the case-insensitive flag has one: `tests/conformance/case_insensitive.json`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod compile;
pub mod condition;
pub mod error;
pub mod fields;
pub mod rule;

pub use compile::{compile, compile_detection, log_source, translate_regex, FieldMap, Mapping};
pub use fields::Target;

pub use error::{Pos, SigmaError};
pub use rule::{
    parse_case_file, parse_documents, parse_timespan, Correlation, CorrelationKind, CountCondition,
    Detection, Document, Expect, FieldMatch, Level, Logsource, Search, SearchBody, SigmaRule, SigmaValue,
    Status, TestCase,
};
