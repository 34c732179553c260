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
    let f = FlowFormat::parse("${version} ${srcaddr} ${dstaddr} ${my-field}").unwrap();
    assert_eq!(f.len(), 4);
    assert_eq!(f.names()[3], "my-field");
    assert!(FlowFormat::parse("2 123456789012 eni-1 10.0.0.1").is_none());
    assert!(FlowFormat::parse("hello world").is_none());
    assert_eq!(FlowFormat::v2().len(), 14);
    let e = vpcflow::normalize_line(&f, "3 10.0.0.1 10.0.0.2 x", received()).unwrap().unwrap();
    assert_eq!(e.details["myfield"], "x");
    assert_eq!(e.utctimestamp, received(), "no start or end: the ingest clock");
    // A configured format applies to header-less input.
    let opts = Options { flow_format: Some(f), ..opts() };
    let mut n = 0;
    let stats = read_reader(&b"3 10.0.0.1 10.0.0.2 y\n"[..], "x", &opts, |r| {
        assert!(r.is_ok());
        n += 1
    });
    assert_eq!((n, stats.total_records()), (1, 1));
}

#[test]
fn unknown_fields_never_take_a_known_key() {
    // Found by fuzzing: `byt_es` without its underscore is `bytes`, a number in the index.
    let f = FlowFormat::parse("version srcaddr byt_es success protocol-name").unwrap();
    let e = vpcflow::normalize_line(&f, "2 10.0.0.1 lots yes tcp", received()).unwrap().unwrap();
    assert_eq!(e.details["field_bytes"], "lots");
    assert_eq!(e.details["field_success"], "yes");
    assert_eq!(e.details["field_protocolname"], "tcp");
    assert!(!e.details.contains_key("bytes") && !e.details.contains_key("success"));
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
