//! The ingest Lambda against a store that refuses whole requests (401, 403, a template it may not
//! install, 413): a hand-written HTTP server answering as OpenSearch with the security plugin or
//! a size limit would, since the tests' real node has neither. No OpenSearch or moto needed.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tripline_functions::ingest::{Ingest, IngestError};
use tripline_normalize::Options;
use tripline_store::opensearch::{OpenSearchConfig, OpenSearchStore, RetryPolicy};
use tripline_testkit::fault::{json_answer, FaultServer, Seen};

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
    let ingest = ingest_against(&server.url).await;
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
}
