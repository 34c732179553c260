//! The CloudTrail fast path against the reference path: on every record of the fixtures (as they
//! are, pretty-printed, with duplicated and case-colliding members) and on hand-written edge
//! cases, the fast path either declines or gives exactly the reference's event (same JSON text,
//! key order included, same id); and `normalize_json` always gives the reference's result.

mod common;

use std::io::Read;
use std::path::Path;

use serde_json::{json, Value};
use tripline_normalize::cloudtrail::{normalize_json, normalize_json_fast, normalize_json_reference};

/// Compare the paths on one text; whether the fast path took it.
fn check(text: &str) -> bool {
    let received = common::received();
    let reference = normalize_json_reference(text, received);
    let fast = normalize_json_fast(text, received);
    if let Some(f) = &fast {
        let r =
            reference.as_ref().unwrap_or_else(|e| panic!("fast path gave an event, reference {e}: {text}"));
        assert_eq!(serde_json::to_string(f).unwrap(), serde_json::to_string(r).unwrap(), "{text}");
        assert_eq!(f.id(), r.id(), "{text}");
    }
    assert_eq!(format!("{:?}", normalize_json(text, received)), format!("{reference:?}"), "{text}");
    fast.is_some()
}

/// Every CloudTrail record in `events/`: delivery files (plain and gzip), EventBridge envelopes,
/// CloudWatch Logs payloads.
fn fixture_records() -> Vec<Value> {
    fn walk(dir: &Path, out: &mut Vec<Value>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
                continue;
            }
            let raw = std::fs::read(&p).unwrap();
            let text = if raw.starts_with(&[0x1f, 0x8b]) {
                let mut s = String::new();
                flate2::read::MultiGzDecoder::new(&raw[..]).read_to_string(&mut s).unwrap();
                s
            } else {
                String::from_utf8_lossy(&raw).into_owned()
            };
            let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
            collect(v, out);
        }
    }
    fn collect(v: Value, out: &mut Vec<Value>) {
        match v {
            Value::Array(a) => a.into_iter().for_each(|v| collect(v, out)),
            Value::Object(mut o) => {
                if let Some(r) = o.remove("Records") {
                    collect(r, out);
                } else if let Some(d) = o.remove("detail").filter(|_| o.contains_key("detail-type")) {
                    collect(d, out);
                } else if let Some(Value::String(data)) = o.get("awslogs").and_then(|a| a.get("data")) {
                    if let Ok(Value::Object(p)) = tripline_normalize::decode_awslogs(data) {
                        for e in p.get("logEvents").and_then(Value::as_array).into_iter().flatten() {
                            if let Some(m) = e.get("message").and_then(Value::as_str) {
                                if let Ok(v) = serde_json::from_str(m) {
                                    collect(v, out);
                                }
                            }
                        }
                    }
                } else if o.contains_key("eventName") {
                    out.push(Value::Object(o));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&common::fixture(""), &mut out);
    out
}

/// `text` (an object) with `extra` members appended.
fn append(text: &str, extra: &str) -> String {
    let body = text.trim_end().strip_suffix('}').unwrap();
    format!("{body},{extra}}}")
}

#[test]
fn fixtures_as_they_are_and_varied() {
    let records = fixture_records();
    assert!(records.len() > 500, "{}", records.len());
    for (i, r) in records.iter().enumerate() {
        let compact = r.to_string();
        assert!(check(&compact), "the fast path declined a fixture record: {compact}");
        // The variations on a sample (the workshop day repeats its shapes; debug builds are slow).
        if i % 8 != 0 {
            continue;
        }
        assert!(check(&serde_json::to_string_pretty(r).unwrap()), "pretty: {compact}");
        // Later duplicates change details but not the looked-up (first) values.
        check(&append(
            &compact,
            r#""eventName":"Dup","eventTime":"bad","sourceIPAddress":"10.9.8.7","readOnly":"TRUE","errorCode":null"#,
        ));
        // Keys that collide once lower-cased, or with derived fields.
        check(&append(
            &compact,
            r#""EventName":1,"SUCCESS":"x","eventverb":[],"requestParameters_bucketName":"zz","sourceipaddress":"1.2.3.4","Requestparameters":{"A":1}"#,
        ));
        // The subtrees once more, later, with odd shapes.
        check(&append(
            &compact,
            r#""requestParameters":{"bucketName":{"x":1},"key":12.5e3,"userName":true,"roleName":null},"responseElements":{"ConsoleLogin":"Failure"}"#,
        ));
    }
}

#[test]
fn generated_records() {
    const NAMES: [&str; 5] = ["GetObject", "PutBucketPolicy", "ListBuckets", "ConsoleLogin", "lowercaseName"];
    for i in 0..500u64 {
        let ip = match i % 4 {
            0 => json!("ec2.amazonaws.com"),
            1 => json!(format!("203.0.113.{}", i % 256)),
            2 => json!("2001:DB8:0:0::1"),
            _ => json!(" 10.0.0.1 "),
        };
        let r = json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::1:assumed-role/r/s{i}"),
                "sessionContext": {"attributes": {"mfaAuthenticated": "false"}, "sessionIssuer": {"userName": "r"}}},
            "eventTime": format!("2026-11-23T10:{:02}:{:02}+01:00", i % 60, (i * 7) % 60),
            "eventSource": "s3.amazonaws.com",
            "eventName": NAMES[(i % 5) as usize],
            "sourceIPAddress": ip,
            "requestParameters": {"bucketName": format!("b{i}"), "key": format!("k/{i}"), "policy": "{\"Version\": \"2012-10-17\"}",
                "list": [1, -2, 3.25, 1e-7, 18446744073709551615u64, "ä\u{1F600}"]},
            "responseElements": if i % 3 == 0 { json!({"ConsoleLogin": if i % 2 == 0 { "Success" } else { "Failure" }}) } else { Value::Null },
            "additionalEventData": {"MFAUsed": "Yes", "bytesTransferredIn": i, "x-amz-id-2": "abc=="},
            "resources": [{"ARN": format!("arn:aws:s3:::b{i}"), "type": "AWS::S3::Bucket"}],
            "errorCode": if i % 7 == 0 { json!("AccessDenied") } else { Value::Null },
            "readOnly": i % 2 == 0,
            "eventType": if i % 11 == 0 { json!("") } else { json!("AwsApiCall") },
            "managementEvent": true,
            "Ünicode Key": "Wert",
            "escapedValue": "line\nbreak \"quoted\" \\ tab\t",
        });
        assert!(check(&r.to_string()), "{r}");
        check(&serde_json::to_string_pretty(&r).unwrap());
    }
}

#[test]
fn edge_cases() {
    let base =
        r#""eventTime":"2026-11-23T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser""#;
    let with = |extra: &str| format!("{{{base},{extra}}}");
    let cases = [
        // escapes: in a top-level key (the reference refuses), in nested keys and in values
        format!(r#"{{{base},"user\u0041gent":"x"}}"#),
        with(r#""userIdentity":{"us\u0065rName":"x","\u00C9T\u00C9":1}"#),
        r#"{"eventTime":"2026-11-23T10:00:00Z","eventSource":"iam.amazon\u0061ws.com","eventName":"Create\u0055ser","eventType":"Aws\u0041piCall"}"#.to_owned(),
        with(r#""sourceIPAddress":"10.0.0.\u0031""#),
        with(r#""sourceIPAddress":"\u0065c2.amazonaws.com""#),
        // numbers
        with(r#""n":[0,-0,1.5,-2,1e3,1E-3,18446744073709551615,18446744073709551616,-9223372036854775809,0.1e1]"#),
        with(r#""n":1e400"#),
        with(r#""requestParameters":{"n":1e400}"#),
        with(r#""requestParameters":{"key":1e400}"#),
        with(r#""requestParameters":{"key":18446744073709551616,"bucketName":-5,"userName":0.5}"#),
        with(r#""n":01"#),
        // readOnly and errorCode in every shape
        with(r#""readOnly":"TRUE""#),
        with(r#""readOnly":"false""#),
        with(r#""readOnly":1"#),
        with(r#""readOnly":null"#),
        with(r#""readOnly":false,"readOnly":true"#),
        with(r#""errorCode":null"#),
        with(r#""errorCode":"""#),
        with(r#""errorCode":{"a":null}"#),
        with(r#""errorCode":null,"errorCode":"X""#),
        // console logins
        with(r#""responseElements":{"ConsoleLogin":"Failure"}"#),
        with(r#""responseElements":{"ConsoleLogin":1}"#),
        with(r#""responseElements":"{\"ConsoleLogin\":\"Failure\"}""#),
        with(r#""responseElements":{"ConsoleLogin":"Success","ConsoleLogin":"Failure"}"#),
        with(r#""responseElements":{"ConsoleLogin":"Failure"},"responseElements":null"#),
        with(r#""responseElements":{"$serde_json::private::RawValue":"1","ConsoleLogin":"Failure"}"#),
        with(r#""requestParameters":{"x":{"$serde_json::private::RawValue":"1"},"bucketName":"b"}"#),
        with(r#""requestParameters":{"x":{"$serde_json::private::RawValue":"[1,"},"bucketName":"b"}"#),
        with(r#""requestParameters":{"bucketName":{"$serde_json::private::RawValue":"\"s\""}}"#),
        // raw subtrees: whitespace, strings with spaces and escapes, other types, lone surrogates
        with("\"requestParameters\" : {\n  \"bucketName\" : \"a b\" ,\n  \"key\" : \"x\\\"y\\\\\" , \"n\" : [ 1 , 2 ]\n}"),
        with(r#""requestParameters":[1,2,{"a":"b"}]"#),
        with(
            r#""edgeDeviceDetails":{"A":1},"insightDetails":{"B":2},"serviceEventDetails":{"C":3},"additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Success"},"requestParameters":{"userName":"u"}"#,
        ),
        with(r#""requestParameters":"text","additionalEventData":5,"serviceEventDetails":true"#),
        with(r#""requestParameters":{"bucketName":"\ud800"}"#),
        with(r#""requestParameters":{"other":"\ud800"}"#),
        with(r#""userAgent":"\ud800""#),
        with(r#""userAgent":"\ud83d\ude00""#),
        with(r#""requestParameters":{"k\u0065y":"v"}"#),
        with(r#""requestParameters":{"k\q":"v"}"#),
        // source addresses
        with(r#""sourceIPAddress":"2001:DB8::1""#),
        with(r#""sourceIPAddress":" 192.0.2.1 ""#),
        with(r#""sourceIPAddress":"192.0.2.01""#),
        with(r#""sourceIPAddress":"AWS Internal""#),
        with(r#""sourceIPAddress":"""#),
        with(r#""sourceIPAddress":5"#),
        with(r#""sourceIPAddress":true"#),
        with(r#""sourceIPAddress":{"a":1}"#),
        with(r#""sourceIPAddress":null"#),
        with(r#""sourceIPAddress":"1.2.3.4","sourceIPAddress":{"a":1}"#),
        with(r#""sourceIPAddress":{"$serde_json::private::RawValue":"7"}"#),
        // times, names, sources, types
        r#"{"eventTime":"2026-11-23T10:00:00+05:30","eventSource":"a","eventName":"b"}"#.to_owned(),
        r#"{"eventTime":"yesterday","eventSource":"a","eventName":"b"}"#.to_owned(),
        // instants outside what the stores hold, and the edges of that range
        r#"{"eventTime":"9999-01-01T00:00:00Z","eventSource":"a","eventName":"b"}"#.to_owned(),
        r#"{"eventTime":"1600-01-01T00:00:00Z","eventSource":"a","eventName":"b"}"#.to_owned(),
        r#"{"eventTime":"1677-12-31T23:59:59.999Z","eventSource":"a","eventName":"b"}"#.to_owned(),
        r#"{"eventTime":"1678-01-01T00:00:00Z","eventSource":"a","eventName":"b"}"#.to_owned(),
        r#"{"eventTime":"2261-12-31T23:59:59.999Z","eventSource":"a","eventName":"b"}"#.to_owned(),
        r#"{"eventTime":"2262-01-01T00:00:00Z","eventSource":"a","eventName":"b"}"#.to_owned(),
        r#"{"eventTime":"2262-01-01T05:00:00+06:00","eventSource":"a","eventName":"b"}"#.to_owned(),
        r#"{"eventTime":5,"eventSource":"a","eventName":"b"}"#.to_owned(),
        r#"{"eventSource":"a","eventName":"b","eventVersion":"1"}"#.to_owned(),
        r#"{"eventTime":"2026-11-23T10:00:00Z","eventSource":7,"eventName":"b"}"#.to_owned(),
        r#"{"eventTime":"2026-11-23T10:00:00Z","eventSource":"a","eventName":null}"#.to_owned(),
        r#"{"eventTime":"2026-11-23T10:00:00Z","eventSource":"aws:s3","eventName":"b"}"#.to_owned(),
        with(r#""eventType":"""#),
        with(r#""eventType":5"#),
        with(r#""eventName":"Second","eventSource":"second","eventTime":"2027-01-01T00:00:00Z""#),
        // keys: Unicode, collisions, derived names
        with(r#""ÜserÄgent":"x","İd":1,"ΣΑΣ":2"#),
        with(r#""success":false,"eventverb":"X","eventreadonly":"y","sourcehostname":"z""#),
        with(r#""a":{"B":1,"b":2},"A":3"#),
        // nesting around the limits
        with(&format!(r#""deep":{}1{}"#, "[".repeat(99), "]".repeat(99))),
        with(&format!(r#""deep":{}1{}"#, "[".repeat(127), "]".repeat(127))),
        with(&format!(r#""deep":{}1{}"#, "[".repeat(128), "]".repeat(128))),
        with(&format!(r#""requestParameters":{}1{}"#, "[".repeat(200), "]".repeat(200))),
        // pairs: escaped keys, arrays of objects, nulls, empty containers, the caps
        with(r#""requestParameters":{"a=b":"c","x.y":1,"p\\q":true,"n":null,"e":{},"l":[],"v":[{"k":1},{"k":[2,3]}]}"#),
        with(r#""responseElements":{"credentials":{"accessKeyId":"ASIA","expiration":"Nov 23, 2026"}}"#),
        with(&format!(r#""requestParameters":{{"items":[{}]}}"#, vec!["1"; 1500].join(","))),
        with(&format!(r#""requestParameters":{{"{}":[{}]}}"#, "k".repeat(5000), vec!["1"; 300].join(","))),
        with(&format!(r#""requestParameters":{}"v"{}"#, r#"{"a":"#.repeat(100), "}".repeat(100))),
        // syntax
        format!("  {{{base}}}  \n"),
        format!("{{{base}}} x"),
        format!("{{{base},}}"),
        format!("{{{base}"),
        format!("{{{base},\"a\":tru}}"),
        format!("{{{base},\"a\":\"tab\there\"}}"),
        format!("[{{{base}}}]"),
        "\"x\"".to_owned(),
        "{}".to_owned(),
    ];
    for c in &cases {
        check(c);
    }
    // The common shapes are the fast path's own.
    for c in [&cases[1], &cases[2], &cases[5], &cases[12], &cases[20], &cases[30], &cases[39]] {
        assert!(check(c), "declined: {c}");
    }
}
