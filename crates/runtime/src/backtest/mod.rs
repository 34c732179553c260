//! Backtesting: what an alert would have raised over `(from, to]` had it run on its own
//! `rate(…)` schedule, with the dedup live runs have, in one read of the store per alert.
//!
//! [`replay`](crate::replay) gets the answer by running every alert at every tick against the
//! store itself: exact, and slow (a month of 5-minute ticks is 8,640 runs per alert, each reading
//! its window again), and it tags the store's events, so a what-if question changes the store.
//! A backtest gives **the same alerts** another way:
//!
//! 1. **Aggregations ask the engine once** (the `windows` module): the alert's groups in every second of
//!    the span, summed into each tick's windows and judged by the alert itself, as a run would
//!    judge the engine's answer for that window. Only the ticks where a group raises are run, and
//!    those the sums cannot settle (a window ending inside a busy second), and every tick after a
//!    raise while the events it tagged are in reach (the sums know no tags). Where the store
//!    bounds its answers (OpenSearch) or a per-group aggregation cannot be summed, they go the
//!    way below.
//! 2. **Other alerts read once**: every event their filter matches in the span their windows
//!    reach (plus, for first-seen alerts, the look-back), oldest first, in pages. Deadmen read no
//!    events: one date histogram of the filter says where the silences are.
//! 3. **Which ticks can raise**, computed from those events alone: a simple alert judges each
//!    match once and needs the first tick whose window holds one it raises on; an aggregation's
//!    tick needs a group that reaches the threshold in one of its windows (counted before any tag,
//!    so never fewer than a run would count); a correlation's, a group with as many events as it
//!    has parts. Every other tick raises nothing and tags nothing in a replay too, so leaving it
//!    out changes nothing.
//! 4. **The runner itself** at those ticks only, in order, over a scratch store in memory that
//!    holds the events around them: the same passes, the same engine answers, the same ids, and
//!    tags that stay in the scratch store. The store read from is never written.
//!
//! Existing tags are not carried over: a backtest asks what the alert raises on these logs, as if
//! it had not run before `from`. Ticks fall where [`replay`](crate::replay) puts them; `cron(…)`
//! schedules are refused. The scratch store is the embedded engine whichever store is read, so a
//! backtest over OpenSearch counts as the embedded store does (the two keep the same semantics;
//! `tests/conformance` checks that).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value as Json;
use tracing::debug;
use tripline_alerts::{Alert, Plan};
use tripline_dsl::{Aggregation, AggregationKind, Bound, QueryAst, Value};
use tripline_event::{AlertRecord, Event};
use tripline_store::embedded::EmbeddedStore;
use tripline_store::{AggregationValue, EventStore, SearchRequest, Sort, StoreError};

use crate::replay::ReplayError;
pub use crate::replay::Ticks;
use crate::runner::{passes, RunError, RunOptions, Runner};

mod windows;

/// Events read per page.
const PAGE: usize = 10_000;

/// The tag of the oldest events copied into a first-seen alert's scratch store only to tell
/// whether the store reaches back past the look-back: never a match.
const BASELINE_MARKER: &str = "tripline-backtest-baseline";

/// Why a backtest stopped.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// The span or the schedule cannot be replayed.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// A run failed (query, store, malformed answer).
    #[error(transparent)]
    Run(#[from] RunError),
    /// The store read from failed.
    #[error("alert {alert}: store, while {during}: {source}")]
    Store {
        /// The alert.
        alert: String,
        /// What the backtest was doing.
        during: &'static str,
        /// Why.
        source: StoreError,
    },
    /// More events share one timestamp than a page holds, so paging cannot go on.
    #[error(
        "alert {alert}: more than {PAGE} matching events share the timestamp {at}: they cannot be paged"
    )]
    Ties {
        /// The alert.
        alert: String,
        /// The timestamp.
        at: String,
    },
    /// The scratch store refused an event.
    #[error("alert {alert}: the scratch store refused {count} event(s), first {first_id}: {reason}")]
    Scratch {
        /// The alert.
        alert: String,
        /// How many.
        count: usize,
        /// The first one's id.
        first_id: String,
        /// Why.
        reason: String,
    },
}

/// What a backtest of one alert found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertBacktest {
    /// The alert.
    pub alert: String,
    /// What it raised, oldest tick first: the records a replay writes to the alerts index.
    pub raised: Vec<AlertRecord>,
    /// Ticks of its schedule in the span.
    pub ticks: u64,
    /// Ticks at which it ran (those that could raise).
    pub runs: u64,
    /// Events of its filter in the span its windows reach: read from the store, or counted by
    /// the engine where the windows were summed from its answer.
    pub events_read: u64,
}

/// Backtests alerts over one store.
pub struct Backtest<'a> {
    store: &'a dyn EventStore,
    options: RunOptions,
}

/// An event read from the store: where it is, its time and document.
struct Read {
    index: String,
    id: String,
    at: DateTime<Utc>,
    source: Json,
}

/// Point an alert's events at the documents they were read from (`(index, id)` in the scratch
/// store → in the store read), and give it the id a run over that store gives it.
fn rename(record: &mut AlertRecord, renamed: &HashMap<(String, String), (String, String)>) {
    let mut changed = false;
    for e in &mut record.events {
        if let Some((index, id)) = renamed.get(&(e.documentindex.clone(), e.documentid.clone())) {
            e.documentindex.clone_from(index);
            e.documentid.clone_from(id);
            changed = true;
        }
    }
    if changed {
        let key = match record.details.get("key") {
            Some(Json::String(k)) => k.clone(),
            _ => String::new(),
        };
        record.id = AlertRecord::compute_id(&record.classname, &key, &record.events);
    }
}

impl<'a> Backtest<'a> {
    /// A backtest reading `store`, with the runner's options (lateness, runbook URLs).
    pub fn new(store: &'a dyn EventStore, options: RunOptions) -> Self {
        Backtest { store, options }
    }

    fn runner<'s>(&self, store: &'s dyn EventStore) -> Runner<'s> {
        Runner::new(store).with_options(self.options.clone())
    }

    fn store_err<'n>(alert: &'n str, during: &'static str) -> impl FnOnce(StoreError) -> BacktestError + 'n {
        move |source| BacktestError::Store { alert: alert.to_string(), during, source }
    }

    /// What `alert` raises at the ticks of its schedule in `(from, to]`: the alerts
    /// [`replay`](crate::replay) would record, without writing to the store.
    pub async fn alert(
        &self,
        alert: &dyn Alert,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<AlertBacktest, BacktestError> {
        let name = alert.name();
        let began = std::time::Instant::now();
        let ticks = Ticks::new(name, &alert.meta().schedule, from, to)?;
        let mut out = AlertBacktest { alert: name.to_string(), ticks: ticks.count, ..Default::default() };
        let Some(first) = ticks.first() else { return Ok(out) };
        let compiled = alert
            .query()
            .compile(first)
            .map_err(|source| RunError::Query { alert: name.to_string(), source })?;
        let plan = alert.plan();
        let lateness = self.options.lateness();
        let steps = passes(&plan, compiled.window, lateness, first)
            .map_err(|source| RunError::Query { alert: name.to_string(), source })?;
        // Each pass's window as offsets back from the tick: (since, until).
        let offsets: Option<Vec<(TimeDelta, TimeDelta)>> =
            steps.iter().map(|s| s.window.map(|w| (first - w.since, first - w.until))).collect();

        if matches!(plan, Plan::Deadman) {
            let at = match &offsets {
                Some(o) => self.silent_ticks(name, &compiled.filter, &ticks, o).await?,
                // No window: silent at every tick or at none.
                None => {
                    let all =
                        SearchRequest { query: compiled.filter.clone(), size: 0, sort: Sort::NewestFirst };
                    let found =
                        self.store.search(&all).await.map_err(Self::store_err(name, "counting events"))?;
                    if found.total == 0 {
                        ticks.iter().map(|t| (t, false)).collect()
                    } else {
                        Vec::new()
                    }
                }
            };
            let empty =
                EmbeddedStore::in_memory().map_err(Self::store_err(name, "opening a scratch store"))?;
            for (t, ambiguous) in at {
                // A silence the histogram could not settle is judged on the store itself.
                let store: &dyn EventStore = if ambiguous { self.store } else { &empty };
                out.runs += 1;
                out.raised.extend(self.runner(store).evaluate(alert, t).await?.into_iter().map(|r| r.record));
            }
            return Ok(out);
        }

        if let (Plan::Aggregation { .. }, Some(o)) = (&plan, &offsets) {
            if let Some(done) = self.by_seconds(alert, &compiled.filter, &plan, &ticks, o).await? {
                logged(&done, began, "by seconds");
                return Ok(done);
            }
        }
        // The span the windows reach, and the look-back of a first-seen alert.
        let span = offsets.as_ref().map(|o| {
            let reach = o.iter().map(|(since, _)| *since).max().unwrap_or_default();
            let history = match &plan {
                Plan::NewTerms { history, .. } => *history,
                _ => TimeDelta::zero(),
            };
            let since = first
                .checked_sub_signed(reach)
                .and_then(|t| t.checked_sub_signed(history))
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            (Bound::inclusive(since), ticks.last)
        });
        let events = self.read(name, &compiled.filter, span).await?;
        out.events_read = events.len() as u64;
        let candidates = match (&offsets, &plan) {
            (Some(o), Plan::Simple { limit }) => simple_ticks(alert, *limit, &events, &ticks, o)
                .unwrap_or_else(|| candidate_ticks(&plan, &events, &ticks, o)),
            (Some(o), _) => candidate_ticks(&plan, &events, &ticks, o),
            (None, _) if events.is_empty() => Vec::new(),
            (None, _) => ticks.iter().collect(),
        };
        if candidates.is_empty() {
            return Ok(out);
        }
        let scratch = EmbeddedStore::in_memory().map_err(Self::store_err(name, "opening a scratch store"))?;
        let mut renamed: HashMap<(String, String), (String, String)> = HashMap::new();
        let mut docs = copies(name, &events, &mut renamed)?;
        if matches!(plan, Plan::NewTerms { .. }) {
            // The runner judges nothing first seen until the store reaches back past the
            // look-back: the oldest event of each source tells, so the scratch store gets them,
            // marked so that no window takes them for a match (the alert's clauses are not
            // applied in the scratch store, below).
            let read: std::collections::HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
            for mut oldest in self.oldest_per_source(name).await? {
                if !read.contains(oldest.id().as_str()) {
                    oldest.tags.push(BASELINE_MARKER.to_string());
                    docs.push(oldest);
                }
            }
        }
        fill(&scratch, name, &docs).await?;
        let runner = self.runner(&scratch);
        let remediation = alert.meta().remediation;
        // Every event in the scratch store matches the alert's clauses (but the baseline
        // markers), so its runs there need only the window: a filter's wildcards and address
        // ranges, compiled at every run, cost more than the counting.
        let unfiltered = Unfiltered::new(alert);
        for t in candidates {
            out.runs += 1;
            out.raised.extend(runner.run(&unfiltered, remediation, t).await?.raised);
        }
        if !renamed.is_empty() {
            for record in &mut out.raised {
                rename(record, &renamed);
            }
        }
        logged(&out, began, "by events read");
        Ok(out)
    }

    /// An aggregation alert's backtest from one engine answer ([`windows`]): its groups in every
    /// second of the span, summed into each tick's windows and judged by the alert; the runner
    /// then runs only at the ticks where a group raises (or the sums cannot tell), and at every
    /// tick after a raise while the events it tagged are in reach, over a scratch store holding
    /// the events around those ticks. `None`: the store's answers are bounded (OpenSearch), or
    /// the plan or the answer cannot be summed by seconds; the caller backtests the other way.
    async fn by_seconds(
        &self,
        alert: &dyn Alert,
        filter: &QueryAst,
        plan: &Plan,
        ticks: &Ticks,
        offsets: &[(TimeDelta, TimeDelta)],
    ) -> Result<Option<AlertBacktest>, BacktestError> {
        let name = alert.name();
        let Plan::Aggregation { field, threshold, samples, max_groups, per_bucket } = plan else {
            return Ok(None);
        };
        let whole = |d: &TimeDelta| d.subsec_nanos() == 0;
        if self.store.max_buckets().is_some() || !offsets.iter().all(|(a, b)| whole(a) && whole(b)) {
            return Ok(None);
        }
        let mut groups = Aggregation::terms(field.clone())
            .size(*max_groups)
            .samples(*samples)
            .min_count((*threshold).max(1));
        groups.subs = per_bucket.clone();
        let Some(hist) = windows::per_second(&groups) else { return Ok(None) };
        let (Some(first), reach) = (ticks.first(), offsets.iter().map(|(a, _)| *a).max().unwrap_or_default())
        else {
            return Ok(None);
        };
        let since = first.checked_sub_signed(reach).unwrap_or(DateTime::<Utc>::MIN_UTC);
        let query = QueryAst::all(vec![
            filter.clone(),
            QueryAst::Range {
                field: tripline_dsl::WINDOW_FIELD.to_string(),
                lower: Some(Bound::inclusive(since)),
                upper: Some(Bound::inclusive(ticks.last)),
            },
        ]);
        let answer = self
            .store
            .aggregate(&query, std::slice::from_ref(&hist))
            .await
            .map_err(Self::store_err(name, "aggregating by seconds"))?;
        let Some(seconds) = windows::Seconds::new(answer) else { return Ok(None) };
        let plans =
            offsets.iter().map(|&(since, until)| windows::Plan { groups: &groups, since, until }).collect();
        let verdicts = windows::verdicts(alert, &seconds, plans, ticks.iter());
        let mut out = AlertBacktest {
            alert: name.to_string(),
            ticks: ticks.count,
            events_read: seconds.events,
            ..Default::default()
        };
        if verdicts.iter().all(|(_, v)| *v == windows::Verdict::Quiet) {
            return Ok(Some(out));
        }
        let scratch = EmbeddedStore::in_memory().map_err(Self::store_err(name, "opening a scratch store"))?;
        let runner = self.runner(&scratch);
        let unfiltered = Unfiltered::new(alert);
        let remediation = alert.meta().remediation;
        let mut renamed: HashMap<(String, String), (String, String)> = HashMap::new();
        // What a run at `t` reads, and the runs a raise at `t` brings after it: `t ± reach`.
        let around = |t: DateTime<Utc>| {
            (
                t.checked_sub_signed(reach).unwrap_or(DateTime::<Utc>::MIN_UTC),
                t.checked_add_signed(reach).map_or(ticks.last, |h| h.min(ticks.last)).max(t),
            )
        };
        // The spans the scratch store holds every matching event of, merged, in order: first
        // around every tick to run, read at once; later around a run a raise brought, if needed.
        let mut covered: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        for (t, v) in &verdicts {
            if *v != windows::Verdict::Quiet {
                let (lo, hi) = around(*t);
                match covered.last_mut() {
                    Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                    _ => covered.push((lo, hi)),
                }
            }
        }
        let mut docs = Vec::new();
        for &(lo, hi) in &covered {
            let events = self.read(name, filter, Some((Bound::inclusive(lo), hi))).await?;
            docs.extend(copies(name, &events, &mut renamed)?);
        }
        fill(&scratch, name, &docs).await?;
        drop(docs);
        let mut forced_until: Option<DateTime<Utc>> = None;
        for (t, verdict) in verdicts {
            let forced = forced_until.is_some_and(|f| t <= f);
            if verdict == windows::Verdict::Quiet && !forced {
                continue;
            }
            let (lo, hi) = around(t);
            if !covered.iter().any(|&(a, b)| a <= lo && t <= b) {
                // Events the scratch store holds already are written again, unchanged (their
                // tags kept).
                let events = self.read(name, filter, Some((Bound::inclusive(lo), hi))).await?;
                fill(&scratch, name, &copies(name, &events, &mut renamed)?).await?;
                covered.push((lo, hi));
                covered.sort();
            }
            out.runs += 1;
            let raised = runner.run(&unfiltered, remediation, t).await?.raised;
            if !raised.is_empty() {
                // The events it tagged stay in the windows of the ticks in reach: the sums know
                // no tags, so those ticks are run.
                forced_until = t.checked_add_signed(reach).or(Some(DateTime::<Utc>::MAX_UTC));
            }
            out.raised.extend(raised);
        }
        if !renamed.is_empty() {
            for record in &mut out.raised {
                rename(record, &renamed);
            }
        }
        Ok(Some(out))
    }

    /// Every event `filter` matches with `utctimestamp` in `span` (all time when `None`), oldest
    /// first.
    async fn read(
        &self,
        name: &str,
        filter: &QueryAst,
        span: Option<(Bound, DateTime<Utc>)>,
    ) -> Result<Vec<Read>, BacktestError> {
        let mut out: Vec<Read> = Vec::new();
        let mut lower: Option<Bound> = span.as_ref().map(|s| s.0.clone());
        let mut after: Option<DateTime<Utc>> = None;
        // The events read so far at `after`: the next page starts there (inclusive) and leaves
        // them out.
        let mut at_after: Vec<(String, String)> = Vec::new();
        loop {
            let mut must = vec![filter.clone()];
            if lower.is_some() || span.is_some() {
                must.push(QueryAst::Range {
                    field: tripline_dsl::WINDOW_FIELD.to_string(),
                    lower: lower.clone(),
                    upper: span.as_ref().map(|s| Bound::inclusive(s.1)),
                });
            }
            let request = SearchRequest { query: QueryAst::all(must), size: PAGE, sort: Sort::OldestFirst };
            let found = self.store.search(&request).await.map_err(Self::store_err(name, "reading events"))?;
            let full = found.hits.len() >= PAGE;
            let mut fresh = 0;
            for hit in found.hits {
                let Some(at) = crate::runner::hit_time(&hit) else { continue };
                let key = (hit.index, hit.id);
                if Some(at) == after && at_after.contains(&key) {
                    continue;
                }
                if Some(at) != after {
                    at_after.clear();
                    after = Some(at);
                }
                at_after.push(key.clone());
                fresh += 1;
                out.push(Read { index: key.0, id: key.1, at, source: hit.source });
            }
            if !full {
                break;
            }
            lower = after.map(Bound::inclusive);
            if fresh == 0 {
                return Err(BacktestError::Ties {
                    alert: name.to_string(),
                    at: after.map(tripline_event::format_timestamp).unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    /// The ticks whose settled window holds no event of `filter`, from one date histogram; each
    /// with whether the histogram left it unsettled (events in the bucket that starts where the
    /// window ends, which may or may not fall on its last instant).
    async fn silent_ticks(
        &self,
        name: &str,
        filter: &QueryAst,
        ticks: &Ticks,
        offsets: &[(TimeDelta, TimeDelta)],
    ) -> Result<Vec<(DateTime<Utc>, bool)>, BacktestError> {
        let Some(&(since, until)) = offsets.first() else { return Ok(Vec::new()) };
        let g = gcd(gcd(ticks.period.num_seconds(), since.num_seconds()), until.num_seconds()).max(1);
        let (Some(lo), Some(hi)) = (
            ticks.first().and_then(|t| t.checked_sub_signed(since)),
            ticks.last.checked_sub_signed(until).and_then(|t| t.checked_add_signed(TimeDelta::seconds(g))),
        ) else {
            return Ok(Vec::new());
        };
        // As many buckets per request as the store answers.
        let per_request = self.store.max_buckets().map_or(i64::MAX, |m| i64::try_from(m).unwrap_or(i64::MAX));
        let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
        let mut start = lo.timestamp().div_euclid(g).saturating_mul(g);
        while start < hi.timestamp() {
            let end = start.saturating_add(g.saturating_mul(per_request)).min(hi.timestamp());
            let (Some(a), Some(b)) = (DateTime::from_timestamp(start, 0), DateTime::from_timestamp(end, 0))
            else {
                break;
            };
            let query = QueryAst::all(vec![
                filter.clone(),
                QueryAst::Range {
                    field: tripline_dsl::WINDOW_FIELD.to_string(),
                    lower: Some(Bound::inclusive(a)),
                    upper: Some(Bound::exclusive(b)),
                },
            ]);
            let agg = Aggregation {
                name: "silence".into(),
                kind: AggregationKind::DateHistogram {
                    field: tripline_dsl::WINDOW_FIELD.to_string(),
                    interval_secs: g.unsigned_abs(),
                },
                subs: vec![],
            };
            let results = self
                .store
                .aggregate(&query, std::slice::from_ref(&agg))
                .await
                .map_err(Self::store_err(name, "finding silences"))?;
            let Some(AggregationValue::Buckets(buckets)) =
                results.into_iter().find(|r| r.name == agg.name).map(|r| r.value)
            else {
                return Err(RunError::Malformed {
                    alert: name.to_string(),
                    reason: "the date histogram came back without buckets".into(),
                }
                .into());
            };
            for b in buckets {
                let key = b.key.as_str().and_then(|k| tripline_dsl::parse_timestamp(k).ok());
                match key {
                    Some(k) if b.count > 0 => *counts.entry(k.timestamp()).or_default() += b.count,
                    Some(_) => {}
                    None => {
                        return Err(RunError::Malformed {
                            alert: name.to_string(),
                            reason: format!("date histogram bucket key {}", b.key),
                        }
                        .into())
                    }
                }
            }
            start = end;
        }
        let mut out = Vec::new();
        for t in ticks.iter() {
            let (Some(a), Some(b)) = (t.checked_sub_signed(since), t.checked_sub_signed(until)) else {
                continue;
            };
            let (a, b) = (a.timestamp(), b.timestamp());
            if counts.range(a..b).next().is_some() {
                continue;
            }
            out.push((t, counts.contains_key(&b)));
        }
        Ok(out)
    }

    /// The oldest event of each source in the store.
    async fn oldest_per_source(&self, name: &str) -> Result<Vec<Event>, BacktestError> {
        let agg = Aggregation::terms("source").size(100).min_count(1);
        let results = self
            .store
            .aggregate(&QueryAst::MatchAll, std::slice::from_ref(&agg))
            .await
            .map_err(Self::store_err(name, "listing sources"))?;
        let sources: Vec<String> = results
            .into_iter()
            .find(|r| r.name == agg.name)
            .and_then(|r| match r.value {
                AggregationValue::Buckets(b) => Some(b),
                AggregationValue::Count(_) => None,
            })
            .unwrap_or_default()
            .into_iter()
            .filter_map(|b| b.key.as_str().map(str::to_string))
            .collect();
        let mut out = Vec::new();
        for s in sources {
            let request = SearchRequest {
                query: QueryAst::Term {
                    field: "source".into(),
                    value: Value::Str(s),
                    case_insensitive: false,
                },
                size: 1,
                sort: Sort::OldestFirst,
            };
            let found = self
                .store
                .search(&request)
                .await
                .map_err(Self::store_err(name, "finding the oldest event"))?;
            out.extend(found.hits.iter().filter_map(|h| as_event(&h.source)));
        }
        Ok(out)
    }
}

/// An alert with its query's window and none of its clauses, for a scratch store that holds
/// only events its clauses match: the same answers, without paying for the clauses at every run.
struct Unfiltered<'a> {
    inner: &'a dyn Alert,
    query: tripline_dsl::SearchQuery,
}

impl<'a> Unfiltered<'a> {
    fn new(inner: &'a dyn Alert) -> Self {
        let query = match inner.query().window() {
            Some(w) => tripline_dsl::SearchQuery::within(w),
            None => tripline_dsl::SearchQuery::all_time(),
        };
        let query = query.must_not(tripline_dsl::TermMatch("tags", BASELINE_MARKER));
        Unfiltered { inner, query }
    }
}

impl Alert for Unfiltered<'_> {
    fn meta(&self) -> &tripline_alerts::Meta {
        self.inner.meta()
    }
    fn query(&self) -> tripline_dsl::SearchQuery {
        self.query.clone()
    }
    fn plan(&self) -> Plan {
        self.inner.plan()
    }
    fn on_event(&self, event: &tripline_event::EventRef) -> Option<tripline_alerts::AlertDraft> {
        self.inner.on_event(event)
    }
    fn on_aggregation(&self, group: &tripline_alerts::Group) -> Option<tripline_alerts::AlertDraft> {
        self.inner.on_aggregation(group)
    }
    fn on_aggregation_at(
        &self,
        group: &tripline_alerts::Group,
        now: DateTime<Utc>,
    ) -> Option<tripline_alerts::AlertDraft> {
        self.inner.on_aggregation_at(group, now)
    }
    fn on_silence(&self) -> Option<tripline_alerts::AlertDraft> {
        self.inner.on_silence()
    }
}

/// A stored document as an event to copy, without the tags it carries.
fn as_event(source: &Json) -> Option<Event> {
    let mut event: Event = serde_json::from_value(source.clone()).ok()?;
    event.alert_names.clear();
    Some(event)
}

/// The debug log line of one alert's backtest (`RUST_LOG=tripline_runtime::backtest=debug`).
fn logged(done: &AlertBacktest, began: std::time::Instant, how: &'static str) {
    debug!(
        alert = done.alert,
        how,
        ticks = done.ticks,
        runs = done.runs,
        events = done.events_read,
        ms = began.elapsed().as_millis() as u64,
        "backtested"
    );
}

/// The events to copy into a scratch store; those it names otherwise than the store read
/// (another index prefix) are noted in `renamed`, to be named back in what is raised.
fn copies(
    name: &str,
    events: &[Read],
    renamed: &mut HashMap<(String, String), (String, String)>,
) -> Result<Vec<Event>, BacktestError> {
    let mut docs: Vec<Event> = Vec::with_capacity(events.len());
    for e in events {
        let event = as_event(&e.source).ok_or_else(|| BacktestError::Scratch {
            alert: name.to_string(),
            count: 1,
            first_id: e.id.clone(),
            reason: "the stored document is not an event (it cannot be copied)".into(),
        })?;
        let here = (tripline_store::event_index(event.utctimestamp), event.id());
        if here != (e.index.clone(), e.id.clone()) {
            renamed.insert(here, (e.index.clone(), e.id.clone()));
        }
        docs.push(event);
    }
    Ok(docs)
}

/// Write `docs` to a scratch store; any refused is an error.
async fn fill(scratch: &EmbeddedStore, name: &str, docs: &[Event]) -> Result<(), BacktestError> {
    for chunk in docs.chunks(PAGE) {
        let report = scratch
            .index_events(chunk)
            .await
            .map_err(Backtest::store_err(name, "filling a scratch store"))?;
        if let Some(f) = report.failed.first() {
            return Err(BacktestError::Scratch {
                alert: name.to_string(),
                count: report.failed.len(),
                first_id: f.id.clone(),
                reason: f.reason.clone(),
            });
        }
    }
    Ok(())
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    i64::try_from(a).unwrap_or(i64::MAX)
}

/// The ticks at which a run of this plan could raise, from the events its filter matches
/// (sorted by time): those with, in one of its windows, a group of at least the plan's
/// threshold (a simple or first-seen alert: one event). Counted before tags, a group is never
/// smaller here than a run finds it.
fn candidate_ticks(
    plan: &Plan,
    events: &[Read],
    ticks: &Ticks,
    offsets: &[(TimeDelta, TimeDelta)],
) -> Vec<DateTime<Utc>> {
    let (field, threshold) = match plan {
        Plan::Aggregation { field, threshold, .. } => (Some(field.as_str()), (*threshold).max(1)),
        Plan::Temporal { field, parts, .. } => (Some(field.as_str()), (parts.len() as u64).max(1)),
        _ => (None, 1),
    };
    // Each event's keys (several when the field holds a list; none when it lacks the field, as
    // a terms aggregation leaves such an event out).
    let keys: Vec<Vec<String>> = events
        .iter()
        .map(|e| match field {
            None => vec![String::new()],
            Some(f) => {
                let mut out = Vec::new();
                if let Some(v) = tripline_event::lookup(&e.source, f) {
                    keys_of(v, &mut out);
                }
                out
            }
        })
        .collect();
    let mut windows: Vec<Sliding> = offsets.iter().map(|&o| Sliding::new(o, threshold)).collect();
    let mut out = Vec::new();
    for t in ticks.iter() {
        let mut hot = false;
        for w in &mut windows {
            hot |= w.advance(t, events, &keys);
        }
        if hot {
            out.push(t);
        }
    }
    out
}

/// The ticks at which a simple alert can raise: a run judges each untagged match in its window,
/// and an event the alert raises on is tagged (when its alert names it), so it raises at the
/// first tick whose window holds it, if ever. The alert judges every event here as a run would
/// (without the tags the store read holds); one it lets go needs no tick, one it raises on
/// needs that first tick, or every tick in reach when what it raises does not name the event
/// (nothing tags it). `None` when a window may hold more matches than one run judges.
fn simple_ticks(
    alert: &dyn Alert,
    limit: usize,
    events: &[Read],
    ticks: &Ticks,
    offsets: &[(TimeDelta, TimeDelta)],
) -> Option<Vec<DateTime<Utc>>> {
    let &[(since, until)] = offsets else { return None };
    let cap = u64::try_from(limit.max(1).saturating_mul(crate::runner::MAX_SIMPLE_PAGES)).ok()?;
    let mut busiest = Sliding::new((since, until), cap.saturating_add(1));
    let all: Vec<Vec<String>> = events.iter().map(|_| vec![String::new()]).collect();
    if ticks.iter().any(|t| busiest.advance(t, events, &all)) {
        return None;
    }
    let mut out = std::collections::BTreeSet::new();
    for e in events {
        let mut source = e.source.clone();
        if let Json::Object(m) = &mut source {
            m.remove("alert_names");
        }
        let event = tripline_event::EventRef {
            documentindex: e.index.clone(),
            documentid: e.id.clone(),
            documentsource: source,
        };
        let Some(draft) = alert.on_event(&event) else { continue };
        let names_it = draft.events.iter().any(|r| r.documentindex == e.index && r.documentid == e.id);
        // The ticks whose window `[t − since, t − until]` holds it.
        let (Some(lo), Some(hi)) = (e.at.checked_add_signed(until), e.at.checked_add_signed(since)) else {
            return None;
        };
        for t in ticks.from(lo).take_while(|t| *t <= hi) {
            out.insert(t);
            if names_it {
                break;
            }
        }
    }
    Some(out.into_iter().collect())
}

/// One window sliding over the ticks: per-key counts of the events inside it.
struct Sliding {
    since: TimeDelta,
    until: TimeDelta,
    threshold: u64,
    lo: usize,
    hi: usize,
    counts: HashMap<String, u64>,
    /// Keys at or above the threshold.
    hot: usize,
}

impl Sliding {
    fn new((since, until): (TimeDelta, TimeDelta), threshold: u64) -> Self {
        Sliding { since, until, threshold, lo: 0, hi: 0, counts: HashMap::new(), hot: 0 }
    }

    /// Move to tick `t`'s window `[t − since, t − until]`; whether a key reaches the threshold.
    fn advance(&mut self, t: DateTime<Utc>, events: &[Read], keys: &[Vec<String>]) -> bool {
        let (Some(a), Some(b)) = (t.checked_sub_signed(self.since), t.checked_sub_signed(self.until)) else {
            return false;
        };
        while self.hi < events.len() && events[self.hi].at <= b {
            for k in &keys[self.hi] {
                let c = self.counts.entry(k.clone()).or_default();
                *c += 1;
                if *c == self.threshold {
                    self.hot += 1;
                }
            }
            self.hi += 1;
        }
        while self.lo < self.hi && events[self.lo].at < a {
            for k in &keys[self.lo] {
                if let Some(c) = self.counts.get_mut(k) {
                    if *c == self.threshold {
                        self.hot -= 1;
                    }
                    *c -= 1;
                    if *c == 0 {
                        self.counts.remove(k);
                    }
                }
            }
            self.lo += 1;
        }
        self.hot > 0
    }
}

/// A field's values as group keys, folded so that values a store keeps apart are never counted
/// apart here (letters lower-cased, addresses in one form): counts only ever merge.
fn keys_of(v: &Json, out: &mut Vec<String>) {
    match v {
        Json::Array(items) => {
            for i in items {
                keys_of(i, out);
            }
        }
        Json::String(s) => {
            let key = match s.parse::<IpAddr>() {
                Ok(ip) => ip.to_string(),
                Err(_) => s.to_lowercase(),
            };
            if !out.contains(&key) {
                out.push(key);
            }
        }
        Json::Number(n) => out.push(n.as_f64().map(|f| f.to_string()).unwrap_or_else(|| n.to_string())),
        Json::Bool(b) => out.push(b.to_string()),
        Json::Null | Json::Object(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        tripline_dsl::parse_timestamp(s).unwrap()
    }

    #[test]
    fn ticks_match_the_replay_schedule() {
        let alerts = vec![("a".to_string(), "rate(15 minutes)".to_string())];
        let (from, to) = (t("2024-06-03T00:02:00Z"), t("2024-06-03T02:00:00Z"));
        let replay: Vec<DateTime<Utc>> =
            crate::replay::schedule(&alerts, from, to).unwrap().into_iter().map(|(at, _)| at).collect();
        let ticks = Ticks::new("a", "rate(15 minutes)", from, to).unwrap();
        assert_eq!(ticks.iter().collect::<Vec<_>>(), replay);
        assert_eq!(ticks.len(), 8);
        let none =
            Ticks::new("a", "rate(1 day)", t("2024-06-03T00:02:00Z"), t("2024-06-03T02:00:00Z")).unwrap();
        assert!(none.is_empty() && none.first().is_none());
        assert!(Ticks::new("a", "cron(0 * * * ? *)", from, to).is_err());
        assert!(
            Ticks::new("a", "rate(1 minute)", t("1700-01-01T00:00:00Z"), t("2200-01-01T00:00:00Z")).is_err()
        );
    }

    #[test]
    fn ticks_from_an_instant_start_at_or_after_it() {
        let ticks =
            Ticks::new("a", "rate(5 minutes)", t("2024-06-03T00:00:00Z"), t("2024-06-03T00:30:00Z")).unwrap();
        let from = |at: &str| {
            ticks
                .from(t(at))
                .map(|t| tripline_event::format_timestamp(t)[11..16].to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(from("2024-06-03T00:20:00Z"), ["00:20", "00:25", "00:30"]);
        assert_eq!(from("2024-06-03T00:20:00.5Z"), ["00:25", "00:30"]);
        assert_eq!(from("2024-06-03T00:21:00Z"), ["00:25", "00:30"]);
        assert_eq!(from("2024-06-02T00:00:00Z").len(), 6);
        assert!(from("2024-06-03T00:30:01Z").is_empty());
    }

    #[test]
    fn keys_fold_case_and_address_forms_and_lists() {
        let mut out = Vec::new();
        keys_of(&serde_json::json!(["Alice", "alice", "2001:DB8::1", 3, null, {"a": 1}]), &mut out);
        assert_eq!(out, ["alice", "2001:db8::1", "3"]);
        let doc = serde_json::json!({"details": {"useridentity": {"arn": "x"}, "a.b": 1}});
        assert_eq!(tripline_event::lookup(&doc, "details.useridentity.arn"), Some(&serde_json::json!("x")));
        assert_eq!(tripline_event::lookup(&doc, "details.a.b"), Some(&serde_json::json!(1)));
        assert_eq!(tripline_event::lookup(&doc, "details.nope"), None);
    }

    #[test]
    fn a_tick_is_a_candidate_when_a_group_reaches_the_threshold_in_its_window() {
        let ev = |at: &str, user: &str| Read {
            index: String::new(),
            id: String::new(),
            at: t(at),
            source: serde_json::json!({"details": {"user": user}}),
        };
        let events = vec![
            ev("2024-06-03T00:01:00Z", "a"),
            ev("2024-06-03T00:02:00Z", "b"),
            ev("2024-06-03T00:09:00Z", "a"),
            ev("2024-06-03T00:21:00Z", "A"),
        ];
        let plan = Plan::Aggregation {
            field: "details.user".into(),
            threshold: 2,
            samples: 1,
            max_groups: 10,
            per_bucket: vec![],
        };
        let ticks =
            Ticks::new("x", "rate(5 minutes)", t("2024-06-03T00:00:00Z"), t("2024-06-03T00:40:00Z")).unwrap();
        // A 10-minute window, no lateness: [t − 10m, t].
        let offsets = [(TimeDelta::minutes(10), TimeDelta::zero())];
        let got = candidate_ticks(&plan, &events, &ticks, &offsets);
        let shown: Vec<String> =
            got.iter().map(|t| tripline_event::format_timestamp(*t)[11..16].to_string()).collect();
        // "a" at :01 and :09 share [:00, :10] only; "A" at :21 is "a" folded, but never within
        // ten minutes of another.
        assert_eq!(shown, ["00:10"]);
        // A simple alert: every tick with an event in its window.
        let simple = Plan::Simple { limit: 10 };
        let got = candidate_ticks(&simple, &events, &ticks, &offsets);
        let shown: Vec<String> =
            got.iter().map(|t| tripline_event::format_timestamp(*t)[11..16].to_string()).collect();
        assert_eq!(shown, ["00:05", "00:10", "00:15", "00:25", "00:30"]);
    }
}
