//! The ingest Lambda's handler, called with canned events, against moto S3 and osmem-server.

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
    let query = QueryAst::Term { field: field.into(), value: value.into() };
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
            query: QueryAst::Term { field: "source".into(), value: "vpc_flow".into() },
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
    assert!(err.0.contains("tripline-logs"), "{err}");
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
