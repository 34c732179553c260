//! Property tests for the query-string parser and printer.
//!
//! 1. Any AST in the shape the parser produces prints, and parses back to the identical AST.
//! 2. Any string that parses prints, and the printed string parses to the identical AST
//!    (parse → print → parse is stable), and printing again gives the same text.
//! 3. Parsing never panics, whatever the input.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use tripline_dsl::query_string::{parse, to_query_string};
use tripline_dsl::{Bound, QueryAst, Value};

const FIELDS: &[&str] = &[
    "a",
    "details.eventname",
    "details.destinationport",
    "summary",
    "details.sourceipaddress",
    "x.y-z@1",
    "_a",
    "AND",
    "TO",
];

fn field() -> impl Strategy<Value = String> {
    prop::sample::select(FIELDS).prop_map(String::from)
}

/// Text with plenty of characters the syntax treats specially.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]{1,6}",
        r#"[a-z0-9 :"\\*?()\[\]{}^~!+\-/&|<>=.é]{1,8}"#,
        prop::sample::select(
            &[
                "AND", "OR", "NOT", "&&", "||", "TO", "22", "-5", "1.5", "true", "*", "-", "+x", "/x/",
                "007", "now"
            ][..]
        )
        .prop_map(String::from),
    ]
}

fn scalar(field: &str) -> BoxedStrategy<Value> {
    if field == "summary" {
        return text().prop_map(Value::Str).boxed();
    }
    prop_oneof![
        3 => text().prop_map(Value::Str),
        1 => any::<i64>().prop_map(Value::Int),
        1 => (-10_000i32..10_000, 0u8..4).prop_map(|(i, q)| Value::Float(f64::from(i) + f64::from(q) * 0.25)),
        1 => any::<bool>().prop_map(Value::Bool),
    ]
    .boxed()
}

fn wildcard_pattern() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => r#"[a-z0-9 :"\\*?()!/+\-]"#.prop_map(|c: String| {
            let c = c.chars().next().unwrap_or('a');
            if matches!(c, '*' | '?' | '\\') { format!("\\{c}") } else { c.to_string() }
        }),
        1 => Just("*".to_string()),
        1 => Just("?".to_string()),
    ];
    prop::collection::vec(piece, 1..6).prop_map(|v| v.concat()).prop_filter(
        "needs an unescaped wildcard, and * alone is Exists",
        |p| {
            p != "*" && {
                let mut chars = p.chars();
                let mut wild = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '*' | '?' => wild = true,
                        _ => {}
                    }
                }
                wild
            }
        },
    )
}

fn net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 0u8..=32)
            .prop_map(|(a, p)| IpNet::V4(Ipv4Net::new(a.into(), p).map(|n| n.trunc()).unwrap_or_default())),
        (any::<u128>(), 0u8..=128)
            .prop_map(|(a, p)| IpNet::V6(Ipv6Net::new(a.into(), p).map(|n| n.trunc()).unwrap_or_default())),
    ]
}

fn leaf() -> impl Strategy<Value = QueryAst> {
    field().prop_flat_map(|f| {
        let ip = f == "details.sourceipaddress";
        let f1 = f.clone();
        let f2 = f.clone();
        let f3 = f.clone();
        let f4 = f.clone();
        let f5 = f.clone();
        let f6 = f.clone();
        let term = scalar(&f)
            .prop_filter("'/' on an ip field is a network", move |v| !(ip && matches!(v, Value::Str(s) if s.contains('/'))))
            .prop_map(move |value| QueryAst::Term { field: f1.clone(), value, case_insensitive: false });
        // On ip fields quoted values are terms or networks, never phrases.
        let phrase_field = if ip { "details.eventname".to_string() } else { f2 };
        let phrase = text().prop_map(move |phrase| QueryAst::Phrase { field: phrase_field.clone(), phrase });
        let wildcard = wildcard_pattern().prop_map(move |pattern| QueryAst::Wildcard { field: f3.clone(), pattern, case_insensitive: false });
        let regex = (r"[a-z.*+()|\[\]]{0,5}", any::<bool>()).prop_map(move |(p, slash)| QueryAst::Regex {
            field: f4.clone(),
            pattern: if slash { format!("{p}\\/x") } else { p }, case_insensitive: false,
        });
        let bound = {
            let f = f.clone();
            move || {
                (scalar(&f), any::<bool>())
                    .prop_filter("no date math", |(v, _)| !matches!(v, Value::Str(s) if s.trim() == "now" || s.starts_with("now") || s.contains("||")))
                    .prop_map(|(value, inclusive)| Bound { value, inclusive })
            }
        };
        let range = (prop::option::of(bound()), prop::option::of(bound()))
            .prop_filter("at least one bound", |(l, u)| l.is_some() || u.is_some())
            .prop_map(move |(lower, upper)| QueryAst::Range { field: f5.clone(), lower, upper });
        let exists = Just(QueryAst::Exists { field: f6 });
        let subnet = net().prop_map(|net| QueryAst::Subnet { field: "details.sourceipaddress".into(), net });
        prop_oneof![4 => term, 2 => phrase, 2 => wildcard, 1 => regex, 2 => range, 1 => exists, 1 => subnet, 1 => Just(QueryAst::MatchAll)]
    })
}

/// ASTs in the shapes the parser builds.
fn ast() -> impl Strategy<Value = QueryAst> {
    leaf().prop_recursive(4, 32, 4, |inner| {
        let v = |lo: usize| prop::collection::vec(inner.clone(), lo..4);
        prop_oneof![
            v(2).prop_map(|must| QueryAst::Bool { must, should: vec![], must_not: vec![] }),
            (v(0), v(1)).prop_map(|(must, must_not)| QueryAst::Bool { must, should: vec![], must_not }),
            v(2).prop_map(|should| QueryAst::Bool { must: vec![], should, must_not: vec![] }),
            (v(1), v(1)).prop_map(|(should, must_not)| QueryAst::Bool { must: vec![], should, must_not }),
        ]
    })
}

const PIECES: &[&str] = &[
    "a",
    "b:",
    "x:1",
    "AND",
    "OR",
    "NOT",
    "&&",
    "||",
    "!",
    "+",
    "-",
    "(",
    ")",
    "\"",
    "q p",
    "*",
    "?",
    "/",
    "[",
    "]",
    "{",
    "}",
    " TO ",
    ":",
    "\\",
    "~",
    "^",
    ">=",
    "<",
    " ",
    " ",
    " ",
    "details.sourceipaddress:",
    "10.0.0.0/8",
    "_exists_:",
    "summary:",
    "é",
    "22",
    "1.5",
    "true",
    "now",
    "*:*",
    "x:(",
    "y:[1 TO 5]",
    "\"a b\"",
];

fn query_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(PIECES), 0..14).prop_map(|v| v.concat()),
        "\\PC{0,24}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn printed_asts_parse_back(ast in ast()) {
        let printed = to_query_string(&ast);
        prop_assert!(printed.is_some(), "no query string for {:?}", ast);
        let printed = printed.unwrap_or_default();
        let parsed = parse(&printed);
        prop_assert!(parsed.is_ok(), "{:?} printed as {:?} does not parse: {:?}", ast, printed, parsed);
        prop_assert_eq!(parsed.ok(), Some(ast), "printed as {:?}", printed);
    }

    #[test]
    fn parse_print_parse_is_stable(text in query_text()) {
        if let Ok(ast) = parse(&text) {
            let printed = to_query_string(&ast);
            prop_assert!(printed.is_some(), "{:?} parsed to {:?} which does not print", text, ast);
            let printed = printed.unwrap_or_default();
            let again = parse(&printed);
            prop_assert_eq!(again.as_ref().ok(), Some(&ast), "{:?} printed as {:?}: {:?}", text, printed, again);
            prop_assert_eq!(to_query_string(&ast), Some(printed));
        }
    }
}

/// The stability property above is only worth something if many generated strings parse.
#[test]
fn generated_strings_often_parse() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = query_text();
    let total = 2000;
    let mut parsed = 0;
    for _ in 0..total {
        let text = strategy.new_tree(&mut runner).map(|t| t.current()).unwrap_or_default();
        if parse(&text).is_ok() {
            parsed += 1;
        }
    }
    eprintln!("{parsed} of {total} generated strings parse");
    assert!(parsed * 10 >= total, "only {parsed} of {total} generated strings parse");
}
