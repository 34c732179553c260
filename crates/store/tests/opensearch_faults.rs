//! Fault injection for the OpenSearch client: a small local HTTP server that misbehaves on purpose
//! (throttles, fails, hangs, truncates, reports failed shards and failed bulk items), answering
//! canned responses. A real OpenSearch behaves well, so these faults can only be produced here.
//!
//! Each test starts its own server (`tripline_testkit::fault`); it records every request it sees,
//! so the tests can count attempts and look at what was sent.

use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};
use tripline_dsl::QueryAst;
use tripline_event::Event;
use tripline_store::opensearch::{Auth, OpenSearchConfig, OpenSearchStore, RetryPolicy, SigV4Service};
use tripline_store::{EventStore, SearchRequest, Sort, StoreError};
use tripline_testkit::fault::{json_answer, Answer, FaultServer, Seen};

fn config(url: &str) -> OpenSearchConfig {
    let mut c = OpenSearchConfig::for_url(url).expect("url");
    c.timeout = Duration::from_secs(2);
    c.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
    };
    c.install_templates = false;
    c.check_templates = false;
    c
}

async fn store(url: &str) -> OpenSearchStore {
    OpenSearchStore::connect(config(url)).await.expect("connect")
}

fn search_all() -> SearchRequest {
    SearchRequest { query: QueryAst::MatchAll, size: 10, sort: Sort::NewestFirst }
}

fn one_hit() -> Json {
    json!({
        "took": 1, "timed_out": false,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"total": {"value": 1, "relation": "eq"}, "max_score": null, "hits": [
            {"_index": "events-2026.11.23", "_id": "abc", "_score": null,
             "_source": {"summary": "hello", "utctimestamp": "2026-11-23T10:00:00.000Z"}}
        ]}
    })
}

fn event(n: u32) -> Event {
    let t = tripline_dsl::parse_timestamp("2026-11-23T10:00:00Z").expect("time")
        + chrono::TimeDelta::seconds(n.into());
    Event::new("cloudtrail", "AwsApiCall", format!("event {n}"), t, t)
}

#[tokio::test]
async fn throttled_then_answered_succeeds_after_waiting_as_asked() {
    let server = FaultServer::start(|n, _| {
        if n == 0 {
            Answer::Http {
                status: 429,
                headers: vec![("retry-after", "1".into())],
                body: json!({"error": {"type": "too_many_requests", "reason": "slow down"}, "status": 429})
                    .to_string(),
            }
        } else {
            json_answer(200, one_hit())
        }
    })
    .await;
    let started = Instant::now();
    let result = store(&server.url).await.search(&search_all()).await.expect("search after a 429");
    assert_eq!(result.total, 1);
    assert_eq!(result.hits[0].id, "abc");
    assert_eq!(result.hits[0].index, "events-2026.11.23");
    assert_eq!(server.requests().len(), 2, "one 429, one success");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured: {:?}",
        started.elapsed()
    );
    let sent = &server.requests()[1];
    assert_eq!(sent.method, "POST");
    assert!(sent.target.starts_with("/events-*/_search"), "{}", sent.target);
    let body: Json = serde_json::from_str(&sent.body).expect("search body is JSON");
    assert_eq!(body["size"], 10);
    assert_eq!(body["sort"][0]["utctimestamp"]["order"], "desc");
}

#[tokio::test]
async fn unavailable_until_retries_are_spent_is_an_error() {
    let server = FaultServer::start(|_, _| {
        json_answer(
            503,
            json!({"error": {"type": "unavailable", "reason": "cluster is recovering"}, "status": 503}),
        )
    })
    .await;
    let err = store(&server.url).await.search(&search_all()).await.expect_err("503 forever must fail");
    match err {
        StoreError::RetriesExhausted { attempts, last } => {
            assert_eq!(attempts, 4);
            assert!(last.contains("503") && last.contains("cluster is recovering"), "{last}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 4, "exactly max_attempts requests");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_bound() {
    let server = FaultServer::start(|_, _| Answer::Hang).await;
    let mut c = config(&server.url);
    c.timeout = Duration::from_millis(300);
    c.retry.max_attempts = 2;
    let store = OpenSearchStore::connect(c).await.expect("connect");
    let started = Instant::now();
    let err = store.search(&search_all()).await.expect_err("no answer must fail");
    let took = started.elapsed();
    assert!(
        matches!(err, StoreError::RetriesExhausted { attempts: 2, ref last } if last.contains("within")),
        "{err:?}"
    );
    assert!(took >= Duration::from_millis(600), "gave up before two timeouts: {took:?}");
    // 2 × 300 ms plus one backoff (≤ 20 ms) and scheduling slack.
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn failed_shards_are_an_error_not_fewer_hits() {
    let server = FaultServer::start(|_, _| {
        let mut v = one_hit();
        v["_shards"] = json!({"total": 3, "successful": 2, "skipped": 0, "failed": 1, "failures": [
            {"shard": 2, "index": "events-2026.11.23", "node": "n1",
             "reason": {"type": "node_disconnected_exception", "reason": "node n2 left"}}
        ]});
        json_answer(200, v)
    })
    .await;
    let s = store(&server.url).await;
    match s.search(&search_all()).await {
        Err(StoreError::PartialResults { failed, total, reason }) => {
            assert_eq!((failed, total), (1, 3));
            assert!(reason.contains("node n2 left") && reason.contains("events-2026.11.23[2]"), "{reason}");
        }
        other => panic!("expected PartialResults, got {other:?}"),
    }
    let aggs = [tripline_dsl::Aggregation::terms("source")];
    assert!(matches!(s.aggregate(&QueryAst::MatchAll, &aggs).await, Err(StoreError::PartialResults { .. })));
    assert_eq!(server.requests().len(), 2, "not retried");
}

#[tokio::test]
async fn a_timed_out_search_is_an_error() {
    let server = FaultServer::start(|_, _| {
        let mut v = one_hit();
        v["timed_out"] = json!(true);
        json_answer(200, v)
    })
    .await;
    let err = store(&server.url).await.search(&search_all()).await.expect_err("timed_out must fail");
    assert!(
        matches!(err, StoreError::PartialResults { ref reason, .. } if reason.contains("timed out")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_truncated_body_is_malformed() {
    // The connection closes 40 bytes into a body announced as much longer.
    let server = FaultServer::start(|_, _| {
        let body = one_hit().to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        Answer::Raw([head.as_bytes(), &body.as_bytes()[..40]].concat())
    })
    .await;
    let err = store(&server.url).await.search(&search_all()).await.expect_err("truncated body must fail");
    assert!(matches!(err, StoreError::Malformed(ref m) if m.contains("truncated")), "{err:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn cut_json_not_json_and_missing_hits_are_malformed() {
    let server = FaultServer::start(|n, _| match n {
        // A complete HTTP answer whose JSON stops half way.
        0 => Answer::Http { status: 200, headers: vec![], body: one_hit().to_string()[..60].to_string() },
        1 => Answer::Http { status: 200, headers: vec![], body: "<html>gateway</html>".into() },
        _ => json_answer(
            200,
            json!({"took": 1, "timed_out": false, "_shards": {"total": 1, "successful": 1, "failed": 0}}),
        ),
    })
    .await;
    let s = store(&server.url).await;
    for expected in ["not JSON", "not JSON", "no hits"] {
        let err = s.search(&search_all()).await.expect_err("must fail");
        assert!(matches!(err, StoreError::Malformed(ref m) if m.contains(expected)), "{expected}: {err:?}");
    }
}

#[tokio::test]
async fn a_refused_query_is_rejected_with_the_reason_and_not_retried() {
    let server = FaultServer::start(|_, _| {
        json_answer(
            400,
            json!({"error": {"root_cause": [{"type": "parsing_exception", "reason": "unknown query [bogus]"}],
            "type": "parsing_exception", "reason": "unknown query [bogus]"}, "status": 400}),
        )
    })
    .await;
    let err = store(&server.url).await.search(&search_all()).await.expect_err("400 must fail");
    assert!(
        matches!(err, StoreError::Rejected { status: 400, ref reason } if reason.contains("unknown query [bogus]")),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_bulk_with_one_failed_item_reports_it_and_writes_the_others() {
    let server = FaultServer::start(|_, req| {
        let ids: Vec<String> = req
            .body
            .lines()
            .step_by(2)
            .filter_map(|l| serde_json::from_str::<Json>(l).ok())
            .map(|a| a["create"]["_id"].as_str().unwrap_or_default().to_string())
            .collect();
        let items: Vec<Json> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                if i == 1 {
                    json!({"create": {"_index": "events-2026.11.23", "_id": id, "status": 400, "error": {
                        "type": "mapper_parsing_exception",
                        "reason": "failed to parse field [details.sourceipaddress] of type [ip]"}}})
                } else {
                    json!({"create": {"_index": "events-2026.11.23", "_id": id, "status": 201, "result": "created"}})
                }
            })
            .collect();
        json_answer(200, json!({"took": 3, "errors": true, "items": items}))
    })
    .await;
    let events = [event(0), event(1), event(2)];
    let report = store(&server.url).await.index_events(&events).await.expect("bulk");
    assert_eq!(report.written, 2);
    assert_eq!(report.failed.len(), 1);
    let f = &report.failed[0];
    assert_eq!((f.position, f.id.as_str(), f.retryable), (1, events[1].id().as_str(), false));
    assert!(f.reason.contains("mapper_parsing_exception") && f.reason.contains("400"), "{}", f.reason);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "a mapping failure is not retried");
    assert!(
        reqs[0].target.starts_with("/_bulk") && reqs[0].target.contains("refresh=true"),
        "{}",
        reqs[0].target
    );
    assert_eq!(reqs[0].header("content-type"), Some("application/x-ndjson"));
    let action: Json =
        serde_json::from_str(reqs[0].body.lines().next().unwrap_or_default()).expect("action line");
    // `create`: an event already stored is merged into, keeping its alert names.
    assert_eq!(action["create"]["_index"], "events-2026.11.23");
    assert_eq!(action["create"]["_id"], events[0].id());
}

#[tokio::test]
async fn throttled_bulk_items_are_sent_again_alone() {
    let server = FaultServer::start(|n, req| {
        let count = req.body.lines().count() / 2;
        let items: Vec<Json> = (0..count)
            .map(|i| {
                if n == 0 && i == 2 {
                    json!({"create": {"_id": "x", "status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}})
                } else {
                    json!({"create": {"_id": "x", "status": 201}})
                }
            })
            .collect();
        json_answer(200, json!({"errors": n == 0, "items": items}))
    })
    .await;
    let events = [event(0), event(1), event(2), event(3)];
    let report = store(&server.url).await.index_events(&events).await.expect("bulk");
    assert_eq!((report.written, report.failed.len()), (4, 0), "{report:?}");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].body.lines().count(), 2, "only the throttled item is sent again");
    assert!(reqs[1].body.contains(&events[2].id()));
}

/// A server that answers 413 to any request body over `limit` bytes (as `http.max_content_length`
/// or a proxy would) and accepts every document of the others.
async fn size_limited(limit: usize) -> FaultServer {
    FaultServer::start(move |_, req| {
        if req.body.len() > limit {
            return json_answer(
                413,
                json!({"error": {"type": "content_too_long_exception", "reason": "request too large"}, "status": 413}),
            );
        }
        let count = req.body.lines().count() / 2;
        let items: Vec<Json> = (0..count).map(|_| json!({"create": {"_id": "x", "status": 201}})).collect();
        json_answer(200, json!({"errors": false, "items": items}))
    })
    .await
}

/// A bulk request answered 413 is sent again in halves until each part fits; a document too large
/// on its own is that document's failure (413, not retryable), named by position, and the rest is
/// written. Before, the 413 was a `Rejected` of the whole batch: nothing written.
#[tokio::test]
async fn a_request_too_large_is_split_in_halves_and_a_document_too_large_alone_is_its_failure() {
    const LIMIT: usize = 1500;
    let server = size_limited(LIMIT).await;
    let mut events: Vec<Event> = (0..8).map(event).collect();
    let t = events[0].utctimestamp;
    events.insert(5, Event::new("cloudtrail", "AwsApiCall", "y".repeat(4 * LIMIT), t, t));
    let report = store(&server.url).await.index_events(&events).await.expect("bulk");
    assert_eq!(report.written, 8, "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let f = &report.failed[0];
    assert_eq!((f.position, f.id.as_str(), f.retryable), (5, events[5].id().as_str(), false));
    assert!(f.reason.contains("413") && f.reason.contains("request too large"), "{}", f.reason);
    let reqs = server.requests();
    let docs = |r: &Seen| r.body.lines().count() / 2;
    assert_eq!(docs(&reqs[0]), 9, "one request first (bulk_max_bytes is far above the limit)");
    assert!(reqs.len() < 2 * 9, "bounded by 2n - 1: {} requests", reqs.len());
    let accepted: Vec<&Seen> = reqs.iter().filter(|r| r.body.len() <= LIMIT).collect();
    assert_eq!(accepted.iter().map(|r| docs(r)).sum::<usize>(), 8, "each small event sent once accepted");
    assert!(accepted.iter().any(|r| docs(r) > 1), "halves, not one request per document: {reqs:?}");
    let alone = reqs.iter().rfind(|r| r.body.contains(&events[5].id())).expect("the large one");
    assert_eq!(docs(alone), 1, "the large document was finally sent alone");
}

/// A whole request refused (401, 403) is the call's error with its status, not an empty report.
#[tokio::test]
async fn a_bulk_refused_as_a_whole_is_rejected_with_its_status() {
    for status in [401u16, 403] {
        let server = FaultServer::start(move |_, _| {
            json_answer(status, json!({"error": {"type": "security_exception", "reason": "no permissions"}, "status": status}))
        })
        .await;
        let err = store(&server.url).await.index_events(&[event(0), event(1)]).await.unwrap_err();
        assert!(matches!(err, StoreError::Rejected { status: s, .. } if s == status), "{err}");
        assert_eq!(server.requests().len(), 1, "not retried, not split");
    }
}

#[tokio::test]
async fn a_bulk_answer_with_missing_items_is_malformed() {
    let server = FaultServer::start(|_, _| {
        json_answer(200, json!({"errors": false, "items": [{"create": {"status": 201}}]}))
    })
    .await;
    let err = store(&server.url).await.index_events(&[event(0), event(1)]).await.expect_err("must fail");
    assert!(
        matches!(err, StoreError::Malformed(ref m) if m.contains("1 items answered for 2 sent")),
        "{err:?}"
    );
}

/// The test node (no security plugin) ignores authentication, so what the client sends is only observable here.
#[tokio::test]
async fn sigv4_for_serverless_and_basic_auth_headers() {
    let server = FaultServer::start(|_, _| json_answer(200, one_hit())).await;
    let mut c = config(&server.url);
    c.auth = Auth::SigV4 { service: SigV4Service::Aoss, region: Some("eu-west-1".into()) };
    let credentials = aws_credential_types::Credentials::new("AKIDTRIPLINE", "secret", None, None, "test");
    let sdk = aws_config::SdkConfig::builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
        .build();
    let store = OpenSearchStore::with_sdk_config(c, &sdk).expect("sigv4 store");
    store.search(&search_all()).await.expect("signed search");

    let mut c = config(&server.url);
    c.auth = Auth::Basic { user: "admin".into(), password: "s3cret".into() };
    OpenSearchStore::connect(c)
        .await
        .expect("basic store")
        .search(&search_all())
        .await
        .expect("basic search");

    let reqs = server.requests();
    let auth = reqs[0].header("authorization").expect("signed request has an Authorization header");
    assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTRIPLINE/"), "{auth}");
    assert!(auth.contains("/eu-west-1/aoss/aws4_request"), "{auth}");
    assert!(auth.contains("SignedHeaders=") && auth.contains("Signature="), "{auth}");
    let sha = reqs[0].header("x-amz-content-sha256").expect("Serverless needs the payload hash header");
    assert_eq!(sha.len(), 64);
    assert!(reqs[0].header("x-amz-date").is_some());
    // "admin:s3cret" in base64.
    assert_eq!(reqs[1].header("authorization"), Some("Basic YWRtaW46czNjcmV0"));
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    // A port that was free a moment ago: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let started = Instant::now();
    let err = store(&format!("http://127.0.0.1:{port}"))
        .await
        .search(&search_all())
        .await
        .expect_err("nothing listens");
    match err {
        StoreError::RetriesExhausted { attempts: 4, last } => {
            assert!(last.starts_with("transport:"), "{last}")
        }
        other => panic!("expected RetriesExhausted after 4 attempts, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}
