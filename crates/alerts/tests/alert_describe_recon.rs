//! The `describe_recon` catalog alert on canned MozDef events, run by the runtime over an in-memory
//! embedded store: what must raise does, with the right severity and summary; what must not,
//! doesn't.

mod common;

use common::*;
use serde_json::json;
use tripline_alerts::*;

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
