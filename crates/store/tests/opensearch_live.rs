//! The OpenSearch store against a real server: the real node make test starts (or one started for this test process), or
//! the cluster `TRIPLINE_OPENSEARCH_URL` points at. Each test works in its own indices (its own
//! events prefix and alerts index), so tests run in parallel and a real cluster's data is left
//! alone; they are deleted at the end. Against a real cluster the configuration (authentication
//! included) comes from the environment: see `OpenSearchConfig::from_env`.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use opensearch::http::Method;
use serde_json::{json, Value as Json};
use tripline_dsl::{Aggregation, QueryAst};
use tripline_event::{AlertRecord, Event, EventRef};
use tripline_store::opensearch::{Auth, OpenSearchConfig, OpenSearchStore, SigV4Service};
use tripline_store::{AggregationValue, DocRef, EventStore, SearchRequest, Sort};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A store in indices of its own: `t{pid}x{n}-events-*` and `t{pid}x{n}-alerts`.
struct Scoped {
    store: OpenSearchStore,
    prefix: String,
    alerts: String,
}

impl Scoped {
    async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// Like [`Scoped::new`], with the configuration changed by `adjust`.
    async fn with(adjust: impl FnOnce(&mut OpenSearchConfig)) -> Self {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let tag = format!("t{}x{n}", std::process::id());
        let mut config = base_config();
        adjust(&mut config);
        config.events_prefix = format!("{tag}-events-");
        config.alerts_index = format!("{tag}-alerts");
        let store = OpenSearchStore::connect(config.clone()).await.expect("connect");
        Scoped { store, prefix: config.events_prefix, alerts: config.alerts_index }
    }

    /// A GET straight to the server, for checks that go around the store.
    async fn get(&self, path: &str) -> Json {
        let r = self
            .store
            .client()
            .transport()
            .send(Method::Get, path, Default::default(), None::<&()>, None::<&[u8]>, None)
            .await
            .expect("GET");
        r.json().await.expect("JSON")
    }

    async fn cleanup(self) {
        let (events_template, alerts_template) = self.store.template_names();
        for path in [
            format!("{}*", self.prefix),
            self.alerts.clone(),
            format!("_index_template/{events_template}"),
            format!("_index_template/{alerts_template}"),
        ] {
            let _ = self
                .store
                .client()
                .transport()
                .send(Method::Delete, &path, Default::default(), None::<&()>, None::<&[u8]>, None)
                .await;
        }
    }
}

/// The local test node without authentication, or the cluster as the environment describes it.
fn base_config() -> OpenSearchConfig {
    let url = tripline_testkit::opensearch_url();
    if tripline_testkit::real_opensearch() {
        OpenSearchConfig::from_env().expect("TRIPLINE_OPENSEARCH_* configuration")
    } else {
        OpenSearchConfig::for_url(url).expect("url")
    }
}

fn at(s: &str) -> DateTime<Utc> {
    tripline_dsl::parse_timestamp(s).expect("time")
}

fn event(summary: &str, t: &str, details: Json) -> Event {
    let mut e = Event::new("cloudtrail", "AwsApiCall", summary, at(t), at(t));
    e.details = details.as_object().cloned().unwrap_or_default();
    e
}

fn all(size: usize, sort: Sort) -> SearchRequest {
    SearchRequest { query: QueryAst::MatchAll, size, sort }
}

fn term(field: &str, value: impl Into<tripline_dsl::Value>) -> QueryAst {
    QueryAst::Term { field: field.into(), value: value.into(), case_insensitive: false }
}

#[tokio::test]
async fn templates_give_the_mozdef_mapping() {
    let s = Scoped::new().await;
    s.store.ensure_templates().await.expect("install");
    s.store.ensure_templates().await.expect("installing twice is fine");
    let (events_template, _) = s.store.template_names();
    let t = s.get(&format!("_index_template/{events_template}")).await;
    assert_eq!(
        t["index_templates"][0]["index_template"]["index_patterns"],
        json!([format!("{}*", s.prefix)])
    );

    let e = event(
        "Describe instances",
        "2026-11-23T10:00:00Z",
        json!({"sourceipaddress": "10.0.0.1", "anything": "x"}),
    );
    let report = s.store.index_events(std::slice::from_ref(&e)).await.expect("index");
    assert_eq!(report.written, 1, "{report:?}");
    let index = format!("{}2026.11.23", s.prefix);
    let m = s.get(&format!("{index}/_mapping")).await;
    let props = &m[&index]["mappings"]["properties"];
    assert_eq!(props["summary"]["type"], "text");
    assert_eq!(props["utctimestamp"]["type"], "date");
    assert_eq!(props["category"]["type"], "keyword");
    assert_eq!(props["details"]["properties"]["sourceipaddress"]["type"], "ip");
    assert_eq!(props["details"]["properties"]["success"]["type"], "boolean");
    assert_eq!(props["details"]["properties"]["destinationport"]["type"], "integer");
    assert_eq!(props["details"]["properties"]["anything"]["type"], "keyword", "dynamic strings are keywords");
    s.cleanup().await;
}

/// With installation off (the Lambda functions), the first write checks that the templates are
/// installed: before the deploy step it is refused (a configuration error naming the missing
/// templates and the command), and no index is created with a dynamic mapping; after
/// `ensure_templates` (what `tripline opensearch install-templates` runs) the same write succeeds
/// with the template's mapping.
#[tokio::test]
async fn without_installation_a_write_before_the_templates_is_refused() {
    let s = Scoped::with(|c| c.install_templates = false).await;
    let e = event("Describe", "2026-11-23T10:00:00Z", json!({"sourceipaddress": "10.0.0.1"}));
    let err = s.store.index_events(std::slice::from_ref(&e)).await.expect_err("no templates yet");
    let (events_template, alerts_template) = s.store.template_names();
    let text = err.to_string();
    assert!(matches!(err, tripline_store::StoreError::Config(_)), "{err:?}");
    assert!(text.contains(&events_template) && text.contains(&alerts_template), "{text}");
    assert!(text.contains("tripline opensearch install-templates"), "{text}");
    let index = format!("{}2026.11.23", s.prefix);
    assert_eq!(s.get(&format!("{index}/_mapping")).await["status"], 404, "no index was created");
    let alert_err = s.store.write_alerts(&[]).await;
    assert!(alert_err.is_ok(), "nothing to write is not a write: {alert_err:?}");

    s.store.ensure_templates().await.expect("the deploy step");
    let report = s.store.index_events(std::slice::from_ref(&e)).await.expect("templates installed");
    assert_eq!(report.written, 1, "{report:?}");
    let m = s.get(&format!("{index}/_mapping")).await;
    assert_eq!(m[&index]["mappings"]["properties"]["details"]["properties"]["sourceipaddress"]["type"], "ip");
    s.cleanup().await;
}

#[tokio::test]
async fn bulk_reports_each_refused_document_and_writes_the_rest() {
    let s = Scoped::new().await;
    let events = vec![
        event("first", "2026-11-23T10:00:00Z", json!({"sourceipaddress": "10.0.0.1"})),
        event("bad address", "2026-11-23T10:01:00Z", json!({"sourceipaddress": "not-an-address"})),
        event("next day", "2026-11-24T00:00:01Z", json!({"sourceipaddress": "2001:db8::1"})),
    ];
    let report = s.store.index_events(&events).await.expect("bulk");
    assert_eq!(report.written, 2, "{report:?}");
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].position, 1);
    assert_eq!(report.failed[0].id, events[1].id());
    assert!(!report.failed[0].retryable);
    assert!(report.failed[0].reason.contains("sourceipaddress"), "{}", report.failed[0].reason);

    // Visible at once (refresh), in daily indices, under deterministic ids.
    let r = s.store.search(&all(10, Sort::OldestFirst)).await.expect("search");
    assert_eq!(r.total, 2);
    assert_eq!(r.hits[0].id, events[0].id());
    assert_eq!(r.hits[0].index, format!("{}2026.11.23", s.prefix));
    assert_eq!(r.hits[1].index, format!("{}2026.11.24", s.prefix));
    assert_eq!(r.hits[1].source["summary"], "next day");

    // Writing the same events again replaces, never duplicates.
    let again = s.store.index_events(&[events[0].clone(), events[2].clone()]).await.expect("bulk again");
    assert_eq!((again.written, again.failed.len()), (2, 0));
    assert_eq!(s.store.search(&all(10, Sort::NewestFirst)).await.expect("search").total, 2);
    s.cleanup().await;
}

#[tokio::test]
async fn search_counts_all_returns_size_in_order_and_matches_by_type() {
    let s = Scoped::new().await;
    let mut events = Vec::new();
    for i in 0..25 {
        let t = at("2026-11-23T10:00:00Z") + TimeDelta::minutes(i);
        let mut e = Event::new("vpc_flow", "vpc-flow", format!("Flow number {i} ACCEPTED"), t, t);
        e.details = json!({
            "sourceipaddress": if i % 5 == 0 { "203.0.113.9".to_string() } else { format!("10.0.{i}.1") },
            "destinationport": if i % 2 == 0 { 22 } else { 443 },
            "success": i % 3 != 0,
            "action": "ACCEPT",
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        events.push(e);
    }
    let report = s.store.index_events(&events).await.expect("index");
    assert_eq!(report.written, 25, "{report:?}");

    let newest = s.store.search(&all(3, Sort::NewestFirst)).await.expect("search");
    assert_eq!(newest.total, 25, "total counts every match, not only those returned");
    assert_eq!(newest.hits.len(), 3);
    assert_eq!(newest.hits[0].id, events[24].id());
    assert_eq!(newest.hits[2].id, events[22].id());
    let oldest = s.store.search(&all(2, Sort::OldestFirst)).await.expect("search");
    assert_eq!(oldest.hits[0].id, events[0].id());

    let count = |q: QueryAst| {
        let store = &s.store;
        async move {
            store
                .search(&SearchRequest { query: q, size: 0, sort: Sort::NewestFirst })
                .await
                .expect("search")
                .total
        }
    };
    assert_eq!(count(term("details.destinationport", 22)).await, 13);
    assert_eq!(count(term("details.success", false)).await, 9);
    assert_eq!(count(term("summary", "accepted")).await, 25, "summary is analyzed");
    assert_eq!(count(term("details.action", "accept")).await, 0, "keywords are case-sensitive");
    let public = QueryAst::Subnet {
        field: "details.sourceipaddress".into(),
        net: "203.0.113.0/24".parse().expect("net"),
    };
    assert_eq!(count(public).await, 5);
    let window = QueryAst::Range {
        field: "utctimestamp".into(),
        lower: Some(tripline_dsl::Bound::inclusive("2026-11-23T11:05:00+01:00")),
        upper: Some(tripline_dsl::Bound::exclusive("2026-11-23T10:10:00Z")),
    };
    assert_eq!(count(window).await, 5, "10:05..10:10 UTC, the lower bound written at +01:00");
    s.cleanup().await;
}

/// Before its first event a deployment has no events index: the engine answers over zero shards
/// and without aggregations, which is an empty answer (no buckets), not a malformed one.
#[tokio::test]
async fn aggregations_before_the_first_event_are_empty_not_an_error() {
    let s = Scoped::new().await;
    let aggs = [
        Aggregation::terms("details.useridentity.arn").named("users"),
        Aggregation::cardinality("details.sourceipaddress").named("ips"),
    ];
    let r = s.store.aggregate(&QueryAst::MatchAll, &aggs).await.expect("an empty answer");
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].value, AggregationValue::Buckets(vec![]));
    assert_eq!(r[1].value, AggregationValue::Count(0));
    let hits = s.store.search(&all(10, Sort::NewestFirst)).await.expect("search");
    assert_eq!(hits.total, 0);
    s.cleanup().await;
}

#[tokio::test]
async fn aggregations_are_counted_by_the_engine() {
    let s = Scoped::new().await;
    let users = ["alice", "alice", "alice", "bob", "bob", "carol"];
    let mut events = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let t = at("2026-11-23T10:00:00Z") + TimeDelta::minutes(7 * i as i64);
        let mut e = Event::new("cloudtrail", "AwsApiCall", format!("call {i}"), t, t);
        e.details = json!({
            "useridentity": {"username": user},
            "sourceipaddress": format!("10.0.0.{}", i % 2),
            "success": i != 0,
            "destinationport": if i < 4 { 22 } else { 443 },
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        events.push(e);
    }
    assert_eq!(s.store.index_events(&events).await.expect("index").written, 6);

    let aggs = vec![
        Aggregation::terms("details.useridentity.username")
            .samples(2)
            .per_bucket(Aggregation::cardinality("details.sourceipaddress").named("ips")),
        Aggregation::terms("details.success"),
        Aggregation::terms("details.destinationport"),
        Aggregation::date_histogram("utctimestamp", 15 * 60),
        Aggregation::cardinality("details.sourceipaddress"),
    ];
    let out = s.store.aggregate(&QueryAst::MatchAll, &aggs).await.expect("aggregate");
    assert_eq!(out.len(), 5);

    let AggregationValue::Buckets(users) = &out[0].value else { panic!("terms gives buckets: {:?}", out[0]) };
    let keys: Vec<(&Json, u64)> = users.iter().map(|b| (&b.key, b.count)).collect();
    assert_eq!(keys, vec![(&json!("alice"), 3), (&json!("bob"), 2), (&json!("carol"), 1)]);
    let samples: Vec<&str> = users[0].samples.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(samples, vec![events[2].id(), events[1].id()], "most recent first, two of them");
    assert_eq!(users[0].subs[0].name, "ips");
    assert_eq!(users[0].subs[0].value, AggregationValue::Count(2));
    assert_eq!(users[2].subs[0].value, AggregationValue::Count(1));

    let AggregationValue::Buckets(flags) = &out[1].value else { panic!("{:?}", out[1]) };
    assert_eq!(
        flags.iter().map(|b| (&b.key, b.count)).collect::<Vec<_>>(),
        vec![(&json!(true), 5), (&json!(false), 1)]
    );
    let AggregationValue::Buckets(ports) = &out[2].value else { panic!("{:?}", out[2]) };
    assert_eq!(
        ports.iter().map(|b| (&b.key, b.count)).collect::<Vec<_>>(),
        vec![(&json!(22), 4), (&json!(443), 2)]
    );

    // Events at minutes 0, 7, 14 | 21, 28 | 35 → 15-minute buckets from 10:00.
    let AggregationValue::Buckets(hist) = &out[3].value else { panic!("{:?}", out[3]) };
    let got: Vec<(&Json, u64)> = hist.iter().map(|b| (&b.key, b.count)).collect();
    assert_eq!(
        got,
        vec![
            (&json!("2026-11-23T10:00:00.000Z"), 3),
            (&json!("2026-11-23T10:15:00.000Z"), 2),
            (&json!("2026-11-23T10:30:00.000Z"), 1)
        ]
    );
    assert_eq!(out[4].value, AggregationValue::Count(2));

    let only_bob = s
        .store
        .aggregate(
            &term("details.useridentity.username", "bob"),
            &[Aggregation::terms("details.useridentity.username").min_count(3)],
        )
        .await
        .expect("aggregate");
    assert_eq!(only_bob[0].value, AggregationValue::Buckets(vec![]), "min_count leaves bob's 2 out");
    s.cleanup().await;
}

#[tokio::test]
async fn tagging_is_idempotent_and_reports_missing_events() {
    let s = Scoped::new().await;
    let events = vec![
        event("one", "2026-11-23T10:00:00Z", json!({})),
        event("two", "2026-11-23T10:01:00Z", json!({})),
    ];
    s.store.index_events(&events).await.expect("index");
    let index = format!("{}2026.11.23", s.prefix);
    let r = |e: &Event| DocRef { index: index.clone(), id: e.id() };
    let missing = DocRef { index: index.clone(), id: "nope".into() };
    let no_index = DocRef { index: format!("{}1999.01.01", s.prefix), id: "x".into() };
    let refs = vec![r(&events[0]), missing, r(&events[1]), r(&events[0]), no_index];

    for round in 0..2 {
        let report = s.store.tag_events(&refs, "ssh_from_outside").await.expect("tag");
        assert_eq!(report.written, 3, "round {round}: {report:?}");
        let failed: Vec<usize> = report.failed.iter().map(|f| f.position).collect();
        assert_eq!(failed, vec![1, 4], "round {round}: {report:?}");
        assert!(report.failed.iter().all(|f| !f.retryable));
    }
    s.store.tag_events(&[r(&events[0])], "another").await.expect("tag");

    let tagged = s
        .store
        .search(&SearchRequest {
            query: term("alert_names", "ssh_from_outside"),
            size: 10,
            sort: Sort::OldestFirst,
        })
        .await
        .expect("search");
    assert_eq!(tagged.total, 2);
    assert_eq!(tagged.hits[0].source["alert_names"], json!(["ssh_from_outside", "another"]));
    assert_eq!(tagged.hits[1].source["alert_names"], json!(["ssh_from_outside"]));
    assert_eq!(tagged.hits[1].source["summary"], "two", "a partial update keeps the rest of the event");
    let not_yet = QueryAst::negate(term("alert_names", "ssh_from_outside"));
    assert_eq!(
        s.store
            .search(&SearchRequest { query: not_yet, size: 0, sort: Sort::NewestFirst })
            .await
            .expect("search")
            .total,
        0
    );
    s.cleanup().await;
}

#[tokio::test]
async fn alerts_are_written_once_and_searched_newest_first() {
    let s = Scoped::new().await;
    let none =
        s.store.search_alerts(&QueryAst::MatchAll, 10).await.expect("no alerts index yet is an empty answer");
    assert_eq!(none.total, 0);

    let alert = |name: &str, t: &str| {
        let events = vec![EventRef {
            documentindex: format!("{}2026.11.23", s.prefix),
            documentid: "e1".into(),
            documentsource: json!({"details": {"sourceipaddress": "not an ip", "nested": {"x": 1}}}),
        }];
        AlertRecord {
            id: AlertRecord::compute_id(name, "key", &events),
            utctimestamp: at(t),
            severity: "WARNING".into(),
            summary: format!("{name} fired"),
            category: "access".into(),
            tags: vec!["aws".into()],
            events,
            classname: name.into(),
            url: String::new(),
            notify: true,
            details: json!({"count": 3}).as_object().cloned().unwrap_or_default(),
        }
    };
    let alerts = vec![
        alert("ssh_from_outside", "2026-11-23T10:00:00Z"),
        alert("public_bucket", "2026-11-23T11:00:00Z"),
    ];
    let report = s.store.write_alerts(&alerts).await.expect("write");
    assert_eq!((report.written, report.failed.len()), (2, 0), "{report:?}");
    s.store.write_alerts(&alerts).await.expect("rewrite");

    let found = s.store.search_alerts(&QueryAst::MatchAll, 10).await.expect("search alerts");
    assert_eq!(found.total, 2, "a rerun replaces, never duplicates");
    assert_eq!(found.hits[0].id, alerts[1].id, "newest first");
    assert_eq!(found.hits[0].index, s.alerts);
    let back: AlertRecord = serde_json::from_value(found.hits[1].source.clone()).expect("an AlertRecord");
    assert_eq!(back, alerts[0]);
    let one = s.store.search_alerts(&term("classname", "public_bucket"), 10).await.expect("search");
    assert_eq!(one.total, 1);
    s.cleanup().await;
}

/// A node without the security plugin accepts any credentials: this shows that signed requests (with bodies, NDJSON,
/// wildcard paths) go through the signing path intact. (Against a real cluster every other test
/// here signs with the environment's credentials when `TRIPLINE_OPENSEARCH_AUTH` is
/// `sigv4`/`aoss`; made-up credentials would rightly be refused there, so this one then signs
/// with the environment's configuration too.)
#[tokio::test]
async fn sigv4_signed_requests_work_end_to_end() {
    let mut config = base_config();
    let tag = format!("t{}sig", std::process::id());
    config.events_prefix = format!("{tag}-events-");
    config.alerts_index = format!("{tag}-alerts");
    if !tripline_testkit::real_opensearch() {
        config.auth = Auth::SigV4 { service: SigV4Service::Es, region: Some("us-east-1".into()) };
    }
    let credentials =
        aws_credential_types::Credentials::new("AKIDTEST", "secret", Some("token".into()), None, "test");
    let sdk = aws_config::SdkConfig::builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
        .build();
    let store = if tripline_testkit::real_opensearch() {
        OpenSearchStore::connect(config).await.expect("store")
    } else {
        OpenSearchStore::with_sdk_config(config, &sdk).expect("store")
    };
    let e = event("signed", "2026-11-23T10:00:00Z", json!({"eventname": "GetObject"}));
    assert_eq!(store.index_events(std::slice::from_ref(&e)).await.expect("index").written, 1);
    let r = store
        .search(&SearchRequest {
            query: term("details.eventname", "GetObject"),
            size: 1,
            sort: Sort::NewestFirst,
        })
        .await
        .expect("search");
    assert_eq!(r.hits[0].id, e.id());
}

/// `QueryAst::validate` at the store boundary: a query nested past `MAX_AST_DEPTH` is refused
/// before any request (its JSON would also pass OpenSearch's own depth limits differently).
#[tokio::test]
async fn a_query_nested_too_deep_is_refused_before_it_is_sent() {
    let s = Scoped::new().await;
    let nested = |depth: usize| {
        (1..depth).fold(term("source", "cloudtrail"), |q, _| QueryAst::Bool {
            must: vec![q],
            should: vec![],
            must_not: vec![],
        })
    };
    let ok = SearchRequest { query: nested(tripline_dsl::MAX_AST_DEPTH), size: 1, sort: Sort::NewestFirst };
    assert!(s.store.search(&ok).await.is_ok());
    let deep =
        SearchRequest { query: nested(tripline_dsl::MAX_AST_DEPTH + 1), size: 1, sort: Sort::NewestFirst };
    let err = s.store.search(&deep).await.unwrap_err().to_string();
    assert!(err.contains("nested deeper than 64"), "{err}");
    let err = s.store.aggregate(&deep.query, &[Aggregation::terms("source")]).await.unwrap_err().to_string();
    assert!(err.contains("nested deeper than 64"), "{err}");
    let err = s.store.search_alerts(&deep.query, 1).await.unwrap_err().to_string();
    assert!(err.contains("nested deeper than 64"), "{err}");
}
