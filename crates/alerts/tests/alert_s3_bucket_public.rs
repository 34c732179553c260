//! The `s3_bucket_public` catalog alert on canned MozDef events, run by the runtime over an in-memory
//! embedded store: what must raise does, with the right severity and summary; what must not,
//! doesn't.

mod common;

use common::*;
use serde_json::json;
use tripline_alerts::*;

fn acl(at: chrono::DateTime<chrono::Utc>, bucket: &str, uri: &str) -> tripline_event::Event {
    let p = json!({"bucketName": bucket, "AccessControlPolicy": {"AccessControlList": {"Grant": [
        {"Grantee": {"xsi:type": "Group", "URI": uri}, "Permission": "READ"}]}}});
    cloudtrail(
        at,
        "s3.amazonaws.com",
        "PutBucketAcl",
        "carol",
        "198.51.100.23",
        json!({"requestparameters": params(p), "requestparameters_bucketname": bucket}),
    )
}

fn policy(
    at: chrono::DateTime<chrono::Utc>,
    bucket: &str,
    statement: serde_json::Value,
) -> tripline_event::Event {
    let p =
        json!({"bucketName": bucket, "bucketPolicy": {"Version": "2012-10-17", "Statement": [statement]}});
    cloudtrail(
        at,
        "s3.amazonaws.com",
        "PutBucketPolicy",
        "alice",
        "198.51.100.21",
        json!({"requestparameters": params(p), "requestparameters_bucketname": bucket}),
    )
}

fn s3_call(
    at: chrono::DateTime<chrono::Utc>,
    name: &str,
    bucket: &str,
    p: serde_json::Value,
) -> tripline_event::Event {
    cloudtrail(
        at,
        "s3.amazonaws.com",
        name,
        "deploy-bot",
        "203.0.113.10",
        json!({"requestparameters": params(p), "requestparameters_bucketname": bucket}),
    )
}

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";

#[tokio::test]
async fn s3_bucket_public_raises_for_each_way_of_exposing_an_existing_bucket() {
    let alert = s3_bucket_public::S3BucketPublic::default();
    let pab = json!({"bucketName": "c", "PublicAccessBlockConfiguration":
        {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": false, "RestrictPublicBuckets": true}});
    let events = vec![
        acl(ago(5), "a-acl", ALL_USERS),
        acl(ago(6), "a-auth", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"),
        s3_call(
            ago(6),
            "PutBucketAcl",
            "a-canned",
            json!({"bucketName": "a-canned", "x-amz-acl": ["public-read"]}),
        ),
        policy(
            ago(7),
            "b-star",
            json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b-star/*"}),
        ),
        policy(
            ago(7),
            "b-aws",
            json!({"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b-aws/*"}),
        ),
        s3_call(ago(8), "PutPublicAccessBlock", "c", pab),
        s3_call(ago(9), "DeletePublicAccessBlock", "d", json!({"bucketName": "d"})),
    ];
    let raised = raise(&alert, &events).await;
    let mut buckets: Vec<String> =
        raised.iter().map(|a| a.details["bucketname"].as_str().unwrap_or("").to_string()).collect();
    buckets.sort();
    assert_eq!(buckets, ["a-acl", "a-auth", "a-canned", "b-aws", "b-star", "c", "d"], "{:?}", names(&raised));
    for a in &raised {
        let want = if ["c", "d"].contains(&a.details["bucketname"].as_str().unwrap_or("")) {
            "WARNING"
        } else {
            "CRITICAL"
        };
        assert_eq!(a.severity, want, "{}", a.summary);
        assert_eq!(a.details["resource"]["type"], "S3Bucket");
        assert_eq!(a.details["resource"]["id"], a.details["bucketname"]);
    }
}

#[tokio::test]
async fn s3_bucket_public_skips_new_buckets_private_grants_deny_and_conditional_policies_and_failures() {
    let alert = s3_bucket_public::S3BucketPublic::default();
    let mut denied = acl(ago(3), "e-denied", ALL_USERS);
    denied.details.insert("errorcode".into(), json!("AccessDenied"));
    let events = vec![
        // Created, then opened within minutes: a website being set up.
        s3_call(ago(12), "CreateBucket", "site", json!({"bucketName": "site"})),
        s3_call(ago(11), "DeletePublicAccessBlock", "site", json!({"bucketName": "site"})),
        policy(
            ago(10),
            "site",
            json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}),
        ),
        // Log delivery group: not public.
        acl(ago(5), "logs", "http://acs.amazonaws.com/groups/s3/LogDelivery"),
        // Principal * but Deny (TLS only), and Allow * narrowed by a VPC endpoint condition.
        policy(
            ago(4),
            "archive",
            json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::archive/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
        ),
        policy(
            ago(4),
            "vpce",
            json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::vpce/*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}),
        ),
        // Public access block turned fully on.
        s3_call(
            ago(4),
            "PutPublicAccessBlock",
            "locked",
            json!({"bucketName": "locked", "PublicAccessBlockConfiguration":
            {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}}),
        ),
        denied,
    ];
    let raised = raise(&alert, &events).await;
    assert!(raised.is_empty(), "{:?}", names(&raised));
}

#[tokio::test]
async fn s3_bucket_public_exposure_long_after_creation_raises() {
    let alert = s3_bucket_public::S3BucketPublic::default();
    // Created 75 minutes ago (in the 80-minute query window), exposed 5 minutes ago: 70 minutes
    // after creation, beyond the 60-minute grace.
    let events = vec![
        s3_call(ago(75), "CreateBucket", "old", json!({"bucketName": "old"})),
        acl(ago(5), "old", ALL_USERS),
    ];
    let raised = raise(&alert, &events).await;
    assert_eq!(raised.len(), 1, "{:?}", names(&raised));
    assert_eq!(raised[0].events.len(), 1, "only the exposing call is the evidence");
}

#[test]
fn s3_bucket_public_with_the_clock_an_exempt_exposure_never_raises_later() {
    use tripline_event::EventRef;
    let alert = s3_bucket_public::S3BucketPublic::default();
    let as_ref = |e: &tripline_event::Event| EventRef {
        documentindex: "events-2024.05.14".into(),
        documentid: e.id(),
        documentsource: e.to_json(),
    };
    let create = s3_call(ago(70), "CreateBucket", "site", json!({"bucketName": "site"}));
    let open = policy(
        ago(65),
        "site",
        json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}),
    );
    // A later run whose window still holds the exposure but no longer the creation.
    let group = Group {
        value: json!("site"),
        count: 1,
        samples: vec![as_ref(&open)],
        metrics: [("calls".to_string(), calls(&[("PutBucketPolicy", 1)]))].into(),
    };
    // With the clock: the exposure is older than the 20-minute window: it was judged (and
    // exempted) when it was recent, and is not raised now.
    assert!(alert.on_aggregation_at(&group, now()).is_none());
    // Without the clock the alert cannot tell (the documented fallback).
    assert!(alert.on_aggregation(&group).is_some());
    // When the creation is in the group, both exempt it.
    let mut both = group.clone();
    both.samples.push(as_ref(&create));
    both.metrics.insert("calls".into(), calls(&[("CreateBucket", 1), ("PutBucketPolicy", 1)]));
    assert!(alert.on_aggregation_at(&both, ago(60)).is_none());
    assert!(alert.on_aggregation(&both).is_none());
}

#[tokio::test]
async fn s3_bucket_public_exempt_exposure_is_not_raised_once_the_creation_leaves_the_window() {
    // Through the runtime: the bucket was created 85 minutes ago (outside the 80-minute query
    // window) and opened 5 minutes later. That exposure was exempt when it was recent; the runner
    // passes its clock, so the alert sees the exposure is older than its 20-minute window.
    let alert = s3_bucket_public::S3BucketPublic::default();
    let events = vec![
        s3_call(ago(85), "CreateBucket", "site", json!({"bucketName": "site"})),
        policy(
            ago(79),
            "site",
            json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}),
        ),
    ];
    let raised = raise(&alert, &events).await;
    assert!(raised.is_empty(), "{:?}", names(&raised));
}

/// A terms sub-aggregation's value: these keys and counts.
fn calls(buckets: &[(&str, u64)]) -> tripline_dsl::AggregationValue {
    tripline_dsl::AggregationValue::Buckets(
        buckets
            .iter()
            .map(|(k, n)| tripline_dsl::Bucket { key: json!(k), count: *n, samples: vec![], subs: vec![] })
            .collect(),
    )
}
