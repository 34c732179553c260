//! GuardDuty fixtures (`events/guardduty/`), field by field.

mod common;

use common::*;
use tripline_event::format_timestamp;
use tripline_normalize::guardduty::{guardduty_label, mozdef_severity};

#[test]
fn outbound_cc_finding_in_eventbridge_envelope() {
    let (events, errors, stats) = read("guardduty/normalize/backdoor-cc-outbound.json");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(stats.records["guardduty"], 1);
    let e = &events[0];
    assert_eq!(e.source, "guardduty");
    assert_eq!(e.category, "guardduty");
    assert_eq!(e.severity, "CRITICAL");
    assert_eq!(e.hostname, "i-0abc123def4567890");
    assert_eq!(
        e.summary,
        "EC2 instance i-0abc123def4567890 is communicating with a known command and control server."
    );
    assert_eq!(format_timestamp(e.utctimestamp), "2026-11-23T09:56:00.000Z");
    let d = &e.details;
    assert_eq!(d["finding"], "Backdoor:EC2/C&CActivity.B");
    assert_eq!(d["threatpurpose"], "Backdoor");
    assert_eq!(d["findingid"], "a1000000000000000000000000000001");
    assert_eq!(d["accountid"], "123456789012");
    assert_eq!(d["region"], "us-east-1");
    assert_eq!(d["severity"], 8.0);
    assert_eq!(d["severitylabel"], "High");
    assert_eq!(d["instanceid"], "i-0abc123def4567890");
    assert_eq!(d["actiontype"], "NETWORK_CONNECTION");
    assert_eq!(d["count"], 7);
    assert_eq!(d["protocolname"], "tcp");
    assert!(!d.contains_key("protocol"), "protocol is numeric in the index");
    // The instance called out: it is the source.
    assert_eq!(d["direction"], "OUTBOUND");
    assert_eq!(d["sourceipaddress"], "10.0.0.5");
    assert_eq!(d["sourceport"], 49152);
    assert_eq!(d["destinationipaddress"], "198.51.100.66");
    assert_eq!(d["destinationport"], 443);
    assert_eq!(d["remoteipaddress"], "198.51.100.66");
    assert_eq!(d["remoteport"], 443);
    assert_eq!(d["remotecountry"], "Exampleland");
    assert_eq!(d["remotecountrycode"], "XL");
    assert_eq!(d["remoteorg"], "Bad Hosting");
    assert!(d["rawfinding"].as_str().unwrap().contains("\"connectionDirection\":\"OUTBOUND\""));
}

#[test]
fn bare_port_probe_is_inbound() {
    let (events, errors, _) = read("guardduty/normalize/portprobe-bare.json");
    assert!(errors.is_empty(), "{errors:?}");
    let e = &events[0];
    assert_eq!(e.severity, "WARNING");
    assert_eq!(e.details["severitylabel"], "Medium");
    assert_eq!(e.details["direction"], "INBOUND");
    assert_eq!(e.details["sourceipaddress"], "203.0.113.200");
    assert_eq!(e.details["destinationipaddress"], "10.0.0.5");
    assert_eq!(e.details["destinationport"], 22);
    assert!(!e.details.contains_key("sourceport"));
}

#[test]
fn pascal_case_cli_output_is_read_too() {
    let (events, errors, _) = read("guardduty/normalize/get-findings-cli.json");
    assert!(errors.is_empty(), "{errors:?}");
    let e = &events[0];
    assert_eq!(e.severity, "INFO");
    assert_eq!(e.details["finding"], "UnauthorizedAccess:EC2/SSHBruteForce");
    assert_eq!(e.details["direction"], "INBOUND");
    assert_eq!(e.details["sourceipaddress"], "192.0.2.10");
    assert_eq!(e.details["sourceport"], 50522);
    assert_eq!(e.details["destinationipaddress"], "10.0.0.5", "the instance's private address");
    assert_eq!(e.details["destinationport"], 22);
    assert_eq!(e.hostname, "i-0abc123def4567890");
}

#[test]
fn dns_finding_makes_the_instance_the_source() {
    let (events, errors, _) = read("guardduty/crypto-bitcointool-instance.json");
    assert!(errors.is_empty(), "{errors:?}");
    let d = &events[0].details;
    assert_eq!(d["actiontype"], "DNS_REQUEST");
    assert_eq!(d["direction"], "OUTBOUND");
    assert_eq!(d["domain"], "pool.minexmr.com");
    assert_eq!(d["sourceipaddress"].as_str().map(|s| s.starts_with("10.")), Some(true));
    assert!(!d.contains_key("destinationipaddress"));
    assert_eq!(events[0].severity, "CRITICAL");
}

#[test]
fn access_key_and_bucket_findings() {
    let (events, _, _) = read("guardduty/credential-exfiltration-access-key.json");
    let d = &events[0].details;
    assert_eq!(d["accesskeyid"], "AKIAQXYZ5EXAMPLE7N2Q");
    assert_eq!(d["username"], "ci-deployer");
    assert_eq!(d["sourceipaddress"], "198.51.100.77");
    assert_eq!(d["remotecountry"], "Netherlands");
    assert_eq!(d["api"], "ListBuckets");
    let (events, _, _) = read("guardduty/s3-block-public-access-disabled.json");
    let e = &events[0];
    assert_eq!(e.details["bucketname"], "tripline-demo-customer-exports");
    assert_eq!(e.details["resourcetype"], "S3Bucket");
    assert_eq!(e.severity, "INFO");
    assert_eq!(e.details["severitylabel"], "Low");
}

#[test]
fn severity_bands() {
    for (s, m, g) in [
        (1.0, "INFO", "Low"),
        (3.9, "INFO", "Low"),
        (4.0, "WARNING", "Medium"),
        (6.9, "WARNING", "Medium"),
        (7.0, "CRITICAL", "High"),
        (8.9, "CRITICAL", "High"),
        (9.0, "CRITICAL", "Critical"),
    ] {
        assert_eq!((mozdef_severity(s), guardduty_label(s)), (m, g), "{s}");
    }
}
