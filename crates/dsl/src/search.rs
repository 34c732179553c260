//! `SearchQuery`: a time window, boolean clauses and aggregations, compiled against a clock.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::ast::{Aggregation, AggregationKind, Bound, QueryAst};
use crate::matchers::{Clauses, Matcher};
use crate::DslError;

/// The timestamp fields the time window looks at: an event is in the window if either lies in it.
pub const WINDOW_FIELDS: [&str; 2] = ["utctimestamp", "receivedtimestamp"];

/// A search over the last N seconds/minutes/hours/days, in the spirit of MozDef's `SearchQuery`.
///
/// ```
/// use tripline_dsl::prelude::*;
///
/// // Describe calls in the last 20 minutes that carry details.source, counted per actor.
/// let q = SearchQuery::minutes(20)
///     .must((TermMatch("details.eventverb", "Describe"), ExistsMatch("details.source")))
///     .aggregate(Aggregation::terms("details.useridentity.arn").size(10).samples(5));
/// let now = tripline_dsl::parse_timestamp("2026-11-23T12:00:00Z").unwrap();
/// let compiled = q.compile(now).unwrap();
/// assert_eq!(compiled.aggregations.len(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    window: Option<TimeDelta>,
    /// A window length that does not fit a `TimeDelta`, reported by `compile`.
    window_overflow: Option<String>,
    must: Vec<Matcher>,
    should: Vec<Matcher>,
    must_not: Vec<Matcher>,
    aggregations: Vec<Aggregation>,
}

/// A query resolved against a clock: what a store executes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompiledQuery {
    /// The filter, time window included.
    pub query: QueryAst,
    /// Aggregations to compute over the matching events.
    pub aggregations: Vec<Aggregation>,
    /// Start of the time window, if there is one.
    pub since: Option<DateTime<Utc>>,
    /// The clock reading the query was compiled at.
    pub now: DateTime<Utc>,
}

impl SearchQuery {
    /// A query over all time (no window).
    pub fn all_time() -> Self {
        Self::default()
    }
    /// A window of the given length, ending now.
    pub fn within(window: TimeDelta) -> Self {
        SearchQuery { window: Some(window), ..Self::default() }
    }
    fn window_of(n: i64, unit: &str, delta: Option<TimeDelta>) -> Self {
        match delta {
            Some(d) => Self::within(d),
            None => SearchQuery { window_overflow: Some(format!("{n} {unit}")), ..Self::default() },
        }
    }
    /// The last `n` seconds.
    pub fn seconds(n: i64) -> Self {
        Self::window_of(n, "seconds", TimeDelta::try_seconds(n))
    }
    /// The last `n` minutes.
    pub fn minutes(n: i64) -> Self {
        Self::window_of(n, "minutes", TimeDelta::try_minutes(n))
    }
    /// The last `n` hours.
    pub fn hours(n: i64) -> Self {
        Self::window_of(n, "hours", TimeDelta::try_hours(n))
    }
    /// The last `n` days.
    pub fn days(n: i64) -> Self {
        Self::window_of(n, "days", TimeDelta::try_days(n))
    }

    /// The window length, if any.
    pub fn window(&self) -> Option<TimeDelta> {
        self.window
    }

    /// Every one of these must hold (one clause or many).
    pub fn must(mut self, c: impl Clauses) -> Self {
        c.push_into(&mut self.must);
        self
    }
    /// At least one of the `should` clauses must hold (`minimum_should_match: 1`).
    pub fn should(mut self, c: impl Clauses) -> Self {
        c.push_into(&mut self.should);
        self
    }
    /// None of these may hold.
    pub fn must_not(mut self, c: impl Clauses) -> Self {
        c.push_into(&mut self.must_not);
        self
    }
    /// Compute an aggregation over the matching events.
    pub fn aggregate(mut self, agg: Aggregation) -> Self {
        self.aggregations.push(agg);
        self
    }

    /// Check every clause and resolve the window against `now`.
    pub fn compile(&self, now: DateTime<Utc>) -> Result<CompiledQuery, DslError> {
        let lower = |v: &[Matcher]| v.iter().map(Matcher::to_ast).collect::<Result<Vec<_>, _>>();
        let mut must = Vec::with_capacity(self.must.len() + 1);
        if let Some(w) = &self.window_overflow {
            return Err(DslError::Invalid {
                matcher: "SearchQuery",
                reason: format!("a time window of {w} is too long to represent"),
            });
        }
        let since = match self.window {
            Some(w) if w <= TimeDelta::zero() => {
                return Err(DslError::Invalid {
                    matcher: "SearchQuery",
                    reason: "the time window must be longer than zero".into(),
                })
            }
            Some(w) => {
                let since = now.checked_sub_signed(w).ok_or_else(|| DslError::Invalid {
                    matcher: "SearchQuery",
                    reason: format!("the time window ({w}) reaches before the earliest representable time"),
                })?;
                must.push(time_window(since, now));
                Some(since)
            }
            None => None,
        };
        must.extend(lower(&self.must)?);
        let should = lower(&self.should)?;
        let must_not = lower(&self.must_not)?;
        let query = if should.is_empty() && must_not.is_empty() {
            QueryAst::all(must)
        } else {
            QueryAst::Bool { must, should, must_not }
        };
        validate_aggregations(&self.aggregations)?;
        Ok(CompiledQuery { query, aggregations: self.aggregations.clone(), since, now })
    }
}

/// `utctimestamp` or `receivedtimestamp` within `[since, now]`.
pub fn time_window(since: DateTime<Utc>, now: DateTime<Utc>) -> QueryAst {
    QueryAst::any(
        WINDOW_FIELDS
            .iter()
            .map(|f| QueryAst::Range {
                field: (*f).to_string(),
                lower: Some(Bound::inclusive(since)),
                upper: Some(Bound::inclusive(now)),
            })
            .collect(),
    )
}

impl Aggregation {
    /// The most frequent values of `field` (10 buckets, 1 sampled hit each, until changed).
    pub fn terms(field: impl Into<String>) -> Self {
        let field = field.into();
        Aggregation {
            name: field.clone(),
            kind: AggregationKind::Terms { field, size: 10, samples: 1, min_count: 1 },
            subs: vec![],
        }
    }
    /// The number of distinct values of `field`.
    pub fn cardinality(field: impl Into<String>) -> Self {
        let field = field.into();
        Aggregation { name: field.clone(), kind: AggregationKind::Cardinality { field }, subs: vec![] }
    }
    /// Counts per `interval_secs`-wide bucket of the date `field`.
    pub fn date_histogram(field: impl Into<String>, interval_secs: u64) -> Self {
        let field = field.into();
        Aggregation {
            name: field.clone(),
            kind: AggregationKind::DateHistogram { field, interval_secs },
            subs: vec![],
        }
    }
    /// Report the results under this name (default: the field).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    /// Terms: how many buckets (no effect on other kinds).
    pub fn size(mut self, n: usize) -> Self {
        if let AggregationKind::Terms { size, .. } = &mut self.kind {
            *size = n;
        }
        self
    }
    /// Terms: hits sampled per bucket, most recent first (no effect on other kinds).
    pub fn samples(mut self, n: usize) -> Self {
        if let AggregationKind::Terms { samples, .. } = &mut self.kind {
            *samples = n;
        }
        self
    }
    /// Terms: leave out buckets with fewer documents (no effect on other kinds).
    pub fn min_count(mut self, n: u64) -> Self {
        if let AggregationKind::Terms { min_count, .. } = &mut self.kind {
            *min_count = n;
        }
        self
    }
    /// Compute `sub` inside each bucket.
    pub fn per_bucket(mut self, sub: Aggregation) -> Self {
        self.subs.push(sub);
        self
    }
    /// The field this aggregation reads.
    pub fn field(&self) -> &str {
        match &self.kind {
            AggregationKind::Terms { field, .. }
            | AggregationKind::Cardinality { field }
            | AggregationKind::DateHistogram { field, .. } => field,
        }
    }
}

/// Largest terms `size` and `samples` accepted, OpenSearch's own default limits.
pub const MAX_BUCKETS: usize = 10_000;
/// Longest date-histogram interval accepted: 100 years of seconds.
pub const MAX_INTERVAL_SECS: u64 = 3_155_760_000;
/// Largest number of hits sampled per bucket (OpenSearch's `max_inner_result_window`).
pub const MAX_SAMPLES: usize = 100;

/// Check aggregations before any store runs them: names, fields (a date histogram needs a date
/// field), sizes and intervals within bounds, sibling names distinct. Both stores call this, so
/// every front end (SearchQuery, plans, the CLI, Sigma) gets the same answer.
pub fn validate_aggregations(aggs: &[Aggregation]) -> Result<(), DslError> {
    for agg in aggs {
        validate_aggregation(agg)?;
    }
    check_sibling_names(aggs)
}

fn validate_aggregation(agg: &Aggregation) -> Result<(), DslError> {
    let bad = |reason: String| Err(DslError::Aggregation { name: agg.name.clone(), reason });
    if agg.name.is_empty() {
        return bad("the name is empty".into());
    }
    if agg.name.contains(['[', ']', '>']) {
        return bad("a name may not contain '[', ']' or '>' (OpenSearch reserves them for paths)".into());
    }
    if agg.field().is_empty() || agg.field().split('.').any(str::is_empty) {
        return bad(format!("invalid field {:?}", agg.field()));
    }
    match &agg.kind {
        AggregationKind::Terms { size, samples, min_count, .. } => {
            if *min_count == 0 {
                return bad(
                    "min_count must be at least 1 (OpenSearch would report values from events outside the query)"
                        .into(),
                );
            }
            if *size == 0 || *size > MAX_BUCKETS {
                return bad(format!("size must be 1..={MAX_BUCKETS}, not {size}"));
            }
            if *samples > MAX_SAMPLES {
                return bad(format!("samples must be at most {MAX_SAMPLES}, not {samples}"));
            }
        }
        AggregationKind::Cardinality { .. } => {
            if !agg.subs.is_empty() {
                return bad("a cardinality aggregation has no sub-aggregations".into());
            }
        }
        AggregationKind::DateHistogram { field, interval_secs } => {
            if !crate::is_date_field(field) {
                return bad(format!(
                    "{field:?} is not a date field (the date fields are {})",
                    crate::DATE_FIELDS.join(", ")
                ));
            }
            if *interval_secs == 0 || *interval_secs > MAX_INTERVAL_SECS {
                return bad(format!(
                    "the interval must be 1 to {MAX_INTERVAL_SECS} seconds (100 years), not {interval_secs}"
                ));
            }
        }
    }
    for s in &agg.subs {
        validate_aggregation(s)?;
    }
    check_sibling_names(&agg.subs)
}

fn check_sibling_names(aggs: &[Aggregation]) -> Result<(), DslError> {
    for (i, a) in aggs.iter().enumerate() {
        if aggs[..i].iter().any(|b| b.name == a.name) {
            return Err(DslError::Aggregation {
                name: a.name.clone(),
                reason: "two aggregations at the same level share this name; rename one with .named()".into(),
            });
        }
        if a.name == crate::opensearch::SAMPLES_AGG {
            return Err(DslError::Aggregation {
                name: a.name.clone(),
                reason: format!("{:?} is reserved for sampled hits", crate::opensearch::SAMPLES_AGG),
            });
        }
    }
    Ok(())
}
