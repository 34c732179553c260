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
