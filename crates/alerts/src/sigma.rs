//! Sigma rules as catalog entries: a detection rule is a simple alert (every matching event
//! raises one), a correlation rule an aggregation alert counted by the engine.
//!
//! Rules are read in two steps, because a correlation names the rules it correlates by `name` or
//! `id`, possibly in another file: [`RuleSet::add_text`] reads every file's YAML documents,
//! [`RuleSet::load`] compiles them and adds what compiles to a [`Registry`]. What does not is
//! *refused* with the file, line, construct and reason ([`Refusal`]), never half-loaded.
//!
//! | Sigma | Tripline alert |
//! |---|---|
//! | `name`, else the file name (`-` → `_`) | the alert's name (`snake_case`) |
//! | `title` | its description and the start of each summary |
//! | `level` informational / low / medium / high / critical | severity INFO / NOTICE / WARNING / CRITICAL / CRITICAL |
//! | `tags` `attack.t1098` | tags `T1098` (and `sigma`, and the rule's other tags as written) |
//! | the first ATT&CK tactic tag (`attack.persistence`) | category (`persistence`; `sigma` without one) |
//! | `fields` | `details.fields`: each field's value in the matching event |
//! | `id`, `status`, `falsepositives`, the file | `details.rule` |
//! | `correlation.timespan` | the alert's window |
//! | `correlation.group-by` (one field, or none) | the terms aggregation's field (`source`: one group) |
//!
//! A detection rule looks back [`DEFAULT_WINDOW_MINUTES`] minutes every five (late events are
//! caught by the runner's settled pass); tuning ([`crate::tuning`]) changes both.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::TimeDelta;
use serde_json::{json, Map, Value as Json};
use tripline_dsl::{Aggregation, QueryAst, SearchQuery};
use tripline_event::EventRef;
use tripline_sigma::{
    Correlation, CorrelationKind, CountCondition, Document, Level, Mapping, SigmaError, SigmaRule, Target,
    TestCase,
};

use crate::common::{actor, first_text, group_text};
use crate::{create_alert, field_text, Alert, AlertDraft, Group, Meta, Plan, Registry, Severity};

/// How far back a detection rule looks, in minutes.
pub const DEFAULT_WINDOW_MINUTES: i64 = 20;
/// Events a simple rule reads per run.
pub const EVENT_LIMIT: usize = 100;
/// Groups a correlation reports per run.
pub const MAX_GROUPS: usize = 1_000;
/// Events sampled per correlation group.
pub const SAMPLES: usize = 10;
/// The cardinality sub-aggregation of a `value_count` correlation.
const DISTINCT: &str = "distinct";

/// MozDef severity of a Sigma level (`medium` when the rule has none).
pub fn severity_of(level: Option<Level>) -> Severity {
    match level {
        Some(Level::Informational) => Severity::Info,
        Some(Level::Low) => Severity::Notice,
        None | Some(Level::Medium) => Severity::Warning,
        Some(Level::High | Level::Critical) => Severity::Critical,
    }
}

/// The alert category: the first ATT&CK tactic among the tags (`_` read as `-`), else `sigma`.
pub fn category_of(tags: &[String]) -> String {
    tags.iter()
        .filter_map(|t| t.strip_prefix("attack."))
        .map(|t| t.replace('_', "-"))
        .find(|t| crate::attack::TACTICS.contains(&t.as_str()))
        .unwrap_or_else(|| "sigma".to_string())
}

/// The alert's tags: `sigma`, ATT&CK technique ids upper-cased (`attack.t1098.001` → `T1098.001`),
/// the rest as written.
pub fn tags_of(tags: &[String]) -> Vec<String> {
    let mut out = vec!["sigma".to_string()];
    for t in tags {
        let tag = match t.strip_prefix("attack.") {
            Some(id) if id.starts_with(['t', 'T']) && id[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                id.to_uppercase()
            }
            _ => t.clone(),
        };
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

/// The registry name of a rule: its `name` when given, else its file name without extension,
/// lower-cased with `-` and spaces as `_`.
pub fn alert_name(name: Option<&str>, source: &str) -> String {
    let base = match name {
        Some(n) => n.to_string(),
        None => {
            let file = source.rsplit(['/', '\\']).next().unwrap_or(source);
            file.split('.').next().unwrap_or(file).to_string()
        }
    };
    base.to_lowercase().replace(['-', ' ', '.'], "_")
}

/// What a rule's metadata says, kept for summaries and `details.rule`.
#[derive(Clone, Debug)]
struct About {
    title: String,
    source: String,
    id: Option<String>,
    level: Option<Level>,
    status: Option<&'static str>,
    falsepositives: Vec<String>,
    tags: Vec<String>,
    category: String,
}

/// The metadata detection and correlation rules share, borrowed.
struct Header<'a> {
    title: &'a str,
    source: &'a str,
    name: Option<&'a str>,
    id: Option<&'a str>,
    level: Option<Level>,
    status: Option<tripline_sigma::Status>,
    falsepositives: &'a [String],
    tags: &'a [String],
}

impl About {
    /// The catalog entry and the kept metadata of a rule.
    fn of(h: Header<'_>) -> (Meta, About) {
        let mut meta = Meta::new(alert_name(h.name, h.source), h.title).severity(severity_of(h.level));
        meta.tags = h.tags.to_vec();
        let about = About {
            title: h.title.to_string(),
            source: h.source.to_string(),
            id: h.id.map(str::to_string),
            level: h.level,
            status: h.status.map(status_name),
            falsepositives: h.falsepositives.to_vec(),
            tags: tags_of(h.tags),
            category: category_of(h.tags),
        };
        (meta, about)
    }

    fn details(&self, kind: &str) -> Json {
        json!({
            "kind": kind,
            "title": self.title,
            "id": self.id,
            "file": self.source,
            "level": self.level.map(level_name),
            "status": self.status,
            "falsepositives": self.falsepositives,
        })
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Informational => "informational",
        Level::Low => "low",
        Level::Medium => "medium",
        Level::High => "high",
        Level::Critical => "critical",
    }
}

fn status_name(s: tripline_sigma::Status) -> &'static str {
    use tripline_sigma::Status::*;
    match s {
        Stable => "stable",
        Test => "test",
        Experimental => "experimental",
        Deprecated => "deprecated",
        Unsupported => "unsupported",
    }
}

/// Where a CloudTrail field named in a rule (`group-by`, `fields`) is stored, as paths to read
/// in order; `None` when it is not a plain stored field.
fn stored_paths(mapping: Mapping, field: &str) -> Option<Vec<String>> {
    // (A subtree member the normalizer stores flat maps to its keyword field: the CloudTrail
    // mapping prefers it to the pairs.)
    match mapping(field).ok()? {
        Target::SourceIp => Some(vec![
            tripline_sigma::fields::SOURCE_IP.to_string(),
            tripline_sigma::fields::SOURCE_HOST.to_string(),
        ]),
        Target::Keyword(p) | Target::Bool(p) | Target::Number(p) | Target::Ip(p) => Some(vec![p]),
        Target::Pair { .. } => None,
    }
}

/// A field of an event, by the name a rule uses, as text (`""` when absent): where it is stored,
/// else, for a member of a CloudTrail subtree kept as JSON text (`requestParameters.policyArn`),
/// from that text.
fn field_value(mapping: Mapping, event: &EventRef, field: &str) -> String {
    if let Some(paths) = stored_paths(mapping, field) {
        let stored = first_text(event, &paths.iter().map(String::as_str).collect::<Vec<_>>());
        if !stored.is_empty() {
            return stored;
        }
    }
    let Some((subtree, path)) = field.split_once('.') else { return String::new() };
    if !tripline_normalize::cloudtrail::RAW_SUBTREES.contains(&subtree) {
        return String::new();
    }
    let text = field_text(event, &format!("details.{}", subtree.to_lowercase()));
    let Ok(json) = serde_json::from_str::<Json>(&text) else { return String::new() };
    match tripline_event::lookup(&json, path) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// How a Sigma alert looks at its events.
#[derive(Clone, Debug)]
enum Kind {
    /// A detection rule: every matching event.
    Simple,
    /// `event_count` / `value_count`: per group, counted by the engine.
    Count(Box<Count>),
    /// `temporal` / `temporal_ordered`: every correlated rule matched in the group.
    Temporal(Box<Temporal>),
}

/// A temporal correlation.
#[derive(Clone, Debug)]
struct Temporal {
    /// CloudTrail name and stored field of the group (`None`: one group of everything).
    group: Option<(String, String)>,
    /// Each correlated rule's query, in order.
    parts: Vec<QueryAst>,
    /// In the order listed.
    ordered: bool,
    /// The correlated rules' names.
    rules: Vec<String>,
    /// The timespan as written.
    timespan: String,
}

/// A counting correlation.
#[derive(Clone, Debug)]
struct Count {
    /// CloudTrail name and stored field of the group (`None`: one group of everything).
    group: Option<(String, String)>,
    /// The bounds the count (or distinct count) must lie in.
    condition: CountCondition,
    /// `value_count`: CloudTrail name and stored field whose distinct values are counted.
    distinct: Option<(String, String)>,
    /// The correlated rules' names.
    rules: Vec<String>,
    /// The timespan as written.
    timespan: String,
}

/// A Sigma rule (detection or correlation) as an alert.
#[derive(Clone, Debug)]
pub struct SigmaAlert {
    meta: Meta,
    about: About,
    query: QueryAst,
    window: TimeDelta,
    kind: Kind,
    /// `fields`: the log source's names.
    fields: Vec<String>,
    /// The log source's field mapping.
    mapping: Mapping,
    /// The log source (`source` of its events).
    log: &'static str,
}

impl SigmaAlert {
    /// A detection rule compiled to an alert; `Err` names the line and construct it cannot
    /// translate exactly.
    pub fn from_rule(rule: &SigmaRule) -> Result<SigmaAlert, SigmaError> {
        let query = tripline_sigma::compile(rule)?;
        Ok(Self::simple(rule, query))
    }

    fn simple(rule: &SigmaRule, query: QueryAst) -> SigmaAlert {
        let (meta, about) = About::of(Header {
            title: &rule.title,
            source: &rule.source,
            name: rule.name.as_deref(),
            id: rule.id.as_deref(),
            level: rule.level,
            status: rule.status,
            falsepositives: &rule.falsepositives,
            tags: &rule.tags,
        });
        SigmaAlert {
            meta,
            about,
            query,
            window: TimeDelta::minutes(DEFAULT_WINDOW_MINUTES),
            kind: Kind::Simple,
            fields: rule.fields.clone(),
            mapping: tripline_sigma::log_source(&rule.logsource)
                .map_or(tripline_sigma::fields::cloudtrail as Mapping, |(_, m)| m),
            log: tripline_sigma::log_source(&rule.logsource).map_or("cloudtrail", |(l, _)| l),
        }
    }

    /// A correlation over already compiled rules (`resolve` finds one by `name` or `id`).
    pub fn from_correlation<'r>(
        c: &Correlation,
        resolve: impl Fn(&str) -> Option<&'r SigmaAlert>,
    ) -> Result<SigmaAlert, SigmaError> {
        let err =
            |at: tripline_sigma::Pos, construct: &str, reason: String| at.err(&c.source, construct, reason);
        let mut parts = Vec::new();
        let mut names = Vec::new();
        let mut fields: Vec<String> = Vec::new();
        let mut mapping: Option<(&'static str, Mapping)> = None;
        for (r, at) in &c.rules {
            let base = resolve(r).ok_or_else(|| {
                err(
                    *at,
                    "correlation.rules",
                    format!("no loaded detection rule is named or has the id {r:?}"),
                )
            })?;
            if !matches!(base.kind, Kind::Simple) {
                return Err(err(
                    *at,
                    "correlation.rules",
                    format!("{r:?} is a correlation: only detection rules can be correlated"),
                ));
            }
            if mapping.is_some_and(|(log, _)| log != base.log) {
                return Err(err(
                    *at,
                    "correlation.rules",
                    format!("{r:?} reads another log source than the rules before it"),
                ));
            }
            mapping = Some((base.log, base.mapping));
            parts.push(base.query.clone());
            names.push(base.meta.name.clone());
            for f in &base.fields {
                if !fields.contains(f) {
                    fields.push(f.clone());
                }
            }
        }
        let (log, mapping) = mapping.unwrap_or(("cloudtrail", tripline_sigma::fields::cloudtrail));
        let plain = |construct: &str, (field, at): &(String, tripline_sigma::Pos)| {
            match stored_paths(mapping, field) {
                Some(p) if p.len() == 1 => Ok((field.clone(), p[0].clone())),
                Some(_) => Err(err(
                    *at,
                    construct,
                    format!("{field} is stored in two fields (addresses and host names): it cannot be grouped or counted as one"),
                )),
                None => Err(err(*at, construct, format!("{field} is not a stored field that can be grouped or counted"))),
            }
        };
        let group = match c.group_by.as_slice() {
            [] => None,
            [one] => Some(plain("correlation.group-by", one)?),
            [_, second, ..] => {
                return Err(err(
                    second.1,
                    "correlation.group-by",
                    "grouping by more than one field is not supported yet".into(),
                ))
            }
        };
        let condition = match c.kind {
            CorrelationKind::EventCount | CorrelationKind::ValueCount => {
                c.condition.clone().unwrap_or_default()
            }
            CorrelationKind::Temporal | CorrelationKind::TemporalOrdered => {
                if let Some(cond) = &c.condition {
                    return Err(err(
                        cond.pos,
                        "correlation.condition",
                        "a temporal correlation holds when every rule matched; a condition on it is not supported"
                            .into(),
                    ));
                }
                if parts.len() < 2 {
                    return Err(err(
                        c.pos,
                        "correlation.rules",
                        "a temporal correlation needs two rules or more".into(),
                    ));
                }
                CountCondition::default()
            }
        };
        let distinct = match (&c.kind, &condition.field) {
            (CorrelationKind::ValueCount, Some(f)) => Some(plain("correlation.condition.field", f)?),
            _ => None,
        };
        let query = QueryAst::any(parts.clone());
        query.validate().map_err(|e| err(c.pos, "correlation", e.to_string()))?;
        let (meta, about) = About::of(Header {
            title: &c.title,
            source: &c.source,
            name: c.name.as_deref(),
            id: c.id.as_deref(),
            level: c.level,
            status: c.status,
            falsepositives: &c.falsepositives,
            tags: &c.tags,
        });
        Ok(SigmaAlert {
            meta,
            about,
            query,
            window: TimeDelta::seconds(i64::try_from(c.timespan_secs).unwrap_or(i64::MAX)),
            kind: match c.kind {
                CorrelationKind::Temporal | CorrelationKind::TemporalOrdered => {
                    Kind::Temporal(Box::new(Temporal {
                        group,
                        parts,
                        ordered: c.kind == CorrelationKind::TemporalOrdered,
                        rules: names,
                        timespan: c.timespan.clone(),
                    }))
                }
                _ => Kind::Count(Box::new(Count {
                    group,
                    condition,
                    distinct,
                    rules: names,
                    timespan: c.timespan.clone(),
                })),
            },
            fields,
            mapping,
            log,
        })
    }

    /// The compiled query, without the time window.
    pub fn compiled(&self) -> &QueryAst {
        &self.query
    }

    /// The rule's file.
    pub fn source(&self) -> &str {
        &self.about.source
    }

    /// `detection` or the correlation type.
    pub fn kind(&self) -> &'static str {
        match &self.kind {
            Kind::Simple => "detection",
            Kind::Count(c) if c.distinct.is_some() => "value_count",
            Kind::Count(_) => "event_count",
            Kind::Temporal(t) if t.ordered => "temporal_ordered",
            Kind::Temporal(_) => "temporal",
        }
    }

    fn field_details(&self, events: &[EventRef]) -> Map<String, Json> {
        let mut out = Map::new();
        for name in &self.fields {
            let values: Vec<String> =
                events.iter().map(|e| field_value(self.mapping, e, name)).filter(|v| !v.is_empty()).collect();
            let mut unique: Vec<String> = Vec::new();
            for v in values {
                if !unique.contains(&v) {
                    unique.push(v);
                }
            }
            match unique.len() {
                0 => {}
                1 => {
                    out.insert(name.clone(), Json::String(unique.remove(0)));
                }
                _ => {
                    out.insert(name.clone(), Json::from(unique));
                }
            }
        }
        out
    }

    fn draft(&self, summary: String, events: Vec<EventRef>, key: String) -> AlertDraft {
        let tags: Vec<&str> = self.about.tags.iter().map(String::as_str).collect();
        let fields = self.field_details(&events);
        let mut d = create_alert(summary, self.about.category.clone(), &tags, events, self.meta.severity)
            .key(key)
            .detail("rule", self.about.details(self.kind()));
        if !fields.is_empty() {
            d = d.detail("fields", Json::Object(fields));
        }
        d
    }
}

impl Alert for SigmaAlert {
    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::within(self.window).must(self.query.clone())
    }

    fn plan(&self) -> Plan {
        match &self.kind {
            Kind::Simple => Plan::Simple { limit: EVENT_LIMIT },
            Kind::Count(c) => Plan::Aggregation {
                field: c.group.as_ref().map_or_else(|| "source".to_string(), |(_, f)| f.clone()),
                // value_count bounds the distinct count, not the events: any group may hold.
                threshold: if c.distinct.is_some() { 1 } else { c.condition.min.unwrap_or(1).max(1) },
                samples: SAMPLES,
                max_groups: MAX_GROUPS,
                per_bucket: c
                    .distinct
                    .iter()
                    .map(|(_, f)| Aggregation::cardinality(f.clone()).named(DISTINCT))
                    .collect(),
            },
            Kind::Temporal(t) => Plan::Temporal {
                field: t.group.as_ref().map_or_else(|| "source".to_string(), |(_, f)| f.clone()),
                parts: t.parts.clone(),
                ordered: t.ordered,
                samples: SAMPLES,
                max_groups: MAX_GROUPS,
            },
        }
    }

    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        let name = field_text(event, "details.eventname");
        let ip = first_text(event, &["details.sourceipaddress", "details.sourcehostname"]);
        let mut summary = format!(
            "{}: {} by {}",
            self.about.title,
            if name.is_empty() { "event" } else { &name },
            actor(event)
        );
        if !ip.is_empty() {
            summary.push_str(&format!(" from {ip}"));
        }
        // The rule's fields of interest that the summary does not already say.
        let extra: Vec<String> = self
            .fields
            .iter()
            .filter(|f| !matches!(f.as_str(), "userIdentity.arn" | "sourceIPAddress" | "eventName"))
            .filter_map(|f| {
                let v = field_value(self.mapping, event, f);
                (!v.is_empty() && !summary.contains(&v)).then(|| format!("{f}: {v}"))
            })
            .collect();
        if !extra.is_empty() {
            summary.push_str(&format!(" ({})", extra.join(", ")));
        }
        Some(self.draft(summary, vec![event.clone()], event.documentid.clone()))
    }

    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        if let Kind::Temporal(t) = &self.kind {
            let key = group_text(group);
            let how = if t.ordered { "in this order" } else { "all" };
            let summary = match &t.group {
                Some((name, _)) => format!(
                    "{}: {} {how} within {} for {name} {key}",
                    self.about.title,
                    t.rules.join(", "),
                    t.timespan
                ),
                None => format!("{}: {} {how} within {}", self.about.title, t.rules.join(", "), t.timespan),
            };
            let d = self
                .draft(summary, group.samples.clone(), key.clone())
                .detail("count", group.count)
                .detail("correlates", Json::from(t.rules.clone()));
            return Some(match &t.group {
                Some((name, _)) => d.detail("group", json!({"field": name, "value": key})),
                None => d,
            });
        }
        let Kind::Count(c) = &self.kind else { return None };
        let Count { group: by, condition, distinct, rules, timespan } = c.as_ref();
        let (n, what) = match distinct {
            Some((name, _)) => (group.metric(DISTINCT)?, format!("distinct {name}")),
            None => (group.count, "events".to_string()),
        };
        if !condition.holds(n) {
            return None;
        }
        let key = group_text(group);
        let summary = match by {
            Some((name, _)) => format!("{}: {n} {what} in {timespan} for {name} {key}", self.about.title),
            None => format!("{}: {n} {what} in {timespan}", self.about.title),
        };
        let d = self
            .draft(summary, group.samples.clone(), key.clone())
            .detail("count", n)
            .detail("events", group.count)
            .detail("correlates", Json::from(rules.clone()));
        Some(match by {
            Some((name, _)) => d.detail("group", json!({"field": name, "value": key})),
            None => d,
        })
    }
}

/// A file, or a rule in it, that did not load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The file.
    pub source: String,
    /// The rule's title, when it was read that far.
    pub title: Option<String>,
    /// Why (file, line, column, construct and reason).
    pub reason: String,
}

/// One line: the reason, led by the file when the reason does not already name it (a rule's
/// error does; an unreadable file's does not).
impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.reason.starts_with(&self.source) {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.source, self.reason)
        }
    }
}

/// Test cases for one alert, from its rule file or a `*.tests.yml` file.
#[derive(Clone, Debug)]
pub struct CaseSet {
    /// The alert they test.
    pub alert: String,
    /// The file they were read from (`file:` paths are relative to it).
    pub source: String,
    /// The cases.
    pub cases: Vec<TestCase>,
}

/// What [`RuleSet::load`] did.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Alerts added, by name, with their file.
    pub loaded: Vec<(String, String)>,
    /// Detection rules loaded only as parts of a correlation (`generate: false`), not alerts.
    pub parts: Vec<(String, String)>,
    /// What was refused, and why.
    pub refused: Vec<Refusal>,
    /// Test cases, per alert.
    pub cases: Vec<CaseSet>,
}

/// A compiled detection rule with its `name`, `id` and test cases.
type Compiled = (SigmaAlert, Option<String>, Option<String>, Vec<TestCase>);

/// Rule files read but not yet compiled.
#[derive(Default)]
pub struct RuleSet {
    docs: Vec<Document>,
    refused: Vec<Refusal>,
    case_files: Vec<CaseSet>,
}

impl RuleSet {
    /// Nothing read yet.
    pub fn new() -> Self {
        RuleSet::default()
    }

    /// Read one file's text: Sigma rules (`.yml`), or test cases for a Rust alert
    /// (`*.tests.yml`: `alert: <name>` and `tests:`). A file that does not parse is refused whole.
    pub fn add_text(&mut self, source: &str, text: &str) {
        if source.ends_with(".tests.yml") || source.ends_with(".tests.yaml") {
            match tripline_sigma::parse_case_file(source, text) {
                Ok((alert, cases)) => {
                    self.case_files.push(CaseSet { alert, source: source.to_string(), cases })
                }
                Err(e) => self.refuse(source, None, e.to_string()),
            }
            return;
        }
        match tripline_sigma::parse_documents(source, text) {
            Ok(docs) => self.docs.extend(docs),
            Err(e) => self.refuse(source, None, e.to_string()),
        }
    }

    /// Refuse a file for a reason found outside its text (unreadable, too large).
    pub fn refuse(&mut self, source: &str, title: Option<String>, reason: String) {
        self.refused.push(Refusal { source: source.to_string(), title, reason });
    }

    /// Compile every rule read and add what compiles to `registry`.
    pub fn load(self, registry: &mut Registry) -> LoadReport {
        let mut report =
            LoadReport { refused: self.refused, cases: self.case_files, ..LoadReport::default() };
        let mut simple: Vec<Compiled> = Vec::new();
        let mut correlations = Vec::new();
        for doc in self.docs {
            match doc {
                Document::Rule(rule) => match SigmaAlert::from_rule(&rule) {
                    Ok(a) => simple.push((a, rule.name.clone(), rule.id.clone(), rule.tests.clone())),
                    Err(e) => report.refused.push(Refusal {
                        source: rule.source.clone(),
                        title: Some(rule.title.clone()),
                        reason: e.to_string(),
                    }),
                },
                Document::Correlation(c) => correlations.push(c),
            }
        }
        let mut by_ref: HashMap<String, usize> = HashMap::new();
        for (i, (_, name, id, _)) in simple.iter().enumerate() {
            for r in [name, id].into_iter().flatten() {
                by_ref.insert(r.clone(), i);
            }
        }
        let mut parts_only = vec![false; simple.len()];
        let mut built = Vec::new();
        for c in &correlations {
            let resolve = |r: &str| by_ref.get(r).map(|&i| &simple[i].0);
            match SigmaAlert::from_correlation(c, resolve) {
                Ok(a) => {
                    if !c.generate {
                        for (r, _) in &c.rules {
                            if let Some(&i) = by_ref.get(r) {
                                parts_only[i] = true;
                            }
                        }
                    }
                    built.push((a, c.tests.clone()));
                }
                Err(e) => report.refused.push(Refusal {
                    source: c.source.clone(),
                    title: Some(c.title.clone()),
                    reason: e.to_string(),
                }),
            }
        }
        let mut add = |alert: SigmaAlert, tests: Vec<TestCase>, report: &mut LoadReport| {
            let (name, source, title) =
                (alert.meta.name.clone(), alert.about.source.clone(), alert.about.title.clone());
            match registry.add(Arc::new(alert)) {
                Ok(()) => {
                    if !tests.is_empty() {
                        report.cases.push(CaseSet {
                            alert: name.clone(),
                            source: source.clone(),
                            cases: tests,
                        });
                    }
                    report.loaded.push((name, source));
                }
                Err(e) => report.refused.push(Refusal { source, title: Some(title), reason: e.to_string() }),
            }
        };
        for ((alert, _, _, tests), only_part) in simple.into_iter().zip(parts_only) {
            if only_part {
                report.parts.push((alert.meta.name.clone(), alert.about.source.clone()));
            } else {
                add(alert, tests, &mut report);
            }
        }
        for (alert, tests) in built {
            add(alert, tests, &mut report);
        }
        // Test files for alerts that are not there are refused, not ignored.
        let known: Vec<String> = registry.iter().map(|a| a.name().to_string()).collect();
        let (kept, orphans): (Vec<CaseSet>, Vec<CaseSet>) =
            report.cases.drain(..).partition(|c| known.contains(&c.alert));
        report.cases = kept;
        for o in orphans {
            report.refused.push(Refusal {
                source: o.source,
                title: None,
                reason: format!("test cases for {:?}, which is not an alert of the catalog", o.alert),
            });
        }
        report
    }
}
