//! Reading OpenSearch's answers into the store's types, strictly: a part that is missing or has
//! the wrong shape is [`StoreError::Malformed`] naming where it was, failed shards are
//! [`StoreError::PartialResults`], and nothing is ever turned into an empty result.

use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use tripline_dsl::opensearch::SAMPLES_AGG;
use tripline_dsl::{Aggregation, AggregationKind};

use crate::{AggregationResult, AggregationValue, Bucket, Hit, SearchResult, StoreError};

/// Parse a body as JSON, or say why not (with the start of the body).
pub(crate) fn parse_json(what: &str, body: &[u8]) -> Result<Json, StoreError> {
    serde_json::from_slice(body).map_err(|e| {
        StoreError::Malformed(format!("{what}: not JSON ({e}); body starts {:?}", excerpt(body)))
    })
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(160)]).into_owned();
    if body.len() > 160 {
        format!("{text}…")
    } else {
        text
    }
}

/// The engine's reason from an error body (`error.root_cause[0].reason`, `error.reason`,
/// `error.caused_by.reason`, a plain string), or the start of the body.
pub(crate) fn error_reason(v: &Json) -> String {
    let err = &v["error"];
    let typed = |e: &Json| -> Option<String> {
        let reason = e["reason"].as_str()?;
        Some(match e["type"].as_str() {
            Some(t) => format!("{t}: {reason}"),
            None => reason.to_string(),
        })
    };
    if let Some(s) = err.as_str() {
        return s.to_string();
    }
    let mut out = typed(&err["root_cause"][0])
        .or_else(|| typed(err))
        .unwrap_or_else(|| excerpt(v.to_string().as_bytes()));
    if let Some(cause) = err["caused_by"]["reason"].as_str() {
        if !out.contains(cause) {
            out.push_str(" (caused by: ");
            out.push_str(cause);
            out.push(')');
        }
    }
    out
}

/// [`error_reason`] for a raw body that may not even be JSON.
pub(crate) fn error_reason_bytes(body: &[u8]) -> String {
    match serde_json::from_slice::<Json>(body) {
        Ok(v) => error_reason(&v),
        Err(_) => excerpt(body),
    }
}

/// A search answer is complete: it did not time out and every shard answered.
pub(crate) fn check_complete(what: &str, v: &Json) -> Result<(), StoreError> {
    let shards = v.get("_shards").ok_or_else(|| StoreError::Malformed(format!("{what}: no _shards")))?;
    let count = |k: &str| {
        shards[k].as_u64().ok_or_else(|| StoreError::Malformed(format!("{what}: _shards.{k} is not a count")))
    };
    let (total, failed) = (count("total")?, count("failed")?);
    if failed > 0 {
        let first = &shards["failures"][0];
        let reason = first["reason"]["reason"]
            .as_str()
            .or_else(|| first["reason"]["type"].as_str())
            .or_else(|| first["reason"].as_str())
            .unwrap_or("no reason given");
        let place = match (first["index"].as_str(), first["shard"].as_u64()) {
            (Some(i), Some(s)) => format!("{i}[{s}]: "),
            _ => String::new(),
        };
        return Err(StoreError::PartialResults { failed, total, reason: format!("{place}{reason}") });
    }
    match v.get("timed_out") {
        Some(Json::Bool(false)) | None => Ok(()),
        Some(Json::Bool(true)) => Err(StoreError::PartialResults {
            failed: 0,
            total,
            reason: format!("{what} timed out: the engine returned what it had found so far"),
        }),
        Some(other) => Err(StoreError::Malformed(format!("{what}: timed_out is {other}"))),
    }
}

/// `hits.total` and `hits.hits` of a search answer.
pub(crate) fn parse_hits(what: &str, v: &Json) -> Result<SearchResult, StoreError> {
    let hits = v
        .get("hits")
        .filter(|h| h.is_object())
        .ok_or_else(|| StoreError::Malformed(format!("{what}: no hits")))?;
    let total = match hits.get("total") {
        Some(Json::Number(n)) => n.as_u64(),
        Some(t @ Json::Object(_)) => {
            if t["relation"].as_str().is_some_and(|r| r != "eq") {
                return Err(StoreError::Malformed(format!(
                    "{what}: hits.total is a lower bound ({t}), not a count"
                )));
            }
            t["value"].as_u64()
        }
        _ => None,
    }
    .ok_or_else(|| StoreError::Malformed(format!("{what}: hits.total is missing or not a count")))?;
    let list = hits["hits"]
        .as_array()
        .ok_or_else(|| StoreError::Malformed(format!("{what}: hits.hits is not a list")))?;
    let hits = list
        .iter()
        .enumerate()
        .map(|(i, h)| parse_hit(&format!("{what}: hits.hits[{i}]"), h))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SearchResult { total, hits, unindexed_candidates: 0 })
}

fn parse_hit(what: &str, h: &Json) -> Result<Hit, StoreError> {
    let text = |k: &str| {
        h[k].as_str().map(str::to_string).ok_or_else(|| StoreError::Malformed(format!("{what}: no {k}")))
    };
    let source = h.get("_source").filter(|s| s.is_object()).cloned();
    Ok(Hit {
        index: text("_index")?,
        id: text("_id")?,
        source: source.ok_or_else(|| StoreError::Malformed(format!("{what}: no _source")))?,
    })
}

/// The requested aggregations, in the order they were asked for.
pub(crate) fn parse_aggregations(
    what: &str,
    v: &Json,
    aggs: &[Aggregation],
) -> Result<Vec<AggregationResult>, StoreError> {
    if aggs.is_empty() {
        return Ok(Vec::new());
    }
    // No index matched the pattern (a new deployment before its first event): OpenSearch then
    // answers over zero shards without an `aggregations` key. That is a true empty answer, not a
    // malformed one; anything else without aggregations is.
    if v.get("aggregations").is_none() && v["_shards"]["total"].as_u64() == Some(0) {
        return Ok(aggs.iter().map(empty_aggregation).collect());
    }
    let all =
        v.get("aggregations").ok_or_else(|| StoreError::Malformed(format!("{what}: no aggregations")))?;
    aggs.iter().map(|a| parse_aggregation(&format!("{what}: aggregations"), all, a)).collect()
}

/// What an aggregation over no events is: no buckets, or a count of 0.
fn empty_aggregation(a: &Aggregation) -> AggregationResult {
    let value = match a.kind {
        AggregationKind::Cardinality { .. } => AggregationValue::Count(0),
        _ => AggregationValue::Buckets(Vec::new()),
    };
    AggregationResult { name: a.name.clone(), value }
}

fn parse_aggregation(what: &str, parent: &Json, a: &Aggregation) -> Result<AggregationResult, StoreError> {
    let what = format!("{what}.{}", a.name);
    let v = parent.get(&a.name).ok_or_else(|| StoreError::Malformed(format!("{what} is missing")))?;
    let value = match &a.kind {
        AggregationKind::Cardinality { .. } => AggregationValue::Count(
            v["value"]
                .as_u64()
                .ok_or_else(|| StoreError::Malformed(format!("{what}.value is not a count")))?,
        ),
        AggregationKind::Terms { samples, .. } => {
            let error_bound = v["doc_count_error_upper_bound"].as_u64().unwrap_or(0);
            if error_bound > 0 {
                // See `tripline_dsl::opensearch::terms_shard_size`.
                tracing::warn!(
                    aggregation = %what,
                    error_bound,
                    "terms counts may be short by up to this many events (a key was outside some shard's candidates)"
                );
            }
            AggregationValue::Buckets(parse_buckets(&what, v, a, terms_key, *samples > 0)?)
        }
        AggregationKind::DateHistogram { .. } => {
            AggregationValue::Buckets(parse_buckets(&what, v, a, date_key, false)?)
        }
    };
    Ok(AggregationResult { name: a.name.clone(), value })
}

fn parse_buckets(
    what: &str,
    v: &Json,
    a: &Aggregation,
    key: impl Fn(&Json) -> Option<Json>,
    samples: bool,
) -> Result<Vec<Bucket>, StoreError> {
    let list = v["buckets"]
        .as_array()
        .ok_or_else(|| StoreError::Malformed(format!("{what}.buckets is not a list")))?;
    let mut out = Vec::with_capacity(list.len());
    for (i, b) in list.iter().enumerate() {
        let here = format!("{what}.buckets[{i}]");
        let count = b["doc_count"]
            .as_u64()
            .ok_or_else(|| StoreError::Malformed(format!("{here}.doc_count is not a count")))?;
        if count == 0 {
            // Empty date-histogram buckets (only when min_doc_count is 0) are left out.
            continue;
        }
        let key =
            key(b).ok_or_else(|| StoreError::Malformed(format!("{here}.key is missing or unreadable")))?;
        let samples = if samples {
            let top = b
                .get(SAMPLES_AGG)
                .ok_or_else(|| StoreError::Malformed(format!("{here}.{SAMPLES_AGG} is missing")))?;
            parse_hits(&format!("{here}.{SAMPLES_AGG}"), top)?.hits
        } else {
            Vec::new()
        };
        let subs = a.subs.iter().map(|s| parse_aggregation(&here, b, s)).collect::<Result<Vec<_>, _>>()?;
        out.push(Bucket { key, count, samples, subs });
    }
    Ok(out)
}

/// A terms key as the contract wants it: strings for keywords (and ips), numbers for numbers,
/// `true`/`false` for booleans (OpenSearch says `key: 1, key_as_string: "true"`), RFC 3339 for
/// dates (OpenSearch says epoch milliseconds plus a formatted `key_as_string`).
fn terms_key(b: &Json) -> Option<Json> {
    let key = b.get("key")?;
    match (key, b["key_as_string"].as_str()) {
        (Json::Number(n), Some(s @ ("true" | "false"))) if n.as_u64().is_some_and(|n| n <= 1) => {
            Some(Json::Bool(s == "true"))
        }
        (Json::Number(n), Some(s)) if DateTime::parse_from_rfc3339(s).is_ok() => {
            Some(Json::String(millis_to_rfc3339(n.as_i64()?)?))
        }
        (k, _) => Some(k.clone()),
    }
}

/// A date-histogram key: the bucket's start, from its epoch milliseconds, as RFC 3339 UTC with
/// milliseconds (`2026-11-23T12:00:00.000Z`), whatever format the field was mapped with.
fn date_key(b: &Json) -> Option<Json> {
    let millis = match &b["key"] {
        Json::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        _ => {
            let s = b["key_as_string"].as_str()?;
            DateTime::parse_from_rfc3339(s).ok()?.timestamp_millis()
        }
    };
    millis_to_rfc3339(millis).map(Json::String)
}

fn millis_to_rfc3339(millis: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(millis).map(tripline_event::format_timestamp)
}

/// One item of a `_bulk` answer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ItemOutcome {
    /// Stored (created, updated, or a no-op update).
    Ok,
    /// Refused, with the HTTP status of the item and the engine's reason.
    Failed {
        /// The item's status.
        status: u16,
        /// The engine's reason.
        reason: String,
    },
}

/// The items of a `_bulk` answer, one per action sent, in order.
pub(crate) fn parse_bulk(what: &str, v: &Json, sent: usize) -> Result<Vec<ItemOutcome>, StoreError> {
    let items = v["items"].as_array().ok_or_else(|| StoreError::Malformed(format!("{what}: no items")))?;
    if items.len() != sent {
        return Err(StoreError::Malformed(format!("{what}: {} items answered for {sent} sent", items.len())));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let body = item.as_object().and_then(|o| o.values().next()).ok_or_else(|| {
                StoreError::Malformed(format!("{what}: items[{i}] is not an action result"))
            })?;
            let status = body["status"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .ok_or_else(|| StoreError::Malformed(format!("{what}: items[{i}].status is missing")))?;
            if (200..300).contains(&status) && body.get("error").is_none() {
                Ok(ItemOutcome::Ok)
            } else {
                Ok(ItemOutcome::Failed { status, reason: error_reason(body) })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tripline_dsl::Aggregation;

    #[test]
    fn keys_take_the_contract_shapes() {
        assert_eq!(terms_key(&json!({"key": 1, "key_as_string": "true"})), Some(json!(true)));
        assert_eq!(terms_key(&json!({"key": 0, "key_as_string": "false"})), Some(json!(false)));
        assert_eq!(terms_key(&json!({"key": 22})), Some(json!(22)));
        assert_eq!(terms_key(&json!({"key": "10.0.0.1"})), Some(json!("10.0.0.1")));
        assert_eq!(
            terms_key(&json!({"key": 1795428000000_i64, "key_as_string": "2026-11-23T10:00:00.000Z"})),
            Some(json!("2026-11-23T10:00:00.000Z"))
        );
        assert_eq!(
            date_key(&json!({"key": 1795428000000_i64, "key_as_string": "2026-11-23T11:00:00+01:00"})),
            Some(json!("2026-11-23T10:00:00.000Z"))
        );
    }

    #[test]
    fn missing_parts_are_malformed_not_empty() {
        let e = parse_hits("search", &json!({"took": 1})).unwrap_err();
        assert!(matches!(e, StoreError::Malformed(ref m) if m.contains("no hits")), "{e}");
        let e = parse_hits(
            "search",
            &json!({"hits": {"total": {"value": 1, "relation": "eq"}, "hits": [{"_id": "x"}]}}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("hits.hits[0]: no _index"), "{e}");
        let e = check_complete("search", &json!({"hits": {}})).unwrap_err();
        assert!(matches!(e, StoreError::Malformed(_)), "{e}");
        let aggs = [Aggregation::terms("source")];
        let none = json!({"timed_out": false, "_shards": {"total": 0, "successful": 0, "failed": 0},
            "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}});
        let empty = parse_aggregations("search", &none, &aggs).expect("zero shards: an empty answer");
        assert!(empty.iter().all(|r| r.value == AggregationValue::Buckets(vec![])), "{empty:?}");
        let shards = json!({"timed_out": false, "_shards": {"total": 3, "successful": 3, "failed": 0}});
        let e = parse_aggregations("search", &shards, &aggs).unwrap_err();
        assert!(e.to_string().contains("no aggregations"), "{e}");
        let e = parse_aggregations("search", &json!({"aggregations": {}}), &aggs).unwrap_err();
        assert!(e.to_string().contains("aggregations.source is missing"), "{e}");
    }

    #[test]
    fn shard_failures_and_timeouts_are_errors() {
        let v = json!({"timed_out": false, "_shards": {"total": 5, "successful": 4, "failed": 1,
            "failures": [{"index": "events-x", "shard": 3, "reason": {"type": "x", "reason": "node left"}}]}});
        match check_complete("search", &v) {
            Err(StoreError::PartialResults { failed: 1, total: 5, reason }) => {
                assert!(reason.contains("node left"))
            }
            other => panic!("{other:?}"),
        }
        let v = json!({"timed_out": true, "_shards": {"total": 1, "successful": 1, "failed": 0}});
        assert!(matches!(check_complete("search", &v), Err(StoreError::PartialResults { .. })));
    }

    #[test]
    fn bulk_items_count_must_match() {
        let v = json!({"errors": true, "items": [
            {"index": {"_id": "a", "status": 201}},
            {"index": {"_id": "b", "status": 400, "error": {"type": "mapper_parsing_exception", "reason": "bad ip"}}}
        ]});
        let out = parse_bulk("bulk", &v, 2).unwrap();
        assert_eq!(out[0], ItemOutcome::Ok);
        assert_eq!(
            out[1],
            ItemOutcome::Failed { status: 400, reason: "mapper_parsing_exception: bad ip".into() }
        );
        assert!(parse_bulk("bulk", &v, 3).is_err());
    }
}
