//! Error tests: every matcher refuses what cannot work, naming the matcher; the query-string
//! parser refuses what it does not support, naming the column and listing what is supported.

use tripline_dsl::matchers::to_ast;
use tripline_dsl::prelude::*;
use tripline_dsl::{parse_timestamp, query_string, Clauses, DslError};

fn now() -> chrono::DateTime<chrono::Utc> {
    parse_timestamp("2026-11-23T12:00:00Z").expect("valid timestamp")
}

/// The matcher named in an `Invalid` error, and its reason.
fn invalid(c: impl Clauses) -> (&'static str, String) {
    match to_ast(c) {
        Err(DslError::Invalid { matcher, reason }) => (matcher, reason),
        other => panic!("expected DslError::Invalid, got {other:?}"),
    }
}

fn invalid_field(c: impl Clauses) -> String {
    match to_ast(c) {
        Err(DslError::InvalidField(f)) => f,
        other => panic!("expected DslError::InvalidField, got {other:?}"),
    }
}

#[test]
fn every_matcher_refuses_an_empty_or_broken_field() {
    assert_eq!(invalid_field(TermMatch("", "x")), "");
    assert_eq!(invalid_field(TermsMatch("details..x", ["a"])), "details..x");
    assert_eq!(invalid_field(WildcardMatch(".x", "a*")), ".x");
    assert_eq!(invalid_field(PhraseMatch("x.", "a b")), "x.");
    assert_eq!(invalid_field(ExistsMatch("  ")), "  ");
    assert_eq!(invalid_field(RangeMatch::new("").gte(1)), "");
    assert_eq!(invalid_field(LessThanMatch("a..b", 3)), "a..b");
    assert_eq!(invalid_field(SubnetMatch("", "10.0.0.0/8")), "");
    // Nested inside a boolean, the error still surfaces.
    assert_eq!(invalid_field(BooleanMatch::new().should(BooleanMatch::new().must_not(TermMatch("", 1)))), "");
    let e = to_ast(TermMatch("", "x")).expect_err("empty field");
    assert!(e.to_string().contains("dotted path"), "{e}");
}

#[test]
fn subnet_refuses_bad_cidr() {
    for bad in ["10.0.0.0/33", "10.0.0/8", "fd00::/129", "not-an-ip", "", "10.0.0.0/"] {
        let (m, reason) = invalid(SubnetMatch("details.sourceipaddress", bad));
        assert_eq!(m, "SubnetMatch");
        assert!(reason.contains(&format!("{bad:?}")), "{reason}");
        assert!(reason.contains("CIDR"), "{reason}");
    }
}

#[test]
fn terms_refuses_no_values_and_nan() {
    let (m, reason) = invalid(TermsMatch("category", Vec::<String>::new()));
    assert_eq!(m, "TermsMatch");
    assert!(reason.contains("no values") && reason.contains("category"), "{reason}");
    let (m, reason) = invalid(TermsMatch("details.score", [1.0, f64::NAN]));
    assert_eq!(m, "TermsMatch");
    assert!(reason.contains("finite"), "{reason}");
}

#[test]
fn term_refuses_non_finite_numbers() {
    let (m, reason) = invalid(TermMatch("details.score", f64::INFINITY));
    assert_eq!(m, "TermMatch");
    assert!(reason.contains("inf") && reason.contains("finite"), "{reason}");
}

#[test]
fn wildcard_refuses_empty_pattern_and_lone_backslash() {
    let (m, reason) = invalid(WildcardMatch("details.eventname", ""));
    assert_eq!(m, "WildcardMatch");
    assert!(reason.contains("empty"), "{reason}");
    let (_, reason) = invalid(WildcardMatch("details.eventname", r"Describe*\"));
    assert!(reason.contains("backslash"), "{reason}");
    // An escaped backslash at the end is fine.
    assert!(to_ast(WildcardMatch("details.eventname", r"Describe*\\")).is_ok());
}

#[test]
fn phrase_refuses_empty() {
    let (m, reason) = invalid(PhraseMatch("summary", ""));
    assert_eq!(m, "PhraseMatch");
    assert!(reason.contains("empty phrase"), "{reason}");
}

#[test]
fn range_refuses_no_bound_nan_and_date_math() {
    let (m, reason) = invalid(RangeMatch::new("details.bytes"));
    assert_eq!(m, "RangeMatch");
    assert!(reason.contains("no bound") && reason.contains("details.bytes"), "{reason}");
    let (m, reason) = invalid(RangeMatch::new("details.bytes").gt(f64::NAN));
    assert_eq!(m, "RangeMatch");
    assert!(reason.contains("finite"), "{reason}");
    let (m, reason) = invalid(RangeMatch::new("utctimestamp").gte("now-1d"));
    assert_eq!(m, "RangeMatch");
    assert!(reason.contains("date math"), "{reason}");
}

#[test]
fn less_than_names_itself() {
    let (m, reason) = invalid(LessThanMatch("utctimestamp", "now"));
    assert_eq!(m, "LessThanMatch");
    assert!(reason.contains("date math"), "{reason}");
    let (m, _) = invalid(LessThanMatch("details.score", f32::NAN));
    assert_eq!(m, "LessThanMatch");
}

#[test]
fn query_string_match_reports_the_parser_error() {
    match to_ast(QueryStringMatch("details.eventname:(a OR b")) {
        Err(DslError::QueryString { column, message }) => {
            assert_eq!(column, 19);
            assert!(message.contains("never closed"), "{message}");
        }
        other => panic!("expected a query-string error, got {other:?}"),
    }
    // And through SearchQuery::compile too.
    let e = SearchQuery::minutes(5).must(QueryStringMatch("a~2")).compile(now()).expect_err("fuzzy");
    assert!(matches!(e, DslError::QueryString { column: 2, .. }), "{e:?}");
}

#[test]
fn search_query_refuses_zero_negative_and_huge_windows() {
    for q in [SearchQuery::minutes(0), SearchQuery::seconds(-5), SearchQuery::days(0)] {
        let e = q.compile(now()).expect_err("empty window");
        assert!(
            matches!(&e, DslError::Invalid { matcher: "SearchQuery", reason } if reason.contains("longer than zero")),
            "{e:?}"
        );
    }
    for q in [SearchQuery::days(i64::MAX), SearchQuery::minutes(i64::MIN), SearchQuery::days(1_000_000_000)] {
        let e = q.compile(now()).expect_err("window out of range");
        assert!(matches!(&e, DslError::Invalid { matcher: "SearchQuery", .. }), "{e:?}");
    }
}

fn agg_error(a: Aggregation) -> (String, String) {
    match SearchQuery::minutes(5).aggregate(a).compile(now()) {
        Err(DslError::Aggregation { name, reason }) => (name, reason),
        other => panic!("expected an aggregation error, got {other:?}"),
    }
}

#[test]
fn aggregations_refuse_bad_sizes_samples_and_counts() {
    let (name, reason) = agg_error(Aggregation::terms("category").size(0));
    assert_eq!(name, "category");
    assert!(reason.contains("size must be 1..=10000, not 0"), "{reason}");
    let (_, reason) = agg_error(Aggregation::terms("category").size(10_001));
    assert!(reason.contains("not 10001"), "{reason}");
    let (_, reason) = agg_error(Aggregation::terms("category").samples(101));
    assert!(reason.contains("samples must be at most 100"), "{reason}");
    let (_, reason) = agg_error(Aggregation::terms("category").min_count(0));
    assert!(reason.contains("min_count"), "{reason}");
    let (name, reason) = agg_error(Aggregation::date_histogram("utctimestamp", 0).named("h"));
    assert_eq!(name, "h");
    assert!(reason.contains("interval"), "{reason}");
    let (_, reason) = agg_error(Aggregation::cardinality("x").per_bucket(Aggregation::terms("y")));
    assert!(reason.contains("no sub-aggregations"), "{reason}");
    // Limits themselves are accepted.
    assert!(SearchQuery::minutes(5)
        .aggregate(Aggregation::terms("category").size(10_000).samples(100))
        .compile(now())
        .is_ok());
}

#[test]
fn aggregations_refuse_bad_names_and_fields() {
    let (_, reason) = agg_error(Aggregation::terms("category").named(""));
    assert!(reason.contains("name is empty"), "{reason}");
    let (name, reason) = agg_error(Aggregation::terms("category").named("a>b"));
    assert_eq!(name, "a>b");
    assert!(reason.contains("'>'"), "{reason}");
    let (_, reason) = agg_error(Aggregation::terms("details..x").named("x"));
    assert!(reason.contains("invalid field"), "{reason}");
    // A bad sub-aggregation is found too, named.
    let (name, _) =
        agg_error(Aggregation::terms("a").per_bucket(Aggregation::terms("b").size(0).named("inner")));
    assert_eq!(name, "inner");
}

#[test]
fn aggregations_refuse_duplicate_and_reserved_names() {
    let e = SearchQuery::minutes(5)
        .aggregate(Aggregation::terms("category"))
        .aggregate(Aggregation::cardinality("category"))
        .compile(now())
        .expect_err("duplicate");
    assert!(
        matches!(&e, DslError::Aggregation { name, reason } if name == "category" && reason.contains("share this name")),
        "{e:?}"
    );
    let (name, reason) = agg_error(
        Aggregation::terms("a")
            .per_bucket(Aggregation::cardinality("x").named("n"))
            .per_bucket(Aggregation::cardinality("y").named("n")),
    );
    assert_eq!(name, "n");
    assert!(reason.contains("share this name"), "{reason}");
    let (name, reason) = agg_error(Aggregation::terms("a").named("_samples"));
    assert_eq!(name, "_samples");
    assert!(reason.contains("reserved"), "{reason}");
    let (_, reason) =
        agg_error(Aggregation::terms("a").per_bucket(Aggregation::cardinality("b").named("_samples")));
    assert!(reason.contains("reserved"), "{reason}");
}

/// (query, expected 1-based column, a fragment the message must contain)
const QUERY_STRING_ERRORS: &[(&str, usize, &str)] = &[
    ("", 1, "empty"),
    ("   ", 1, "empty"),
    ("(a OR b", 1, "'(': it is never closed"),
    ("x:(a OR b", 3, "never closed"),
    ("a OR b)", 7, "unbalanced ')'"),
    ("()", 1, "empty parentheses"),
    ("summary:\"open", 9, "quote opened here is never closed"),
    ("\"a\\", 1, "never closed"),
    ("a AND", 3, "AND has nothing on its right"),
    ("a ||", 3, "|| has nothing on its right"),
    ("OR a", 1, "OR has nothing on its left"),
    ("a AND OR b", 7, "two operators in a row"),
    ("a AND b OR c", 9, "AND and OR are mixed"),
    ("a OR b AND c", 8, "AND and OR are mixed"),
    ("a b AND c", 5, "side by side"),
    ("NOT", 1, "no clause after it"),
    ("a AND NOT", 7, "no clause after it"),
    ("- a", 1, "must be attached"),
    ("+", 1, "must be attached"),
    ("NOT -a", 5, "one modifier"),
    ("--a", 2, "one modifier"),
    ("+a b", 4, "only change the score"),
    ("a~", 2, "fuzzy"),
    ("a~2", 2, "fuzzy"),
    ("summary:\"failed login\"~3", 23, "proximity"),
    ("a^2", 2, "boosts"),
    ("(a OR b)^2", 9, "boosts"),
    ("details.*:x", 1, "wildcards in field names"),
    ("*:x", 3, "name the field"),
    ("a\\:b:c", 1, "escapes in field names"),
    ("details..x:y", 1, "not a field name"),
    ("x:", 2, "has no value"),
    ("x: ", 2, "has no value"),
    ("(x: )", 3, "has no value"),
    ("x:)", 2, "has no value"),
    ("x:-y", 3, "modifiers go before the field"),
    ("x:!y", 3, "modifiers go before the field"),
    ("x:a:b", 4, "second ':'"),
    (":a", 1, "no field name"),
    ("x:(y:z)", 4, "field inside a field group"),
    ("x:AND", 3, "operator, not a value"),
    ("x:a\"b", 4, "inside a value"),
    ("x:a]", 4, "inside a value"),
    ("]", 1, "no range opens it"),
    ("x:[1 TO 5", 3, "never closed"),
    ("x:[1 5]", 6, "expected TO"),
    ("x:[* TO *]", 3, "at least one bound"),
    ("x:[TO 5]", 4, "missing before TO"),
    ("x:[1 TO 5)", 3, "never closed"),
    ("x:[1 TO 5 6]", 11, "should close the range"),
    ("x:[1 TO 5]a", 11, "right after the end"),
    ("utctimestamp:[now-1d TO *]", 15, "date math"),
    ("utctimestamp:>now-15m", 15, "date math"),
    ("x:>=", 3, "comparison with no value"),
    ("x:> 5", 3, "no space after"),
    ("x:>*", 4, "bounds nothing"),
    ("x:/abc", 3, "unterminated /regex/"),
    ("a\\", 2, "backslash at the end"),
    ("_exists_:", 10, "needs a field name"),
    ("_exists_:a*", 10, "wildcards in field names"),
    ("details.sourceipaddress:10.0.0.0/33", 25, "not a network"),
    ("details.sourceipaddress:\"fd00::/200\"", 25, "not a network"),
    ("summary:\"\"", 9, "empty phrase"),
    ("\"a\":b", 4, "quoted field names"),
];

#[test]
fn query_string_errors_name_the_column_and_the_subset() {
    let mut failures = Vec::new();
    for (q, col, fragment) in QUERY_STRING_ERRORS {
        match query_string::parse(q) {
            Err(DslError::QueryString { column, message }) => {
                if column != *col || !message.contains(fragment) || !message.contains(query_string::SUPPORTED)
                {
                    failures.push(format!(
                        "{q:?}: column {column} (want {col}), message {message:?} (want {fragment:?})"
                    ));
                }
            }
            other => failures.push(format!("{q:?}: expected an error, got {other:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        QUERY_STRING_ERRORS.len(),
        failures.join("\n")
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    // "é" and "日本" are one column each, several bytes.
    match query_string::parse("summary:é AND 日本:x~") {
        Err(DslError::QueryString { column, .. }) => assert_eq!(column, 19),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("{}a{}", "(".repeat(40), ")".repeat(40));
    match query_string::parse(&deep) {
        Err(DslError::QueryString { column, message }) => {
            assert_eq!(column, query_string::MAX_DEPTH + 1);
            assert!(message.contains("nested deeper"), "{message}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let ok = format!("{}a{}", "(".repeat(query_string::MAX_DEPTH), ")".repeat(query_string::MAX_DEPTH));
    assert!(query_string::parse(&ok).is_ok());
}

#[test]
fn error_display_names_the_column() {
    let e = query_string::parse("a^2").expect_err("boost");
    let text = e.to_string();
    assert!(text.starts_with("query string, column 2: boosts (^) are not supported"), "{text}");
    assert!(text.contains("/regex/") && text.contains("_exists_:field"), "{text}");
}
