//! VPC Flow Log fixtures (`events/vpcflow/`), field by field.

mod common;

use common::*;
use serde_json::json;
use tripline_event::format_timestamp;
use tripline_normalize::{read_reader, vpcflow, FlowFormat, Options};

#[test]
fn v2_file_with_header() {
    let (events, errors, stats) = read("vpcflow/v2-default.log");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events.len(), 5);
    assert_eq!(stats.records["vpc_flow"], 5);
    assert_eq!(stats.skipped["flow_nodata_skipdata"], 2);
    let e = &events[0];
    assert_eq!(e.source, "vpc_flow");
    assert_eq!(e.category, "vpc-flow");
    assert_eq!(e.event_type, "event");
    assert_eq!(e.hostname, "eni-0a1b2c3d4e5f60718");
    assert_eq!(e.summary, "203.0.113.7:51515 -> 10.0.0.5:22 tcp ACCEPT 4 packets 840 bytes");
    assert_eq!(format_timestamp(e.utctimestamp), "2026-11-23T10:00:00.000Z");
    assert_eq!(e.receivedtimestamp, received());
    let d = serde_json::Value::Object(e.details.clone());
    assert_eq!(
        d,
        json!({
            "version": 2, "accountid": "123456789012", "interfaceid": "eni-0a1b2c3d4e5f60718",
            "sourceipaddress": "203.0.113.7", "destinationipaddress": "10.0.0.5",
            "sourceport": 51515, "destinationport": 22, "protocol": 6, "packets": 4, "bytes": 840,
            "start": "2026-11-23T10:00:00Z", "end": "2026-11-23T10:01:00Z",
            "action": "ACCEPT", "logstatus": "OK", "protocolname": "tcp", "success": true
        })
    );
    let rejected = &events[2];
    assert_eq!(rejected.details["success"], false);
    assert_eq!(rejected.details["action"], "REJECT");
    assert_eq!(rejected.details["destinationport"], 3389);
    assert_eq!(events[3].details["protocolname"], "udp");
    assert_eq!(events[4].details["sourceipaddress"], "2001:db8::5");
    assert_eq!(events[4].details["protocolname"], "icmpv6");
    assert_eq!(events[4].summary, "2001:db8::5:0 -> 2001:db8::1:0 icmpv6 ACCEPT 2 packets 208 bytes");
}

#[test]
fn gzip_and_headerless_give_the_same_events() {
    let (plain, _, _) = read("vpcflow/v2-default.log");
    let (gz, _, _) = read("vpcflow/v2-default.log.gz");
    assert_eq!(plain, gz);
    let text = std::fs::read_to_string(fixture("vpcflow/v2-default.log")).unwrap();
    let headerless: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let mut events = Vec::new();
    let stats = read_reader(headerless.as_bytes(), "cwl", &opts(), |r| events.push(r.unwrap()));
    assert_eq!(events, plain);
    assert_eq!(stats.total_skipped(), 2);
}

#[test]
fn v5_custom_format_with_header() {
    let (events, errors, stats) = read("vpcflow/v5-custom.log");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events.len(), 3);
    assert_eq!(stats.skipped["flow_nodata_skipdata"], 2);
    let e = &events[0];
    assert_eq!(e.hostname, "i-0abc123def4567890");
    let d = &e.details;
    assert_eq!(d["version"], 5);
    assert_eq!(d["vpcid"], "vpc-0123456789abcdef0");
    assert_eq!(d["subnetid"], "subnet-0123456789abcdef0");
    assert_eq!(d["instanceid"], "i-0abc123def4567890");
    assert_eq!(d["type"], "IPv4");
    assert_eq!(d["pktsrcaddr"], "203.0.113.7");
    assert_eq!(d["pktdstaddr"], "10.0.0.5");
    assert_eq!(d["tcpflags"], 2);
    assert_eq!(d["region"], "us-east-1");
    assert_eq!(d["azid"], "use1-az1");
    assert_eq!(d["flowdirection"], "ingress");
    assert_eq!(d["bytes"], 840);
    assert_eq!(d["packets"], 4);
    // `-` values are left out.
    for k in ["sublocationtype", "sublocationid", "pktsrcawsservice", "pktdstawsservice", "trafficpath"] {
        assert!(!d.contains_key(k), "{k}");
    }
    let egress = &events[1].details;
    assert_eq!(egress["pktdstawsservice"], "S3");
    assert_eq!(egress["trafficpath"], 8);
    assert_eq!(egress["flowdirection"], "egress");
    // No instance: the interface is the host; the packet source differs from srcaddr.
    assert_eq!(events[2].hostname, "eni-0b2c3d4e5f6071829");
    assert_eq!(events[2].details["pktsrcaddr"], "192.0.2.50");
    assert_eq!(events[2].details["success"], false);
}

#[test]
fn malformed_lines_are_reported_with_their_line_number() {
    let (events, errors, stats) = read("vpcflow/malformed.log");
    assert_eq!(events.len(), 2);
    let lines: Vec<_> = errors.iter().map(|e| e.record.unwrap()).collect();
    assert_eq!(lines, vec![3, 4, 5]);
    assert!(errors.iter().all(|e| e.kind.name() == "bad_flow_line"));
    assert!(errors[0].to_string().contains("srcaddr"), "{}", errors[0]);
    assert!(errors[1].to_string().contains("expected 14 fields, found 7"), "{}", errors[1]);
    assert!(errors[2].to_string().contains("dstport"), "{}", errors[2]);
    assert_eq!(stats.errors["bad_flow_line"], 3);
}

#[test]
fn cloudwatch_logs_flow_lines() {
    let (events, errors, stats) = read("cloudwatch-logs-vpcflow.json");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events.len(), 2);
    assert_eq!(stats.skipped["flow_nodata_skipdata"], 1);
    assert_eq!(events[1].details["destinationport"], 3389);
}

#[test]
fn format_parsing() {
    let f = FlowFormat::parse("${version} ${srcaddr} ${dstaddr} ${action}").unwrap();
    assert_eq!(f.len(), 4);
    assert_eq!(f.names()[3], "action");
    assert!(FlowFormat::parse("2 123456789012 eni-1 10.0.0.1").is_none());
    assert!(FlowFormat::parse("hello world").is_none());
    assert_eq!(FlowFormat::v2().len(), 14);
    let e = vpcflow::normalize_line(&f, "3 10.0.0.1 10.0.0.2 ACCEPT", received()).unwrap().unwrap();
    assert_eq!(e.details["action"], "ACCEPT");
    assert_eq!(e.utctimestamp, received(), "no start or end: the ingest clock");
    // A configured format applies to header-less input.
    let opts = Options { flow_format: Some(f), ..opts() };
    let mut n = 0;
    let stats = read_reader(&b"3 10.0.0.1 10.0.0.2 REJECT\n"[..], "x", &opts, |r| {
        assert!(r.is_ok());
        n += 1
    });
    assert_eq!((n, stats.total_records()), (1, 1));
}

#[test]
fn a_header_naming_an_unknown_or_repeated_field_is_refused() {
    // Found by fuzzing, once: `byt_es` without its underscore is `bytes`. Unknown names are now
    // refused outright, so no column can take a known field's key (or silently mislabel one).
    let err = FlowFormat::parse_header("version srcaddr byt_es success protocol-name").unwrap_err();
    assert_eq!(err.name(), "bad_flow_header");
    assert!(err.to_string().contains("field 3 `byt_es` is not a VPC flow log field"), "{err}");
    assert!(FlowFormat::parse("version srcaddr byt_es").is_none());
    let err = FlowFormat::parse_header("version srcaddr dstaddr srcaddr").unwrap_err();
    assert!(err.to_string().contains("`srcaddr` is named twice (fields 2 and 4)"), "{err}");
    // Not a header at all: a record, prose.
    assert_eq!(FlowFormat::parse_header("2 123456789012 eni-1 10.0.0.1"), Ok(None));
    assert_eq!(FlowFormat::parse_header("hello world"), Ok(None));
    // The newest field (version 10) is known.
    let f = FlowFormat::parse("version srcaddr encryption-status").unwrap();
    let e = vpcflow::normalize_line(&f, "10 10.0.0.1 1", received()).unwrap().unwrap();
    assert_eq!(e.details["encryptionstatus"], 1);
}

/// A header with a typo (`srcprt`): the header's line is an error naming the file, the line and
/// the field; every later line is an error too (the header cannot tell what its columns are),
/// each counted; nothing is stored.
#[test]
fn an_unknown_header_field_makes_the_header_and_every_line_an_error() {
    let file = "version account-id interface-id srcaddr dstaddr srcprt dstport protocol packets bytes start end action log-status
2 123456789012 eni-0a1b2c3d4e5f60718 203.0.113.7 10.0.0.5 51515 22 6 4 840 1795428000 1795428060 ACCEPT OK

2 123456789012 eni-0a1b2c3d4e5f60718 203.0.113.7 10.0.0.5 51516 22 6 4 840 1795428000 1795428060 ACCEPT OK
2 123456789012 eni-0a1b2c3d4e5f60718 - - - - - - - 1795428000 1795428060 - NODATA
";
    let mut events = Vec::new();
    let mut errors = Vec::new();
    let stats = read_reader(file.as_bytes(), "flows.log", &opts(), |r| match r {
        Ok(e) => events.push(e),
        Err(e) => errors.push(e),
    });
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(stats.total_records(), 0);
    assert_eq!(stats.errors["bad_flow_header"], 4, "{stats:?}");
    let lines: Vec<_> = errors.iter().map(|e| e.record).collect();
    assert_eq!(lines, vec![Some(1), Some(2), Some(4), Some(5)]);
    let first = errors[0].to_string();
    assert!(first.starts_with("flows.log: record 1: bad flow log header:"), "{first}");
    assert!(first.contains("`srcprt`"), "{first}");
    let later = errors[1].to_string();
    assert!(later.starts_with("flows.log: record 2:"), "{later}");
    assert!(later.contains("header on line 1") && later.contains("srcprt"), "{later}");
}

#[test]
fn start_and_end_are_checked() {
    let f = FlowFormat::v2();
    let line = |start: &str, end: &str| {
        format!("2 123456789012 eni-1 203.0.113.7 10.0.0.5 51515 22 6 4 840 {start} {end} ACCEPT OK")
    };
    let norm = |start: &str, end: &str| vpcflow::normalize_line(&f, &line(start, end), received());
    // Good: equal start and end (a one-packet flow).
    let e = norm("1795428000", "1795428000").unwrap().unwrap();
    assert_eq!(format_timestamp(e.utctimestamp), "2026-11-23T10:00:00.000Z");
    // end before start.
    let err = norm("1795428060", "1795428000").unwrap_err();
    assert_eq!(err.name(), "bad_flow_line");
    assert!(err.to_string().contains("end (1795428000) is before start (1795428060)"), "{err}");
    // Negative times.
    for (s, e, field) in [("-5", "1795428000", "start"), ("1795428000", "-1", "end")] {
        let err = norm(s, e).unwrap_err();
        assert_eq!(err.name(), "bad_flow_line", "{s} {e}");
        assert!(err.to_string().contains(&format!("({field}) is a negative epoch time")), "{err}");
    }
    // Instants outside the stored range: the year 2300, beyond chrono, beyond i64. Never a
    // panic, never a wrong date.
    for big in ["10413792000", "9223372036854775807", "99999999999999999999999999"] {
        let err = norm(big, big).unwrap_err();
        assert_eq!(err.name(), "timestamp_out_of_range", "{big}");
        assert!(err.to_string().contains("outside the range Tripline stores"), "{err}");
        assert!(err.to_string().contains("`start`"), "{err}");
    }
    let err = norm("1795428000", "10413792000").unwrap_err();
    assert!(err.to_string().contains("`end` \"10413792000\""), "{err}");
    // Not a number at all.
    assert_eq!(norm("+5", "6").unwrap_err().name(), "bad_flow_line");
    assert_eq!(norm("1e9", "6").unwrap_err().name(), "bad_flow_line");
}

#[test]
fn numbers_beyond_their_field_are_refused() {
    let f = FlowFormat::v2();
    let norm = |port: &str, proto: &str, bytes: &str| {
        let line = format!(
            "2 123456789012 eni-1 203.0.113.7 10.0.0.5 51515 {port} {proto} 4 {bytes} 1795428000 1795428060 ACCEPT OK"
        );
        vpcflow::normalize_line(&f, &line, received())
    };
    assert!(norm("65535", "255", "9223372036854775807").unwrap().is_some());
    for (port, proto, bytes, what) in [
        ("65536", "6", "1", "dstport"),
        ("22", "256", "1", "protocol"),
        ("22", "6", "9223372036854775808", "bytes"),
    ] {
        let err = norm(port, proto, bytes).unwrap_err();
        assert!(err.to_string().contains(&format!("({what}) is larger than")), "{err}");
    }
}

/// A flow whose start lies in the year 2300 (`10413792000`), read from a file: an error for that
/// line naming file and line, the other lines stored.
#[test]
fn an_out_of_range_start_in_a_file_costs_only_its_line() {
    let file = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 123456789012 eni-1 203.0.113.7 10.0.0.5 51515 22 6 4 840 10413792000 10413792060 ACCEPT OK
2 123456789012 eni-1 203.0.113.7 10.0.0.5 51516 22 6 4 840 1795428000 1795428060 ACCEPT OK
";
    let mut events = Vec::new();
    let mut errors = Vec::new();
    read_reader(file.as_bytes(), "f.log", &opts(), |r| match r {
        Ok(e) => events.push(e),
        Err(e) => errors.push(e),
    });
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].details["sourceport"], 51516);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().starts_with("f.log: record 2: `start` \"10413792000\" is outside the range"),
        "{}",
        errors[0]
    );
}

#[test]
fn text_that_is_not_a_flow_log_is_one_file_error() {
    let mut errs = Vec::new();
    let stats = read_reader(&b"hello, this is a README\nmore\n"[..], "README", &opts(), |r| {
        errs.push(r.unwrap_err())
    });
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].record, None);
    assert_eq!(stats.errors["unknown_format"], 1);
}

/// Text is recognised, not assumed: a CloudWatch Logs message that is neither JSON nor a flow log
/// line is an error for that log event (naming it), counted, and the other events are read.
#[test]
fn a_log_event_that_is_no_flow_log_line_costs_only_itself() {
    let line = "2 123456789012 eni-1 203.0.113.7 10.0.0.5 51515 22 6 4 840 1795428000 1795428060 ACCEPT OK";
    let payload = json!({"messageType": "DATA_MESSAGE", "logEvents": [
        {"id": "1", "timestamp": 0, "message": "hello, this is not a flow log"},
        {"id": "2", "timestamp": 0, "message": line},
    ]});
    let mut events = Vec::new();
    let mut errors = Vec::new();
    let stats = tripline_normalize::read_value(payload, "cwl", &opts(), |r| match r {
        Ok(e) => events.push(e),
        Err(e) => errors.push(e),
    });
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].details["sourceport"], 51515);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].record, Some(1));
    assert_eq!(errors[0].kind.name(), "unknown_format");
    assert!(errors[0].to_string().starts_with("cwl: record 1: "), "{}", errors[0]);
    assert_eq!(stats.errors["unknown_format"], 1);
}

/// A configured flow format does not make any text a flow log: a first line that does not have
/// its fields is an unknown format, naming the file and the line.
#[test]
fn a_configured_format_still_recognises_its_lines() {
    let format = FlowFormat::parse("version srcaddr dstaddr action").unwrap();
    let opts = Options { flow_format: Some(format), ..opts() };
    let mut errs = Vec::new();
    let mut events = Vec::new();
    let stats =
        read_reader(&b"hello, this is a README\n2 203.0.113.7 10.0.0.5 ACCEPT\n"[..], "README", &opts, |r| {
            match r {
                Ok(e) => events.push(e),
                Err(e) => errs.push(e),
            }
        });
    assert!(events.is_empty());
    assert_eq!(errs.len(), 1);
    assert_eq!(stats.errors["unknown_format"], 1);
    assert!(errs[0].to_string().contains("README") && errs[0].to_string().contains("line 1"), "{}", errs[0]);
    let (mut n, mut errs) = (0, 0);
    read_reader(&b"2 203.0.113.7 10.0.0.5 ACCEPT\n"[..], "f.log", &opts, |r| match r {
        Ok(_) => n += 1,
        Err(_) => errs += 1,
    });
    assert_eq!((n, errs), (1, 0));
}

#[test]
fn fits_checks_field_count_and_version() {
    let v2 = FlowFormat::v2();
    let line = "2 123456789012 eni-1 203.0.113.7 10.0.0.5 51515 22 6 4 840 1795428000 1795428060 ACCEPT OK";
    assert!(v2.fits(line));
    assert!(!v2.fits(&line.replacen('2', "x", 1)));
    assert!(!v2.fits("2 123456789012 eni-1"));
    assert!(!v2.fits(""));
}
