//! The ingest Lambda's handler, called with canned events, against moto S3 and a real OpenSearch node.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tripline_dsl::QueryAst;
use tripline_functions::ingest::{s3_objects, Ingest};
use tripline_normalize::{Clock, Options};
use tripline_store::opensearch::{OpenSearchConfig, OpenSearchStore, RetryPolicy};
use tripline_store::{DocRef, EventStore, SearchRequest, Sort};
use tripline_testkit::{moto_url, opensearch_url, workspace_file};

fn unique(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{what}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

fn canned(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(workspace_file(rel)).unwrap()).unwrap()
}

fn options() -> Options {
    let t = chrono::DateTime::parse_from_rfc3339("2026-11-24T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
    Options { clock: Clock::Fixed(t), ..Options::default() }
}

async fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    let conf = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(conf)
}

fn os_config(prefix: &str, url: &str) -> OpenSearchConfig {
    let mut c = OpenSearchConfig::for_url(url).unwrap();
    c.events_prefix = format!("{prefix}-events-");
    c.alerts_index = format!("{prefix}-alerts");
    c
}

/// A bucket named as in the canned event (unique per test), holding `objects` (key → fixture).
async fn bucket_with(s3: &aws_sdk_s3::Client, objects: &[(&str, &str)]) -> String {
    let bucket = unique("tripline-logs").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.expect("create bucket");
    for (key, fixture) in objects {
        let body = std::fs::read(workspace_file(fixture)).unwrap();
        s3.put_object().bucket(&bucket).key(*key).body(body.into()).send().await.expect("put object");
    }
    bucket
}

fn s3_event_for(bucket: &str) -> Value {
    let mut ev = canned("events/s3-put.json");
    for r in ev["Records"].as_array_mut().unwrap() {
        r["s3"]["bucket"]["name"] = json!(bucket);
    }
    ev
}

async fn count(store: &OpenSearchStore, field: &str, value: impl Into<tripline_dsl::Value>) -> u64 {
    let query = QueryAst::Term { field: field.into(), value: value.into(), case_insensitive: false };
    store.search(&SearchRequest { query, size: 0, sort: Sort::NewestFirst }).await.unwrap().total
}

const CT_KEY: &str =
    "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/23/123456789012_CloudTrail_us-east-1_20261123T1015Z_a b=c.json.gz";
const FLOW_KEY: &str = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/23/123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261123T1015Z_hash.log.gz";

#[tokio::test]
async fn s3_put_event_streams_objects_into_opensearch() {
    let s3 = s3_client(moto_url()).await;
    let bucket = bucket_with(
        &s3,
        &[
            (CT_KEY, "events/cloudtrail/management-events.json.gz"),
            (FLOW_KEY, "events/vpcflow/v2-default.log.gz"),
        ],
    )
    .await;
    let store =
        Arc::new(OpenSearchStore::connect(os_config(&unique("s3put"), opensearch_url())).await.unwrap());
    // A small batch size so that the object is written in several bulk requests.
    let ingest = Ingest::new(store.clone(), s3, options()).with_batch(4);
    let event = s3_event_for(&bucket);
    assert_eq!(s3_objects(&event)[0], (bucket.clone(), CT_KEY.to_owned()));
    let report = ingest.handle(event).await.expect("no retryable failure");
    assert_eq!(report.objects, 2);
    assert_eq!(report.records["cloudtrail"], 11);
    assert_eq!(report.records["vpc_flow"], 5);
    assert_eq!(report.skipped["flow_nodata_skipdata"], 2);
    assert_eq!(report.written, 16);
    assert!(report.errors.is_empty() && report.dropped.is_empty(), "{report:?}");
    assert_eq!(count(&store, "source", "cloudtrail").await, 11);
    assert_eq!(count(&store, "source", "vpc_flow").await, 5);
    assert_eq!(count(&store, "details.requestparameters_bucketname", "customer-exports").await, 2);
    assert_eq!(count(&store, "details.sourcehostname", "ec2.amazonaws.com").await, 1);
    // Numbers stay numbers through normalize → bulk → the template's `integer` mapping.
    assert_eq!(count(&store, "details.destinationport", 3389).await, 1);
    assert_eq!(count(&store, "details.destinationport", "3389").await, 1);

    // An alert marks the flow events it used (as the runtime does after alerting).
    let flows = store
        .search(&SearchRequest {
            query: QueryAst::Term {
                field: "source".into(),
                value: "vpc_flow".into(),
                case_insensitive: false,
            },
            size: 10,
            sort: Sort::NewestFirst,
        })
        .await
        .unwrap();
    let refs: Vec<DocRef> =
        flows.hits.iter().map(|h| DocRef { index: h.index.clone(), id: h.id.clone() }).collect();
    assert_eq!(store.tag_events(&refs, "rdp_from_outside").await.unwrap().written, 5);

    // A retry of the same invocation (or a replayed S3 notification) replaces, never duplicates,
    // and the events keep their alert names: the alert does not fire on them again.
    let again = ingest.handle(s3_event_for(&bucket)).await.unwrap();
    assert_eq!(again.written, 16);
    assert_eq!(count(&store, "source", "cloudtrail").await, 11);
    assert_eq!(count(&store, "alert_names", "rdp_from_outside").await, 5);
}

#[tokio::test]
async fn malformed_records_and_missing_objects_are_reported_not_retried() {
    let s3 = s3_client(moto_url()).await;
    let bucket = bucket_with(&s3, &[(CT_KEY, "events/cloudtrail/malformed.json")]).await;
    let store =
        Arc::new(OpenSearchStore::connect(os_config(&unique("bad"), opensearch_url())).await.unwrap());
    let ingest = Ingest::new(store.clone(), s3, options());
    // The second object of the canned event (the flow log) does not exist in this bucket.
    let report = ingest.handle(s3_event_for(&bucket)).await.expect("not retryable");
    assert_eq!(report.records["cloudtrail"], 2);
    assert_eq!(report.errors["json"], 1);
    assert_eq!(report.errors["missing_field"], 1);
    assert_eq!(report.written, 2);
    assert_eq!(report.dropped.len(), 1, "{report:?}");
    assert!(report.dropped[0].contains("vpcflowlogs"), "{report:?}");
    assert_eq!(count(&store, "source", "cloudtrail").await, 2);
}

#[tokio::test]
async fn cloudwatch_logs_subscriptions_and_eventbridge_findings() {
    let store =
        Arc::new(OpenSearchStore::connect(os_config(&unique("cwl"), opensearch_url())).await.unwrap());
    let ingest = Ingest::new(store.clone(), s3_client(moto_url()).await, options());
    let ct = ingest.handle(canned("events/cloudwatch-logs-cloudtrail.json")).await.unwrap();
    assert_eq!((ct.records["cloudtrail"], ct.written), (3, 3));
    let flow = ingest.handle(canned("events/cloudwatch-logs-vpcflow.json")).await.unwrap();
    assert_eq!((flow.records["vpc_flow"], flow.written, flow.skipped["flow_nodata_skipdata"]), (2, 2, 1));
    let gd = ingest.handle(canned("events/guardduty/normalize/backdoor-cc-outbound.json")).await.unwrap();
    assert_eq!(gd.records["guardduty"], 1);
    assert_eq!(count(&store, "details.eventname", "StopLogging").await, 1);
    assert_eq!(count(&store, "details.action", "REJECT").await, 1);
    assert_eq!(count(&store, "details.direction", "OUTBOUND").await, 1);
}

#[tokio::test]
async fn store_down_is_retryable() {
    let mut config = os_config("down", "http://127.0.0.1:9");
    config.retry = RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    };
    config.timeout = Duration::from_secs(2);
    let store = Arc::new(OpenSearchStore::connect(config).await.unwrap());
    let ingest = Ingest::new(store, s3_client(moto_url()).await, options());
    let err = ingest.handle(canned("events/cloudwatch-logs-cloudtrail.json")).await.unwrap_err();
    assert!(err.to_string().starts_with("retryable"), "{err}");
}

#[tokio::test]
async fn s3_unreachable_is_retryable() {
    let store =
        Arc::new(OpenSearchStore::connect(os_config(&unique("s3down"), opensearch_url())).await.unwrap());
    let s3 = s3_client("http://127.0.0.1:9").await;
    let ingest = Ingest::new(store, s3, options());
    let err = ingest.handle(s3_event_for("tripline-logs")).await.unwrap_err();
    assert!(err.to_string().contains("tripline-logs"), "{err}");
}

#[test]
fn eventbridge_object_created_and_deletes() {
    let ev = json!({"detail-type": "Object Created", "source": "aws.s3",
        "detail": {"bucket": {"name": "b"}, "object": {"key": "k with space.json"}}});
    assert_eq!(s3_objects(&ev), vec![("b".to_owned(), "k with space.json".to_owned())]);
    let mut del = canned("events/s3-put.json");
    del["Records"][0]["eventName"] = json!("ObjectRemoved:Delete");
    assert_eq!(s3_objects(&del).len(), 1);
}

fn cloudtrail_record(name: &str, extra: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2026-11-23T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}","eventType":"AwsApiCall","sourceIPAddress":"203.0.113.9"{extra}}}"#
    )
}

/// A CloudTrail record with a member the index template maps as an integer, holding text: the
/// store refuses that one document (a mapping conflict).
const CONFLICT: &str = r#","destinationPort":"not-a-port""#;

/// A document the store refuses costs only itself: reported with the object and record number it
/// came from, counted, the rest of its bulk request written, the invocation not failed (a retry
/// would be refused the same way). At 72cfd1d only the document id was logged.
#[tokio::test]
async fn a_refused_document_is_named_by_object_and_record_and_not_retried() {
    let s3 = s3_client(moto_url()).await;
    let bucket = unique("tripline-refused").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.expect("create bucket");
    let records = [
        cloudtrail_record("First", ""),
        cloudtrail_record("Second", ""),
        cloudtrail_record("Third", CONFLICT),
        cloudtrail_record("Fourth", ""),
    ];
    let body = format!(r#"{{"Records":[{}]}}"#, records.join(","));
    s3.put_object().bucket(&bucket).key(CT_KEY).body(body.into_bytes().into()).send().await.expect("put");
    let store =
        Arc::new(OpenSearchStore::connect(os_config(&unique("refused"), opensearch_url())).await.unwrap());
    // Two bulk requests: the refused document is the first of the second, found by position.
    let ingest = Ingest::new(store.clone(), s3, options()).with_batch(2);
    let mut event = s3_event_for(&bucket);
    event["Records"].as_array_mut().unwrap().truncate(1);
    let report = ingest.handle(event).await.expect("a refused document is not retried");
    assert_eq!(report.records["cloudtrail"], 4);
    assert_eq!((report.written, report.refused), (3, 1), "{report:?}");
    assert!(report.dropped.is_empty(), "{report:?}");
    assert_eq!(report.refusals.len(), 1, "{report:?}");
    let r = &report.refusals[0];
    assert_eq!(r.file, format!("s3://{bucket}/{CT_KEY}"));
    assert_eq!(r.record, 3);
    assert!(r.reason.contains("destinationport"), "{}", r.reason);
    assert_eq!(count(&store, "source", "cloudtrail").await, 3);
    assert_eq!(count(&store, "details.eventname", "Fourth").await, 1);
    assert_eq!(count(&store, "details.eventname", "Third").await, 0);
    // The JSON summary the handler logs carries it.
    let logged = serde_json::to_value(&report).unwrap();
    assert_eq!(logged["refusals"][0]["record"], 3);
}

/// The same for an invocation event read whole (a decoded CloudWatch Logs payload): the origin is
/// `event` and the log event's ordinal.
#[tokio::test]
async fn a_refused_document_of_an_invocation_event_is_named_by_its_log_event() {
    let store =
        Arc::new(OpenSearchStore::connect(os_config(&unique("refusedcwl"), opensearch_url())).await.unwrap());
    let ingest = Ingest::new(store.clone(), s3_client(moto_url()).await, options());
    let payload = json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "trail",
        "logStream": "123456789012_CloudTrail_us-east-1", "subscriptionFilters": ["all"],
        "logEvents": [
            {"id": "1", "timestamp": 1795428000000u64, "message": cloudtrail_record("One", CONFLICT)},
            {"id": "2", "timestamp": 1795428000000u64, "message": cloudtrail_record("Two", "")},
        ]
    });
    let report = ingest.handle(payload).await.expect("not retried");
    assert_eq!((report.written, report.refused), (1, 1), "{report:?}");
    assert_eq!((report.refusals[0].file.as_str(), report.refusals[0].record), ("event", 1));
    assert_eq!(count(&store, "details.eventname", "Two").await, 1);
}

/// A mis-shaped CloudTrail object (`Records` not a list) is an error of that object, not one
/// `source: unknown` event: nothing is written.
#[tokio::test]
async fn a_misshapen_cloudtrail_object_is_an_error_not_an_event() {
    let s3 = s3_client(moto_url()).await;
    let bucket = unique("tripline-misshapen").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.expect("create bucket");
    s3.put_object()
        .bucket(&bucket)
        .key(CT_KEY)
        .body(br#"{"Records": {"eventName": "x"}}"#.to_vec().into())
        .send()
        .await
        .expect("put");
    let store =
        Arc::new(OpenSearchStore::connect(os_config(&unique("misshapen"), opensearch_url())).await.unwrap());
    let ingest = Ingest::new(store.clone(), s3, options());
    let mut event = s3_event_for(&bucket);
    event["Records"].as_array_mut().unwrap().truncate(1);
    let report = ingest.handle(event).await.expect("not retried");
    assert_eq!(report.errors.get("not_a_list"), Some(&1), "{report:?}");
    assert!(report.records.is_empty(), "{report:?}");
    assert_eq!(report.written, 0);
}
