//! Rendering the AST as OpenSearch Query DSL JSON.
//!
//! The rendering is total (every AST renders) and structural: values travel as JSON values inside
//! `term`, `range`, `wildcard` ... objects, never spliced into query text, so no value can change
//! the shape of a query. Query strings were parsed into the AST before they got here.
//!
//! | AST | OpenSearch |
//! |---|---|
//! | `Term` on a keyword, number, date | `{"term": {f: v}}` |
//! | `Term` on `summary` | `{"match": {f: {"query": v, "operator": "and"}}}` |
//! | `Terms` | `{"terms": {f: [..]}}` (on `summary`: a `should` of matches) |
//! | `Wildcard`, `Regex`, `Phrase`, `Exists` | `wildcard`, `regexp`, `match_phrase`, `exists` |
//! | `case_insensitive` on `Term`, `Wildcard`, `Regex` | `"case_insensitive": true` in the `term`, `wildcard`, `regexp` (left out when the value has no ASCII letter, the only characters it folds) |
//! | `Range` | `{"range": {f: {"gte"/"gt"/"lte"/"lt": ..}}}` |
//! | `Subnet` | `{"range": {f: {"gte": first address, "lte": last address}}}` |
//! | `Bool` | `bool`, with `"minimum_should_match": 1` whenever `should` is present |

use serde_json::{json, Map, Value as Json};

use crate::ast::{Aggregation, AggregationKind, Bound, QueryAst};
use crate::search::CompiledQuery;
use crate::{is_text_field, lower_text_regex};

pub use crate::ast::SAMPLES_AGG;

/// The field sampled hits are sorted by (most recent first).
pub const SORT_FIELD: &str = "utctimestamp";

/// Render one query node.
pub fn query(ast: &QueryAst) -> Json {
    match ast {
        QueryAst::MatchAll => json!({"match_all": {}}),
        QueryAst::MatchNone => json!({"match_none": {}}),
        QueryAst::Term { field, value, .. } if is_text_field(field) => {
            json!({"match": {field: {"query": value.to_json(), "operator": "and"}}})
        }
        QueryAst::Term { field, value, .. } if ast.case_matters() => {
            json!({"term": {field: {"value": value.to_json(), "case_insensitive": true}}})
        }
        QueryAst::Term { field, value, .. } => json!({"term": {field: value.to_json()}}),
        QueryAst::Terms { field, values } if is_text_field(field) => json!({"bool": {
            "should": values
                .iter()
                .map(|v| json!({"match": {field: {"query": v.to_json(), "operator": "and"}}}))
                .collect::<Vec<_>>(),
            "minimum_should_match": 1,
        }}),
        QueryAst::Terms { field, values } => {
            json!({"terms": {field: values.iter().map(|v| v.to_json()).collect::<Vec<_>>()}})
        }
        QueryAst::Wildcard { field, pattern, .. } => {
            // Text fields hold lower-cased tokens; the pattern is not analyzed, so lower it here.
            let pattern = if is_text_field(field) { pattern.to_lowercase() } else { pattern.clone() };
            with_case(json!({"value": pattern}), ast, "wildcard", field)
        }
        QueryAst::Regex { field, pattern, .. } => {
            let pattern = if is_text_field(field) { lower_text_regex(pattern) } else { pattern.clone() };
            with_case(json!({"value": pattern}), ast, "regexp", field)
        }
        QueryAst::Phrase { field, phrase } => json!({"match_phrase": {field: phrase}}),
        QueryAst::Exists { field } => json!({"exists": {"field": field}}),
        QueryAst::Range { field, lower, upper } => {
            let mut r = Map::new();
            if let Some(Bound { value, inclusive }) = lower {
                r.insert(if *inclusive { "gte" } else { "gt" }.into(), value.to_json());
            }
            if let Some(Bound { value, inclusive }) = upper {
                r.insert(if *inclusive { "lte" } else { "lt" }.into(), value.to_json());
            }
            json!({"range": {field: r}})
        }
        QueryAst::Subnet { field, net } => json!({"range": {field: {
            "gte": net.network().to_string(),
            "lte": net.broadcast().to_string(),
        }}}),
        QueryAst::Bool { must, should, must_not } => {
            let mut b = Map::new();
            let list = |v: &[QueryAst]| Json::Array(v.iter().map(query).collect());
            if !must.is_empty() {
                b.insert("must".into(), list(must));
            }
            if !should.is_empty() {
                b.insert("should".into(), list(should));
                b.insert("minimum_should_match".into(), json!(1));
            }
            if !must_not.is_empty() {
                b.insert("must_not".into(), list(must_not));
            }
            json!({ "bool": b })
        }
    }
}

/// `{kind: {field: params}}`, with `"case_insensitive": true` in `params` when the node's flag
/// changes what it matches ([`QueryAst::case_matters`]).
fn with_case(mut params: Json, ast: &QueryAst, kind: &str, field: &str) -> Json {
    if ast.case_matters() {
        params["case_insensitive"] = json!(true);
    }
    json!({ kind: { field: params } })
}

/// The candidates each shard returns for a terms aggregation of `size` buckets.
///
/// Every daily index is a shard of the search, and a key's count is the sum of what the shards
/// that returned it counted: a key outside a shard's candidates there is undercounted (OpenSearch
/// reports the possible error as `doc_count_error_upper_bound`, which the store logs). A window
/// that crosses midnight spans two indices, so a threshold alert could miss by that error.
/// OpenSearch's default is `size × 1.5 + 10`; four times the size, and at least 100, makes the
/// error rarer at little cost (the embedded store always counts exactly).
pub fn terms_shard_size(size: usize) -> usize {
    size.saturating_mul(4).max(100)
}

/// Render aggregations as an `aggs` object.
pub fn aggregations(aggs: &[Aggregation]) -> Json {
    let mut out = Map::new();
    for a in aggs {
        out.insert(a.name.clone(), aggregation(a));
    }
    Json::Object(out)
}

fn aggregation(a: &Aggregation) -> Json {
    let mut body = match &a.kind {
        AggregationKind::Terms { field, size, min_count, .. } => json!({"terms": {
            "field": field,
            "size": size,
            "min_doc_count": min_count,
            "shard_size": terms_shard_size(*size),
        }}),
        AggregationKind::Cardinality { field } => {
            // Exact below the threshold; 40 000 is OpenSearch's maximum.
            json!({"cardinality": {"field": field, "precision_threshold": 40_000}})
        }
        AggregationKind::DateHistogram { field, interval_secs } => json!({"date_histogram": {
            "field": field,
            "fixed_interval": format!("{interval_secs}s"),
            "min_doc_count": 1,
        }}),
    };
    let mut subs = match aggregations(&a.subs) {
        Json::Object(m) => m,
        _ => Map::new(),
    };
    if let AggregationKind::Terms { samples, .. } = &a.kind {
        if *samples > 0 {
            subs.insert(
                SAMPLES_AGG.into(),
                json!({"top_hits": {"size": samples, "sort": [{SORT_FIELD: {"order": "desc"}}]}}),
            );
        }
    }
    if !subs.is_empty() {
        body["aggs"] = Json::Object(subs);
    }
    body
}

/// A full `_search` body: the query, `size` hits sorted most recent first, and the aggregations.
pub fn search_body(q: &CompiledQuery, size: usize) -> Json {
    search_request(&q.query, &q.aggregations, size, Order::NewestFirst)
}

/// The order of hits: by `utctimestamp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Most recent first.
    NewestFirst,
    /// Oldest first.
    OldestFirst,
}

/// A `_search` body from its parts: `query`, `size` hits in `order` (with the total counted
/// exactly) and `aggregations`. The sort names `unmapped_type: date`, so an index created before
/// the template (without the field) sorts instead of failing the whole search.
pub fn search_request(
    query_ast: &QueryAst,
    aggregations_list: &[Aggregation],
    size: usize,
    order: Order,
) -> Json {
    let mut body = json!({
        "query": query(query_ast),
        "size": size,
        "track_total_hits": true,
    });
    if size > 0 {
        let order = match order {
            Order::NewestFirst => "desc",
            Order::OldestFirst => "asc",
        };
        body["sort"] = json!([{SORT_FIELD: {"order": order, "unmapped_type": "date"}}]);
    }
    if !aggregations_list.is_empty() {
        body["aggs"] = aggregations(aggregations_list);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_is_the_parameter_of_term_wildcard_and_regexp() {
        let f = "details.eventname";
        let t = QueryAst::Term { field: f.into(), value: "CreateUser".into(), case_insensitive: true };
        assert_eq!(query(&t), json!({"term": {f: {"value": "CreateUser", "case_insensitive": true}}}));
        let w = QueryAst::Wildcard { field: f.into(), pattern: "Get*".into(), case_insensitive: true };
        assert_eq!(query(&w), json!({"wildcard": {f: {"value": "Get*", "case_insensitive": true}}}));
        let r = QueryAst::Regex { field: f.into(), pattern: "Get.*".into(), case_insensitive: true };
        assert_eq!(query(&r), json!({"regexp": {f: {"value": "Get.*", "case_insensitive": true}}}));
        // Without the flag, or with nothing to fold, the plain forms (which numeric fields take).
        let exact = QueryAst::Term { field: f.into(), value: "CreateUser".into(), case_insensitive: false };
        assert_eq!(query(&exact), json!({"term": {f: "CreateUser"}}));
        let digits = QueryAst::Term {
            field: "details.destinationport".into(),
            value: "22".into(),
            case_insensitive: true,
        };
        assert_eq!(query(&digits), json!({"term": {"details.destinationport": "22"}}));
        let w = QueryAst::Wildcard { field: f.into(), pattern: "1*".into(), case_insensitive: true };
        assert_eq!(query(&w), json!({"wildcard": {f: {"value": "1*"}}}));
    }
}
