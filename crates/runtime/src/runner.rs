//! Run one alert against a store at a given clock: evaluate, deliver, tag.
//!
//! [`Runner::evaluate`] has no side effects: it compiles the alert's query at `now`, leaves out
//! events that already raised this alert (`must_not alert_names = name`, MozDef's dedup), executes
//! the alert's [`Plan`] and turns what the alert says into [`AlertRecord`]s with deterministic ids.
//! [`Runner::run`] then delivers them in the order the [crate docs](crate) explain and tags the
//! events last.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as Json;
use tracing::{info, warn};
use tripline_alerts::{Alert, AlertDraft, Group, Plan, Remediation};
use tripline_dsl::{Aggregation, DslError, QueryAst, Value};
use tripline_event::{AlertRecord, EventRef};
use tripline_store::{AggregationValue, DocRef, EventStore, Hit, SearchRequest, Sort, StoreError};

use crate::sinks::{AlertsIndex, Delivery, Execution, SinkError, Sinks};

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

/// How records are dressed and how much is tagged.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Runbook URL of each alert: `{name}` in it is replaced by the alert's name; without a
    /// placeholder the name is appended. `None`: alerts carry no URL.
    pub runbook_url: Option<String>,
    /// Aggregation alerts tag every event of a group that raised, up to this many per group (the
    /// rest stays a candidate for the next run).
    pub max_tagged_per_group: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { runbook_url: None, max_tagged_per_group: 10_000 }
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
}

/// One alert a run raised, and the events to tag once it is delivered.
#[derive(Clone, Debug, PartialEq)]
pub struct Raised {
    /// The MozDef alert.
    pub record: AlertRecord,
    /// The events it stands for (for aggregations: every event of the group, not only samples).
    pub tag: Vec<DocRef>,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunReport {
    /// The alert's name.
    pub alert: String,
    /// The clock the run used.
    #[serde(with = "tripline_event::ts")]
    pub now: DateTime<Utc>,
    /// Alerts raised (as written to the alerts index, delivery markers included).
    pub raised: Vec<AlertRecord>,
    /// SNS messages published by this run.
    pub sns_published: usize,
    /// Alerts whose SNS message an earlier (failed) attempt had already published.
    pub sns_already_delivered: usize,
    /// Remediation executions started by this run.
    pub executions_started: usize,
    /// Remediation executions an earlier attempt had already started.
    pub executions_already_started: usize,
    /// Events tagged with the alert's name.
    pub events_tagged: u64,
}

/// Runs alerts against one store and delivers to its sinks. Cheap to build per invocation.
pub struct Runner<'a> {
    store: &'a dyn EventStore,
    sinks: Sinks,
    options: RunOptions,
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

    /// What the alert raises at `now`, without writing, sending or tagging anything.
    pub async fn evaluate(&self, alert: &dyn Alert, now: DateTime<Utc>) -> Result<Vec<Raised>, RunError> {
        let name = alert.name();
        let compiled = alert
            .query()
            .compile(now)
            .map_err(|source| RunError::Query { alert: name.to_string(), source })?;
        if !compiled.aggregations.is_empty() {
            warn!(alert = name, "the query's own aggregations are ignored: the plan says how to aggregate");
        }
        let query = exclude_raised(compiled.query, name);
        let mut out: Vec<(AlertDraft, Vec<DocRef>)> = Vec::new();
        match alert.plan() {
            Plan::Simple { limit } => {
                let request = SearchRequest { query, size: limit, sort: Sort::NewestFirst };
                let found =
                    self.store.search(&request).await.map_err(Self::store_err(name, "searching events"))?;
                if found.unindexed_candidates > 0 {
                    tracing::warn!(
                        alert = name,
                        events = found.unindexed_candidates,
                        "events hold values too long to index in a field this alert matches on: they may match unseen"
                    );
                }
                for hit in &found.hits {
                    if let Some(draft) = alert.on_event(&event_ref(hit)) {
                        let tag = refs(&draft.events);
                        out.push((draft, tag));
                    }
                }
            }
            Plan::Aggregation { field, threshold, samples, max_groups, per_bucket } => {
                let threshold = threshold.max(1);
                let mut agg =
                    Aggregation::terms(field.clone()).size(max_groups).samples(samples).min_count(threshold);
                agg.subs = per_bucket;
                let results = self
                    .store
                    .aggregate(&query, std::slice::from_ref(&agg))
                    .await
                    .map_err(Self::store_err(name, "aggregating events"))?;
                let buckets = match results.into_iter().find(|r| r.name == agg.name).map(|r| r.value) {
                    Some(AggregationValue::Buckets(b)) => b,
                    other => {
                        return Err(RunError::Malformed {
                            alert: name.to_string(),
                            reason: format!("terms aggregation {:?} came back as {other:?}", agg.name),
                        })
                    }
                };
                for bucket in buckets.into_iter().filter(|b| b.count >= threshold) {
                    let group = Group {
                        value: bucket.key.clone(),
                        count: bucket.count,
                        samples: bucket.samples.iter().map(event_ref).collect(),
                        metrics: bucket
                            .subs
                            .iter()
                            .map(|s| {
                                let v = match &s.value {
                                    AggregationValue::Count(n) => Json::from(*n),
                                    AggregationValue::Buckets(b) => {
                                        serde_json::to_value(b).unwrap_or(Json::Null)
                                    }
                                };
                                (s.name.clone(), v)
                            })
                            .collect(),
                    };
                    let Some(draft) = alert.on_aggregation_at(&group, now) else { continue };
                    let mut tag = refs(&draft.events);
                    tag.extend(self.group_members(name, &query, &field, &group).await?);
                    out.push((draft, tag));
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
                            let since = compiled.since.unwrap_or(now);
                            draft.key = format!(
                                "{}/{}",
                                tripline_event::format_timestamp(since),
                                tripline_event::format_timestamp(now)
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
            let record = self.record(name, draft, now);
            if !seen.insert(record.id.clone()) {
                continue;
            }
            let mut unique = HashSet::new();
            tag.retain(|r| unique.insert(r.clone()));
            raised.push(Raised { record, tag });
        }
        Ok(raised)
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
            must: vec![query.clone(), QueryAst::Term { field: field.to_string(), value }],
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

    fn record(&self, name: &str, draft: AlertDraft, now: DateTime<Utc>) -> AlertRecord {
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
            details: draft.details,
        }
    }

    /// Evaluate at `now`, deliver what was raised (alerts index, SNS, Step Functions when
    /// `remediation` is [`Remediation::Contain`] and a state machine is configured), then tag the
    /// events. Any failure returns an error before the events are tagged, so a retry delivers
    /// what is missing and repeats nothing (see the [crate docs](crate)).
    pub async fn run(
        &self,
        alert: &dyn Alert,
        remediation: Remediation,
        now: DateTime<Utc>,
    ) -> Result<RunReport, RunError> {
        let name = alert.name();
        let raised = self.evaluate(alert, now).await?;
        let mut report = RunReport { alert: name.to_string(), now, ..RunReport::default() };
        if raised.is_empty() {
            info!(alert = name, "nothing raised");
            return Ok(report);
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

        // Each marker is written as soon as its delivery succeeded, so a failure further on (the
        // next sink, the next alert) cannot make a retry repeat it.
        for rec in &mut records {
            let delivered = Delivery::of(rec);
            if let Some(sns) = &self.sinks.sns {
                if delivered.sns.is_some() {
                    report.sns_already_delivered += 1;
                } else {
                    let message_id = sns
                        .publish(rec)
                        .await
                        .map_err(|source| RunError::Sink { alert: name.to_string(), source })?;
                    report.sns_published += 1;
                    Delivery { sns: Some(message_id), stepfunctions: None }.apply(rec);
                    index
                        .write(std::slice::from_ref(rec))
                        .await
                        .map_err(refused("writing the SNS marker"))?;
                }
            }
            if remediation == Remediation::Contain {
                if let Some(sfn) = &self.sinks.step_functions {
                    if delivered.stepfunctions.is_some() {
                        report.executions_already_started += 1;
                    } else {
                        let execution = sfn
                            .start(rec)
                            .await
                            .map_err(|source| RunError::Sink { alert: name.to_string(), source })?;
                        match &execution {
                            Execution::Started(_) => report.executions_started += 1,
                            Execution::AlreadyExists(_) => report.executions_already_started += 1,
                        }
                        Delivery { sns: None, stepfunctions: Some(execution.arn().to_string()) }.apply(rec);
                        index
                            .write(std::slice::from_ref(rec))
                            .await
                            .map_err(refused("writing the Step Functions marker"))?;
                    }
                }
            }
        }

        for r in &raised {
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
        info!(
            alert = name,
            raised = records.len(),
            sns_published = report.sns_published,
            executions_started = report.executions_started,
            events_tagged = report.events_tagged,
            "run delivered"
        );
        report.raised = records;
        Ok(report)
    }
}

/// The query, minus events that already raised `name`.
pub fn exclude_raised(query: QueryAst, name: &str) -> QueryAst {
    let raised = QueryAst::Term { field: ALERT_NAMES_FIELD.to_string(), value: Value::Str(name.to_string()) };
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

/// A bucket key as a query value.
fn json_to_value(v: &Json) -> Option<Value> {
    match v {
        Json::String(s) => Some(Value::Str(s.clone())),
        Json::Bool(b) => Some(Value::Bool(*b)),
        Json::Number(n) => n.as_i64().map(Value::Int).or_else(|| n.as_f64().map(Value::Float)),
        _ => None,
    }
}
