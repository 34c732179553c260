//! The reader: format detection, streams, unknown records, truncation.

mod common;

use common::*;
use serde_json::json;
use tripline_normalize::{decode_awslogs, read_path, read_reader, read_value, Event, NormalizeError};

fn collect(bytes: &[u8]) -> (Vec<Event>, Vec<NormalizeError>, tripline_normalize::Stats) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    let stats = read_reader(bytes, "mem", &opts(), |r| match r {
        Ok(e) => ok.push(e),
        Err(e) => bad.push(e),
    });
    (ok, bad, stats)
}

#[test]
fn unknown_records_are_kept_as_generic_events() {
    let input = br#"{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","time":"2026-11-23T10:00:00Z","detail":{"state":"running"}}
{"hello":"world"}"#;
    let (events, errors, stats) = collect(input);
    assert!(errors.is_empty());
    assert_eq!(stats.records["unknown"], 2);
    assert_eq!(events[0].source, "unknown");
    assert_eq!(events[0].summary, "EC2 Instance State-change Notification from aws.ec2");
    assert_eq!(tripline_event::format_timestamp(events[0].utctimestamp), "2026-11-23T10:00:00.000Z");
    assert!(events[0].details["raw"].as_str().unwrap().contains("\"state\":\"running\""));
    assert_eq!(events[1].utctimestamp, received());
    assert_eq!(events[1].summary, "unrecognized record");
}

#[test]
fn truncated_gzip_is_an_io_error_after_the_good_records() {
    let gz = std::fs::read(fixture("cloudtrail/management-events.json.gz")).unwrap();
    let (events, errors, stats) = collect(&gz[..gz.len() / 2]);
    assert!(events.len() < 11);
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0].kind.name(), "io" | "json"), "{:?}", errors[0]);
    assert_eq!(stats.total_errors(), 1);
}

#[test]
fn truncated_json_names_the_file() {
    let (events, errors, _) = collect(br#"{"Records":[{"a":1},{"b":"#);
    assert_eq!(events.len(), 1);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].to_string().starts_with("mem: record 2:"), "{}", errors[0]);
}

#[test]
fn missing_file_is_one_io_error() {
    let mut errs = Vec::new();
    let stats =
        read_path(std::path::Path::new("/nonexistent/x.json"), &opts(), |r| errs.push(r.unwrap_err()));
    assert_eq!(stats.errors["io"], 1);
    assert!(errs[0].to_string().contains("/nonexistent/x.json"));
}

#[test]
fn empty_input_and_parquet() {
    let (events, errors, stats) = collect(b"  \n");
    assert!(events.is_empty() && errors.is_empty());
    assert_eq!(stats.files, 1);
    let (_, errors, _) = collect(b"PAR1\x00\x00");
    assert_eq!(errors[0].kind.name(), "unknown_format");
}

#[test]
fn oversized_record_is_skipped_not_buffered() {
    let big = format!(
        r#"{{"Records":[{{"x":"{}"}},{{"eventVersion":"1","eventTime":"2026-11-23T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"}}]}}"#,
        "a".repeat(5000)
    );
    let mut o = opts();
    o.max_record_bytes = 1000;
    let mut kinds = Vec::new();
    let stats = read_reader(big.as_bytes(), "big", &o, |r| {
        kinds.push(r.map(|e| e.source).map_err(|e| e.kind.name()))
    });
    assert_eq!(kinds, vec![Err("too_large"), Ok("cloudtrail".to_owned())]);
    assert_eq!(stats.errors["too_large"], 1);
}

#[test]
fn cloudwatch_control_messages_are_skipped_and_bad_base64_reported() {
    use base64::Engine;
    let payload = json!({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logEvents": []});
    let mut gz = Vec::new();
    {
        use std::io::Write;
        let mut w = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::fast());
        w.write_all(payload.to_string().as_bytes()).unwrap();
        w.finish().unwrap();
    }
    let data = base64::engine::general_purpose::STANDARD.encode(&gz);
    assert_eq!(decode_awslogs(&data).unwrap(), payload);
    let stats = read_value(json!({"awslogs": {"data": data}}), "cwl", &opts(), |_| panic!("no events"));
    assert_eq!(stats.skipped["control_message"], 1);
    let mut errs = Vec::new();
    let stats =
        read_value(json!({"awslogs": {"data": "%%%"}}), "cwl", &opts(), |r| errs.push(r.unwrap_err()));
    assert_eq!(stats.errors["decode"], 1);
    assert!(errs[0].to_string().contains("base64"));
}

#[test]
fn s3_notifications_and_digests_are_not_cloudtrail() {
    let (events, _, stats) = collect(
        br#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","eventTime":"2026-11-23T10:00:00Z","s3":{}}]}
{"awsAccountId":"1","digestStartTime":"2026-11-23T09:00:00Z","digestEndTime":"2026-11-23T10:00:00Z","logFiles":[]}"#,
    );
    assert_eq!(events[0].source, "unknown");
    assert_eq!(stats.skipped["cloudtrail_digest"], 1);
}

#[test]
fn ids_are_stable_across_reads_with_different_clocks() {
    let (a, _, _) = read("cloudtrail/management-events.json");
    let mut o = opts();
    o.clock = tripline_normalize::Clock::System;
    let mut b = Vec::new();
    read_path(&fixture("cloudtrail/management-events.json"), &o, |r| b.push(r.unwrap()));
    let ids = |v: &[Event]| v.iter().map(Event::id).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    assert_ne!(a[0].receivedtimestamp, b[0].receivedtimestamp);
}

/// `{"Records": {…}}`, `"x"`, `null`, … : a mis-shaped or truncated file, one error naming file
/// and record, counted, nothing stored (it was one `source: unknown` event without any error).
#[test]
fn containers_whose_list_is_not_a_list_are_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (r#"{"Records": {"eventVersion": "1.08", "eventName": "X"}}"#, "Records", "an object"),
        (r#"{"Records": "x"}"#, "Records", "a string"),
        (r#"{"Records": null}"#, "Records", "null"),
        (r#"{"Records": 3}"#, "Records", "a number"),
        (r#"  {"x": 1, "Records": true}"#, "Records", "a boolean"),
        (r#"{"Findings": {"type": "Recon:EC2/PortProbeUnprotectedPort"}}"#, "Findings", "an object"),
        (r#"{"findings": "x"}"#, "findings", "a string"),
        (
            r#"{"messageType": "DATA_MESSAGE", "logGroup": "g", "logEvents": {"id": "1"}}"#,
            "logEvents",
            "an object",
        ),
        (r#"{"logEvents": "x"}"#, "logEvents", "a string"),
    ];
    for (text, field, found) in cases {
        for (label, bytes) in [("plain", text.as_bytes().to_vec()), ("gzip", gzip(text.as_bytes()))] {
            let (events, errors, stats) = collect(&bytes);
            assert!(events.is_empty(), "{label} {text}: {events:?}");
            assert_eq!(stats.total_records(), 0, "{label} {text}");
            assert_eq!(stats.errors.get("not_a_list"), Some(&1), "{label} {text}: {stats:?}");
            assert_eq!(errors.len(), 1, "{label} {text}");
            let msg = errors[0].to_string();
            assert!(msg.starts_with("mem: record 1: "), "{msg}");
            assert!(msg.contains(&format!("whose `{field}` is {found}, not a list")), "{msg}");
        }
        // The same through read_value (the Lambda's path for invocation events).
        let mut errors = Vec::new();
        let stats =
            read_value(serde_json::from_str(text).unwrap(), "event", &opts(), |r| errors.extend(r.err()));
        assert_eq!((stats.total_records(), stats.errors.get("not_a_list")), (0, Some(&1)), "{text}");
    }
    let (_, errors, _) = collect(br#"{"Records": {}}"#);
    assert_eq!(errors[0].kind.to_string(), "a CloudTrail file whose `Records` is an object, not a list");
    // The neighbours of a mis-shaped file in the same stream are unaffected.
    let (events, errors, _) = collect(
        b"{\"Records\": \"x\"}\n{\"eventVersion\":\"1.08\",\"eventTime\":\"2026-11-23T10:00:00Z\",\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"GetUser\"}\n",
    );
    assert_eq!((events.len(), errors.len()), (1, 1));
    assert_eq!(errors[0].record, Some(1));
    // Empty lists are fine (nothing to read), as before.
    let (events, errors, _) = collect(br#"{"Records": []} {"Findings": []}"#);
    assert!(events.is_empty() && errors.is_empty(), "{errors:?}");
}

fn gzip(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b).unwrap();
    gz.finish().unwrap()
}

/// An `eventTime` (or a finding's `updatedAt`) outside what the stores hold is an error that says
/// so, names file and record, on the fast path's reader and through `read_value` alike.
#[test]
fn times_outside_the_stored_range_are_clear_errors() {
    let record = |t: &str| {
        format!(
            r#"{{"eventVersion":"1.08","eventTime":"{t}","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventType":"AwsApiCall","sourceIPAddress":"203.0.113.9"}}"#
        )
    };
    for t in ["9999-01-01T00:00:00Z", "1600-01-01T00:00:00Z", "2262-01-01T00:00:00Z"] {
        let file = format!(r#"{{"Records":[{},{}]}}"#, record("2026-11-23T10:00:00Z"), record(t));
        let (events, errors, stats) = collect(file.as_bytes());
        assert_eq!(events.len(), 1, "{t}");
        assert_eq!(stats.errors.get("timestamp_out_of_range"), Some(&1), "{t}: {stats:?}");
        let msg = errors[0].to_string();
        assert!(msg.starts_with("mem: record 2: `eventTime`"), "{msg}");
        assert!(msg.contains(t) && msg.contains("outside the range Tripline stores"), "{msg}");
        assert!(msg.contains("1678-01-01T00:00:00Z to 2261-12-31T23:59:59.999Z"), "{msg}");
        // The reference path (an EventBridge envelope around the record) says the same.
        let envelope = format!(
            r#"{{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{}}}"#,
            record(t)
        );
        let mut errs = Vec::new();
        read_value(serde_json::from_str(&envelope).unwrap(), "event", &opts(), |r| errs.extend(r.err()));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].kind, errors[0].kind);
        assert_eq!(
            tripline_normalize::cloudtrail::normalize_json_reference(&record(t), received()).unwrap_err(),
            errors[0].kind
        );
    }
    // The edges of the range are stored.
    for t in ["1678-01-01T00:00:00Z", "2261-12-31T23:59:59.999Z"] {
        let (events, errors, _) = collect(record(t).as_bytes());
        assert_eq!((events.len(), errors.len()), (1, 0), "{t}: {errors:?}");
    }
    // A GuardDuty finding.
    let finding = json!({"schemaVersion": "2.0", "accountId": "123456789012", "id": "f1",
        "type": "Recon:EC2/PortProbeUnprotectedPort", "severity": 2, "title": "t",
        "createdAt": "2026-11-23T10:00:00Z", "updatedAt": "9999-12-31T00:00:00Z",
        "resource": {"resourceType": "Instance"}});
    let (events, errors, stats) = collect(finding.to_string().as_bytes());
    assert!(events.is_empty());
    assert_eq!(stats.errors.get("timestamp_out_of_range"), Some(&1), "{stats:?}");
    let msg = errors[0].to_string();
    assert!(msg.starts_with("mem: record 1: `updatedAt` \"9999-12-31T00:00:00Z\" is outside"), "{msg}");
}

/// The numbered readers tell each event's record ordinal: the number its error would carry.
#[test]
fn numbered_readers_give_each_record_its_ordinal() {
    let rec = |name: &str| {
        format!(
            r#"{{"eventVersion":"1.08","eventTime":"2026-11-23T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}"}}"#
        )
    };
    let file = format!(r#"{{"Records":[{},{{"oops"}},{}]}}"#, rec("A"), rec("C"));
    let mut seen = Vec::new();
    tripline_normalize::read_reader_numbered(file.as_bytes(), "mem", &opts(), |n, r| match r {
        Ok(e) => seen.push((n, e.details["eventname"].as_str().unwrap().to_owned())),
        Err(e) => {
            assert_eq!(e.record, Some(n));
            seen.push((n, "error".to_owned()))
        }
    });
    assert_eq!(seen, vec![(1, "A".into()), (2, "error".into()), (3, "C".into())]);
    let text = "version srcaddr dstaddr action\n\n2 10.0.0.1 10.0.0.2 ACCEPT\n";
    let mut lines = Vec::new();
    tripline_normalize::read_reader_numbered(text.as_bytes(), "f", &opts(), |n, r| {
        assert!(r.is_ok());
        lines.push(n)
    });
    assert_eq!(lines, vec![3]);
}
