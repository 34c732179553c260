//! Run one alert against a store at a given clock: evaluate, deliver, tag.
//!
//! [`Runner::evaluate`] has no side effects: it compiles the alert's query at `now`, places its
//! event-time windows ([`passes`]: the lateness allowance of [`RunOptions::lateness`] decides
//! where), leaves out events that already raised this alert (`must_not alert_names = name`,
//! MozDef's dedup), executes the alert's [`Plan`] over each window and turns what the alert says
//! into [`AlertRecord`]s with deterministic ids. [`Runner::run`] does the same passes, and after
//! each one delivers what it raised in the order the [crate docs](crate) explain and tags the
//! events last, so the next pass (and the next run) leaves them out.

use std::collections::BTreeMap;
use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::Value as Json;
use tracing::{info, warn};
use tripline_alerts::{Alert, AlertDraft, Group, Plan, Remediation};
use tripline_dsl::{Aggregation, CompiledQuery, DslError, QueryAst, Value};
use tripline_event::{AlertRecord, EventRef};
use tripline_store::{AggregationValue, DocRef, EventStore, Hit, SearchRequest, Sort, StoreError};

use crate::sinks::{AlertsIndex, Delivery, SinkError, Sinks, SNS, STEP_FUNCTIONS};

/// The field that lists the alerts an event already raised.
pub const ALERT_NAMES_FIELD: &str = "alert_names";

/// What can stop a run. Every variant names the alert; any of them means "retry the run".
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The alert's query does not compile.
    #[error("alert {alert}: query: {source}")]
    Query {
        /// The alert.
        alert: String,
        /// Why.
        source: DslError,
    },
    /// The alert's query aggregates: an alert aggregates through its plan
    /// ([`Plan::Aggregation`]), never through the query.
    #[error("alert {alert}: its query aggregates ({names}); an alert aggregates through its plan (Plan::Aggregation), so the query must not")]
    AggregationInQuery {
        /// The alert.
        alert: String,
        /// The query's aggregation names.
        names: String,
    },
    /// The store failed.
    #[error("alert {alert}: store, while {during}: {source}")]
    Store {
        /// The alert.
        alert: String,
        /// What the runner was doing.
        during: &'static str,
        /// Why.
        source: StoreError,
    },
    /// The store refused some documents (alerts or event tags).
    #[error("alert {alert}: {during}: {count} document(s) refused, first {first_id}: {first_reason}")]
    Refused {
        /// The alert.
        alert: String,
        /// What the runner was doing.
        during: &'static str,
        /// How many were refused.
        count: usize,
        /// The first refused document's id.
        first_id: String,
        /// The engine's reason.
        first_reason: String,
    },
    /// The store's answer lacks what was asked for.
    #[error("alert {alert}: malformed store answer: {reason}")]
    Malformed {
        /// The alert.
        alert: String,
        /// What was missing.
        reason: String,
    },
    /// A sink (SNS, Step Functions) failed.
    #[error("alert {alert}: {source}")]
    Sink {
        /// The alert.
        alert: String,
        /// Why.
        source: SinkError,
    },
}

/// How late an event may arrive by default and still alert: 30 minutes. CloudTrail delivers
/// typically 5 to 15 minutes after the call; the margin covers a slow delivery or a retried
/// ingest.
pub const DEFAULT_LATENESS: TimeDelta = TimeDelta::minutes(30);

/// The largest lateness allowance: 24 hours.
pub const MAX_LATENESS: TimeDelta = TimeDelta::hours(24);

const LATENESS_FORMAT: &str = "a whole number and a unit s, m or h (e.g. 0s, 15m, 2h), 0s to 24h";

/// A lateness allowance as `tripline run --lateness` and `TRIPLINE_LATENESS` take it: `30m`,
/// `900s`, `2h`, `0` (or `0s`: no allowance); 0s to [`MAX_LATENESS`].
pub fn parse_lateness(text: &str) -> Result<TimeDelta, String> {
    use tripline_dsl::duration::{parse_secs, DurationError, UNITS_SMHD};
    let out_of_range = || format!("{:?} is out of range: the lateness is 0s to 24h", text.trim());
    let secs = match parse_secs(text, &UNITS_SMHD[..3], true) {
        Ok(secs) => secs,
        Err(DurationError::TooLarge) => return Err(out_of_range()),
        Err(_) => return Err(format!("{:?} is not a lateness: expected {LATENESS_FORMAT}", text.trim())),
    };
    i64::try_from(secs)
        .ok()
        .and_then(TimeDelta::try_seconds)
        .filter(|d| *d <= MAX_LATENESS)
        .ok_or_else(out_of_range)
}

/// How records are dressed, how much is tagged, and how late an event may arrive.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Runbook URL of each alert: `{name}` in it is replaced by the alert's name; without a
    /// placeholder the name is appended. `None`: alerts carry no URL.
    pub runbook_url: Option<String>,
    /// Aggregation alerts tag every event of a group that raised, up to this many per group (the
    /// rest stays a candidate for the next run).
    pub max_tagged_per_group: usize,
    /// How long after it happened (`utctimestamp`) an event may reach the store and still raise
    /// the alert ([`DEFAULT_LATENESS`]; 0 to [`MAX_LATENESS`], larger values are clamped, negative
    /// ones count as 0). Where it moves the windows: see [`passes`].
    pub lateness: TimeDelta,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { runbook_url: None, max_tagged_per_group: 10_000, lateness: DEFAULT_LATENESS }
    }
}

impl RunOptions {
    /// The runbook URL for an alert.
    pub fn url_for(&self, name: &str) -> String {
        match &self.runbook_url {
            None => String::new(),
            Some(u) if u.contains("{name}") => u.replace("{name}", name),
            Some(u) => format!("{u}{name}"),
        }
    }

    /// The lateness allowance, within 0..=[`MAX_LATENESS`].
    pub fn lateness(&self) -> TimeDelta {
        self.lateness.clamp(TimeDelta::zero(), MAX_LATENESS)
    }
}

/// Which of a run's windows a pass looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pass {
    /// The window ending a lateness allowance ago: the events in it have all arrived.
    Settled,
    /// The window ending now (for simple alerts, reaching back the allowance too).
    Current,
}

/// An event-time window: `utctimestamp` in `[since, until]`, both inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    /// First instant in the window.
    #[serde(with = "tripline_event::ts")]
    pub since: DateTime<Utc>,
    /// Last instant in the window.
    #[serde(with = "tripline_event::ts")]
    pub until: DateTime<Utc>,
}

/// One pass of a run: which window, placed where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Settled or current.
    pub pass: Pass,
    /// The event-time window (`None`: the query has no window, all time).
    pub window: Option<Window>,
}

/// The passes a run of an alert with this plan makes at `now`, in order: each is the plan
/// executed over one event-time window (`None`: the query has no window, one pass over all
/// time). With a window of length `w` and a lateness allowance `L`:
///
/// - [`Plan::Simple`]: one pass, `[now − w − L, now]`. Tags make each event raise once, however
///   late (up to `L`) it arrives.
/// - [`Plan::Aggregation`]: counted over windows of exactly `w`, never `w + L`: first the
///   **settled** window `[now − L − w, now − L]` (late events have arrived by now), then the
///   **current** one `[now − w, now]`, which leaves out what the settled pass raised. With
///   `L = 0`, the current window alone.
/// - [`Plan::Deadman`]: the settled window alone: silence is known once late events had time to
///   arrive.
pub fn passes(
    plan: &Plan,
    window: Option<TimeDelta>,
    lateness: TimeDelta,
    now: DateTime<Utc>,
) -> Result<Vec<Step>, DslError> {
    let Some(w) = window else { return Ok(vec![Step { pass: Pass::Current, window: None }]) };
    let before = |t: DateTime<Utc>, d: TimeDelta| {
        t.checked_sub_signed(d).ok_or_else(|| DslError::Invalid {
            matcher: "SearchQuery",
            reason: format!(
                "the time window ({w}) with a lateness of {lateness} reaches before the earliest representable time"
            ),
        })
    };
    let settled = Window { since: before(before(now, lateness)?, w)?, until: before(now, lateness)? };
    let current = Window { since: before(now, w)?, until: now };
    let step = |pass, window| Step { pass, window: Some(window) };
    Ok(match plan {
        Plan::Simple { .. } | Plan::NewTerms { .. } => {
            vec![step(Pass::Current, Window { since: settled.since, until: now })]
        }
        Plan::Aggregation { .. } | Plan::Temporal { .. } if lateness > TimeDelta::zero() => {
            vec![step(Pass::Settled, settled), step(Pass::Current, current)]
        }
        Plan::Aggregation { .. } | Plan::Temporal { .. } => vec![step(Pass::Current, current)],
        Plan::Deadman => vec![step(Pass::Settled, settled)],
    })
}

/// One alert a run raised, and the events to tag once it is delivered.
#[derive(Clone, Debug, PartialEq)]
pub struct Raised {
    /// The MozDef alert.
    pub record: AlertRecord,
    /// The events it stands for (for aggregations: every event of the group, not only samples).
    pub tag: Vec<DocRef>,
    /// The pass that raised it.
    pub pass: Pass,
    /// The event-time window that pass looked at (`None`: all time).
    pub window: Option<Window>,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunReport {
    /// The alert's name.
    pub alert: String,
    /// The clock the run used.
    #[serde(with = "tripline_event::ts")]
    pub now: DateTime<Utc>,
    /// Alerts raised (as written to the alerts index, delivery markers included), the settled
    /// pass's first.
    pub raised: Vec<AlertRecord>,
    /// How many of `raised` the settled pass raised (aggregations over late events, deadmen).
    pub raised_settled: usize,
    /// Deliveries this run made, by sink name (`sns`, `stepfunctions`, `webhook:NAME`).
    pub delivered: BTreeMap<String, usize>,
    /// Alerts a sink had already received from an earlier (failed) attempt, by sink name: the
    /// receipt in the alerts index, or the sink's own idempotency (an existing execution).
    pub already_delivered: BTreeMap<String, usize>,
    /// Events tagged with the alert's name.
    pub events_tagged: u64,
}

impl RunReport {
    /// Deliveries this run made to `sink`.
    pub fn delivered_to(&self, sink: &str) -> usize {
        self.delivered.get(sink).copied().unwrap_or(0)
    }
    /// Alerts `sink` had already received from an earlier attempt.
    pub fn already_delivered_to(&self, sink: &str) -> usize {
        self.already_delivered.get(sink).copied().unwrap_or(0)
    }
    /// SNS messages published by this run.
    pub fn sns_published(&self) -> usize {
        self.delivered_to(SNS)
    }
    /// Remediation executions started by this run.
    pub fn executions_started(&self) -> usize {
        self.delivered_to(STEP_FUNCTIONS)
    }
}

/// Runs alerts against one store and delivers to its sinks. Cheap to build per invocation.
pub struct Runner<'a> {
    store: &'a dyn EventStore,
    sinks: Sinks,
    options: RunOptions,
}

/// What one pass found: the alerts, and what later passes of the same run must leave out.
struct PassResult {
    raised: Vec<Raised>,
    /// The events the pass's alerts will tag, as a query (aggregation groups in its window), so
    /// that the next pass leaves them out in a dry run (no tags) exactly as in a run (tags).
    exclude: Option<QueryAst>,
}

impl<'a> Runner<'a> {
    /// A runner over `store` that writes alerts to its alerts index and nothing else.
    pub fn new(store: &'a dyn EventStore) -> Self {
        Runner { store, sinks: Sinks::default(), options: RunOptions::default() }
    }

    /// Also deliver to these sinks.
    pub fn with_sinks(mut self, sinks: Sinks) -> Self {
        self.sinks = sinks;
        self
    }

    /// Use these options.
    pub fn with_options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    fn store_err<'n>(alert: &'n str, during: &'static str) -> impl FnOnce(StoreError) -> RunError + 'n {
        move |source| RunError::Store { alert: alert.to_string(), during, source }
    }

    /// The alert's query compiled at `now`, and the passes a run at `now` makes.
    fn prepare(&self, alert: &dyn Alert, now: DateTime<Utc>) -> Result<(CompiledQuery, Vec<Step>), RunError> {
        let name = alert.name();
        let query_err = |source| RunError::Query { alert: name.to_string(), source };
        let compiled = alert.query().compile(now).map_err(query_err)?;
        if !compiled.aggregations.is_empty() {
            let names: Vec<&str> = compiled.aggregations.iter().map(|a| a.name.as_str()).collect();
            return Err(RunError::AggregationInQuery { alert: name.to_string(), names: names.join(", ") });
        }
        let passes =
            passes(&alert.plan(), compiled.window, self.options.lateness(), now).map_err(query_err)?;
        Ok((compiled, passes))
    }

    /// What the alert raises at `now`, without writing, sending or tagging anything: the same
    /// alerts [`Runner::run`] raises at `now` over the same store (each pass leaves out what the
    /// pass before raised, as the tags would).
    pub async fn evaluate(&self, alert: &dyn Alert, now: DateTime<Utc>) -> Result<Vec<Raised>, RunError> {
        let (compiled, passes) = self.prepare(alert, now)?;
        let mut exclude = Vec::new();
        let mut out: Vec<Raised> = Vec::new();
        for Step { pass, window } in passes {
            let found = self.evaluate_pass(alert, &compiled, pass, window, now, &exclude).await?;
            exclude.extend(found.exclude);
            for r in found.raised {
                if !out.iter().any(|o| o.record.id == r.record.id) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    /// One pass: the plan over one window, minus tagged events and what earlier passes raised.
    async fn evaluate_pass(
        &self,
        alert: &dyn Alert,
        compiled: &CompiledQuery,
        pass: Pass,
        window: Option<Window>,
        now: DateTime<Utc>,
        exclude: &[QueryAst],
    ) -> Result<PassResult, RunError> {
        let name = alert.name();
        let windowed = match window {
            Some(w) => compiled.between(w.since, w.until),
            None => compiled.filter.clone(),
        };
        let query = match exclude_raised(windowed, name) {
            QueryAst::Bool { must, should, mut must_not } => {
                must_not.extend(exclude.iter().cloned());
                QueryAst::Bool { must, should, must_not }
            }
            other => other,
        };
        let mut out: Vec<(AlertDraft, Vec<DocRef>)> = Vec::new();
        let mut excluded = None;
        match alert.plan() {
            Plan::Simple { limit } => {
                // Every matching event is judged, `limit` at a time, oldest first: an alert that
                // reads each event (a policy document) must not let a flood of ordinary matches
                // push the one that matters out of its run.
                let page = limit.max(1);
                let mut seen: HashSet<(String, String)> = HashSet::new();
                let mut after: Option<DateTime<Utc>> = None;
                for n in 0..MAX_SIMPLE_PAGES {
                    let q = match after {
                        None => query.clone(),
                        Some(t) => QueryAst::all(vec![
                            query.clone(),
                            QueryAst::Range {
                                field: tripline_dsl::WINDOW_FIELD.to_string(),
                                lower: Some(tripline_dsl::Bound::inclusive(t)),
                                upper: None,
                            },
                        ]),
                    };
                    let request = SearchRequest { query: q, size: page, sort: Sort::OldestFirst };
                    let found = self
                        .store
                        .search(&request)
                        .await
                        .map_err(Self::store_err(name, "searching events"))?;
                    if n == 0 && found.unindexed_candidates > 0 {
                        tracing::warn!(
                            alert = name,
                            events = found.unindexed_candidates,
                            "events hold values too long to index in a field this alert matches on: they may match unseen"
                        );
                    }
                    let mut fresh = 0;
                    for hit in &found.hits {
                        if !seen.insert((hit.index.clone(), hit.id.clone())) {
                            continue;
                        }
                        fresh += 1;
                        after = hit_time(hit).or(after);
                        if let Some(draft) = alert.on_event(&event_ref(hit)) {
                            let tag = refs(&draft.events);
                            out.push((draft, tag));
                        }
                    }
                    if found.hits.len() < page {
                        break;
                    }
                    if fresh == 0 {
                        warn!(
                            alert = name,
                            page, "more events than one page share a timestamp: some were not judged"
                        );
                        break;
                    }
                    if n + 1 == MAX_SIMPLE_PAGES {
                        warn!(
                            alert = name,
                            judged = seen.len(),
                            total = found.total,
                            "more matching events than one run judges: the newest wait for the next run"
                        );
                    }
                }
            }
            Plan::Aggregation { field, threshold, samples, max_groups, per_bucket } => {
                let threshold = threshold.max(1);
                let mut agg =
                    Aggregation::terms(field.clone()).size(max_groups).samples(samples).min_count(threshold);
                agg.subs = per_bucket;
                let buckets = self.buckets(name, &query, &agg, "aggregating events").await?;
                let groups = buckets
                    .into_iter()
                    .filter(|b| b.count >= threshold)
                    .map(|bucket| Group {
                        value: bucket.key.clone(),
                        count: bucket.count,
                        samples: bucket.samples.iter().map(event_ref).collect(),
                        metrics: bucket.subs.iter().map(|s| (s.name.clone(), s.value.clone())).collect(),
                    })
                    .collect();
                excluded = self.raise_groups(alert, &query, &field, groups, now, window, &mut out).await?;
            }
            Plan::Temporal { field, parts, ordered, samples, max_groups } => {
                let groups =
                    self.temporal_groups(name, &query, &field, &parts, ordered, samples, max_groups).await?;
                excluded = self.raise_groups(alert, &query, &field, groups, now, window, &mut out).await?;
            }
            Plan::NewTerms { fields, history, samples, max_groups } => {
                let Some(w) = window else {
                    return Err(RunError::Malformed {
                        alert: name.to_string(),
                        reason: "a first-seen alert needs a time window".into(),
                    });
                };
                let groups =
                    self.new_terms(name, compiled, &query, w, &fields, history, samples, max_groups).await?;
                for (pop, field, groups) in groups {
                    if let Some(e) =
                        self.raise_groups(alert, &pop, &field, groups, now, window, &mut out).await?
                    {
                        excluded = Some(e);
                    }
                }
            }
            Plan::Deadman => {
                let request = SearchRequest { query, size: 0, sort: Sort::NewestFirst };
                let found =
                    self.store.search(&request).await.map_err(Self::store_err(name, "counting events"))?;
                if found.total == 0 {
                    if let Some(mut draft) = alert.on_silence() {
                        if draft.key.is_empty() {
                            // One deadman alert per silent window: a retry at the same clock
                            // repeats it, the next scheduled run raises its own.
                            let w = window.unwrap_or(Window { since: now, until: now });
                            draft.key = format!(
                                "{}/{}",
                                tripline_event::format_timestamp(w.since),
                                tripline_event::format_timestamp(w.until)
                            );
                        }
                        let tag = refs(&draft.events);
                        out.push((draft, tag));
                    }
                }
            }
        }
        let mut seen = HashSet::new();
        let mut raised = Vec::with_capacity(out.len());
        for (draft, mut tag) in out {
            let record = self.record(name, draft, now, window);
            if !seen.insert(record.id.clone()) {
                continue;
            }
            let mut unique = HashSet::new();
            tag.retain(|r| unique.insert(r.clone()));
            raised.push(Raised { record, tag, pass, window });
        }
        Ok(PassResult { raised, exclude: excluded })
    }

    /// Hand each group to the alert (judged at the end of the window it was counted in), with
    /// every event of the raised groups to tag; returns what this pass excludes from the next:
    /// the raised groups' events in its window.
    #[allow(clippy::too_many_arguments)]
    async fn raise_groups(
        &self,
        alert: &dyn Alert,
        query: &QueryAst,
        field: &str,
        groups: Vec<Group>,
        now: DateTime<Utc>,
        window: Option<Window>,
        out: &mut Vec<(AlertDraft, Vec<DocRef>)>,
    ) -> Result<Option<QueryAst>, RunError> {
        let clock = window.map_or(now, |w| w.until);
        let mut raised_groups = Vec::new();
        for group in groups {
            let Some(draft) = alert.on_aggregation_at(&group, clock) else { continue };
            let mut tag = refs(&draft.events);
            tag.extend(self.group_members(alert.name(), query, field, &group).await?);
            raised_groups.extend(json_to_value(&group.value));
            out.push((draft, tag));
        }
        Ok(match (window, raised_groups.is_empty()) {
            (Some(w), false) => Some(QueryAst::all(vec![
                QueryAst::Terms { field: field.to_string(), values: raised_groups },
                tripline_dsl::search::time_window(w.since, w.until),
            ])),
            _ => None,
        })
    }

    /// The groups in which every part matched (in order, when `ordered`), each counted by the
    /// engine: one terms aggregation per part over `query` AND the part.
    #[allow(clippy::too_many_arguments)]
    async fn temporal_groups(
        &self,
        name: &str,
        query: &QueryAst,
        field: &str,
        parts: &[QueryAst],
        ordered: bool,
        samples: usize,
        max_groups: usize,
    ) -> Result<Vec<Group>, RunError> {
        let mut per_part: Vec<Vec<tripline_dsl::Bucket>> = Vec::with_capacity(parts.len());
        for part in parts {
            let q = QueryAst::all(vec![query.clone(), part.clone()]);
            let agg = Aggregation::terms(field.to_string()).size(max_groups).samples(samples).min_count(1);
            let b = self.buckets(name, &q, &agg, "aggregating a correlation's part").await?;
            if b.len() >= max_groups {
                warn!(
                    alert = name,
                    groups = b.len(),
                    "a correlation part has as many groups as max_groups: some may be left out"
                );
            }
            per_part.push(b);
        }
        let Some((first, rest)) = per_part.split_first() else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        'groups: for bucket in first {
            let mut members = vec![bucket];
            for other in rest {
                match other.iter().find(|b| b.key == bucket.key) {
                    Some(b) => members.push(b),
                    None => continue 'groups,
                }
            }
            let Some(value) = json_to_value(&bucket.key) else { continue };
            if ordered && !self.in_order(name, query, field, &value, parts).await? {
                continue;
            }
            let mut samples = Vec::new();
            for m in &members {
                samples.extend(m.samples.iter().map(event_ref));
            }
            out.push(Group {
                value: bucket.key.clone(),
                count: members.iter().map(|m| m.count).sum(),
                samples,
                metrics: members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (format!("part_{i}"), AggregationValue::Count(m.count)))
                    .collect(),
            });
        }
        Ok(out)
    }

    /// The first-seen values of a [`Plan::NewTerms`] alert in window `w`, per key field: the
    /// query selecting the events keyed by that field, the field, and the new values' groups.
    #[allow(clippy::too_many_arguments)]
    async fn new_terms(
        &self,
        name: &str,
        compiled: &CompiledQuery,
        query: &QueryAst,
        w: Window,
        fields: &[String],
        history: TimeDelta,
        samples: usize,
        max_groups: usize,
    ) -> Result<Vec<(QueryAst, String, Vec<Group>)>, RunError> {
        let Some(baseline) = w.since.checked_sub_signed(history) else {
            return Err(RunError::Malformed {
                alert: name.to_string(),
                reason: format!("the look-back of {history} reaches before the earliest representable time"),
            });
        };
        let before = |t: DateTime<Utc>| QueryAst::Range {
            field: tripline_dsl::WINDOW_FIELD.to_string(),
            lower: None,
            upper: Some(tripline_dsl::Bound::exclusive(t)),
        };
        let terms = |field: &str, size: usize, samples: usize| {
            Aggregation::terms(field.to_string()).size(size).samples(samples).min_count(1)
        };
        let mut out = Vec::new();
        let mut baselined = false;
        for (i, field) in fields.iter().enumerate() {
            // Events keyed by this field: they have it, and none of the fields before it.
            let keyed = |q: QueryAst| QueryAst::Bool {
                must: vec![q, QueryAst::Exists { field: field.clone() }],
                should: vec![],
                must_not: fields[..i].iter().map(|f| QueryAst::Exists { field: f.clone() }).collect(),
            };
            let pop = keyed(query.clone());
            let agg = terms(field, max_groups, samples);
            let buckets = self.buckets(name, &pop, &agg, "aggregating first-seen candidates").await?;
            if buckets.is_empty() {
                continue;
            }
            // A baseline: the store holds events of the same source (CloudTrail) older than the
            // look-back. Without one, every value would be new.
            if !baselined {
                let source = buckets
                    .iter()
                    .flat_map(|b| b.samples.iter())
                    .find_map(|h| h.source.get("source").and_then(|v| v.as_str()).map(str::to_string));
                let mut must = vec![before(baseline)];
                if let Some(src) = source {
                    must.push(QueryAst::Term {
                        field: "source".into(),
                        value: Value::Str(src),
                        case_insensitive: false,
                    });
                }
                let older = SearchRequest { query: QueryAst::all(must), size: 0, sort: Sort::NewestFirst };
                let found = self
                    .store
                    .search(&older)
                    .await
                    .map_err(Self::store_err(name, "looking for a baseline"))?;
                if found.total == 0 {
                    warn!(
                        alert = name,
                        since = %tripline_event::format_timestamp(baseline),
                        "no events of this source older than the look-back yet: nothing is judged first seen until the store holds a full baseline"
                    );
                    return Ok(Vec::new());
                }
                baselined = true;
            }
            if buckets.len() >= max_groups {
                warn!(
                    alert = name,
                    field,
                    groups = buckets.len(),
                    "as many first-seen candidates as max_groups: some may be left out"
                );
            }
            let values: Vec<Value> = buckets.iter().filter_map(|b| json_to_value(&b.key)).collect();
            // Seen: in the look-back, or already raised by this alert inside the window.
            let raised_here = QueryAst::all(vec![
                compiled.between(w.since, w.until),
                QueryAst::Term {
                    field: ALERT_NAMES_FIELD.to_string(),
                    value: Value::Str(name.to_string()),
                    case_insensitive: false,
                },
            ]);
            let seen_query = keyed(QueryAst::all(vec![
                QueryAst::Terms { field: field.clone(), values },
                QueryAst::any(vec![
                    compiled.between(
                        baseline,
                        w.since.checked_sub_signed(TimeDelta::microseconds(1)).unwrap_or(w.since),
                    ),
                    raised_here,
                ]),
            ]));
            let seen_agg = terms(field, buckets.len(), 0);
            let seen =
                self.buckets(name, &seen_query, &seen_agg, "aggregating the first-seen look-back").await?;
            let groups: Vec<Group> = buckets
                .into_iter()
                .filter(|b| !seen.iter().any(|s| s.key == b.key))
                .map(|bucket| Group {
                    value: bucket.key.clone(),
                    count: bucket.count,
                    samples: bucket.samples.iter().map(event_ref).collect(),
                    metrics: BTreeMap::new(),
                })
                .collect();
            out.push((pop, field.clone(), groups));
        }
        Ok(out)
    }

    /// One terms aggregation's buckets.
    async fn buckets(
        &self,
        name: &str,
        query: &QueryAst,
        agg: &Aggregation,
        during: &'static str,
    ) -> Result<Vec<tripline_dsl::Bucket>, RunError> {
        let results = self
            .store
            .aggregate(query, std::slice::from_ref(agg))
            .await
            .map_err(Self::store_err(name, during))?;
        match results.into_iter().find(|r| r.name == agg.name).map(|r| r.value) {
            Some(AggregationValue::Buckets(b)) => Ok(b),
            other => Err(RunError::Malformed {
                alert: name.to_string(),
                reason: format!("terms aggregation {:?} came back as {other:?}", agg.name),
            }),
        }
    }

    /// Whether some event of each part follows one of the part before, for one group: the
    /// earliest event of the first part, then the earliest of the next part after it, and so on
    /// (that greedy chain exists exactly when any chain does).
    async fn in_order(
        &self,
        name: &str,
        query: &QueryAst,
        field: &str,
        value: &Value,
        parts: &[QueryAst],
    ) -> Result<bool, RunError> {
        let mut after: Option<DateTime<Utc>> = None;
        for part in parts {
            let mut must = vec![
                query.clone(),
                part.clone(),
                QueryAst::Term { field: field.to_string(), value: value.clone(), case_insensitive: false },
            ];
            if let Some(t) = after {
                must.push(QueryAst::Range {
                    field: tripline_dsl::WINDOW_FIELD.to_string(),
                    lower: Some(tripline_dsl::Bound::exclusive(t)),
                    upper: None,
                });
            }
            let request = SearchRequest { query: QueryAst::all(must), size: 1, sort: Sort::OldestFirst };
            let found =
                self.store.search(&request).await.map_err(Self::store_err(name, "ordering a correlation"))?;
            let Some(hit) = found.hits.first() else { return Ok(false) };
            match hit_time(hit) {
                Some(t) => after = Some(t),
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Every event of an aggregation group (up to the cap), for tagging.
    async fn group_members(
        &self,
        name: &str,
        query: &QueryAst,
        field: &str,
        group: &Group,
    ) -> Result<Vec<DocRef>, RunError> {
        let Some(value) = json_to_value(&group.value) else {
            warn!(alert = name, field, value = %group.value, "group value cannot be searched: only its samples are tagged");
            return Ok(Vec::new());
        };
        let q = QueryAst::Bool {
            must: vec![
                query.clone(),
                QueryAst::Term { field: field.to_string(), value, case_insensitive: false },
            ],
            should: vec![],
            must_not: vec![],
        };
        let size = usize::try_from(group.count).unwrap_or(usize::MAX).min(self.options.max_tagged_per_group);
        let request = SearchRequest { query: q, size, sort: Sort::NewestFirst };
        let found =
            self.store.search(&request).await.map_err(Self::store_err(name, "listing a group's events"))?;
        if found.total > size as u64 {
            warn!(alert = name, total = found.total, tagged = size, "group larger than max_tagged_per_group");
        }
        Ok(found.hits.iter().map(|h| DocRef { index: h.index.clone(), id: h.id.clone() }).collect())
    }

    fn record(
        &self,
        name: &str,
        draft: AlertDraft,
        now: DateTime<Utc>,
        window: Option<Window>,
    ) -> AlertRecord {
        let mut details = draft.details;
        // The event-time window the alert looked at: an alert raised by the settled pass is about
        // events up to the lateness allowance older than the alert.
        if let Some(w) = window {
            details.entry("window").or_insert_with(|| serde_json::to_value(w).unwrap_or(Json::Null));
        }
        // What tells this alert from others of its class (the group's value): shown by
        // `tripline backtest` and the reports.
        if !draft.key.is_empty() {
            details.entry("key").or_insert_with(|| Json::String(draft.key.clone()));
        }
        AlertRecord {
            id: AlertRecord::compute_id(name, &draft.key, &draft.events),
            utctimestamp: now,
            severity: draft.severity.as_str().to_string(),
            summary: draft.summary,
            category: draft.category,
            tags: draft.tags,
            events: draft.events,
            classname: name.to_string(),
            url: self.options.url_for(name),
            notify: true,
            details,
        }
    }

    /// Evaluate at `now`, deliver what was raised (alerts index, SNS, Step Functions when
    /// `remediation` is [`Remediation::Contain`] and a state machine is configured), then tag the
    /// events, once per pass ([`passes`]: an aggregation's settled window, then its current
    /// one). Any failure returns an error before the events are tagged, so a retry delivers
    /// what is missing and repeats nothing (see the [crate docs](crate)).
    pub async fn run(
        &self,
        alert: &dyn Alert,
        remediation: Remediation,
        now: DateTime<Utc>,
    ) -> Result<RunReport, RunError> {
        let name = alert.name();
        let (compiled, passes) = self.prepare(alert, now)?;
        let mut report = RunReport { alert: name.to_string(), now, ..RunReport::default() };
        let mut exclude = Vec::new();
        for Step { pass, window } in passes {
            let found = self.evaluate_pass(alert, &compiled, pass, window, now, &exclude).await?;
            exclude.extend(found.exclude);
            let delivered = self.deliver(alert, remediation, &found.raised, &mut report).await?;
            if pass == Pass::Settled {
                report.raised_settled += delivered.len();
            }
            report.raised.extend(delivered);
        }
        if report.raised.is_empty() {
            info!(alert = name, "nothing raised");
        } else {
            info!(
                alert = name,
                raised = report.raised.len(),
                raised_settled = report.raised_settled,
                sns_published = report.sns_published(),
                executions_started = report.executions_started(),
                events_tagged = report.events_tagged,
                "run delivered"
            );
        }
        Ok(report)
    }

    /// Deliver one pass's alerts and tag their events; the records as written.
    async fn deliver(
        &self,
        alert: &dyn Alert,
        remediation: Remediation,
        raised: &[Raised],
        report: &mut RunReport,
    ) -> Result<Vec<AlertRecord>, RunError> {
        let name = alert.name();
        if raised.is_empty() {
            return Ok(Vec::new());
        }
        let index = AlertsIndex::new(self.store);
        let refused = |during: &'static str| {
            move |e: SinkError| match e {
                SinkError::Store(source) => RunError::Store { alert: name.to_string(), during, source },
                SinkError::Refused { count, first_id, first_reason } => {
                    RunError::Refused { alert: name.to_string(), during, count, first_id, first_reason }
                }
                other => RunError::Sink { alert: name.to_string(), source: other },
            }
        };

        let ids: Vec<String> = raised.iter().map(|r| r.record.id.clone()).collect();
        let prior = index.deliveries(&ids).await.map_err(refused("reading delivery markers"))?;
        let mut records: Vec<AlertRecord> = raised
            .iter()
            .map(|r| {
                let mut rec = r.record.clone();
                if let Some(d) = prior.get(&rec.id) {
                    d.apply(&mut rec);
                }
                rec
            })
            .collect();
        index.write(&records).await.map_err(refused("writing alerts"))?;

        // Each receipt is written as soon as its delivery succeeded, so a failure further on (the
        // next sink, the next alert) cannot make a retry repeat it.
        for rec in &mut records {
            let delivered = Delivery::of(rec);
            for sink in self.sinks.iter() {
                let sink_name = sink.name();
                if !sink.accepts(rec, remediation) {
                    continue;
                }
                if delivered.get(sink_name).is_some() {
                    *report.already_delivered.entry(sink_name.to_string()).or_default() += 1;
                    continue;
                }
                let receipt = sink
                    .deliver(rec)
                    .await
                    .map_err(|source| RunError::Sink { alert: name.to_string(), source })?;
                let count =
                    if receipt.earlier { &mut report.already_delivered } else { &mut report.delivered };
                *count.entry(sink_name.to_string()).or_default() += 1;
                Delivery::default().with(sink_name, receipt.id).apply(rec);
                index
                    .write(std::slice::from_ref(rec))
                    .await
                    .map_err(refused("writing a delivery receipt"))?;
            }
        }

        for r in raised {
            if r.tag.is_empty() {
                continue;
            }
            let done =
                self.store.tag_events(&r.tag, name).await.map_err(Self::store_err(name, "tagging events"))?;
            if let Some(first) = done.failed.first() {
                return Err(RunError::Refused {
                    alert: name.to_string(),
                    during: "tagging events",
                    count: done.failed.len(),
                    first_id: first.id.clone(),
                    first_reason: first.reason.clone(),
                });
            }
            report.events_tagged += done.written;
        }
        Ok(records)
    }
}

/// The query, minus events that already raised `name`.
pub fn exclude_raised(query: QueryAst, name: &str) -> QueryAst {
    let raised = QueryAst::Term {
        field: ALERT_NAMES_FIELD.to_string(),
        value: Value::Str(name.to_string()),
        case_insensitive: false,
    };
    match query {
        QueryAst::Bool { must, should, mut must_not } => {
            must_not.push(raised);
            QueryAst::Bool { must, should, must_not }
        }
        other => QueryAst::Bool { must: vec![other], should: vec![], must_not: vec![raised] },
    }
}

/// A stored hit as an alert's event reference (with its source, as MozDef keeps it).
pub fn event_ref(hit: &Hit) -> EventRef {
    EventRef {
        documentindex: hit.index.clone(),
        documentid: hit.id.clone(),
        documentsource: hit.source.clone(),
    }
}

fn refs(events: &[EventRef]) -> Vec<DocRef> {
    events.iter().map(|e| DocRef { index: e.documentindex.clone(), id: e.documentid.clone() }).collect()
}

/// At most this many pages of a simple alert's matches per run (with `limit` 100: 10,000 events).
pub const MAX_SIMPLE_PAGES: usize = 100;

/// A hit's `utctimestamp`.
pub(crate) fn hit_time(hit: &Hit) -> Option<DateTime<Utc>> {
    hit.source
        .get(tripline_dsl::WINDOW_FIELD)
        .and_then(|t| t.as_str())
        .and_then(|t| tripline_dsl::parse_timestamp(t).ok())
}

/// A bucket key as a query value.
fn json_to_value(v: &Json) -> Option<Value> {
    match v {
        Json::String(s) => Some(Value::Str(s.clone())),
        Json::Bool(b) => Some(Value::Bool(*b)),
        Json::Number(n) => n.as_i64().map(Value::Int).or_else(|| n.as_f64().map(Value::Float)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        tripline_dsl::parse_timestamp(s).expect("time")
    }

    fn window(since: &str, until: &str) -> Option<Window> {
        Some(Window { since: t(since), until: t(until) })
    }

    #[test]
    fn passes_place_windows_of_the_alert_length_by_event_time() {
        let now = t("2026-11-23T12:00:00Z");
        let (w, l) = (Some(TimeDelta::minutes(20)), TimeDelta::minutes(30));
        let simple = Plan::Simple { limit: 1 };
        let agg = Plan::Aggregation {
            field: "f".into(),
            threshold: 1,
            samples: 1,
            max_groups: 1,
            per_bucket: vec![],
        };
        let step = |pass, since, until| Step { pass, window: window(since, until) };
        assert_eq!(
            passes(&simple, w, l, now).unwrap(),
            [step(Pass::Current, "2026-11-23T11:10:00Z", "2026-11-23T12:00:00Z")]
        );
        assert_eq!(
            passes(&agg, w, l, now).unwrap(),
            [
                step(Pass::Settled, "2026-11-23T11:10:00Z", "2026-11-23T11:30:00Z"),
                step(Pass::Current, "2026-11-23T11:40:00Z", "2026-11-23T12:00:00Z"),
            ]
        );
        assert_eq!(
            passes(&Plan::Deadman, w, l, now).unwrap(),
            [step(Pass::Settled, "2026-11-23T11:10:00Z", "2026-11-23T11:30:00Z")]
        );
        // No allowance: one window [now − w, now] for every plan.
        for plan in [&simple, &agg, &Plan::Deadman] {
            let only = passes(plan, w, TimeDelta::zero(), now).unwrap();
            assert_eq!(only.len(), 1);
            assert_eq!(only[0].window, window("2026-11-23T11:40:00Z", "2026-11-23T12:00:00Z"));
        }
        // No window: one pass over all time.
        assert_eq!(passes(&agg, None, l, now).unwrap(), [Step { pass: Pass::Current, window: None }]);
        // Near the clock's edge: an error, not a panic.
        assert!(passes(&agg, w, l, DateTime::<Utc>::MIN_UTC + TimeDelta::minutes(25)).is_err());
    }

    #[test]
    fn lateness_is_parsed_and_range_checked() {
        assert_eq!(parse_lateness("30m"), Ok(TimeDelta::minutes(30)));
        assert_eq!(parse_lateness("900s"), Ok(TimeDelta::minutes(15)));
        assert_eq!(parse_lateness("24h"), Ok(MAX_LATENESS));
        assert_eq!(parse_lateness("0"), Ok(TimeDelta::zero()));
        assert_eq!(parse_lateness("0m"), Ok(TimeDelta::zero()));
        for bad in ["", "m", "30", "-5m", "1.5h", "5 m", "30M", "1d", "1h30m"] {
            let err = parse_lateness(bad).unwrap_err();
            assert!(err.contains("not a lateness") && err.contains("0s to 24h"), "{bad:?}: {err}");
        }
        for far in ["25h", "86401s", "1441m", "99999999999999999999h"] {
            let err = parse_lateness(far).unwrap_err();
            assert!(err.contains("out of range") && err.contains("0s to 24h"), "{far}: {err}");
        }
        let clamped = RunOptions { lateness: TimeDelta::days(3), ..RunOptions::default() };
        assert_eq!(clamped.lateness(), MAX_LATENESS);
        let negative = RunOptions { lateness: TimeDelta::minutes(-5), ..RunOptions::default() };
        assert_eq!(negative.lateness(), TimeDelta::zero());
        assert_eq!(RunOptions::default().lateness(), DEFAULT_LATENESS);
    }
}
