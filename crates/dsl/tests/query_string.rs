//! The query-string subset, construct by construct: what each parses to, and that the printer
//! gives it back.

use ipnet::IpNet;
use tripline_dsl::query_string::{parse, to_query_string};
use tripline_dsl::{Bound, QueryAst, Value};

fn term(f: &str, v: impl Into<Value>) -> QueryAst {
    QueryAst::Term { field: f.into(), value: v.into(), case_insensitive: false }
}
fn phrase(f: &str, p: &str) -> QueryAst {
    QueryAst::Phrase { field: f.into(), phrase: p.into() }
}
fn wildcard(f: &str, p: &str) -> QueryAst {
    QueryAst::Wildcard { field: f.into(), pattern: p.into(), case_insensitive: false }
}
fn range(f: &str, lower: Option<Bound>, upper: Option<Bound>) -> QueryAst {
    QueryAst::Range { field: f.into(), lower, upper }
}
fn exists(f: &str) -> QueryAst {
    QueryAst::Exists { field: f.into() }
}
fn must(v: Vec<QueryAst>) -> QueryAst {
    QueryAst::Bool { must: v, should: vec![], must_not: vec![] }
}
fn should(v: Vec<QueryAst>) -> QueryAst {
    QueryAst::Bool { must: vec![], should: v, must_not: vec![] }
}
fn bool3(m: Vec<QueryAst>, s: Vec<QueryAst>, n: Vec<QueryAst>) -> QueryAst {
    QueryAst::Bool { must: m, should: s, must_not: n }
}
fn net(s: &str) -> IpNet {
    s.parse().expect("valid net")
}

/// Parse, compare, and check the printed form parses back to the same AST.
fn check(q: &str, want: QueryAst) {
    let got = parse(q).unwrap_or_else(|e| panic!("{q:?} should parse: {e}"));
    assert_eq!(got, want, "parsing {q:?}");
    let printed = to_query_string(&got).unwrap_or_else(|| panic!("{q:?} should print"));
    let again =
        parse(&printed).unwrap_or_else(|e| panic!("printed {printed:?} (from {q:?}) should parse: {e}"));
    assert_eq!(again, got, "{q:?} printed as {printed:?}");
}

#[test]
fn field_value_terms() {
    check("details.eventname:CreateUser", term("details.eventname", "CreateUser"));
    check("details.destinationport:22", term("details.destinationport", 22));
    check("details.destinationport:-1", term("details.destinationport", -1));
    check("details.score:0.25", term("details.score", 0.25));
    check("details.success:false", term("details.success", false));
    check("details.code:007", term("details.code", "007"));
    check("details.code:\\22", term("details.code", "22"));
    check("summary:Failed", term("summary", "Failed"));
    check("summary:22", term("summary", "22"));
    check(
        "details.arn:arn\\:aws\\:iam\\:\\:123\\:user/bob",
        term("details.arn", "arn:aws:iam::123:user/bob"),
    );
    check("details.eventname:Get-Thing+x", term("details.eventname", "Get-Thing+x"));
    check("details.name:a\\ b", term("details.name", "a b"));
    check("x:\\AND", term("x", "AND"));
    check("x:\\*", term("x", "*"));
    check("x:\\-y", term("x", "-y"));
    check("x:\\\\", term("x", "\\"));
    check("x:é日本", term("x", "é日本"));
    check("@timestamp:x", term("@timestamp", "x"));
}

#[test]
fn bare_values_go_to_summary() {
    check("failed", term("summary", "failed"));
    check("22", term("summary", "22"));
    check("\"failed login\"", phrase("summary", "failed login"));
    check("fail*", wildcard("summary", "fail*"));
    check(
        "/fail.*/",
        QueryAst::Regex { field: "summary".into(), pattern: "fail.*".into(), case_insensitive: false },
    );
    check("*", QueryAst::MatchAll);
    check("*:*", QueryAst::MatchAll);
}

#[test]
fn phrases() {
    check("summary:\"failed login\"", phrase("summary", "failed login"));
    check("details.eventname:\"a*b?\"", phrase("details.eventname", "a*b?"));
    check(r#"x:"say \"hi\" \\ now""#, phrase("x", r#"say "hi" \ now"#));
    check("x:\"22\"", phrase("x", "22"));
}

#[test]
fn wildcards_regexes_and_exists() {
    check("details.eventname:Describe*", wildcard("details.eventname", "Describe*"));
    check("x:a?c", wildcard("x", "a?c"));
    check("x:a\\*b*", wildcard("x", "a\\*b*"));
    check("x:a\\:b*", wildcard("x", "a:b*"));
    check("x:*", exists("x"));
    check("_exists_:details.sourceipaddress", exists("details.sourceipaddress"));
    check(
        "x:/ab[0-9]+/",
        QueryAst::Regex { field: "x".into(), pattern: "ab[0-9]+".into(), case_insensitive: false },
    );
    check(
        "x:/a\\/b/",
        QueryAst::Regex { field: "x".into(), pattern: "a\\/b".into(), case_insensitive: false },
    );
    check("x://", QueryAst::Regex { field: "x".into(), pattern: "".into(), case_insensitive: false });
}

#[test]
fn ranges() {
    let i = |v: i64| Some(Bound::inclusive(v));
    let e = |v: i64| Some(Bound::exclusive(v));
    check("p:[1 TO 5]", range("p", i(1), i(5)));
    check("p:{1 TO 5}", range("p", e(1), e(5)));
    check("p:[1 TO 5}", range("p", i(1), e(5)));
    check("p:{1 TO 5]", range("p", e(1), i(5)));
    check("p:[1 TO *]", range("p", i(1), None));
    check("p:{* TO 5}", range("p", None, e(5)));
    check("p:>=5", range("p", i(5), None));
    check("p:>5", range("p", e(5), None));
    check("p:<5", range("p", None, e(5)));
    check("p:<=5", range("p", None, i(5)));
    check("p:<=-5", range("p", None, i(-5)));
    check(
        "utctimestamp:[2026-11-23T00:00:00Z TO 2026-11-24T00:00:00.000Z}",
        range(
            "utctimestamp",
            Some(Bound::inclusive("2026-11-23T00:00:00Z")),
            Some(Bound::exclusive("2026-11-24T00:00:00.000Z")),
        ),
    );
    check(
        "utctimestamp:>=2026-11-23T00:00:00Z",
        range("utctimestamp", Some(Bound::inclusive("2026-11-23T00:00:00Z")), None),
    );
    check(
        "hostname:[\"a b\" TO \"*\"]",
        range("hostname", Some(Bound::inclusive("a b")), Some(Bound::inclusive("*"))),
    );
    check("p:[\"1\" TO 2.5]", range("p", Some(Bound::inclusive("1")), Some(Bound::inclusive(2.5))));
    check("summary:[a TO 5]", range("summary", Some(Bound::inclusive("a")), Some(Bound::inclusive("5"))));
    check("p:[  1   TO   5  ]", range("p", i(1), i(5)));
}

#[test]
fn networks_on_ip_fields() {
    let sub = |f: &str, n: &str| QueryAst::Subnet { field: f.into(), net: net(n) };
    check("details.sourceipaddress:10.0.0.0/8", sub("details.sourceipaddress", "10.0.0.0/8"));
    check("details.sourceipaddress:10.1.2.3/8", sub("details.sourceipaddress", "10.0.0.0/8"));
    check("details.destinationipaddress:\"fd00::/8\"", sub("details.destinationipaddress", "fd00::/8"));
    check("details.sourceipaddress:10.1.2.3", term("details.sourceipaddress", "10.1.2.3"));
    check("details.sourceipaddress:\"::1\"", term("details.sourceipaddress", "::1"));
    // Not an ip field: '/' is just a character.
    check("details.path:a/b", term("details.path", "a/b"));
    check("details.sourceipaddress:10.*", wildcard("details.sourceipaddress", "10.*"));
}

#[test]
fn booleans_and_default_or() {
    let a = || term("a", 1);
    let b = || term("b", 2);
    let c = || term("c", "x");
    check("a:1 AND b:2", must(vec![a(), b()]));
    check("a:1 && b:2 AND c:x", must(vec![a(), b(), c()]));
    check("a:1 OR b:2", should(vec![a(), b()]));
    check("a:1 || b:2", should(vec![a(), b()]));
    check("a:1 b:2", should(vec![a(), b()]));
    check("a:1 b:2 OR c:x", should(vec![a(), b(), c()]));
    check("NOT a:1", bool3(vec![], vec![], vec![a()]));
    check("!a:1", bool3(vec![], vec![], vec![a()]));
    check("! a:1", bool3(vec![], vec![], vec![a()]));
    check("-a:1", bool3(vec![], vec![], vec![a()]));
    check("+a:1", a());
    check("+a:1 +b:2", must(vec![a(), b()]));
    check("+a:1 -b:2", bool3(vec![a()], vec![], vec![b()]));
    check("a:1 AND NOT b:2", bool3(vec![a()], vec![], vec![b()]));
    check("a:1 AND -b:2 AND +c:x", bool3(vec![a(), c()], vec![], vec![b()]));
    // Lucene: `a NOT b` and `a OR NOT b` both mean a, but not b.
    check("a:1 NOT b:2", bool3(vec![], vec![a()], vec![b()]));
    check("a:1 OR NOT b:2", bool3(vec![], vec![a()], vec![b()]));
    check("-a:1 -b:2", bool3(vec![], vec![], vec![a(), b()]));
    check("(a:1)", a());
    check("((a:1))", a());
    check("(a:1 OR b:2) AND c:x", must(vec![should(vec![a(), b()]), c()]));
    check("a:1 OR (b:2 AND c:x)", should(vec![a(), must(vec![b(), c()])]));
    check("NOT (a:1 OR b:2)", bool3(vec![], vec![], vec![should(vec![a(), b()])]));
    check("NOT(a:1)", bool3(vec![], vec![], vec![a()]));
    check("+a:1 +(b:2 OR c:x)", must(vec![a(), should(vec![b(), c()])]));
    check("  a:1\tAND\nb:2  ", must(vec![a(), b()]));
    // Operator words are case-sensitive, as in Lucene: lower-case ones are words.
    check("a:1 and b:2", should(vec![a(), term("summary", "and"), b()]));
}

#[test]
fn field_groups() {
    check(
        "details.eventname:(PutBucketAcl OR PutBucketPolicy)",
        should(vec![term("details.eventname", "PutBucketAcl"), term("details.eventname", "PutBucketPolicy")]),
    );
    check(
        "x:(a \"b c\" d* /e/ [1 TO 2] -f)",
        bool3(
            vec![],
            vec![
                term("x", "a"),
                phrase("x", "b c"),
                wildcard("x", "d*"),
                QueryAst::Regex { field: "x".into(), pattern: "e".into(), case_insensitive: false },
                range("x", Some(Bound::inclusive(1)), Some(Bound::inclusive(2))),
            ],
            vec![term("x", "f")],
        ),
    );
    check("x:(a AND (b OR c))", must(vec![term("x", "a"), should(vec![term("x", "b"), term("x", "c")])]));
    check("x:(*)", exists("x"));
    check("x:(22)", term("x", 22));
}

#[test]
fn the_workshop_s3_query() {
    let q = "details.eventsource:s3.amazonaws.com AND details.eventname:(PutBucketAcl OR PutBucketPolicy) \
             AND details.requestparameters:*AllUsers*";
    check(
        q,
        must(vec![
            term("details.eventsource", "s3.amazonaws.com"),
            should(vec![
                term("details.eventname", "PutBucketAcl"),
                term("details.eventname", "PutBucketPolicy"),
            ]),
            wildcard("details.requestparameters", "*AllUsers*"),
        ]),
    );
}

#[test]
fn printer_output_is_readable() {
    let cases = [
        ("a:1 AND b:2", "a:1 AND b:2"),
        ("a:1 OR b:2", "a:1 OR b:2"),
        ("a:1 NOT b:2", "a:1 -b:2"),
        ("x:(a OR b) AND NOT _exists_:y", "+(x:a OR x:b) -_exists_:y"),
        ("p:>=5", "p:[5 TO *]"),
        ("x:\"a \\\" b\"", "x:\"a \\\" b\""),
        ("details.sourceipaddress:10.0.0.0/8", "details.sourceipaddress:\"10.0.0.0/8\""),
    ];
    for (q, want) in cases {
        let ast = parse(q).expect("parses");
        let printed = to_query_string(&ast).expect("prints");
        assert_eq!(printed, want, "{q}");
    }
}

#[test]
fn printer_refuses_what_has_no_query_string_form() {
    assert_eq!(to_query_string(&QueryAst::MatchNone), None);
    assert_eq!(
        to_query_string(&QueryAst::Subnet { field: "details.other".into(), net: net("10.0.0.0/8") }),
        None
    );
    assert_eq!(to_query_string(&term("bad field", "x")), None);
    assert_eq!(to_query_string(&term("_exists_", "x")), None);
    assert_eq!(to_query_string(&term("x", "")), None);
    assert_eq!(to_query_string(&term("x", f64::NAN)), None);
    assert_eq!(to_query_string(&term("details.sourceipaddress", "10.0.0.0/8")), None);
    assert_eq!(
        to_query_string(&QueryAst::Regex {
            field: "x".into(),
            pattern: "a/b".into(),
            case_insensitive: false
        }),
        None
    );
    assert_eq!(to_query_string(&range("x", None, None)), None);
    assert_eq!(to_query_string(&range("utctimestamp", Some(Bound::inclusive("now-1d")), None)), None);
    assert_eq!(to_query_string(&phrase("x", "")), None);
    assert_eq!(to_query_string(&should(vec![term("x", "a"), QueryAst::MatchNone])), None);
}

#[test]
fn printer_gives_equivalent_queries_for_other_asts() {
    // ASTs the parser never builds print as equivalent queries.
    let terms = QueryAst::Terms { field: "category".into(), values: vec!["bro".into(), "zeek".into()] };
    assert_eq!(to_query_string(&terms).as_deref(), Some("category:bro OR category:zeek"));
    assert_eq!(
        parse("category:bro OR category:zeek").expect("parses"),
        should(vec![term("category", "bro"), term("category", "zeek")])
    );
    let mixed = bool3(vec![term("a", 1)], vec![term("b", 2), term("c", 3)], vec![term("d", 4)]);
    let printed = to_query_string(&mixed).expect("prints");
    assert_eq!(printed, "+a:1 +(b:2 OR c:3) -d:4");
    assert_eq!(
        parse(&printed).expect("parses"),
        bool3(vec![term("a", 1), should(vec![term("b", 2), term("c", 3)])], vec![], vec![term("d", 4)])
    );
    assert_eq!(to_query_string(&must(vec![term("a", "x")])).as_deref(), Some("a:x"));
    assert_eq!(to_query_string(&must(vec![])).as_deref(), Some("*:*"));
}
