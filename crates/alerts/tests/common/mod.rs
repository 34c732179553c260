//! Canned MozDef events and a one-call runner over an in-memory embedded store.
#![allow(dead_code)]

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Map, Value};
use tripline_alerts::Alert;
use tripline_event::{AlertRecord, Event};
use tripline_store::embedded::EmbeddedStore;
use tripline_store::EventStore;

/// The clock the tests run at.
pub fn now() -> DateTime<Utc> {
    tripline_dsl::parse_timestamp("2024-05-15T00:00:00Z").expect("valid")
}

/// `minutes` before [`now`].
pub fn ago(minutes: i64) -> DateTime<Utc> {
    now() - TimeDelta::minutes(minutes)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn merge(base: &mut Map<String, Value>, extra: Value) {
    for (k, v) in obj(extra) {
        match (base.get_mut(&k), v) {
            (Some(Value::Object(b)), Value::Object(e)) => merge(b, Value::Object(e)),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// A CloudTrail event as the normalizer writes it (`details` keys lower case; request
/// parameters as a JSON string plus the flat extracts), with `extra` merged into `details`.
pub fn cloudtrail(at: DateTime<Utc>, service: &str, name: &str, user: &str, ip: &str, extra: Value) -> Event {
    let mut e = Event::new("cloudtrail", "AwsApiCall", format!("{ip} performed {name} in {service}"), at, at);
    e.event_type = "cloudtrail".into();
    e.hostname = service.into();
    let verb: String =
        name.char_indices().take_while(|(i, c)| *i == 0 || !c.is_uppercase()).map(|(_, c)| c).collect();
    let mut d = obj(json!({
        "eventname": name,
        "eventsource": service,
        "eventverb": verb,
        "eventid": format!("{name}-{user}-{ip}-{}", at.timestamp_micros()),
        "sourceipaddress": ip,
        "awsregion": "us-east-1",
        "recipientaccountid": "123456789012",
        "useridentity": {
            "type": "IAMUser",
            "arn": format!("arn:aws:iam::123456789012:user/{user}"),
            "username": user,
            "accountid": "123456789012",
            "accesskeyid": format!("AKIA{}", user.to_uppercase()),
        },
        "success": true,
    }));
    merge(&mut d, extra);
    e.details = d;
    e
}

/// `details.requestparameters` as the normalizer keeps it: the original object as JSON text.
pub fn params(v: Value) -> Value {
    Value::String(v.to_string())
}

/// A VPC flow log row as the normalizer writes it.
pub fn flow(
    at: DateTime<Utc>,
    src: &str,
    dst: &str,
    dport: u16,
    proto: u8,
    bytes: u64,
    action: &str,
) -> Event {
    let mut e =
        Event::new("vpc_flow", "vpc-flow", format!("{src} -> {dst}:{dport} {action} {bytes} bytes"), at, at);
    e.details = obj(json!({
        "sourceipaddress": src, "destinationipaddress": dst, "sourceport": 40000 + (bytes % 20000),
        "destinationport": dport, "protocol": proto, "packets": 1 + bytes / 500, "bytes": bytes,
        "action": action, "success": action == "ACCEPT", "logstatus": "OK", "interfaceid": "eni-0abc",
    }));
    e
}

/// A GuardDuty finding as the normalizer writes it.
pub fn finding(at: DateTime<Utc>, kind: &str, severity: f64, extra: Value) -> Event {
    let mut e = Event::new("guardduty", "guardduty", format!("{kind} finding"), at, at);
    e.severity = if severity >= 7.0 {
        "CRITICAL"
    } else if severity >= 4.0 {
        "WARNING"
    } else {
        "INFO"
    }
    .into();
    let mut d = obj(json!({
        "finding": kind, "severity": severity, "title": format!("{kind} finding"),
        "findingid": format!("f-{}", at.timestamp()), "resourcetype": "Instance",
        "instanceid": "i-0a1b2c3d4e5f60718",
    }));
    merge(&mut d, extra);
    e.details = d;
    e
}

/// Index `events` into a fresh in-memory store and evaluate `alert` at `at` with the runtime.
pub async fn raise_at(alert: &dyn Alert, events: &[Event], at: DateTime<Utc>) -> Vec<AlertRecord> {
    let store = EmbeddedStore::in_memory().expect("in-memory store");
    let report = store.index_events(events).await.expect("indexed");
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.written, events.len() as u64);
    tripline_runtime::Runner::new(&store)
        .evaluate(alert, at)
        .await
        .expect("evaluated")
        .into_iter()
        .map(|r| r.record)
        .collect()
}

/// [`raise_at`] at [`now`].
pub async fn raise(alert: &dyn Alert, events: &[Event]) -> Vec<AlertRecord> {
    raise_at(alert, events, now()).await
}

/// The summaries of `alerts`, for assertion messages.
pub fn names(alerts: &[tripline_event::AlertRecord]) -> Vec<String> {
    alerts.iter().map(|a| a.summary.clone()).collect()
}
