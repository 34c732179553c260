//! Every catalog alert on canned MozDef events, run by the runtime over an in-memory embedded
//! store: what must raise does, with the right severity and summary; what must not, doesn't.

mod common;

use common::*;
use serde_json::json;
use tripline_alerts::*;

fn names(alerts: &[tripline_event::AlertRecord]) -> Vec<String> {
    alerts.iter().map(|a| a.summary.clone()).collect()
}

// ------------------------------------------------------------------ describe_recon

fn describes(user: &str, ip: &str, n: i64, from_minutes_ago: i64) -> Vec<tripline_event::Event> {
    (0..n)
        .map(|i| {
            let at = ago(from_minutes_ago) + chrono::TimeDelta::seconds(i * 5);
            let api = ["DescribeInstances", "DescribeVpcs", "DescribeSubnets"][(i % 3) as usize];
            cloudtrail(at, "ec2.amazonaws.com", api, user, ip, json!({}))
        })
        .collect()
}

#[tokio::test]
async fn describe_recon_raises_at_the_threshold_per_actor() {
    let alert = describe_recon::DescribeRecon::default();
    let mut events = describes("mallory", "203.0.113.66", 50, 10);
    events.extend(describes("bob", "198.51.100.22", 49, 15));
    let raised = raise(&alert, &events).await;
    assert_eq!(raised.len(), 1, "{:?}", names(&raised));
    let a = &raised[0];
    assert_eq!(a.classname, "describe_recon");
    assert_eq!(a.severity, "WARNING");
    assert!(
        a.summary.contains("user/mallory") && a.summary.contains("50 calls to 3 distinct APIs"),
        "{}",
        a.summary
    );
    assert_eq!(a.details["calls"], 50);
    assert_eq!(a.events.len(), 10, "samples");
}

#[tokio::test]
async fn describe_recon_ignores_old_calls_and_other_verbs() {
    let alert = describe_recon::DescribeRecon::default();
    // 60 calls, but an hour ago (outside the 20-minute window, and outside the settled window
    // [now − 50 min, now − 30 min] the runtime also counts for late deliveries) ...
    let mut events = describes("mallory", "203.0.113.66", 60, 60);
    // ... and 60 List calls now.
    events.extend((0..60).map(|i| {
        cloudtrail(
            ago(5) + chrono::TimeDelta::seconds(i),
            "s3.amazonaws.com",
            "ListBuckets",
            "mallory",
            "203.0.113.66",
            json!({}),
        )
    }));
    assert!(raise(&alert, &events).await.is_empty());
    // A lower configured threshold catches the List-free part.
    let strict = describe_recon::DescribeRecon::new(describe_recon::Config {
        threshold: 10,
        window_minutes: 40,
        ..Default::default()
    });
    assert_eq!(raise(&strict, &events).await.len(), 1);
}

// ------------------------------------------------------------------ iam_user_multiple_ips

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
    assert!(raised[0].summary.contains("svc-backup used from 2 source IPs"), "{}", raised[0].summary);
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

// ------------------------------------------------------------------ s3_bucket_public

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

// ------------------------------------------------------------------ s3_account_public_access

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

// ------------------------------------------------------------------ ssh_from_outside

#[tokio::test]
async fn ssh_from_outside_severity_follows_the_largest_flow() {
    let alert = ssh_from_outside::SshFromOutside::default();
    let mut events = Vec::new();
    // A brute force: forty 3 kB connections, 120 kB in all, no session.
    for i in 0..40 {
        events.push(flow(
            ago(10) + chrono::TimeDelta::seconds(i),
            "192.0.2.7",
            "10.0.1.25",
            22,
            6,
            3000 + i as u64,
            "ACCEPT",
        ));
    }
    // Failed attempts then one session.
    events.push(flow(ago(9), "198.51.100.200", "10.0.1.25", 22, 6, 2100, "ACCEPT"));
    events.push(flow(ago(8), "198.51.100.200", "10.0.1.25", 22, 6, 48_220, "ACCEPT"));
    // IPv6 from outside.
    events.push(flow(ago(7), "2001:db8::7", "10.0.1.25", 22, 6, 700, "ACCEPT"));
    let raised = raise(&alert, &events).await;
    let by_ip = |ip: &str| raised.iter().find(|a| a.details["sourceipaddress"] == ip).cloned();
    assert_eq!(raised.len(), 3, "{:?}", names(&raised));
    let brute = by_ip("192.0.2.7").expect("brute force raised");
    assert_eq!(brute.severity, "WARNING");
    assert_eq!(brute.details["flows"], 40);
    assert_eq!(brute.details["largest_flow_bytes"], 3039);
    assert_eq!(brute.details["total_bytes"], (0..40).map(|i| 3000 + i).sum::<u64>());
    let session = by_ip("198.51.100.200").expect("session raised");
    assert_eq!(session.severity, "CRITICAL");
    assert!(session.summary.contains("a session was established"), "{}", session.summary);
    assert_eq!(by_ip("2001:db8::7").expect("ipv6").severity, "WARNING");
}

#[tokio::test]
async fn ssh_from_outside_ignores_inside_rejected_other_ports_and_udp() {
    let alert = ssh_from_outside::SshFromOutside::default();
    let events = vec![
        flow(ago(5), "10.0.0.10", "10.0.1.25", 22, 6, 96_000, "ACCEPT"),
        flow(ago(5), "172.20.1.1", "10.0.1.25", 22, 6, 96_000, "ACCEPT"),
        flow(ago(5), "192.168.1.1", "10.0.1.25", 22, 6, 96_000, "ACCEPT"),
        flow(ago(5), "169.254.169.254", "10.0.1.25", 22, 6, 96_000, "ACCEPT"),
        flow(ago(5), "fd00::5", "10.0.1.25", 22, 6, 96_000, "ACCEPT"),
        flow(ago(5), "fe80::5", "10.0.1.25", 22, 6, 96_000, "ACCEPT"),
        flow(ago(5), "192.0.2.99", "10.0.1.25", 22, 6, 44, "REJECT"),
        flow(ago(5), "192.0.2.99", "10.0.1.25", 443, 6, 9000, "ACCEPT"),
        flow(ago(5), "192.0.2.99", "10.0.1.25", 22, 17, 9000, "ACCEPT"),
        // Outside the 15-minute window and the settled one ([now − 45 min, now − 15 min]).
        flow(ago(50), "192.0.2.98", "10.0.1.25", 22, 6, 9000, "ACCEPT"),
    ];
    let raised = raise(&alert, &events).await;
    assert!(raised.is_empty(), "{:?}", names(&raised));
}

// ------------------------------------------------------------------ iam_create_user

#[tokio::test]
async fn iam_create_user_names_the_new_user_and_skips_failures() {
    let alert = iam_create_user::IamCreateUser::default();
    let ok = cloudtrail(
        ago(3),
        "iam.amazonaws.com",
        "CreateUser",
        "svc-backup",
        "203.0.113.66",
        json!({"requestparameters": params(json!({"userName": "backup-admin"})), "requestparameters_username": "backup-admin"}),
    );
    let mut denied = cloudtrail(
        ago(3),
        "iam.amazonaws.com",
        "CreateUser",
        "bob",
        "198.51.100.22",
        json!({"requestparameters": params(json!({"userName": "other"})), "requestparameters_username": "other"}),
    );
    denied.details.insert("errorcode".into(), json!("AccessDenied"));
    let other = cloudtrail(ago(3), "iam.amazonaws.com", "CreateRole", "bob", "198.51.100.22", json!({}));
    let raised = raise(&alert, &[ok, denied, other]).await;
    assert_eq!(raised.len(), 1, "{:?}", names(&raised));
    assert_eq!(
        raised[0].summary,
        "IAM user backup-admin created by arn:aws:iam::123456789012:user/svc-backup from 203.0.113.66"
    );
    assert_eq!(raised[0].severity, "NOTICE");
}

// ------------------------------------------------------------------ cloudtrail_logging_disabled

fn trail_call(name: &str, p: serde_json::Value, error: Option<&str>) -> tripline_event::Event {
    let mut e = cloudtrail(
        ago(2),
        "cloudtrail.amazonaws.com",
        name,
        "mallory",
        "203.0.113.66",
        json!({"requestparameters": params(p), "requestparameters_name": "org-trail"}),
    );
    if let Some(code) = error {
        e.details.insert("errorcode".into(), json!(code));
    }
    e
}

#[tokio::test]
async fn cloudtrail_logging_disabled_raises_on_each_way_of_turning_it_off() {
    let alert = cloudtrail_logging_disabled::CloudtrailLoggingDisabled::default();
    let events = vec![
        trail_call("StopLogging", json!({"name": "org-trail"}), None),
        trail_call("DeleteTrail", json!({"name": "org-trail"}), None),
        trail_call("UpdateTrail", json!({"name": "org-trail", "isMultiRegionTrail": false}), None),
        trail_call(
            "PutEventSelectors",
            json!({"trailName": "org-trail", "eventSelectors": [{"readWriteType": "All", "includeManagementEvents": false}]}),
            None,
        ),
    ];
    let raised = raise(&alert, &events).await;
    assert_eq!(raised.len(), 4, "{:?}", names(&raised));
    assert!(raised.iter().all(|a| a.severity == "CRITICAL"));
    for what in ["logging stopped", "trail deleted", "one region", "management events excluded"] {
        assert!(raised.iter().any(|a| a.summary.contains(what)), "{what}: {:?}", names(&raised));
    }
}

#[tokio::test]
async fn cloudtrail_logging_disabled_ignores_denied_calls_and_harmless_updates() {
    let alert = cloudtrail_logging_disabled::CloudtrailLoggingDisabled::default();
    let events = vec![
        trail_call("StopLogging", json!({"name": "org-trail"}), Some("AccessDenied")),
        trail_call("DeleteTrail", json!({"name": "org-trail"}), Some("TrailNotFoundException")),
        trail_call("StartLogging", json!({"name": "org-trail"}), None),
        trail_call(
            "UpdateTrail",
            json!({"name": "org-trail", "isMultiRegionTrail": true, "includeGlobalServiceEvents": true}),
            None,
        ),
        trail_call(
            "PutEventSelectors",
            json!({"trailName": "org-trail", "eventSelectors": [{"readWriteType": "All", "includeManagementEvents": true}]}),
            None,
        ),
    ];
    let raised = raise(&alert, &events).await;
    assert!(raised.is_empty(), "{:?}", names(&raised));
}

// ------------------------------------------------------------------ root_account_usage

fn as_root(mut e: tripline_event::Event) -> tripline_event::Event {
    e.details.insert(
        "useridentity".into(),
        json!({"type": "Root", "arn": "arn:aws:iam::123456789012:root", "accountid": "123456789012"}),
    );
    e
}

#[tokio::test]
async fn root_account_usage_raises_for_the_root_user_not_for_services_or_users() {
    let alert = root_account_usage::RootAccountUsage::default();
    let used = as_root(cloudtrail(
        ago(3),
        "iam.amazonaws.com",
        "CreateAccessKey",
        "root",
        "198.51.100.5",
        json!({}),
    ));
    let mut by_service = as_root(cloudtrail(
        ago(3),
        "support.amazonaws.com",
        "DescribeCases",
        "root",
        "198.51.100.5",
        json!({}),
    ));
    by_service.details["useridentity"]["invokedby"] = json!("support.amazonaws.com");
    let mut service_event =
        as_root(cloudtrail(ago(3), "health.amazonaws.com", "Notify", "root", "198.51.100.5", json!({})));
    service_event.category = "AwsServiceEvent".into();
    let user =
        cloudtrail(ago(3), "iam.amazonaws.com", "CreateAccessKey", "alice", "198.51.100.21", json!({}));
    let raised = raise(&alert, &[used, by_service, service_event, user]).await;
    assert_eq!(raised.len(), 1, "{:?}", names(&raised));
    assert_eq!(
        raised[0].summary,
        "Root user of account 123456789012 used: CreateAccessKey from 198.51.100.5"
    );
}

// ------------------------------------------------------------------ console_login_without_mfa

fn login(user: &str, kind: &str, outcome: &str, mfa: &str) -> tripline_event::Event {
    let mut e = cloudtrail(
        ago(4),
        "signin.amazonaws.com",
        "ConsoleLogin",
        user,
        "192.0.2.44",
        json!({
            "responseelements": params(json!({"ConsoleLogin": outcome})),
            "responseelements_consolelogin": outcome,
            "additionaleventdata": params(json!({"MFAUsed": mfa})),
            "additionaleventdata_mfaused": mfa,
            "useridentity": {"type": kind},
        }),
    );
    e.category = "AwsConsoleSignIn".into();
    e
}

#[tokio::test]
async fn console_login_without_mfa_raises_only_for_successful_password_only_sign_ins() {
    let alert = console_login_without_mfa::ConsoleLoginWithoutMfa::default();
    let events = vec![
        login("dave", "IAMUser", "Success", "No"),
        login("alice", "IAMUser", "Success", "Yes"),
        login("eve", "IAMUser", "Failure", "No"),
        login("sso-user", "AssumedRole", "Success", "No"),
    ];
    let raised = raise(&alert, &events).await;
    assert_eq!(raised.len(), 1, "{:?}", names(&raised));
    assert!(raised[0].summary.contains("user/dave"), "{}", raised[0].summary);
}

// ------------------------------------------------------------------ guardduty_finding

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

// ------------------------------------------------------------------ guardduty_port_probe

#[tokio::test]
async fn guardduty_port_probe_groups_by_the_prober() {
    let alert = guardduty_port_probe::GuarddutyPortProbe::default();
    let probe = |ip: &str, instance: &str, minutes: i64| {
        finding(
            ago(minutes),
            "Recon:EC2/PortProbeUnprotectedPort",
            2.0,
            json!({"remoteipaddress": ip, "sourceipaddress": ip, "instanceid": instance}),
        )
    };
    let events = vec![
        probe("192.0.2.150", "i-1", 10),
        probe("192.0.2.150", "i-2", 20),
        probe("192.0.2.150", "i-3", 25),
        probe("192.0.2.151", "i-1", 15),
        // Outside the hour, and outside the settled hour [now − 90 min, now − 30 min] too.
        probe("192.0.2.152", "i-1", 100),
        finding(
            ago(5),
            "CryptoCurrency:EC2/BitcoinTool.B!DNS",
            8.0,
            json!({"remoteipaddress": "192.0.2.150"}),
        ),
    ];
    let raised = raise(&alert, &events).await;
    assert_eq!(raised.len(), 2, "{:?}", names(&raised));
    let main = raised.iter().find(|a| a.details["sourceipaddress"] == "192.0.2.150").expect("grouped");
    assert!(main.summary.contains("3 finding(s) on 3 instance(s)"), "{}", main.summary);
    assert_eq!(main.severity, "NOTICE");
}

// ------------------------------------------------------------------ cloudtrail_deadman

#[tokio::test]
async fn cloudtrail_deadman_fires_only_after_an_hour_of_silence() {
    let alert = cloudtrail_deadman::CloudtrailDeadman::default();
    let events = vec![
        cloudtrail(ago(50), "sts.amazonaws.com", "GetCallerIdentity", "alice", "198.51.100.21", json!({})),
        flow(ago(1), "192.0.2.1", "10.0.0.1", 443, 6, 100, "ACCEPT"),
    ];
    assert!(raise(&alert, &events).await.is_empty(), "an event 50 minutes ago keeps it quiet");
    // The runtime judges the settled hour, ending the lateness allowance (30 minutes) before the
    // clock: 45 minutes on, that hour ([now − 45 min, now + 15 min]) has no CloudTrail event.
    let quiet = now() + chrono::TimeDelta::minutes(15);
    assert!(raise_at(&alert, &events, quiet).await.is_empty(), "an event may still be on its way");
    let later = now() + chrono::TimeDelta::minutes(45);
    let raised = raise_at(&alert, &events, later).await;
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].classname, "cloudtrail_deadman");
    assert!(raised[0].events.is_empty());
    assert!(raised[0].summary.contains("No CloudTrail events for 60 minutes"));
    assert_eq!(raised[0].details["window"]["since"], "2024-05-14T23:15:00.000Z");
    assert_eq!(raised[0].details["window"]["until"], "2024-05-15T00:15:00.000Z");
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
