//! The `guardduty_finding` catalog alert on canned MozDef events, run by the runtime over an in-memory
//! embedded store: what must raise does, with the right severity and summary; what must not,
//! doesn't.

mod common;

use common::*;
use serde_json::json;
use tripline_alerts::*;

#[tokio::test]
async fn guardduty_finding_maps_severity_and_names_the_resource_for_containment() {
    let alert = guardduty_finding::GuarddutyFinding::default();
    let events = vec![
        finding(ago(5), "CryptoCurrency:EC2/BitcoinTool.B!DNS", 8.0, json!({})),
        finding(
            ago(5),
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
            8.0,
            json!({"resourcetype": "AccessKey", "accesskeyid": "ASIAEXAMPLE", "username": "web-tier"}),
        ),
        finding(
            ago(6),
            "Policy:S3/BucketBlockPublicAccessDisabled",
            5.0,
            json!({"resourcetype": "S3Bucket", "bucketname": "b"}),
        ),
        finding(ago(7), "Recon:IAMUser/MaliciousIPCaller", 2.0, json!({"resourcetype": "AccessKey"})),
        // Left to guardduty_port_probe.
        finding(ago(7), "Recon:EC2/PortProbeUnprotectedPort", 2.0, json!({"remoteipaddress": "192.0.2.150"})),
    ];
    let raised = raise(&alert, &events).await;
    assert_eq!(raised.len(), 4, "{:?}", names(&raised));
    let get = |kind: &str| raised.iter().find(|a| a.details["finding"] == kind).cloned().expect(kind);
    let crypto = get("CryptoCurrency:EC2/BitcoinTool.B!DNS");
    assert_eq!(crypto.severity, "CRITICAL");
    assert_eq!(crypto.details["resource"], json!({"type": "Instance", "id": "i-0a1b2c3d4e5f60718"}));
    let key = get("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS");
    assert_eq!(key.details["resource"]["type"], "AccessKey");
    assert_eq!(key.details["resource"]["id"], "ASIAEXAMPLE");
    let medium = get("Policy:S3/BucketBlockPublicAccessDisabled");
    assert_eq!(medium.severity, "WARNING");
    assert!(medium.details.get("resource").is_none(), "below 7: notify only");
    assert_eq!(get("Recon:IAMUser/MaliciousIPCaller").severity, "INFO");
    assert_eq!(guardduty_finding::map_severity(6.9), Severity::Warning);
    assert_eq!(guardduty_finding::map_severity(7.0), Severity::Critical);
    assert_eq!(guardduty_finding::map_severity(3.9), Severity::Info);
}
