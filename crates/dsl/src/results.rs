//! What the stores answer, in the query language's own types: hits and aggregation buckets.
//!
//! Both stores (and anything that reads their answers: the runtime, the alerts, the CLI) share
//! these, so a bucket reaches an alert as a [`Bucket`], never as JSON to be dug through again.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// One stored document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The index it is stored in.
    pub index: String,
    /// Its id in that index.
    pub id: String,
    /// The document.
    pub source: Json,
}

/// The result of one aggregation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AggregationResult {
    /// The aggregation's name.
    pub name: String,
    /// Its value.
    pub value: AggregationValue,
}

/// Buckets (terms, date histogram) or a single number (cardinality).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregationValue {
    /// Terms: most frequent first, ties by key ascending. Date histogram: by time, empty buckets
    /// left out.
    Buckets(Vec<Bucket>),
    /// Cardinality: the number of distinct values.
    Count(u64),
}

/// One bucket of a terms or date-histogram aggregation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// The value: a string for keywords, a number for numbers, `true`/`false` for booleans, and
    /// the bucket's start as RFC 3339 (`2026-11-23T12:00:00.000Z`) for date histograms.
    pub key: Json,
    /// How many events fall in the bucket.
    pub count: u64,
    /// Sampled events (terms only), most recent first.
    pub samples: Vec<Hit>,
    /// Sub-aggregations, computed over this bucket's events.
    pub subs: Vec<AggregationResult>,
}

impl AggregationValue {
    /// The buckets, when this is a bucket aggregation.
    pub fn buckets(&self) -> Option<&[Bucket]> {
        match self {
            AggregationValue::Buckets(b) => Some(b),
            AggregationValue::Count(_) => None,
        }
    }
    /// The number, when this is a cardinality.
    pub fn count(&self) -> Option<u64> {
        match self {
            AggregationValue::Count(n) => Some(*n),
            AggregationValue::Buckets(_) => None,
        }
    }
}
