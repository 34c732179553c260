//! Reading rules: metadata, detection shapes, and the errors for malformed rules.

use tripline_sigma::{Level, Pos, SearchBody, SigmaError, SigmaRule, SigmaValue, Status};

const CREATE_USER: &str = r#"title: IAM user created
id: 6b1c7f0e-3d7a-4c55-9a0e-2f3f0c1d9a11
status: test
description: An IAM user was created (CreateUser, iam.amazonaws.com).
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: iam.amazonaws.com
        eventName: CreateUser
    condition: selection
falsepositives:
    - Onboarding by the identity team
level: medium
tags:
    - attack.persistence
    - attack.t1136.003
"#;

fn err(source: &str, line: usize, column: usize, construct: &str, reason: &str) -> SigmaError {
    SigmaError { rule: source.into(), line, column, construct: construct.into(), reason: reason.into() }
}

#[test]
fn metadata_and_a_selection_are_read() {
    let r = SigmaRule::parse("create_user.yml", CREATE_USER).unwrap();
    assert_eq!(r.source, "create_user.yml");
    assert_eq!(r.id.as_deref(), Some("6b1c7f0e-3d7a-4c55-9a0e-2f3f0c1d9a11"));
    assert_eq!(r.title, "IAM user created");
    assert_eq!(r.status, Some(Status::Test));
    assert_eq!(r.level, Some(Level::Medium));
    assert_eq!(r.tags, ["attack.persistence", "attack.t1136.003"]);
    assert_eq!(r.falsepositives, ["Onboarding by the identity team"]);
    assert_eq!(r.logsource.product.as_deref(), Some("aws"));
    assert_eq!(r.logsource.service.as_deref(), Some("cloudtrail"));
    assert_eq!(r.logsource.pos, Pos { line: 6, column: 5 });
    assert_eq!(r.detection.conditions, [("selection".to_string(), Pos { line: 12, column: 16 })]);
    let s = &r.detection.searches[0];
    assert_eq!((s.name.as_str(), s.pos), ("selection", Pos { line: 9, column: 5 }));
    let SearchBody::Map(fields) = &s.body else { panic!("{:?}", s.body) };
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[1].field, "eventName");
    assert_eq!(fields[1].values, [(SigmaValue::Str("CreateUser".into()), Pos { line: 11, column: 20 })]);
}

#[test]
fn shapes_modifiers_and_scalar_types() {
    let r = SigmaRule::parse(
        "shapes.yml",
        r#"title: shapes
logsource: {product: aws, service: cloudtrail}
detection:
    listed:
        - eventName: A
        - eventName|startswith: B
    modified:
        requestParameters.policyDocument|contains|all: ['"Effect":"Allow"', '"Action":"*"']
        errorCode: null
        readOnly: false
        n: 42
        quoted: '42'
        yes_is_text: yes
    words:
        - evil
    condition: listed or modified
"#,
    )
    .unwrap();
    let [listed, modified, words] = &r.detection.searches[..] else { panic!() };
    assert!(matches!(&listed.body, SearchBody::AnyMap(maps) if maps.len() == 2));
    let SearchBody::Map(m) = &modified.body else { panic!() };
    assert_eq!(m[0].field, "requestParameters.policyDocument");
    assert_eq!(m[0].modifiers, ["contains", "all"]);
    assert_eq!(m[0].key(), "requestParameters.policyDocument|contains|all");
    assert_eq!(m[0].values.len(), 2);
    let v: Vec<&SigmaValue> = m[1..].iter().map(|f| &f.values[0].0).collect();
    assert_eq!(
        v,
        [
            &SigmaValue::Null,
            &SigmaValue::Bool(false),
            &SigmaValue::Int(42),
            &SigmaValue::Str("42".into()),
            // YAML 1.2: `yes` is a string, not a boolean.
            &SigmaValue::Str("yes".into()),
        ]
    );
    assert!(matches!(&words.body, SearchBody::Keywords(k) if k[0].0 == SigmaValue::Str("evil".into())));
}

#[test]
fn malformed_rules_name_the_line_and_the_construct() {
    let cases: &[(&str, SigmaError)] = &[
        (
            "title: t\nlogsource: {product: aws}\ndetection:\n  s: {a: 1}\n",
            err("bad.yml", 3, 1, "detection", "a detection needs a condition"),
        ),
        (
            "title: t\nlevel: severe\nlogsource: {product: aws}\ndetection: {s: {a: 1}, condition: s}\n",
            err(
                "bad.yml",
                2,
                8,
                "level",
                r#""severe" is not one of informational, low, medium, high, critical"#,
            ),
        ),
        (
            "logsource: {product: aws}\ndetection: {s: {a: 1}, condition: s}\n",
            err("bad.yml", 1, 1, "title", "a rule needs a title"),
        ),
        (
            "title: t\nlogsource: {product: aws}\ndetection:\n  s:\n    a: {nested: map}\n  condition: s\n",
            err("bad.yml", 5, 8, "detection.s.a", "expected a value, found a map"),
        ),
        (
            "title: t\nlogsource: {product: aws}\ndetection:\n  s:\n    a: []\n  condition: s\n",
            err("bad.yml", 5, 8, "detection.s.a", "an empty list of values matches nothing"),
        ),
        (
            "title: t\nlogsource: {product: aws}\ndetection:\n  s: {a: 1}\n  timeframe: 5m\n  condition: s\n",
            err(
                "bad.yml",
                5,
                3,
                "detection.timeframe",
                "timeframe is Sigma 1 aggregation; use a correlation rule (not supported yet)",
            ),
        ),
        (
            "title: t\ncorrelation:\n  type: event_count\n",
            err("bad.yml", 2, 1, "correlation.rules", "a correlation needs the rules it correlates"),
        ),
        (
            "title: a\n---\ntitle: b\n",
            err("bad.yml", 3, 1, "YAML", "more than one YAML document: read rule files with parse_documents"),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(&SigmaRule::parse("bad.yml", text).unwrap_err(), want, "{text}");
    }
}

#[test]
fn yaml_errors_and_duplicate_keys_carry_the_position() {
    let e = SigmaRule::parse("dup.yml", "title: t\ndetection:\n  s: {a: 1}\n  s: {a: 2}\n").unwrap_err();
    assert_eq!((e.line, e.construct.as_str()), (4, "YAML"), "{e}");
    assert!(e.reason.contains("duplicated key"), "{e}");
    let e = SigmaRule::parse("broken.yml", "title: t\ndetection: [unclosed\n").unwrap_err();
    assert_eq!(e.construct, "YAML");
    assert!(e.to_string().starts_with("broken.yml, line "), "{e}");
}

#[test]
fn correlations_and_test_cases_are_read_with_their_positions() {
    use tripline_sigma::{parse_documents, CorrelationKind, Document, Expect};
    let text = "title: base\nname: base\nlogsource: {product: aws, service: cloudtrail}\n\
detection:\n    s:\n        eventName: X\n    condition: s\n\
tests:\n  - name: one\n    expect: {alerts: 2, group: g, count: 7}\n    records: ['{\"eventName\": \"X\"}']\n\
---\ntitle: corr\ncorrelation:\n  type: value_count\n  rules: base\n  group-by: [userIdentity.arn]\n  timespan: 15m\n\
\x20 condition: {field: eventName, gt: 2, lte: 9}\n";
    let docs = parse_documents("c.yml", text).unwrap();
    let [Document::Rule(rule), Document::Correlation(c)] = docs.as_slice() else { panic!("{docs:?}") };
    assert_eq!(rule.tests[0].expect, Expect::Alerts { alerts: 2, group: Some("g".into()), count: Some(7) });
    assert_eq!(rule.tests[0].records[0]["eventName"], "X", "a pasted JSON string is read as JSON");
    assert_eq!((c.kind, c.timespan_secs, c.rules[0].0.as_str()), (CorrelationKind::ValueCount, 900, "base"));
    let cond = c.condition.clone().unwrap();
    assert_eq!(
        (cond.min, cond.max, cond.field.clone().map(|f| f.0)),
        (Some(3), Some(9), Some("eventName".to_string()))
    );
    assert!(cond.holds(3) && cond.holds(9) && !cond.holds(2) && !cond.holds(10));

    let bad = |body: &str| {
        let t = format!("title: c\ncorrelation:\n  type: event_count\n  rules: [a]\n{body}");
        parse_documents("c.yml", &t).unwrap_err().to_string()
    };
    assert_eq!(
        bad("  timespan: 5m\n"),
        "c.yml, line 2, column 1: correlation.condition: event_count and value_count need a condition"
    );
    assert!(bad("  timespan: 5y\n  condition: {gte: 1}\n")
        .contains("line 5, column 13: correlation.timespan: \"5y\": the unit must be s, m, h or d"));
    assert!(bad("  timespan: 99d\n  condition: {gte: 1}\n").contains("1 s to 30 days"));
    assert!(bad("  timespan: 5m\n  condition: {lt: 0}\n").contains("lt: 0 can never hold"));
    assert!(bad("  timespan: 5m\n  condition: {gte: 5, lte: 2}\n")
        .contains("no count is at least 5 and at most 2"));
    assert!(bad("  timespan: 5m\n  condition: {field: x, gte: 2}\n").contains("event_count counts events"));
    assert!(
        bad("  timespan: 5m\n  condition: {gte: 1}\n  aliases: {}\n").contains("aliases are not supported")
    );
    let case = |body: &str| {
        let t = format!("title: r\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n    s:\n        eventName: X\n    condition: s\ntests:\n{body}");
        parse_documents("r.yml", &t).unwrap_err().to_string()
    };
    assert!(case("  - name: n\n    records: [{a: 1}]\n").contains("a case needs expect"));
    assert!(case("  - expect: alert\n").contains("a case needs records or a file"));
    assert!(
        case("  - expect: maybe\n    records: [{a: 1}]\n").contains("\"maybe\": expected alert, no alert")
    );
    assert!(case("  - expect: alert\n    at: yesterday\n    records: [{a: 1}]\n")
        .contains("is not an RFC 3339 time"));
    assert!(case("  - expect: alert\n    records: ['{not json']\n")
        .contains("a record given as a string is not JSON"));
}
