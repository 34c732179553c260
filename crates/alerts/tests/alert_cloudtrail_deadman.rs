//! The `cloudtrail_deadman` catalog alert on canned MozDef events, run by the runtime over an in-memory
//! embedded store: what must raise does, with the right severity and summary; what must not,
//! doesn't.

mod common;

use common::*;
use serde_json::json;
use tripline_alerts::*;

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
