//! Hostile values on the embedded store's write path: a date-looking string outside the date
//! fields is a keyword, and an event whose own time the store cannot hold is refused alone (a
//! `BulkFailure` naming the field), while the rest of the batch is committed. On 72cfd1d the
//! first of these panicked in tantivy's date conversion (debug builds) or stored a wrong date
//! (release), and the batch was lost.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use tripline_dsl::{Aggregation, QueryAst, Value};
use tripline_event::Event;
use tripline_store::embedded::EmbeddedStore;
use tripline_store::{AggregationValue, EventStore, SearchRequest, Sort};

fn t(s: &str) -> DateTime<Utc> {
    tripline_dsl::parse_timestamp(s).expect("timestamp")
}

fn event(label: &str, details: serde_json::Value) -> Event {
    let when = t("2026-11-23T10:00:00Z");
    let mut e = Event::new("cloudtrail", "AwsApiCall", label, when, when);
    e.details = serde_json::from_value(details).expect("details");
    e
}

fn year(y: i32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(y, 1, 1).expect("date").and_hms_opt(0, 0, 0).expect("time").and_utc()
}

#[tokio::test]
async fn a_bad_event_costs_only_itself() {
    let store = EmbeddedStore::in_memory().expect("store");
    let mut far_future = event("year 9999", json!({"n": 1}));
    far_future.utctimestamp = year(9999);
    let mut far_past = event("year 1600", json!({"n": 2}));
    far_past.receivedtimestamp = year(1600);
    let batch = vec![
        event("plain", json!({"useragent": "aws-cli/2.15.0"})),
        far_future,
        event("start not a date", json!({"start": "yesterday"})),
        event("start out of range", json!({"start": "9999-01-01T00:00:00Z"})),
        event(
            "hostile user agent",
            json!({"useragent": "9999-01-01", "requestparameters_bucketname": "3000-01-01"}),
        ),
        far_past,
    ];
    let report = store.index_events(&batch).await.expect("the batch is written");
    assert_eq!(report.written, 2, "{report:?}");
    let failed: Vec<(usize, &str)> = report.failed.iter().map(|f| (f.position, f.reason.as_str())).collect();
    assert_eq!(failed.iter().map(|f| f.0).collect::<Vec<_>>(), vec![1, 2, 3, 5], "{failed:?}");
    assert!(failed[0].1.contains("utctimestamp") && failed[0].1.contains("outside the range"), "{failed:?}");
    assert!(failed[1].1.contains("details.start") && failed[1].1.contains("not a date"), "{failed:?}");
    assert!(failed[2].1.contains("details.start") && failed[2].1.contains("outside the range"), "{failed:?}");
    assert!(failed[3].1.contains("receivedtimestamp"), "{failed:?}");
    assert!(report.failed.iter().all(|f| !f.retryable));

    // The good ones are there and read back as written.
    let all = store
        .search(&SearchRequest { query: QueryAst::MatchAll, size: 10, sort: Sort::NewestFirst })
        .await
        .expect("search");
    assert_eq!(all.total, 2);
    let ua = store
        .search(&SearchRequest {
            query: QueryAst::Term {
                field: "details.useragent".into(),
                value: Value::Str("9999-01-01".into()),
                case_insensitive: false,
            },
            size: 10,
            sort: Sort::NewestFirst,
        })
        .await
        .expect("search");
    assert_eq!(ua.total, 1);
    assert_eq!(ua.hits[0].source["details"]["useragent"], "9999-01-01", "kept as written, not a date");
    assert_eq!(ua.hits[0].source["utctimestamp"], "2026-11-23T10:00:00.000Z");

    // Date-looking keywords aggregate as the strings they are.
    let aggs = store
        .aggregate(&QueryAst::MatchAll, &[Aggregation::terms("details.useragent").named("ua")])
        .await
        .expect("aggregate");
    let AggregationValue::Buckets(buckets) = &aggs[0].value else { panic!("buckets: {aggs:?}") };
    let keys: Vec<_> = buckets.iter().map(|b| b.key.clone()).collect();
    assert_eq!(keys, vec![json!("9999-01-01"), json!("aws-cli/2.15.0")]);
}

#[tokio::test]
async fn date_histograms_only_on_date_fields() {
    let store = EmbeddedStore::in_memory().expect("store");
    store.index_events(&[event("e", json!({"useragent": "2026-11-23"}))]).await.expect("write");
    let err = store
        .aggregate(&QueryAst::MatchAll, &[Aggregation::date_histogram("details.useragent", 3600).named("h")])
        .await
        .expect_err("a keyword is not a date");
    assert!(err.to_string().contains("not a date field"), "{err}");
    let ok = store
        .aggregate(&QueryAst::MatchAll, &[Aggregation::date_histogram("utctimestamp", 3600).named("h")])
        .await
        .expect("histogram");
    let AggregationValue::Buckets(b) = &ok[0].value else { panic!("{ok:?}") };
    assert_eq!((b.len(), b[0].count), (1, 1));
}

/// `QueryAst::validate` at the store boundary: a query nested past `MAX_AST_DEPTH` is refused,
/// so no recursion over a hostile AST can exhaust the stack.
#[tokio::test]
async fn a_query_nested_too_deep_is_refused() {
    let store = EmbeddedStore::in_memory().expect("store");
    let nested = |depth: usize| {
        (1..depth).fold(QueryAst::MatchAll, |q, _| QueryAst::Bool {
            must: vec![q],
            should: vec![],
            must_not: vec![],
        })
    };
    let ok = SearchRequest { query: nested(tripline_dsl::MAX_AST_DEPTH), size: 1, sort: Sort::NewestFirst };
    assert!(store.search(&ok).await.is_ok());
    let deep =
        SearchRequest { query: nested(tripline_dsl::MAX_AST_DEPTH + 1), size: 1, sort: Sort::NewestFirst };
    let err = store.search(&deep).await.unwrap_err().to_string();
    assert!(err.contains("nested deeper than 64"), "{err}");
    let err = store.aggregate(&deep.query, &[Aggregation::terms("source")]).await.unwrap_err().to_string();
    assert!(err.contains("nested deeper than 64"), "{err}");
    let err = store.search_alerts(&deep.query, 1).await.unwrap_err().to_string();
    assert!(err.contains("nested deeper than 64"), "{err}");
}
