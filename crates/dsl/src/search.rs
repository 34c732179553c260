//! `SearchQuery`: a time window, boolean clauses and aggregations, compiled against a clock.
//!
//! A window is by **event time**: it keeps events whose [`WINDOW_FIELD`] (`utctimestamp`, when the
//! event happened) lies in it. When an event was received (`receivedtimestamp`) never widens a
//! window, so logs ingested long after they were written (a backfill, a replayed archive) are
//! found at their own time, not at the time of the ingest. A compiled query also carries its
//! filter without the window and the window's length, so that a runner can place windows of that
//! length elsewhere (`tripline_runtime` looks back a lateness allowance for late deliveries).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::ast::{Aggregation, AggregationKind, Bound, QueryAst};
use crate::matchers::{Clauses, Matcher};
use crate::DslError;

/// The field a time window looks at: when the event happened. `receivedtimestamp` (when Tripline
/// received it) stays stored and searchable but never places an event in a window.
pub const WINDOW_FIELD: &str = "utctimestamp";

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
    /// The filter, time window included: `utctimestamp` in `[since, now]` when there is a window.
    pub query: QueryAst,
    /// Aggregations to compute over the matching events.
    pub aggregations: Vec<Aggregation>,
    /// Start of the time window, if there is one.
    pub since: Option<DateTime<Utc>>,
    /// The clock reading the query was compiled at.
    pub now: DateTime<Utc>,
    /// The query's clauses without the time window: [`QueryAst::MatchAll`] when it has none,
    /// else one boolean query of its `must`, `should` and `must_not` clauses as written (not
    /// simplified, so that [`between`](Self::between) rebuilds `query`'s exact shape).
    #[serde(default = "match_all")]
    pub filter: QueryAst,
    /// The window's length (`now − since`), if there is one.
    #[serde(default)]
    pub window: Option<TimeDelta>,
}

fn match_all() -> QueryAst {
    QueryAst::MatchAll
}

impl CompiledQuery {
    /// The same clauses over another event-time window: `utctimestamp` in `[since, until]`
    /// (inclusive) and [`filter`](Self::filter). `query` is `between(since, now)`.
    pub fn between(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> QueryAst {
        assemble(&self.filter, Some(time_window(since, until)))
    }
}

/// The window (first) and the filter's clauses, simplified: a plain conjunction when there is no
/// `should` or `must_not`, a single clause as itself.
fn assemble(filter: &QueryAst, window: Option<QueryAst>) -> QueryAst {
    let (must, should, must_not) = match filter {
        QueryAst::MatchAll => (vec![], vec![], vec![]),
        QueryAst::Bool { must, should, must_not } => (must.clone(), should.clone(), must_not.clone()),
        other => (vec![other.clone()], vec![], vec![]),
    };
    let must: Vec<QueryAst> = window.into_iter().chain(must).collect();
    if should.is_empty() && must_not.is_empty() {
        QueryAst::all(must)
    } else {
        QueryAst::Bool { must, should, must_not }
    }
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

    /// The same query over another window (tuning a deployed alert's window without its code).
    pub fn with_window(mut self, window: TimeDelta) -> Self {
        self.window = Some(window);
        self.window_overflow = None;
        self
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

    /// Check every clause and resolve the window against `now`: `query` keeps events whose
    /// `utctimestamp` lies in `[now − window, now]`.
    pub fn compile(&self, now: DateTime<Utc>) -> Result<CompiledQuery, DslError> {
        let lower = |v: &[Matcher]| v.iter().map(Matcher::to_ast).collect::<Result<Vec<_>, _>>();
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
            Some(w) => Some(now.checked_sub_signed(w).ok_or_else(|| DslError::Invalid {
                matcher: "SearchQuery",
                reason: format!("the time window ({w}) reaches before the earliest representable time"),
            })?),
            None => None,
        };
        let must = lower(&self.must)?;
        let should = lower(&self.should)?;
        let must_not = lower(&self.must_not)?;
        let filter = if must.is_empty() && should.is_empty() && must_not.is_empty() {
            QueryAst::MatchAll
        } else {
            QueryAst::Bool { must, should, must_not }
        };
        validate_aggregations(&self.aggregations)?;
        let query = assemble(&filter, since.map(|since| time_window(since, now)));
        Ok(CompiledQuery {
            query,
            aggregations: self.aggregations.clone(),
            since,
            now,
            filter,
            window: self.window,
        })
    }
}

/// `utctimestamp` within `[since, until]` (both inclusive): an event-time window.
pub fn time_window(since: DateTime<Utc>, until: DateTime<Utc>) -> QueryAst {
    QueryAst::Range {
        field: WINDOW_FIELD.to_string(),
        lower: Some(Bound::inclusive(since)),
        upper: Some(Bound::inclusive(until)),
    }
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
        if a.name == crate::ast::SAMPLES_AGG {
            return Err(DslError::Aggregation {
                name: a.name.clone(),
                reason: format!("{:?} is reserved for sampled hits", crate::ast::SAMPLES_AGG),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod window_tests {
    use super::*;
    use crate::matchers::{BooleanMatch, TermMatch};

    fn t(s: &str) -> DateTime<Utc> {
        crate::parse_timestamp(s).expect("time")
    }

    #[test]
    fn windows_are_by_event_time_and_can_be_moved() {
        let now = t("2026-11-23T12:00:00Z");
        let q = SearchQuery::minutes(20)
            .must(BooleanMatch::new().should((TermMatch("a", 1), TermMatch("b", 2))))
            .must_not(TermMatch("c", 3));
        let c = q.compile(now).expect("valid");
        assert_eq!(c.window, Some(TimeDelta::minutes(20)));
        assert_eq!(c.since, Some(t("2026-11-23T11:40:00Z")));
        assert!(!c.query.fields().contains(&"receivedtimestamp"), "{:?}", c.query);
        assert_eq!(c.between(t("2026-11-23T11:40:00Z"), now), c.query);
        // Another window: the same clauses, the bounds moved, still only utctimestamp.
        let settled = c.between(t("2026-11-23T11:10:00Z"), t("2026-11-23T11:30:00Z"));
        let QueryAst::Bool { must, must_not, .. } = &settled else { panic!("{settled:?}") };
        assert_eq!(must[0], time_window(t("2026-11-23T11:10:00Z"), t("2026-11-23T11:30:00Z")));
        assert_eq!(must.len(), 2, "the window and the user's own boolean clause, unfolded");
        assert_eq!(must_not.len(), 1);
        // No clauses at all: the window alone; no window: the clauses alone.
        let bare = SearchQuery::hours(1).compile(now).expect("valid");
        assert_eq!(bare.filter, QueryAst::MatchAll);
        assert_eq!(bare.query, time_window(t("2026-11-23T11:00:00Z"), now));
        let forever = SearchQuery::all_time().must(TermMatch("a", 1)).compile(now).expect("valid");
        assert_eq!((forever.window, forever.since), (None, None));
        assert_eq!(
            forever.query,
            QueryAst::Term { field: "a".into(), value: crate::Value::Int(1), case_insensitive: false }
        );
    }
}
