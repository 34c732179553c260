//! The `iam_user_multiple_ips` catalog alert on canned MozDef events, run by the runtime over an in-memory
//! embedded store: what must raise does, with the right severity and summary; what must not,
//! doesn't.

mod common;

use common::*;
use serde_json::json;
use tripline_alerts::*;

#[tokio::test]
async fn iam_user_multiple_ips_counts_distinct_addresses_per_user() {
    let alert = iam_user_multiple_ips::IamUserMultipleIps::default();
    let mut events = Vec::new();
    for i in 0..20 {
        // svc-backup from two addresses; alice from one, often.
        let ip = if i % 2 == 0 { "198.51.100.10" } else { "203.0.113.66" };
        events.push(cloudtrail(
            ago(14) + chrono::TimeDelta::seconds(i * 20),
            "s3.amazonaws.com",
            "ListBuckets",
            "svc-backup",
            ip,
            json!({}),
        ));
        events.push(cloudtrail(
            ago(14) + chrono::TimeDelta::seconds(i * 20),
            "s3.amazonaws.com",
            "ListBuckets",
            "alice",
            "198.51.100.21",
            json!({}),
        ));
    }
    let raised = raise(&alert, &events).await;
    assert_eq!(raised.len(), 1, "{:?}", names(&raised));
    assert!(
        raised[0].summary.contains("IAM user svc-backup's access key AKIASVC-BACKUP used from 2 source IPs"),
        "{}",
        raised[0].summary
    );
    assert_eq!(raised[0].details["distinct_ips"], 2);
    let ips = raised[0].details["sourceipaddresses"].as_array().expect("list").len();
    assert_eq!(ips, 2);
}

#[tokio::test]
async fn iam_user_multiple_ips_ignores_roles_services_and_the_old_address() {
    let alert = iam_user_multiple_ips::IamUserMultipleIps::default();
    let mut old =
        cloudtrail(ago(30), "s3.amazonaws.com", "ListBuckets", "svc-backup", "203.0.113.66", json!({}));
    old.receivedtimestamp = old.utctimestamp;
    let now_call =
        cloudtrail(ago(2), "s3.amazonaws.com", "ListBuckets", "svc-backup", "198.51.100.10", json!({}));
    // An assumed role used from two places is not an IAM user.
    let role_a = cloudtrail(
        ago(3),
        "ec2.amazonaws.com",
        "DescribeInstances",
        "web",
        "54.210.33.18",
        json!({"useridentity": {"type": "AssumedRole"}}),
    );
    let role_b = cloudtrail(
        ago(4),
        "ec2.amazonaws.com",
        "DescribeInstances",
        "web",
        "54.210.33.19",
        json!({"useridentity": {"type": "AssumedRole"}}),
    );
    assert!(raise(&alert, &[old, now_call, role_a, role_b]).await.is_empty());
}
