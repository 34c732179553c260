//! The conformance suite runner, shared by every store's test binary (`mod common;`).
//!
//! A case file (`tests/conformance/*.json`) holds events and cases:
//!
//! ```json
//! {
//!   "name": "keywords",
//!   "description": "what the file is about",
//!   "events": [ {"_id": "a", "utctimestamp": "2026-11-23T10:00:00Z", "details": {"x": "y"}} ],
//!   "generate": {"count": 6000, "start": "2026-11-23T00:00:00Z", "step_secs": 3,
//!                "fields": {"details.user": {"pattern": [["alice", 3], ["bob", 2], ["carol", 1]]}}},
//!   "cases": [
//!     {"name": "term hit", "query": {"term": {"field": "details.x", "value": "y"}}, "expect_ids": ["a"]},
//!     {"name": "by string", "query_string": "details.x:y", "expect_ids": ["a"]},
//!     {"name": "counts", "query": "match_all",
//!      "aggregations": [{"name": "u", "kind": {"terms": {"field": "details.user", "size": 10,
//!                        "samples": 2, "min_count": 1}}}],
//!      "expect_aggregations": [{"name": "u", "buckets": [
//!         {"key": "alice", "count": 3000, "sample_ids": ["g5996", "g5995"], "subs": []}]}]}
//!   ]
//! }
//! ```
//!
//! - Events are MozDef events. `_id` is a label the cases refer to (the stored id is the event's
//!   deterministic hash, mapped back to the label). Missing basics are filled in: `utctimestamp`
//!   (`2026-11-23T12:00:00Z`), `receivedtimestamp` and `timestamp` (= `utctimestamp`), `source`
//!   (`conformance`), `summary` (the label, so every event's id differs).
//! - `category` is reserved: the runner sets it to `conformance:<file name>` and adds
//!   `category = that` to every case query, so files share one store without seeing each other.
//!   They do share OpenSearch's daily indices and so its mappings: a path must have the same type
//!   (keyword, number, object, ...) in every file.
//! - `generate` adds `count` events labelled `g0`, `g1`, ...: event `i` is at `start + i·step_secs`,
//!   has summary `generated event i`, and for each field a value from its spec: `pattern` (a list
//!   of `[value, repeat]`, cycled: with `[["a",3],["b",1]]` events 0,1,2 get `a`, 3 gets `b`, 4 `a`…)
//!   or `cycle` (a list of values, event `i` gets `values[i % len]`). Expected counts in the cases
//!   follow from the spec by arithmetic, stated in the file, never computed by a store.
//! - A search case has `query` (QueryAst JSON, as serde writes it) or `query_string`, and
//!   `expect_ids` (compared as a set, and `total` must equal its length). Optional: `size`
//!   (default 10000) with `expect_total`, `sort` (`newest_first`/`oldest_first`) with
//!   `ordered: true` to compare the order too, and `expect_unindexed_candidates` (default 0): how
//!   many more events hold a value too long to index in a field the query matches on.
//! - `"expect_error": true`: the search must fail on every store (a construct one engine refuses
//!   must be refused by the other too, never answered differently).
//! - `{"$repeat": "ab", "times": n}` anywhere in a file stands for `"ab"` repeated `n` times.
//! - An aggregation case has `aggregations` (serde JSON of `tripline_dsl::Aggregation`; `subs` may
//!   be left out) and `expect_aggregations`: per aggregation `{"name", "buckets": [..]}` or
//!   `{"name", "count": n}`; a bucket is `{"key", "count", "sample_ids"?, "subs"?}`. Buckets are
//!   compared in order; `sample_ids`, when given, in order (most recent first).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Map, Value as Json};
use tripline_dsl::{Aggregation, QueryAst, Value};
use tripline_event::Event;
use tripline_store::{AggregationResult, AggregationValue, Bucket, EventStore, SearchRequest, Sort};

/// Where the case files live.
pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance")
}

/// One case file, loaded and expanded.
#[derive(Debug)]
pub struct CaseFile {
    /// File name (without directory).
    pub file: String,
    /// The events, generated ones included.
    pub events: Vec<Event>,
    /// Stored id → label.
    pub labels: HashMap<String, String>,
    /// The category that scopes this file's events.
    pub scope: String,
    /// The cases, as JSON.
    pub cases: Vec<Json>,
}

/// What a suite run did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Case files run.
    pub files: usize,
    /// Cases that passed.
    pub passed: usize,
    /// Events indexed.
    pub events: usize,
    /// Names of the cases run (`file / case`), in order.
    pub case_names: Vec<String>,
}

/// Load every `*.json` in `dir`, sorted by name.
pub fn load_cases(dir: &Path) -> Result<Vec<CaseFile>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("no case files in {}", dir.display()));
    }
    paths.iter().map(|p| load_file(p)).collect()
}

/// Load one case file.
pub fn load_file(path: &Path) -> Result<CaseFile, String> {
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{file}: {e}"))?;
    let mut doc: Json = serde_json::from_str(&text).map_err(|e| format!("{file}: not JSON: {e}"))?;
    expand_repeats(&mut doc).map_err(|e| format!("{file}: {e}"))?;
    let scope = format!("conformance:{}", file.trim_end_matches(".json"));
    let mut raw: Vec<RawEvent> = Vec::new();
    for (i, e) in doc["events"].as_array().cloned().unwrap_or_default().into_iter().enumerate() {
        let Json::Object(mut obj) = e else {
            return Err(format!("{file}: events[{i}] is not an object"));
        };
        let label = match obj.remove("_id") {
            Some(Json::String(s)) => s,
            _ => return Err(format!("{file}: events[{i}] has no string \"_id\" label")),
        };
        raw.push((label, obj));
    }
    if let Some(spec) = doc.get("generate") {
        raw.extend(generate(spec).map_err(|e| format!("{file}: generate: {e}"))?);
    }
    let mut events = Vec::new();
    let mut labels = HashMap::new();
    for (label, mut obj) in raw {
        if obj.contains_key("category") {
            return Err(format!("{file}: event {label}: \"category\" is reserved for the runner"));
        }
        obj.insert("category".into(), json!(scope));
        let utc = obj.get("utctimestamp").cloned().unwrap_or_else(|| json!("2026-11-23T12:00:00Z"));
        obj.insert("utctimestamp".into(), utc.clone());
        obj.entry("receivedtimestamp").or_insert_with(|| utc.clone());
        obj.entry("timestamp").or_insert(utc);
        obj.entry("source").or_insert_with(|| json!("conformance"));
        obj.entry("summary").or_insert_with(|| json!(label.clone()));
        let event: Event =
            serde_json::from_value(Json::Object(obj)).map_err(|e| format!("{file}: event {label}: {e}"))?;
        let id = event.id();
        if let Some(other) = labels.insert(id, label.clone()) {
            return Err(format!("{file}: events {other} and {label} have the same content (same id)"));
        }
        events.push(event);
    }
    let cases = doc["cases"].as_array().cloned().unwrap_or_default();
    if cases.is_empty() {
        return Err(format!("{file}: no cases"));
    }
    Ok(CaseFile { file, events, labels, scope, cases })
}

/// Replace every `{"$repeat": "ab", "times": n}` (anywhere in the file: events, queries, expected
/// keys) with the string repeated `n` times, so that values at the length limits can be written.
fn expand_repeats(v: &mut Json) -> Result<(), String> {
    match v {
        Json::Object(m) if m.contains_key("$repeat") => {
            let unit = m["$repeat"].as_str().ok_or("$repeat: expected a string")?;
            let times = m.get("times").and_then(Json::as_u64).ok_or("$repeat: expected \"times\": n")?;
            *v = Json::String(unit.repeat(times as usize));
        }
        Json::Object(m) => m.values_mut().try_for_each(expand_repeats)?,
        Json::Array(items) => items.iter_mut().try_for_each(expand_repeats)?,
        _ => {}
    }
    Ok(())
}

/// A labelled event, before it becomes an [`Event`].
type RawEvent = (String, Map<String, Json>);

fn generate(spec: &Json) -> Result<Vec<RawEvent>, String> {
    let count = spec["count"].as_u64().ok_or("count: expected a number")? as usize;
    let start = spec["start"].as_str().ok_or("start: expected an RFC 3339 time")?;
    let start: DateTime<Utc> = tripline_dsl::parse_timestamp(start).map_err(|e| format!("start: {e}"))?;
    let step = spec["step_secs"].as_i64().ok_or("step_secs: expected a number")?;
    let mut fields: Vec<(String, Vec<Json>)> = Vec::new();
    for (path, f) in spec["fields"].as_object().cloned().unwrap_or_default() {
        let values = if let Some(p) = f.get("pattern").and_then(Json::as_array) {
            let mut out = Vec::new();
            for item in p {
                let n = item[1].as_u64().ok_or(format!("{path}: pattern items are [value, repeat]"))?;
                out.extend(std::iter::repeat_n(item[0].clone(), n as usize));
            }
            out
        } else if let Some(c) = f.get("cycle").and_then(Json::as_array) {
            c.clone()
        } else {
            return Err(format!("{path}: expected \"pattern\" or \"cycle\""));
        };
        if values.is_empty() {
            return Err(format!("{path}: no values"));
        }
        fields.push((path, values));
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let t = start + TimeDelta::seconds(step * i as i64);
        let mut obj = Map::new();
        obj.insert("utctimestamp".into(), json!(tripline_event::format_timestamp(t)));
        obj.insert("summary".into(), json!(format!("generated event {i}")));
        for (path, values) in &fields {
            set_path(&mut obj, path, values[i % values.len()].clone());
        }
        out.push((format!("g{i}"), obj));
    }
    Ok(out)
}

fn set_path(obj: &mut Map<String, Json>, path: &str, v: Json) {
    match path.split_once('.') {
        None => {
            obj.insert(path.into(), v);
        }
        Some((head, rest)) => {
            let child = obj.entry(head).or_insert_with(|| json!({}));
            if let Json::Object(m) = child {
                set_path(m, rest, v);
            }
        }
    }
}

/// Index every file's events into `store`, run every case, and fail listing ALL failing cases.
pub async fn run_suite(store: &dyn EventStore, cases_dir: &Path) -> Result<Summary, String> {
    let files = load_cases(cases_dir)?;
    let mut summary = Summary::default();
    let mut failures: Vec<String> = Vec::new();
    for f in &files {
        summary.files += 1;
        for chunk in f.events.chunks(5000) {
            let report =
                store.index_events(chunk).await.map_err(|e| format!("{}: indexing failed: {e}", f.file))?;
            if !report.failed.is_empty() || report.written != chunk.len() as u64 {
                return Err(format!("{}: indexing reported {report:?}", f.file));
            }
        }
        summary.events += f.events.len();
    }
    for f in &files {
        for (i, case) in f.cases.iter().enumerate() {
            let name = format!(
                "{} / {}",
                f.file,
                case["name"].as_str().map(str::to_string).unwrap_or_else(|| format!("case {i}"))
            );
            summary.case_names.push(name.clone());
            match run_case(store, f, case).await {
                Ok(()) => summary.passed += 1,
                Err(diff) => failures.push(format!("✗ {name}\n{diff}")),
            }
        }
    }
    if failures.is_empty() {
        Ok(summary)
    } else {
        Err(format!(
            "{} of {} conformance cases failed:\n\n{}",
            failures.len(),
            summary.case_names.len(),
            failures.join("\n\n")
        ))
    }
}

fn case_query(f: &CaseFile, case: &Json) -> Result<QueryAst, String> {
    let q = if let Some(text) = case.get("query_string").and_then(Json::as_str) {
        tripline_dsl::query_string::parse(text).map_err(|e| format!("  query string: {e}"))?
    } else if let Some(q) = case.get("query") {
        serde_json::from_value(q.clone()).map_err(|e| format!("  query is not a QueryAst: {e}"))?
    } else {
        QueryAst::MatchAll
    };
    Ok(QueryAst::Bool {
        must: vec![
            QueryAst::Term {
                field: "category".into(),
                value: Value::Str(f.scope.clone()),
                case_insensitive: false,
            },
            q,
        ],
        should: vec![],
        must_not: vec![],
    })
}

async fn run_case(store: &dyn EventStore, f: &CaseFile, case: &Json) -> Result<(), String> {
    let query = case_query(f, case)?;
    if case.get("expect_error").and_then(Json::as_bool) == Some(true) {
        return match store
            .search(&SearchRequest { query: query.clone(), size: 10, sort: Sort::NewestFirst })
            .await
        {
            Err(_) => Ok(()),
            Ok(r) => Err(format!("  query {query:?}\n  expected an error, got {} hits", r.total)),
        };
    }
    if let Some(aggs) = case.get("aggregations") {
        let aggs = parse_aggregations(aggs)?;
        let got = store.aggregate(&query, &aggs).await.map_err(|e| format!("  store error: {e}"))?;
        let expect = case.get("expect_aggregations").ok_or("  case has no expect_aggregations")?;
        return compare_aggregations(f, expect, &got);
    }
    let size = case.get("size").and_then(Json::as_u64).unwrap_or(10_000) as usize;
    let sort = match case.get("sort").and_then(Json::as_str) {
        None | Some("newest_first") => Sort::NewestFirst,
        Some("oldest_first") => Sort::OldestFirst,
        Some(other) => return Err(format!("  unknown sort {other:?}")),
    };
    let expect: Vec<String> = case
        .get("expect_ids")
        .and_then(Json::as_array)
        .ok_or("  case has neither expect_ids nor aggregations")?
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    let result = store
        .search(&SearchRequest { query: query.clone(), size, sort })
        .await
        .map_err(|e| format!("  query {query:?}\n  store error: {e}"))?;
    let got: Vec<String> = result
        .hits
        .iter()
        .map(|h| f.labels.get(&h.id).cloned().unwrap_or_else(|| format!("<unknown id {}>", h.id)))
        .collect();
    let mut diff = String::new();
    let expect_total = case.get("expect_total").and_then(Json::as_u64).unwrap_or(expect.len() as u64);
    if result.total != expect_total {
        let _ = writeln!(diff, "  total: expected {expect_total}, got {}", result.total);
    }
    let expect_unindexed = case.get("expect_unindexed_candidates").and_then(Json::as_u64).unwrap_or(0);
    if result.unindexed_candidates != expect_unindexed {
        let _ = writeln!(
            diff,
            "  unindexed_candidates: expected {expect_unindexed}, got {}",
            result.unindexed_candidates
        );
    }
    if case.get("ordered").and_then(Json::as_bool).unwrap_or(false) {
        if got != expect {
            let _ = writeln!(diff, "  order: expected {expect:?}\n         got      {got:?}");
        }
    } else {
        let e: BTreeSet<&String> = expect.iter().collect();
        let g: BTreeSet<&String> = got.iter().collect();
        let missing: Vec<_> = e.difference(&g).collect();
        let unexpected: Vec<_> = g.difference(&e).collect();
        if !missing.is_empty() {
            let _ = writeln!(diff, "  missing:    {missing:?}");
        }
        if !unexpected.is_empty() {
            let _ = writeln!(diff, "  unexpected: {unexpected:?}");
        }
        if got.len() != g.len() {
            let _ = writeln!(diff, "  duplicate hits: {got:?}");
        }
    }
    for h in &result.hits {
        if !h.index.starts_with(tripline_store::EVENTS_PREFIX) {
            let _ = writeln!(diff, "  hit {} has index {:?}, expected events-*", h.id, h.index);
        }
    }
    if diff.is_empty() {
        Ok(())
    } else {
        Err(format!("  query {query:?}\n{diff}"))
    }
}

fn parse_aggregations(v: &Json) -> Result<Vec<Aggregation>, String> {
    fn fill(v: &mut Json) {
        if let Json::Object(m) = v {
            let subs = m.entry("subs").or_insert_with(|| json!([]));
            if let Json::Array(a) = subs {
                a.iter_mut().for_each(fill);
            }
        }
    }
    let mut v = v.clone();
    if let Json::Array(a) = &mut v {
        a.iter_mut().for_each(fill);
    }
    serde_json::from_value(v).map_err(|e| format!("  aggregations are not Aggregation JSON: {e}"))
}

/// A result rendered as the expectation format, with ids mapped to labels (for diffs).
fn render(f: &CaseFile, results: &[AggregationResult]) -> Json {
    Json::Array(
        results
            .iter()
            .map(|r| match &r.value {
                AggregationValue::Count(n) => json!({"name": r.name, "count": n}),
                AggregationValue::Buckets(b) => {
                    json!({"name": r.name, "buckets": b.iter().map(|b| render_bucket(f, b)).collect::<Vec<_>>()})
                }
            })
            .collect(),
    )
}

fn render_bucket(f: &CaseFile, b: &Bucket) -> Json {
    json!({
        "key": b.key,
        "count": b.count,
        "sample_ids": b.samples.iter()
            .map(|h| f.labels.get(&h.id).cloned().unwrap_or_else(|| format!("<unknown id {}>", h.id)))
            .collect::<Vec<_>>(),
        "subs": render(f, &b.subs),
    })
}

/// Compare only what the expectation states (a bucket without `sample_ids` does not check them).
fn matches(expect: &Json, got: &Json, path: &str, out: &mut Vec<String>) {
    match (expect, got) {
        (Json::Object(e), Json::Object(g)) => {
            for (k, ev) in e {
                match g.get(k) {
                    Some(gv) => matches(ev, gv, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: expected {ev}, missing")),
                }
            }
        }
        (Json::Array(e), Json::Array(g)) => {
            if e.len() != g.len() {
                out.push(format!("{path}: expected {} entries, got {}", e.len(), g.len()));
            }
            for (i, (ev, gv)) in e.iter().zip(g).enumerate() {
                matches(ev, gv, &format!("{path}[{i}]"), out);
            }
        }
        (Json::Number(e), Json::Number(g)) => {
            if e.as_f64() != g.as_f64() {
                out.push(format!("{path}: expected {e}, got {g}"));
            }
        }
        (e, g) => {
            if e != g {
                out.push(format!("{path}: expected {e}, got {g}"));
            }
        }
    }
}

fn compare_aggregations(f: &CaseFile, expect: &Json, got: &[AggregationResult]) -> Result<(), String> {
    let rendered = render(f, got);
    let mut problems = Vec::new();
    matches(expect, &rendered, "aggregations", &mut problems);
    if problems.is_empty() {
        return Ok(());
    }
    let shown: BTreeMap<usize, &String> = problems.iter().take(20).enumerate().collect();
    let mut s = String::new();
    for p in shown.values() {
        let _ = writeln!(s, "  {p}");
    }
    if problems.len() > 20 {
        let _ = writeln!(s, "  … and {} more differences", problems.len() - 20);
    }
    let pretty = serde_json::to_string(&rendered).unwrap_or_default();
    let cut: String = pretty.chars().take(1500).collect();
    let _ = writeln!(s, "  got: {cut}");
    Err(s)
}

/// Re-ingesting events keeps the alert names alerts gave them (a retried Lambda, a replayed S3
/// notification or a second `tripline ingest` must not make an alert fire again on the same
/// events), and otherwise replaces them; an event that brings alert names of its own keeps those.
/// `category` keeps the events apart from anything else in the store.
pub async fn reingesting_keeps_alert_names(store: &dyn EventStore, category: &str) -> Result<(), String> {
    let at = |s: &str| tripline_dsl::parse_timestamp(s).expect("timestamp");
    let make = |n: u32| {
        let t = at("2026-11-23T10:00:00Z") + TimeDelta::seconds(n.into());
        let mut e = Event::new(category, "reingest", format!("reingested event {n}"), t, t);
        e.category = category.to_string();
        e.details.insert("user".into(), json!(format!("user{n}")));
        e
    };
    let (a, b) = (make(1), make(2));
    let mine = QueryAst::Term {
        field: "category".into(),
        value: Value::Str(category.into()),
        case_insensitive: false,
    };
    let request = SearchRequest { query: mine, size: 10, sort: Sort::OldestFirst };
    let first = store.index_events(&[a.clone(), b.clone()]).await.map_err(|e| format!("index: {e}"))?;
    if (first.written, first.failed.len()) != (2, 0) {
        return Err(format!("first ingest: {first:?}"));
    }
    let hits = store.search(&request).await.map_err(|e| format!("search: {e}"))?.hits;
    let hit_a = hits.iter().find(|h| h.id == a.id()).ok_or("event a was not stored")?;
    let r = tripline_store::DocRef { index: hit_a.index.clone(), id: a.id() };
    store.tag_events(&[r], "ssh_from_outside").await.map_err(|e| format!("tag: {e}"))?;

    // The same events again, one of them changed outside what its id hashes.
    let mut a2 = a.clone();
    a2.severity = "WARNING".into();
    assert_eq!(a2.id(), a.id());
    let again = store.index_events(&[a2.clone(), b.clone()]).await.map_err(|e| format!("again: {e}"))?;
    if (again.written, again.failed.len()) != (2, 0) {
        return Err(format!("second ingest: {again:?}"));
    }
    let found = store.search(&request).await.map_err(|e| format!("search: {e}"))?;
    let source = |id: &str| found.hits.iter().find(|h| h.id == id).map(|h| h.source.clone());
    let (sa, sb) = (source(&a.id()).ok_or("event a is gone")?, source(&b.id()).ok_or("event b is gone")?);
    let names = |s: &Json| s.get("alert_names").cloned().unwrap_or(json!([]));
    let mut problems = Vec::new();
    if found.total != 2 {
        problems.push(format!("{} events after re-ingesting 2, expected 2", found.total));
    }
    if names(&sa) != json!(["ssh_from_outside"]) {
        problems.push(format!("the tagged event's alert_names became {}", names(&sa)));
    }
    if sa["severity"] != "WARNING" {
        problems.push(format!("the re-ingested event was not replaced: severity {}", sa["severity"]));
    }
    if names(&sb) != json!([]) {
        problems.push(format!("the untagged event got alert_names {}", names(&sb)));
    }

    // An event that brings its own alert names keeps them.
    let mut a3 = a.clone();
    a3.alert_names = vec!["imported".into()];
    store.index_events(&[a3]).await.map_err(|e| format!("third: {e}"))?;
    let found = store.search(&request).await.map_err(|e| format!("search: {e}"))?;
    let sa = found.hits.iter().find(|h| h.id == a.id()).map(|h| h.source.clone()).ok_or("event a is gone")?;
    if names(&sa) != json!(["imported"]) {
        problems.push(format!("an event's own alert_names gave way to the stored ones: {}", names(&sa)));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
