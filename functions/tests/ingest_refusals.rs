//! The ingest Lambda against a store that refuses whole requests (401, 403, a template it may not
//! install, 413) and an S3 that refuses GetObject (403, 404, 5xx): a hand-written HTTP server
//! answering as OpenSearch with the security plugin or a size limit would, or as S3 with a
//! bucket policy would, since the tests' real node and moto do neither. No OpenSearch or moto
//! needed.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tripline_functions::ingest::{Ingest, IngestError};
use tripline_normalize::Options;
use tripline_runtime::metrics::MetricsOut;
use tripline_store::opensearch::{OpenSearchConfig, OpenSearchStore, RetryPolicy};
use tripline_testkit::fault::{json_answer, Answer, FaultServer, Seen};

/// The shared fault server, answering each request with `script(request)`.
async fn fake_opensearch(script: impl Fn(&Seen) -> (u16, Value) + Send + Sync + 'static) -> FaultServer {
    FaultServer::start(move |_, req| {
        let (status, body) = script(req);
        json_answer(status, body)
    })
    .await
}

fn acknowledged() -> (u16, Value) {
    (200, json!({"acknowledged": true}))
}

fn all_created(req: &Seen) -> (u16, Value) {
    let n = req.body.lines().count() / 2;
    let items: Vec<Value> = (0..n).map(|_| json!({"create": {"_id": "x", "status": 201}})).collect();
    (200, json!({"errors": false, "items": items}))
}

fn security_refusal(status: u16) -> (u16, Value) {
    (
        status,
        json!({"error": {"type": "security_exception", "reason": "no permissions for [indices:data/write/bulk]"}, "status": status}),
    )
}

async fn ingest_against(url: &str) -> Ingest {
    let mut c = OpenSearchConfig::for_url(url).expect("url");
    c.timeout = Duration::from_secs(2);
    c.retry = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(10),
    };
    let store = OpenSearchStore::connect(c).await.expect("connect");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    Ingest::new(Arc::new(store), aws_sdk_s3::Client::new(&sdk), Options::default())
}

fn cloudtrail_record(name: &str, user_agent: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2026-11-23T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}","eventType":"AwsApiCall","sourceIPAddress":"203.0.113.9","userAgent":"{user_agent}"}}"#
    )
}

/// A decoded CloudWatch Logs subscription payload of CloudTrail records.
fn payload(messages: &[String]) -> Value {
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"id": (i + 1).to_string(), "timestamp": 1795428000000u64, "message": m}))
        .collect();
    json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "trail",
        "logStream": "123456789012_CloudTrail_us-east-1", "subscriptionFilters": ["all"],
        "logEvents": events
    })
}

fn two_records() -> Value {
    payload(&[cloudtrail_record("One", "aws-cli"), cloudtrail_record("Two", "aws-cli")])
}

/// 401 and 403 on `_bulk` fail the invocation with an error naming the status (so that Lambda
/// retries and the on-failure destination gets the event). Before, they were logged, put in
/// `dropped`, and the invocation succeeded: the events were gone.
#[tokio::test]
async fn a_bulk_refused_with_401_or_403_fails_the_invocation() {
    for status in [401u16, 403] {
        let server =
            fake_opensearch(
                move |req| {
                    if req.method == "PUT" {
                        acknowledged()
                    } else {
                        security_refusal(status)
                    }
                },
            )
            .await;
        let ingest = ingest_against(&server.url).await;
        let err = ingest.handle(two_records()).await.expect_err("a refused bulk fails the invocation");
        assert!(matches!(err, IngestError::Refused(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&format!("HTTP {status}")) && text.contains("_bulk"), "{text}");
        assert!(server.requests().iter().any(|r| r.target.starts_with("/_bulk")));
    }
}

/// A 403 on the default `PUT _index_template` (a role granted only GET/POST) fails the invocation,
/// naming the status and the template, before any `_bulk`. Before, the whole batch was dropped.
#[tokio::test]
async fn a_template_installation_refused_with_403_fails_the_invocation() {
    let server =
        fake_opensearch(|req| if req.method == "PUT" { security_refusal(403) } else { all_created(req) })
            .await;
    let ingest = ingest_against(&server.url).await;
    let err = ingest.handle(two_records()).await.expect_err("a refused template fails the invocation");
    let text = err.to_string();
    assert!(matches!(err, IngestError::Refused(_)), "{err:?}");
    assert!(text.contains("HTTP 403") && text.contains("_index_template"), "{text}");
    assert!(!server.requests().iter().any(|r| r.target.starts_with("/_bulk")), "nothing written");
}

/// A bulk request over the cluster's size limit (413) is split by the store; a document too large
/// on its own is a per-document refusal naming its origin (here the second log event), the others
/// are written and the invocation succeeds (a retry would be refused the same way). Before, the
/// 413 dropped the whole batch.
#[tokio::test]
async fn a_document_too_large_alone_is_a_refusal_named_by_its_origin() {
    const LIMIT: usize = 6000;
    let server = fake_opensearch(|req| match req.method.as_str() {
        "PUT" => acknowledged(),
        _ if req.body.len() > LIMIT => {
            (413, json!({"error": {"type": "content_too_long_exception", "reason": "request too large"}, "status": 413}))
        }
        _ => all_created(req),
    })
    .await;
    let metrics = MetricsOut::memory();
    let ingest = ingest_against(&server.url).await.with_metrics(metrics.clone());
    let huge = "a".repeat(3 * LIMIT);
    let report = ingest
        .handle(payload(&[
            cloudtrail_record("One", "aws-cli"),
            cloudtrail_record("Huge", &huge),
            cloudtrail_record("Three", "aws-cli"),
        ]))
        .await
        .expect("a document too large is that document's refusal, not a failed invocation");
    assert_eq!((report.written, report.refused), (2, 1), "{report:?}");
    assert_eq!(report.refusals.len(), 1, "{report:?}");
    let r = &report.refusals[0];
    assert_eq!((r.file.as_str(), r.record), ("event", 2), "{r:?}");
    assert!(r.reason.contains("413"), "{}", r.reason);
    assert!(report.dropped.is_empty(), "{report:?}");

    // The refusal is counted in the invocation's EMF line, beside what was written.
    let lines = metrics.lines();
    assert_eq!(lines.len(), 1, "one EMF document per invocation: {lines:?}");
    let emf: Value = serde_json::from_str(&lines[0]).expect("one complete JSON object");
    let directive = &emf["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Tripline");
    let declared: Vec<&str> =
        directive["Metrics"].as_array().into_iter().flatten().filter_map(|m| m["Name"].as_str()).collect();
    assert_eq!(declared, ["EventsIngested", "EventsRefused", "RecordsMalformed"]);
    assert_eq!(
        (emf["EventsIngested"].clone(), emf["EventsRefused"].clone(), emf["RecordsMalformed"].clone()),
        (json!(2), json!(1), json!(0))
    );
}

/// An S3 notification for two objects in `tripline-logs` (the canned event).
fn s3_put_event() -> Value {
    let text =
        std::fs::read_to_string(tripline_testkit::workspace_file("events/s3-put.json")).expect("event");
    serde_json::from_str(&text).expect("JSON")
}

/// An ingest whose S3 is `s3_url` (path-style, two attempts per call) and whose store is never
/// reached (a closed port).
async fn ingest_with_s3(s3_url: &str) -> Ingest {
    let store = OpenSearchStore::connect(OpenSearchConfig::for_url("http://127.0.0.1:9").expect("url"))
        .await
        .expect("connect");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(s3_url)
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests"))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .load()
        .await;
    let conf = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build();
    Ingest::new(Arc::new(store), aws_sdk_s3::Client::from_conf(conf), Options::default())
}

fn s3_error(status: u16, code: &str) -> Answer {
    Answer::Http {
        status,
        headers: vec![],
        body: format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{code}</Message><RequestId>R</RequestId></Error>"#
        ),
    }
}

/// GetObject answered 403 (a bucket policy or a missing grant), 400, or 5xx/throttling fails the
/// invocation (so Lambda retries it and the on-failure destination keeps the notification):
/// 403/400 as `Refused` naming the status and the object, 5xx and 503 SlowDown as `Retryable`.
/// Only 404 (the object is gone) is reported in `dropped` and lets the invocation succeed.
/// Before, every 4xx but 408/429 was dropped: a 403 lost the object's events silently.
#[tokio::test]
async fn get_object_failures_fail_the_invocation_unless_the_object_is_gone() {
    for (status, code, refused) in [
        (403u16, "AccessDenied", true),
        (400, "InvalidRequest", true),
        (500, "InternalError", false),
        (503, "SlowDown", false),
    ] {
        let s3 = FaultServer::start(move |_, _| s3_error(status, code)).await;
        let ingest = ingest_with_s3(&s3.url).await;
        let err = ingest.handle(s3_put_event()).await.expect_err("a refused GetObject fails the invocation");
        let text = err.to_string();
        if refused {
            assert!(matches!(err, IngestError::Refused(_)), "{status}: {err:?}");
            assert!(text.contains(&format!("S3 answered {status}")), "{text}");
        } else {
            assert!(matches!(err, IngestError::Retryable(_)), "{status}: {err:?}");
        }
        assert!(text.contains("s3://tripline-logs/AWSLogs/"), "{text}");
        let seen = s3.requests();
        assert!(
            seen.iter().all(|r| r.method == "GET" && r.target.starts_with("/tripline-logs/")),
            "{seen:?}"
        );
        // Retried (up to the SDK's attempts) only where a retry can help.
        assert_eq!(seen.len(), if refused { 1 } else { 2 }, "{status}: {seen:?}");
    }

    let s3 = FaultServer::start(|_, _| s3_error(404, "NoSuchKey")).await;
    let report =
        ingest_with_s3(&s3.url).await.handle(s3_put_event()).await.expect("gone objects are not retried");
    assert_eq!((report.objects, report.dropped.len()), (0, 2), "{report:?}");
    assert!(report.dropped.iter().all(|d| d.contains("s3://tripline-logs/")), "{report:?}");
}
