//! Golden tests: the exact OpenSearch Query DSL JSON for every matcher and for combinations.
//!
//! The expected JSON lives in `tests/golden/<name>.json` and is compared structurally (key order
//! does not matter, everything else does). A mismatch fails. To regenerate after an intended
//! change, run `UPDATE_GOLDEN=1 cargo test -p tripline-dsl --test golden` and review the diff.

use std::path::PathBuf;

use serde_json::Value as Json;
use tripline_dsl::matchers::to_ast;
use tripline_dsl::opensearch::{query, search_body};
use tripline_dsl::prelude::*;
use tripline_dsl::{parse_timestamp, Clauses};

fn golden(name: &str, actual: &Json) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.json"));
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        let text = serde_json::to_string_pretty(actual).expect("JSON renders") + "\n";
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("golden file {} unreadable ({e}); run with UPDATE_GOLDEN=1 to create it", path.display())
    });
    let expected: Json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("golden file {} is not JSON: {e}", path.display()));
    assert_eq!(
        actual,
        &expected,
        "rendering differs from {}\nactual:\n{}\n(run with UPDATE_GOLDEN=1 to accept an intended change)",
        path.display(),
        serde_json::to_string_pretty(actual).unwrap_or_default()
    );
}

fn render(c: impl Clauses) -> Json {
    query(&to_ast(c).expect("valid matcher"))
}

fn now() -> chrono::DateTime<chrono::Utc> {
    parse_timestamp("2026-11-23T12:00:00Z").expect("valid timestamp")
}

#[test]
fn term_on_keyword() {
    golden("term_keyword", &render(TermMatch("details.eventname", "CreateUser")));
}

#[test]
fn term_on_number_and_bool() {
    golden(
        "term_number_bool",
        &render(BooleanMatch::new().must((
            TermMatch("details.destinationport", 22),
            TermMatch("details.success", false),
            TermMatch("details.score", 0.5),
        ))),
    );
}

#[test]
fn term_on_summary() {
    golden("term_summary", &render(TermMatch("summary", "Failed Login")));
}

#[test]
fn terms_on_keyword() {
    golden("terms_keyword", &render(TermsMatch("category", ["bro", "zeek"])));
}

#[test]
fn terms_on_summary() {
    golden("terms_summary", &render(TermsMatch("summary", vec!["denied", "refused"])));
}

#[test]
fn wildcard_on_keyword() {
    golden("wildcard_keyword", &render(WildcardMatch("details.eventname", "Describe*")));
}

#[test]
fn wildcard_on_summary_is_lower_cased() {
    golden("wildcard_summary", &render(WildcardMatch("summary", "Fail?d*")));
}

#[test]
fn phrase() {
    golden("phrase", &render(PhraseMatch("summary", "failed login")));
}

#[test]
fn exists() {
    golden("exists", &render(ExistsMatch("details.sourceipaddress")));
}

#[test]
fn range_every_bound_combination() {
    let f = "details.bytes";
    let cases = [
        ("gte_lte", RangeMatch::new(f).gte(1).lte(9)),
        ("gte_lt", RangeMatch::new(f).gte(1).lt(9)),
        ("gt_lte", RangeMatch::new(f).gt(1).lte(9)),
        ("gt_lt", RangeMatch::new(f).gt(1).lt(9)),
        ("gte", RangeMatch::new(f).gte(1)),
        ("gt", RangeMatch::new(f).gt(1)),
        ("lte", RangeMatch::new(f).lte(9)),
        ("lt", RangeMatch::new(f).lt(9)),
        ("between", RangeMatch::between(f, 1, 9)),
    ];
    let all: serde_json::Map<String, Json> =
        cases.into_iter().map(|(k, r)| (k.to_string(), render(r))).collect();
    golden("range_bounds", &Json::Object(all));
}

#[test]
fn range_on_dates_and_keywords() {
    let t = parse_timestamp("2026-11-23T11:00:00+01:00").expect("valid");
    golden(
        "range_dates_keywords",
        &render(
            BooleanMatch::new()
                .must((RangeMatch::new("utctimestamp").gte(t), RangeMatch::between("hostname", "a", "m"))),
        ),
    );
}

#[test]
fn less_than() {
    let t = parse_timestamp("2026-11-23T12:00:00Z").expect("valid");
    golden("less_than", &render((LessThanMatch("utctimestamp", t), LessThanMatch("details.bytes", 1000))));
}

#[test]
fn subnet_ipv4() {
    golden("subnet_ipv4", &render(SubnetMatch("details.sourceipaddress", "10.0.0.0/8")));
}

#[test]
fn subnet_ipv6() {
    golden("subnet_ipv6", &render(SubnetMatch("details.sourceipaddress", "fd00::/8")));
}

#[test]
fn subnet_host_and_untruncated() {
    // A bare address is a /32; 10.1.2.3/16 is the network 10.1.0.0/16, as OpenSearch reads it.
    golden(
        "subnet_host_untruncated",
        &render((
            SubnetMatch("details.destinationipaddress", "192.0.2.7"),
            SubnetMatch("details.sourceipaddress", "10.1.2.3/16"),
        )),
    );
}

#[test]
fn boolean_nesting() {
    golden(
        "boolean_nesting",
        &render(
            BooleanMatch::new()
                .must(TermMatch("source", "cloudtrail"))
                .should((
                    BooleanMatch::new().must((
                        TermMatch("details.eventname", "PutBucketAcl"),
                        WildcardMatch("details.requestparameters", "*AllUsers*"),
                    )),
                    BooleanMatch::new().must_not(ExistsMatch("details.errorcode")),
                ))
                .must_not(TermMatch("details.useridentity.type", "AWSService")),
        ),
    );
}

#[test]
fn query_string_renders_as_structured_dsl() {
    golden(
        "query_string",
        &render(QueryStringMatch(
            r#"details.eventname:(PutBucketAcl OR PutBucketPolicy) AND NOT _exists_:details.errorcode AND details.requestparameters:/.*AllUsers.*/ AND details.bytes:[100 TO *} AND summary:"bucket policy" AND details.sourceipaddress:10.0.0.0/8"#,
        )),
    );
}

#[test]
fn should_means_at_least_one() {
    let q = SearchQuery::all_time()
        .should((TermMatch("category", "bro"), TermMatch("category", "zeek")))
        .compile(now())
        .expect("valid");
    golden("search_should", &search_body(&q, 0));
}

#[test]
fn time_window_from_the_injected_clock() {
    let q = SearchQuery::minutes(20).must(TermMatch("source", "cloudtrail")).compile(now()).expect("valid");
    golden("search_window", &search_body(&q, 25));
    // The golden file holds these bounds; check they follow the clock, not the wall.
    let later = SearchQuery::minutes(20)
        .must(TermMatch("source", "cloudtrail"))
        .compile(parse_timestamp("2027-01-01T00:00:00Z").expect("valid"))
        .expect("valid");
    let body = search_body(&later, 0);
    assert_eq!(body["query"]["bool"]["must"][0]["range"]["utctimestamp"]["gte"], "2026-12-31T23:40:00.000Z");
    // The window is by event time only: when an event was received never places it in one.
    assert!(!body.to_string().contains("receivedtimestamp"), "{body}");
    // The filter without the window, and the window's length, are there for runners.
    assert_eq!(later.window, Some(chrono::TimeDelta::minutes(20)));
    assert_eq!(
        later.filter,
        tripline_dsl::QueryAst::Bool {
            must: vec![to_ast(TermMatch("source", "cloudtrail")).expect("valid")],
            should: vec![],
            must_not: vec![],
        }
    );
    assert_eq!(later.between(later.since.expect("a window"), later.now), later.query);
}

#[test]
fn window_with_should_and_must_not() {
    let q = SearchQuery::hours(1)
        .should((TermMatch("category", "bro"), TermMatch("category", "zeek")))
        .must_not(TermMatch("details.action", "REJECT"))
        .compile(now())
        .expect("valid");
    golden("search_window_should_must_not", &search_body(&q, 10));
}

#[test]
fn terms_aggregation_with_samples_and_cardinality() {
    let q = SearchQuery::minutes(15)
        .must(TermMatch("details.useridentity.type", "IAMUser"))
        .aggregate(
            Aggregation::terms("details.useridentity.username")
                .size(100)
                .samples(10)
                .min_count(2)
                .per_bucket(Aggregation::cardinality("details.sourceipaddress").named("ips")),
        )
        .compile(now())
        .expect("valid");
    golden("agg_terms_cardinality", &search_body(&q, 0));
}

#[test]
fn terms_aggregation_without_samples_and_date_histogram() {
    let q = SearchQuery::days(1)
        .aggregate(Aggregation::terms("category").samples(0))
        .aggregate(
            Aggregation::date_histogram("utctimestamp", 3600)
                .named("per_hour")
                .per_bucket(Aggregation::terms("source").size(3).samples(1)),
        )
        .compile(now())
        .expect("valid");
    golden("agg_date_histogram", &search_body(&q, 0));
}

#[test]
fn workshop_ssh_from_outside_the_vpc() {
    let q = SearchQuery::minutes(10)
        .must((
            TermMatch("category", "vpc-flow"),
            TermMatch("details.destinationport", 22),
            TermMatch("details.protocol", 6),
            TermMatch("details.action", "ACCEPT"),
        ))
        .must_not((
            SubnetMatch("details.sourceipaddress", "10.0.0.0/8"),
            SubnetMatch("details.sourceipaddress", "172.16.0.0/12"),
            SubnetMatch("details.sourceipaddress", "192.168.0.0/16"),
        ))
        .compile(now())
        .expect("valid");
    golden("workshop_ssh", &search_body(&q, 10));
}

#[test]
fn query_string_and_builder_render_identically() {
    let from_string = render(QueryStringMatch(
        "details.eventname:PutBucketAcl AND details.requestparameters:*AllUsers* AND NOT details.errorcode:AccessDenied",
    ));
    let from_builder = render(
        BooleanMatch::new()
            .must((
                TermMatch("details.eventname", "PutBucketAcl"),
                WildcardMatch("details.requestparameters", "*AllUsers*"),
            ))
            .must_not(TermMatch("details.errorcode", "AccessDenied")),
    );
    assert_eq!(from_string, from_builder);
}

/// Values are JSON values inside structured queries: quotes, backslashes, colons and query syntax
/// in a value never reach query text.
#[test]
fn values_are_never_spliced_into_query_text() {
    let nasty = [r#"a" OR *:*"#, r"back\slash", "x:y", "(a OR b)", "*", r#"\"#, "}]", "a\nb"];
    for v in nasty {
        let body = render(TermMatch("details.eventname", v));
        assert_eq!(body, serde_json::json!({"term": {"details.eventname": v}}), "value {v:?}");
        let body = render(PhraseMatch("summary", v));
        assert_eq!(body, serde_json::json!({"match_phrase": {"summary": v}}), "value {v:?}");
        let body = render(TermsMatch("category", [v, "z"]));
        assert_eq!(body, serde_json::json!({"terms": {"category": [v, "z"]}}), "value {v:?}");
    }
    // Through a query string: the escaped quote stays inside one phrase value.
    let body = render(QueryStringMatch(r#"details.eventname:"a\" OR *:*""#));
    assert_eq!(body, serde_json::json!({"match_phrase": {"details.eventname": "a\" OR *:*"}}));
    let body = render(QueryStringMatch(r"details.eventname:a\:b\ \(c\)"));
    assert_eq!(body, serde_json::json!({"term": {"details.eventname": "a:b (c)"}}));
    // Nothing anywhere is rendered as a query_string / simple_query_string query.
    let text = serde_json::to_string(&render(QueryStringMatch("a OR b:c OR d"))).unwrap_or_default();
    let text2 = serde_json::to_string(&render(QueryStringMatch("(a OR b:c) AND d"))).unwrap_or_default();
    for t in [text, text2] {
        assert!(!t.contains("query_string"), "{t}");
    }
}
