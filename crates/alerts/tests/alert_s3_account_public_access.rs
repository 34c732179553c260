//! The `s3_account_public_access` catalog alert on canned MozDef events, run by the runtime over an in-memory
//! embedded store: what must raise does, with the right severity and summary; what must not,
//! doesn't.

mod common;

use common::*;
use serde_json::json;
use tripline_alerts::*;

#[tokio::test]
async fn s3_account_public_access_raises_on_removal_not_on_enabling() {
    let alert = s3_account_public_access::S3AccountPublicAccess::default();
    let weaken = cloudtrail(
        ago(3),
        "s3.amazonaws.com",
        "PutAccountPublicAccessBlock",
        "alice",
        "198.51.100.21",
        json!({"requestparameters": params(json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": false, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}}))}),
    );
    let enable = cloudtrail(
        ago(3),
        "s3.amazonaws.com",
        "PutAccountPublicAccessBlock",
        "alice",
        "198.51.100.21",
        json!({"requestparameters": params(json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}, "comment": "false alarm"}))}),
    );
    let delete = cloudtrail(
        ago(2),
        "s3.amazonaws.com",
        "DeleteAccountPublicAccessBlock",
        "bob",
        "198.51.100.22",
        json!({}),
    );
    let raised = raise(&alert, &[weaken, enable, delete]).await;
    assert_eq!(raised.len(), 2, "{:?}", names(&raised));
    assert!(raised.iter().any(|a| a.summary.contains("DeleteAccountPublicAccessBlock")));
    assert!(raised.iter().any(|a| a.summary.contains("user/alice")));
}
