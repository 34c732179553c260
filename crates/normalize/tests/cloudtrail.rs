//! CloudTrail fixtures (`events/cloudtrail/`), field by field.

mod common;

use common::*;
use serde_json::{json, Value};
use tripline_event::format_timestamp;

#[test]
fn delivery_file_maps_every_record() {
    let (events, errors, stats) = read("cloudtrail/management-events.json");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events.len(), 11);
    assert_eq!(stats.records.get("cloudtrail"), Some(&11));
    assert_eq!(stats.total_errors(), 0);
    for e in &events {
        assert_eq!(e.source, "cloudtrail");
        assert_eq!(e.event_type, "cloudtrail");
        assert_eq!(e.receivedtimestamp, received());
        assert_eq!(e.severity, "INFO");
        // Every key under details is lower case, recursively.
        fn all_lower(v: &Value) -> bool {
            match v {
                Value::Object(m) => m.iter().all(|(k, v)| k.to_lowercase() == *k && all_lower(v)),
                Value::Array(a) => a.iter().all(all_lower),
                _ => true,
            }
        }
        assert!(all_lower(&Value::Object(e.details.clone())), "{:?}", e.details);
    }
}

#[test]
fn create_user_top_level_fields() {
    let (events, _, _) = read("cloudtrail/management-events.json");
    let e = by_name(&events, "CreateUser");
    assert_eq!(e.category, "AwsApiCall");
    assert_eq!(e.hostname, "iam.amazonaws.com");
    assert_eq!(e.summary, "203.0.113.10 performed CreateUser in iam.amazonaws.com");
    assert_eq!(format_timestamp(e.utctimestamp), "2026-11-23T10:00:00.000Z");
    assert_eq!(e.timestamp, e.utctimestamp);
    let d = &e.details;
    assert_eq!(d["eventverb"], "Create");
    assert_eq!(d["eventreadonly"], false);
    assert_eq!(d["success"], true);
    assert_eq!(d["sourceipaddress"], "203.0.113.10");
    assert!(!d.contains_key("sourcehostname"));
    assert!(!d.contains_key("sourceIPAddress") && !d.contains_key("sourceipaddress_raw"));
    assert_eq!(d["useridentity"]["username"], "alice");
    assert_eq!(d["useridentity"]["arn"], "arn:aws:iam::123456789012:user/alice");
    assert_eq!(d["useridentity"]["accesskeyid"], "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(d["useridentity"]["sessioncontext"]["attributes"]["mfaauthenticated"], "false");
    assert_eq!(d["awsregion"], "us-east-1");
    assert_eq!(d["recipientaccountid"], "123456789012");
    assert_eq!(d["tlsdetails"]["tlsversion"], "TLSv1.3");
    assert_eq!(d["eventid"], "00000001-aaaa-bbbb-cccc-ddddeeeeffff");
    assert_eq!(d["requestparameters_username"], "backdoor-admin");
    // Raw subtrees are JSON strings with the original keys.
    let rp: Value = serde_json::from_str(d["requestparameters"].as_str().unwrap()).unwrap();
    assert_eq!(rp, json!({"userName": "backdoor-admin"}));
    let re: Value = serde_json::from_str(d["responseelements"].as_str().unwrap()).unwrap();
    assert_eq!(re["user"]["userId"], "AIDAEXAMPLEBACKDOOR");
}

#[test]
fn read_only_verbs_and_null_subtrees() {
    let (events, _, _) = read("cloudtrail/management-events.json");
    let e = by_name(&events, "DescribeInstances");
    assert_eq!(e.details["eventverb"], "Describe");
    assert_eq!(e.details["eventreadonly"], true);
    assert_eq!(e.details["responseelements"], Value::Null);
    assert!(e.details["requestparameters"].as_str().unwrap().contains("\"maxResults\":1000"));
}

#[test]
fn s3_public_acl_and_policy_stay_searchable() {
    let (events, _, _) = read("cloudtrail/management-events.json");
    let acl = by_name(&events, "PutBucketAcl");
    assert_eq!(acl.details["eventverb"], "Put");
    assert_eq!(acl.details["requestparameters_bucketname"], "customer-exports");
    let raw = acl.details["requestparameters"].as_str().unwrap();
    assert!(raw.contains("http://acs.amazonaws.com/groups/global/AllUsers"));
    let extra: Value = serde_json::from_str(acl.details["additionaleventdata"].as_str().unwrap()).unwrap();
    assert_eq!(extra["bytesTransferredIn"], 0);
    assert_eq!(acl.details["resources"][0]["arn"], "arn:aws:s3:::customer-exports");

    let pol = by_name(&events, "PutBucketPolicy");
    assert_eq!(pol.details["requestparameters_bucketname"], "customer-exports");
    assert!(pol.details["requestparameters"].as_str().unwrap().contains(r#""Principal":"*""#));
}

#[test]
fn console_logins_with_and_without_mfa_and_root() {
    let (events, _, _) = read("cloudtrail/management-events.json");
    let logins: Vec<_> = events.iter().filter(|e| e.details["eventname"] == "ConsoleLogin").collect();
    assert_eq!(logins.len(), 3);
    for e in &logins {
        assert_eq!(e.category, "AwsConsoleSignIn");
        assert_eq!(e.hostname, "signin.amazonaws.com");
        assert_eq!(e.details["eventverb"], "Console");
        assert_eq!(e.details["eventreadonly"], false);
    }
    let mfa = logins.iter().find(|e| e.details["sourceipaddress"] == "198.51.100.23").unwrap();
    assert_eq!(mfa.details["additionaleventdata_mfaused"], "Yes");
    assert_eq!(mfa.details["responseelements_consolelogin"], "Success");
    assert_eq!(mfa.details["success"], true);
    let failed = logins.iter().find(|e| e.details["sourceipaddress"] == "198.51.100.99").unwrap();
    assert_eq!(failed.details["additionaleventdata_mfaused"], "No");
    assert_eq!(failed.details["responseelements_consolelogin"], "Failure");
    assert_eq!(failed.details["success"], false);
    assert_eq!(failed.details["errormessage"], "Failed authentication");
    let root = logins.iter().find(|e| e.details["useridentity"]["type"] == "Root").unwrap();
    assert_eq!(root.details["useridentity"]["arn"], "arn:aws:iam::123456789012:root");
    assert_eq!(root.details["additionaleventdata_loginto"], "https://console.aws.amazon.com/console/home");
}

#[test]
fn stop_logging_and_access_denied() {
    let (events, _, _) = read("cloudtrail/management-events.json");
    let stop = by_name(&events, "StopLogging");
    assert_eq!(stop.hostname, "cloudtrail.amazonaws.com");
    assert_eq!(stop.details["eventverb"], "Stop");
    assert_eq!(
        stop.details["requestparameters_name"],
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events"
    );
    let denied = by_name(&events, "AttachUserPolicy");
    assert_eq!(denied.details["errorcode"], "AccessDenied");
    assert_eq!(denied.details["success"], false);
    assert_eq!(denied.details["requestparameters_policyarn"], "arn:aws:iam::aws:policy/AdministratorAccess");
    assert_eq!(denied.details["useridentity"]["username"], "intern");
}

#[test]
fn service_hostname_is_kept_out_of_the_ip_field() {
    let (events, _, _) = read("cloudtrail/management-events.json");
    let e = by_name(&events, "AssumeRole");
    assert!(!e.details.contains_key("sourceipaddress"));
    assert_eq!(e.details["sourcehostname"], "ec2.amazonaws.com");
    assert_eq!(e.summary, "ec2.amazonaws.com performed AssumeRole in sts.amazonaws.com");
    assert_eq!(e.details["useridentity"]["invokedby"], "ec2.amazonaws.com");
    assert_eq!(e.details["requestparameters_rolearn"], "arn:aws:iam::123456789012:role/web-server");
    assert_eq!(e.details["eventreadonly"], true);
}

#[test]
fn ipv6_source_is_canonicalised() {
    let (events, _, _) = read("cloudtrail/management-events.json");
    let e = by_name(&events, "ListBuckets");
    assert_eq!(e.details["sourceipaddress"], "2001:db8::7");
    assert_eq!(e.details["eventverb"], "List");
}

#[test]
fn gzip_file_gives_the_same_events() {
    let (plain, _, _) = read("cloudtrail/management-events.json");
    let (gz, errors, _) = read("cloudtrail/management-events.json.gz");
    assert!(errors.is_empty());
    assert_eq!(plain, gz);
}

#[test]
fn eventbridge_envelope_gives_the_same_event_as_the_record() {
    let (plain, _, _) = read("cloudtrail/management-events.json");
    let (eb, errors, stats) = read("cloudtrail/eventbridge-createuser.json");
    assert!(errors.is_empty());
    assert_eq!(stats.records["cloudtrail"], 1);
    assert_eq!(&eb[0], by_name(&plain, "CreateUser"));
    assert_eq!(eb[0].id(), by_name(&plain, "CreateUser").id());
}

#[test]
fn malformed_records_are_reported_by_index_and_the_rest_goes_on() {
    let (events, errors, stats) = read("cloudtrail/malformed.json");
    let names: Vec<_> = events.iter().map(|e| e.details["eventname"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["DescribeInstances", "CreateUser"]);
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].record, Some(2));
    assert_eq!(errors[0].kind.name(), "json");
    assert!(errors[0].file.ends_with("malformed.json"));
    assert!(errors[0].to_string().contains("malformed.json: record 2: invalid JSON"), "{}", errors[0]);
    assert_eq!(errors[1].record, Some(3));
    assert_eq!(errors[1].kind, tripline_normalize::ErrorKind::MissingField("eventTime"));
    assert_eq!(stats.errors.values().sum::<u64>(), 2);
    assert_eq!(stats.records["cloudtrail"], 2);
}

#[test]
fn cloudwatch_logs_subscription_payload() {
    let (events, errors, stats) = read("cloudwatch-logs-cloudtrail.json");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(stats.records["cloudtrail"], 3);
    let names: Vec<_> = events.iter().map(|e| e.details["eventname"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["CreateUser", "StopLogging", "ListBuckets"]);
}

#[test]
fn event_verb_edge_cases() {
    use tripline_normalize::cloudtrail::event_verb;
    assert_eq!(event_verb("DescribeInstances"), "Describe");
    assert_eq!(event_verb("UploadSSHPublicKey"), "Upload");
    assert_eq!(event_verb("listObjects"), "list");
    assert_eq!(event_verb("Get"), "Get");
    assert_eq!(event_verb(""), "");
    assert_eq!(event_verb("ÉtéX"), "Été");
}

#[test]
fn every_subtree_leaf_is_a_path_value_pair() {
    let record = r#"{"eventTime":"2026-11-23T10:00:00Z","eventSource":"ec2.amazonaws.com",
        "eventName":"AuthorizeSecurityGroupIngress",
        "requestParameters":{"groupId":"sg-1","ipPermissions":{"items":[
            {"ipProtocol":"tcp","fromPort":22,"toPort":22.0,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"},{"cidrIp":"10.0.0.0/8"}]}},
            {"ipProtocol":"udp","fromPort":1e3,"ipRanges":{"items":[]}}]},
            "dryRun":false,"note":null,"a=b":"c=d","x.y":"dot","back\\slash":"\u00e9"},
        "responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLE"}},
        "additionalEventData":"not an object"}"#;
    let e = tripline_normalize::cloudtrail::normalize_json(record, received()).unwrap();
    assert_eq!(
        e.details["requestparameters_pairs"],
        json!([
            "groupId=sg-1",
            "ipPermissions.items.ipProtocol=tcp",
            "ipPermissions.items.fromPort=22",
            "ipPermissions.items.toPort=22.0",
            "ipPermissions.items.ipRanges.items.cidrIp=0.0.0.0/0",
            "ipPermissions.items.ipRanges.items.cidrIp=10.0.0.0/8",
            "ipPermissions.items.ipProtocol=udp",
            "ipPermissions.items.fromPort=1e3",
            "dryRun=false",
            "a\\=b=c=d",
            "x\\.y=dot",
            "back\\\\slash=é",
        ])
    );
    assert_eq!(e.details["responseelements_pairs"], json!(["credentials.accessKeyId=ASIAEXAMPLE"]));
    // A subtree that is not an object has no pairs; the JSON text stays as it was.
    assert!(e.details.get("additionaleventdata_pairs").is_none());
    assert_eq!(e.details["additionaleventdata"], "\"not an object\"");
    let reference = tripline_normalize::cloudtrail::normalize_json_reference(record, received()).unwrap();
    assert_eq!(e.to_json(), reference.to_json());
}

#[test]
fn hostile_subtrees_are_capped_and_marked() {
    use tripline_normalize::cloudtrail::{subtree_pairs, MAX_PAIRS, MAX_PAIRS_BYTES};
    use tripline_normalize::PAIRS_TRUNCATED;
    let many = format!(r#"{{"items":[{}]}}"#, vec!["1"; MAX_PAIRS + 5].join(","));
    let pairs = subtree_pairs(&many).unwrap();
    assert_eq!(pairs.len(), MAX_PAIRS + 1);
    assert_eq!(pairs[0], "items=1");
    assert_eq!(pairs[MAX_PAIRS], PAIRS_TRUNCATED);
    // Exactly the cap: nothing left out, no marker.
    let exact = format!(r#"{{"items":[{}]}}"#, vec!["1"; MAX_PAIRS].join(","));
    assert!(subtree_pairs(&exact).unwrap().iter().all(|p| p != PAIRS_TRUNCATED));
    // A long path repeated for every leaf: the byte budget ends it.
    let long = format!(r#"{{"{}":[{}]}}"#, "k".repeat(10_000), vec!["1"; 200].join(","));
    let pairs = subtree_pairs(&long).unwrap();
    let bytes: usize = pairs.iter().filter_map(|p| p.as_str()).map(str::len).sum();
    assert!(bytes <= MAX_PAIRS_BYTES + PAIRS_TRUNCATED.len(), "{bytes}");
    assert_eq!(pairs.last().unwrap(), PAIRS_TRUNCATED);
    // A single pair too long to index is kept (the stores flag it as unindexed).
    let one = format!(r#"{{"policyDocument":"{}"}}"#, "x".repeat(9000));
    assert_eq!(subtree_pairs(&one).unwrap().len(), 1);
    // Nesting far beyond serde_json's limit, and text that is not JSON: no panic, no silence.
    let deep = format!("{}1{}", r#"{"a":"#.repeat(300), "}".repeat(300));
    assert_eq!(subtree_pairs(&deep).unwrap(), vec![serde_json::Value::from(PAIRS_TRUNCATED)]);
    for broken in [r#"{"a":"b","c":tru}"#, r#"{"a":"b"#, r#"{"a":1,"b":"\q"}"#, "{", r#"{"a":[1,}"#] {
        let pairs = subtree_pairs(broken).unwrap_or_default();
        assert!(pairs.is_empty() || pairs.last().unwrap() == PAIRS_TRUNCATED, "{broken}: {pairs:?}");
    }
    assert_eq!(subtree_pairs("{}"), None);
    assert_eq!(subtree_pairs(r#"{"n":null,"e":[]}"#), None);
    assert_eq!(subtree_pairs("[1,2]"), None);
}
