//! The `cloudtrail_logging_disabled` catalog alert on canned MozDef events, run by the runtime over an in-memory
//! embedded store: what must raise does, with the right severity and summary; what must not,
//! doesn't.

mod common;

use common::*;
use serde_json::json;
use tripline_alerts::*;

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
    // Every call names its trail, PutEventSelectors by `trailName`.
    assert!(raised.iter().all(|a| a.summary.contains("on trail org-trail ")), "{:?}", names(&raised));
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
