//! The CloudTrail field table against what the normalizer really stores.

use serde_json::Value as Json;
use tripline_sigma::fields::{self, Target, FLATTENED};

#[test]
fn every_mapped_field_is_where_the_normalizer_puts_it() {
    let record = serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2026-11-23T10:00:00Z", "eventSource": "iam.amazonaws.com",
        "eventName": "CreateUser", "eventType": "AwsApiCall", "eventCategory": "Management",
        "eventID": "e1", "awsRegion": "us-east-1", "userAgent": "aws-cli/2", "errorCode": "AccessDenied",
        "errorMessage": "no", "requestID": "r1", "recipientAccountId": "123456789012", "sharedEventID": "s1",
        "vpcEndpointId": "vpce-1", "apiVersion": "2010-05-08", "readOnly": false, "managementEvent": true,
        "sessionCredentialFromConsole": true, "sourceIPAddress": "203.0.113.9",
        "userIdentity": {"type": "AssumedRole", "principalId": "p", "arn": "arn:aws:sts::1:assumed-role/r/s",
            "accountId": "1", "accessKeyId": "ASIA", "userName": "u", "invokedBy": "x", "identityProvider": "i",
            "sessionContext": {"attributes": {"mfaAuthenticated": "false", "creationDate": "2026-11-23T09:00:00Z"},
                "sourceIdentity": "si",
                "sessionIssuer": {"type": "Role", "principalId": "p", "arn": "arn", "accountId": "1", "userName": "r"}},
            "webIdFederationData": {"federatedProvider": "f"}},
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "c", "clientProvidedHostHeader": "h"},
        "requestParameters": {"bucketName": "b", "key": "k", "userName": "mallory", "roleName": "r",
            "groupName": "g", "policyArn": "pa", "policyName": "pn", "accessKeyId": "ak", "name": "n",
            "keyId": "ki", "functionName": "f", "groupId": "gi", "instanceId": "i", "secretId": "s",
            "detectorId": "d", "roleArn": "ra", "roleSessionName": "rs"},
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {"MFAUsed": "Yes", "LoginTo": "l", "MobileVersion": "No"}
    });
    let event = tripline_normalize::cloudtrail::normalize(record, chrono::Utc::now()).unwrap();
    let doc = serde_json::to_value(&event).unwrap();
    let names = fields::KEYWORDS
        .iter()
        .chain(&fields::BOOLEANS)
        .chain(&fields::NESTED)
        .map(|s| s.to_string())
        .chain(FLATTENED.iter().flat_map(|(s, ms)| ms.iter().map(move |m| format!("{s}.{m}"))));
    let mut checked = 0;
    for name in names {
        let stored = match fields::cloudtrail(&name).unwrap() {
            Target::Keyword(f) => {
                assert!(tripline_event::lookup(&doc, &f).is_some_and(Json::is_string), "{name} -> {f}");
                f
            }
            Target::Bool(f) => {
                assert!(tripline_event::lookup(&doc, &f).is_some_and(Json::is_boolean), "{name} -> {f}");
                f
            }
            other => panic!("{name}: {other:?}"),
        };
        assert!(!stored.is_empty());
        checked += 1;
    }
    assert_eq!(checked, 15 + 3 + 20 + 17 + 1 + 3);
    assert_eq!(tripline_event::lookup(&doc, fields::SOURCE_IP), Some(&Json::from("203.0.113.9")));
    assert_eq!(fields::cloudtrail("sourceIPAddress"), Ok(Target::SourceIp));
}

#[test]
fn unmapped_fields_say_why() {
    assert_eq!(
        fields::cloudtrail("requestParameters..policyDocument").unwrap_err(),
        "\"requestParameters..policyDocument\" has an empty path segment"
    );
    assert!(fields::cloudtrail("otherSubtree.x").unwrap_err().starts_with("no CloudTrail field"));
    assert_eq!(
        fields::cloudtrail("eventname").unwrap_err(),
        "no CloudTrail field \"eventname\" is mapped (field names are case-sensitive, as CloudTrail writes them)"
    );
    assert_eq!(
        fields::cloudtrail("userIdentity.arn"),
        Ok(Target::Keyword("details.useridentity.arn".into()))
    );
    assert_eq!(
        fields::cloudtrail("responseElements.ConsoleLogin"),
        Ok(Target::Keyword("details.responseelements_consolelogin".into()))
    );
}

#[test]
fn any_subtree_member_is_a_pair_the_normalizer_writes() {
    let record = serde_json::json!({
        "eventTime": "2026-11-23T10:00:00Z", "eventSource": "ec2.amazonaws.com",
        "eventName": "AuthorizeSecurityGroupIngress",
        "requestParameters": {"ipPermissions": {"items": [{"fromPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]},
            "policyDocument": "{}", "a=b": "c"},
        "responseElements": {"credentials": {"accessKeyId": "ASIA"}},
        "additionalEventData": {"x": true},
        "serviceEventDetails": {"y": "z"}
    });
    let event = tripline_normalize::cloudtrail::normalize(record, chrono::Utc::now()).unwrap();
    let doc = serde_json::to_value(&event).unwrap();
    for (name, value) in [
        ("requestParameters.ipPermissions.items.ipRanges.items.cidrIp", "0.0.0.0/0"),
        ("requestParameters.ipPermissions.items.fromPort", "22"),
        ("requestParameters.policyDocument", "{}"),
        ("requestParameters.a=b", "c"),
        ("responseElements.credentials.accessKeyId", "ASIA"),
        ("additionalEventData.x", "true"),
        ("serviceEventDetails.y", "z"),
    ] {
        let Ok(Target::Pair { field, path }) = fields::cloudtrail(name) else { panic!("{name}") };
        let pairs = tripline_event::lookup(&doc, &field)
            .and_then(Json::as_array)
            .unwrap_or_else(|| panic!("{field}"));
        let pair = format!("{path}={value}");
        assert!(pairs.iter().any(|p| p.as_str() == Some(&pair)), "{name}: {pair} not in {pairs:?}");
    }
}
