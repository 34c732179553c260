//! An aggregation alert's groups in every window of its schedule, from **one** engine answer.
//!
//! A run of an aggregation alert asks the engine for the groups of its window (a terms
//! aggregation with the plan's per-group aggregations) and hands each group to the alert. Over a
//! month of 5-minute ticks that is thousands of engine calls per alert, most of them over
//! ordinary traffic that the alert looks at and lets go (a cardinality below two, no foreign key
//! in the group). This module asks the engine once, for the same aggregation **per second**
//! (a date histogram of one second, the groups inside each), with every per-group aggregation
//! made summable: terms untruncated, a cardinality as the terms of its values. A window is then a
//! sum of seconds, kept as a sliding sum per group (each second enters once and leaves once), and
//! each tick's groups are rebuilt exactly as the engine would answer for that window: counts
//! summed, terms sorted by count then key and cut to their size, distinct values counted, the
//! newest samples taken from the newest seconds first (each second's samples come sorted by the
//! engine, and seconds never share an instant). The alert judges them as in a run.
//!
//! What it cannot settle it says, and the tick is run for real: a window whose last instant
//! falls in a second that holds events (a run counts an event at that instant, not one later in
//! the second), and a second whose groups filled an answer. The sums hold no tags: the caller
//! runs every tick for real while the events an earlier raise tagged are still in reach.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value as Json;
use tripline_alerts::{Alert, Group};
use tripline_dsl::{Aggregation, AggregationKind, AggregationResult, AggregationValue, Bucket, Hit};
use tripline_event::EventRef;

/// Terms asked of the engine per second: all of them (an answer this full is not trusted).
const ALL: usize = tripline_dsl::search::MAX_BUCKETS;

/// The aggregation asked per second for the plan's terms aggregation `groups`, or `None` when a
/// per-group aggregation cannot be summed over seconds (a date histogram).
pub(super) fn per_second(groups: &Aggregation) -> Option<Aggregation> {
    let subs = groups.subs.iter().map(summable).collect::<Option<Vec<_>>>()?;
    let AggregationKind::Terms { field, samples, .. } = &groups.kind else { return None };
    let terms = Aggregation {
        name: groups.name.clone(),
        kind: AggregationKind::Terms { field: field.clone(), size: ALL, samples: *samples, min_count: 1 },
        subs,
    };
    Some(Aggregation {
        name: "seconds".into(),
        kind: AggregationKind::DateHistogram {
            field: tripline_dsl::WINDOW_FIELD.to_string(),
            interval_secs: 1,
        },
        subs: vec![terms],
    })
}

fn summable(a: &Aggregation) -> Option<Aggregation> {
    let kind = match &a.kind {
        AggregationKind::Terms { field, samples, .. } => {
            AggregationKind::Terms { field: field.clone(), size: ALL, samples: *samples, min_count: 1 }
        }
        AggregationKind::Cardinality { field } => {
            AggregationKind::Terms { field: field.clone(), size: ALL, samples: 0, min_count: 1 }
        }
        AggregationKind::DateHistogram { .. } => return None,
    };
    let subs = a.subs.iter().map(summable).collect::<Option<Vec<_>>>()?;
    Some(Aggregation { name: a.name.clone(), kind, subs })
}

/// One bucket of one second, keyed once.
struct Part {
    key: Json,
    enc: String,
    count: u64,
    samples: Rc<[Hit]>,
    /// Per per-group aggregation, its buckets.
    subs: Vec<Vec<Part>>,
}

impl Part {
    fn new(b: Bucket) -> Part {
        Part {
            enc: encode(&b.key),
            key: b.key,
            count: b.count,
            samples: b.samples.into(),
            subs: b
                .subs
                .into_iter()
                .map(|s| match s.value {
                    AggregationValue::Buckets(inner) => inner.into_iter().map(Part::new).collect(),
                    AggregationValue::Count(_) => Vec::new(),
                })
                .collect(),
        }
    }
}

/// Where a second's events lie within it, as far as its samples tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Within {
    /// All on its first instant (every group's events sampled, all at `:ss.000000`).
    Start,
    /// All after its first instant.
    After,
    /// Not known.
    Unknown,
}

fn placement(at: i64, groups: &[Part]) -> Within {
    let mut start = false;
    let mut after = false;
    for g in groups {
        if g.samples.len() as u64 != g.count {
            return Within::Unknown;
        }
        for h in g.samples.iter() {
            match crate::runner::hit_time(h) {
                Some(t) if t.timestamp() == at && t.timestamp_subsec_nanos() == 0 => start = true,
                Some(t) if t.timestamp() == at => after = true,
                _ => return Within::Unknown,
            }
        }
    }
    match (start, after) {
        (true, false) => Within::Start,
        (false, true) => Within::After,
        _ => Within::Unknown,
    }
}

/// The groups of each second that holds events, oldest first.
pub(super) struct Seconds {
    rows: Vec<(i64, Vec<Part>)>,
    within: Vec<Within>,
    /// The events counted.
    pub(super) events: u64,
}

impl Seconds {
    /// From the engine's answer to [`per_second`]; `None` when it cannot be used (a second's
    /// terms filled the answer, or a bucket key is not a time).
    pub(super) fn new(results: Vec<AggregationResult>) -> Option<Seconds> {
        let hist = results.into_iter().find(|r| r.name == "seconds")?;
        let AggregationValue::Buckets(seconds) = hist.value else { return None };
        let mut rows: Vec<(i64, Vec<Part>)> = Vec::with_capacity(seconds.len());
        let mut events = 0u64;
        for b in seconds {
            events = events.saturating_add(b.count);
            let at = b.key.as_str().and_then(|k| tripline_dsl::parse_timestamp(k).ok())?.timestamp();
            let groups = match b.subs.into_iter().next()?.value {
                AggregationValue::Buckets(g) => g,
                AggregationValue::Count(_) => return None,
            };
            if full(&groups) {
                return None;
            }
            rows.push((at, groups.into_iter().map(Part::new).collect()));
        }
        rows.sort_by_key(|(at, _)| *at);
        let within = rows.iter().map(|(at, groups)| placement(*at, groups)).collect::<Vec<_>>();
        Some(Seconds { rows, within, events })
    }
}

/// Whether some terms answer in these buckets is as long as an answer may be (maybe cut).
fn full(buckets: &[Bucket]) -> bool {
    buckets.len() >= ALL
        || buckets.iter().any(|b| {
            b.subs.iter().any(|s| matches!(&s.value, AggregationValue::Buckets(inner) if full(inner)))
        })
}

/// A bucket summed over the seconds of a window.
#[derive(Debug, Default)]
struct Sum {
    count: u64,
    /// Each second's samples, newest first within it; the oldest second in front.
    samples: VecDeque<(i64, Rc<[Hit]>)>,
    /// The per-group aggregations, in the plan's order: terms by encoded key.
    subs: Vec<HashMap<String, (Json, Sum)>>,
}

fn encode(key: &Json) -> String {
    key.to_string()
}

/// Add second `at`'s bucket `p` to the sums by key.
fn enter(sums: &mut HashMap<String, (Json, Sum)>, at: i64, p: &Part) {
    match sums.get_mut(&p.enc) {
        Some((_, s)) => s.add(at, p),
        None => {
            let mut s = Sum::default();
            s.add(at, p);
            sums.insert(p.enc.clone(), (p.key.clone(), s));
        }
    }
}

/// Take second `at`'s bucket `p` out of the sums by key (a key left with nothing goes).
fn leave(sums: &mut HashMap<String, (Json, Sum)>, at: i64, p: &Part) {
    if sums.get_mut(&p.enc).is_some_and(|(_, s)| s.remove(at, p)) {
        sums.remove(&p.enc);
    }
}

impl Sum {
    fn add(&mut self, at: i64, p: &Part) {
        self.count += p.count;
        if !p.samples.is_empty() {
            self.samples.push_back((at, p.samples.clone()));
        }
        if self.subs.len() < p.subs.len() {
            self.subs.resize_with(p.subs.len(), HashMap::new);
        }
        for (sums, inner) in self.subs.iter_mut().zip(&p.subs) {
            for ip in inner {
                enter(sums, at, ip);
            }
        }
    }

    /// Take out what `add(at, p)` put in; whether nothing is left.
    fn remove(&mut self, at: i64, p: &Part) -> bool {
        self.count = self.count.saturating_sub(p.count);
        if self.samples.front().is_some_and(|(s, _)| *s == at) {
            self.samples.pop_front();
        }
        for (sums, inner) in self.subs.iter_mut().zip(&p.subs) {
            for ip in inner {
                leave(sums, at, ip);
            }
        }
        self.count == 0
    }

    /// The newest `n` samples, newest first.
    fn newest(&self, n: usize) -> Vec<Hit> {
        self.samples.iter().rev().flat_map(|(_, hits)| hits.iter()).take(n).cloned().collect()
    }

    /// The per-group aggregations as the engine answers them over the window.
    fn metrics(&self, aggs: &[Aggregation]) -> Vec<AggregationResult> {
        aggs.iter()
            .enumerate()
            .map(|(i, a)| {
                let empty = HashMap::new();
                let sums = self.subs.get(i).unwrap_or(&empty);
                let value = match &a.kind {
                    AggregationKind::Cardinality { .. } => AggregationValue::Count(sums.len() as u64),
                    AggregationKind::Terms { size, samples, min_count, .. } => {
                        AggregationValue::Buckets(buckets(sums, *size, *samples, *min_count, &a.subs))
                    }
                    AggregationKind::DateHistogram { .. } => AggregationValue::Buckets(Vec::new()),
                };
                AggregationResult { name: a.name.clone(), value }
            })
            .collect()
    }
}

/// Terms buckets as the engine orders them: most frequent first, ties by key ascending (booleans,
/// then numbers, then strings), cut to `size`.
fn buckets(
    sums: &HashMap<String, (Json, Sum)>,
    size: usize,
    samples: usize,
    min_count: u64,
    subs: &[Aggregation],
) -> Vec<Bucket> {
    let mut kept: Vec<&(Json, Sum)> = sums.values().filter(|(_, s)| s.count >= min_count.max(1)).collect();
    kept.sort_by(|(ka, a), (kb, b)| b.count.cmp(&a.count).then_with(|| key_order(ka, kb)));
    kept.truncate(size);
    kept.into_iter()
        .map(|(key, s)| Bucket {
            key: key.clone(),
            count: s.count,
            samples: s.newest(samples),
            subs: s.metrics(subs),
        })
        .collect()
}

/// The order of bucket keys the engines use.
pub(super) fn key_order(a: &Json, b: &Json) -> std::cmp::Ordering {
    let rank = |v: &Json| match v {
        Json::Bool(_) => 0,
        Json::Number(_) => 1,
        _ => 3,
    };
    match (a, b) {
        (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
        (Json::Number(x), Json::Number(y)) => x.as_f64().unwrap_or(0.0).total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Json::String(x), Json::String(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// What one window pass of the plan needs to rebuild its groups.
pub(super) struct Plan<'a> {
    /// The plan's terms aggregation (field, size = max groups, samples, min_count = threshold).
    pub groups: &'a Aggregation,
    /// The window as offsets back from the tick: `[t − since, t − until]`.
    pub since: TimeDelta,
    /// See `since`.
    pub until: TimeDelta,
}

/// One window sliding over the seconds.
struct Slide<'a> {
    plan: Plan<'a>,
    lo: usize,
    hi: usize,
    sums: HashMap<String, (Json, Sum)>,
}

/// Whether a tick can raise, as the rebuilt groups tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// No group of any window raises.
    Quiet,
    /// A group raises.
    Raises,
    /// The seconds cannot settle it: run the tick.
    Unsettled,
}

/// Every tick's verdict, in order, for an alert whose passes are `plans`.
pub(super) fn verdicts(
    alert: &dyn Alert,
    seconds: &Seconds,
    plans: Vec<Plan<'_>>,
    ticks: impl Iterator<Item = DateTime<Utc>>,
) -> Vec<(DateTime<Utc>, Verdict)> {
    let mut slides: Vec<Slide> =
        plans.into_iter().map(|plan| Slide { plan, lo: 0, hi: 0, sums: HashMap::new() }).collect();
    let rows = &seconds.rows;
    let mut out = Vec::new();
    for t in ticks {
        let mut verdict = Verdict::Quiet;
        for s in &mut slides {
            let (Some(a), Some(b)) = (t.checked_sub_signed(s.plan.since), t.checked_sub_signed(s.plan.until))
            else {
                verdict = Verdict::Unsettled;
                continue;
            };
            let (a, b) = (a.timestamp(), b.timestamp());
            while s.hi < rows.len() && rows[s.hi].0 < b {
                let (at, groups) = &rows[s.hi];
                groups.iter().for_each(|g| enter(&mut s.sums, *at, g));
                s.hi += 1;
            }
            while s.lo < s.hi && rows[s.lo].0 < a {
                let (at, groups) = &rows[s.lo];
                groups.iter().for_each(|g| leave(&mut s.sums, *at, g));
                s.lo += 1;
            }
            // The window's last second counts when its events are on its first instant (the
            // window's last); it is left out when they all come later; else a run must tell.
            if s.hi < rows.len() && rows[s.hi].0 == b {
                match seconds.within[s.hi] {
                    Within::Start => {
                        let (at, groups) = &rows[s.hi];
                        groups.iter().for_each(|g| enter(&mut s.sums, *at, g));
                        s.hi += 1;
                    }
                    Within::After => {}
                    Within::Unknown => {
                        verdict = Verdict::Unsettled;
                        continue;
                    }
                }
            }
            if verdict == Verdict::Quiet && raises(alert, s, b) {
                verdict = Verdict::Raises;
            }
        }
        out.push((t, verdict));
    }
    out
}

/// Whether a group of the window raises, judged at the window's end.
fn raises(alert: &dyn Alert, s: &Slide<'_>, until: i64) -> bool {
    let AggregationKind::Terms { size, samples, min_count, .. } = &s.plan.groups.kind else { return true };
    let Some(clock) = DateTime::from_timestamp(until, 0) else { return true };
    let threshold = (*min_count).max(1);
    if !s.sums.values().any(|(_, sum)| sum.count >= threshold) {
        return false;
    }
    for bucket in buckets(&s.sums, *size, *samples, threshold, &s.plan.groups.subs) {
        let group = Group {
            value: bucket.key,
            count: bucket.count,
            samples: bucket
                .samples
                .into_iter()
                .map(|h| EventRef { documentindex: h.index, documentid: h.id, documentsource: h.source })
                .collect(),
            metrics: bucket.subs.into_iter().map(|r| (r.name, r.value)).collect(),
        };
        if alert.on_aggregation_at(&group, clock).is_some() {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::LazyLock;
    use tripline_alerts::{create_alert, AlertDraft, Meta, Severity};

    fn t(s: &str) -> DateTime<Utc> {
        tripline_dsl::parse_timestamp(s).unwrap()
    }

    fn hit(at: &str) -> Hit {
        Hit { index: "i".into(), id: at.into(), source: serde_json::json!({ "utctimestamp": at }) }
    }

    /// A group of `user` in one second: `hits` its events (all sampled), `ips` their addresses.
    fn group(user: &str, hits: &[&str], ips: &[&str]) -> Bucket {
        let addresses = ips
            .iter()
            .map(|ip| Bucket { key: serde_json::json!(ip), count: 1, samples: vec![], subs: vec![] })
            .collect();
        Bucket {
            key: serde_json::json!(user),
            count: hits.len() as u64,
            samples: hits.iter().map(|h| hit(h)).collect(),
            subs: vec![AggregationResult { name: "ips".into(), value: AggregationValue::Buckets(addresses) }],
        }
    }

    fn second(at: &str, groups: Vec<Bucket>) -> Bucket {
        let key = format!("{}Z", &at[..19]);
        Bucket {
            key: serde_json::json!(key),
            count: groups.iter().map(|g| g.count).sum(),
            samples: vec![],
            subs: vec![AggregationResult { name: "user".into(), value: AggregationValue::Buckets(groups) }],
        }
    }

    static META: LazyLock<Meta> = LazyLock::new(|| Meta::new("two_ips", "a user from two addresses"));

    /// Raises a group seen from two or more addresses.
    struct TwoIps;
    impl Alert for TwoIps {
        fn meta(&self) -> &Meta {
            &META
        }
        fn query(&self) -> tripline_dsl::SearchQuery {
            tripline_dsl::SearchQuery::minutes(10)
        }
        fn plan(&self) -> tripline_alerts::Plan {
            tripline_alerts::Plan::Simple { limit: 1 }
        }
        fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
            (group.metric("ips")? >= 2).then(|| create_alert("two", "access", &[], vec![], Severity::Warning))
        }
    }

    fn groups() -> Aggregation {
        let mut g = Aggregation::terms("user").named("user").size(10).samples(5).min_count(1);
        g.subs = vec![Aggregation::cardinality("ip").named("ips")];
        g
    }

    fn verdicts_of(rows: Vec<Bucket>, from: &str, to: &str) -> Vec<(String, Verdict)> {
        let answer =
            vec![AggregationResult { name: "seconds".into(), value: AggregationValue::Buckets(rows) }];
        let seconds = Seconds::new(answer).expect("usable");
        let g = groups();
        let plans = vec![Plan { groups: &g, since: TimeDelta::minutes(10), until: TimeDelta::zero() }];
        let ticks = crate::backtest::Ticks::new("x", "rate(5 minutes)", t(from), t(to)).unwrap();
        verdicts(&TwoIps, &seconds, plans, ticks.iter())
            .into_iter()
            .map(|(at, v)| (tripline_event::format_timestamp(at)[11..16].to_string(), v))
            .collect()
    }

    #[test]
    fn the_per_second_request_sums_what_a_window_needs() {
        let hist = per_second(&groups()).unwrap();
        let AggregationKind::DateHistogram { interval_secs, .. } = hist.kind else { panic!("{hist:?}") };
        assert_eq!(interval_secs, 1);
        let terms = &hist.subs[0];
        assert!(matches!(terms.kind, AggregationKind::Terms { size: ALL, samples: 5, min_count: 1, .. }));
        // The cardinality is asked as the terms of its values.
        assert!(matches!(terms.subs[0].kind, AggregationKind::Terms { size: ALL, samples: 0, .. }));
        let mut by_time = groups();
        by_time.subs.push(Aggregation {
            name: "h".into(),
            kind: AggregationKind::DateHistogram { field: "utctimestamp".into(), interval_secs: 60 },
            subs: vec![],
        });
        assert!(per_second(&by_time).is_none());
    }

    #[test]
    fn windows_sum_their_seconds_and_forget_those_that_leave() {
        let rows = vec![
            second("2024-06-03T00:01:00Z", vec![group("alice", &["2024-06-03T00:01:00.5Z"], &["10.0.0.1"])]),
            second("2024-06-03T00:08:00Z", vec![group("alice", &["2024-06-03T00:08:00.5Z"], &["10.0.0.2"])]),
            second("2024-06-03T00:21:00Z", vec![group("bob", &["2024-06-03T00:21:00.5Z"], &["10.0.0.3"])]),
        ];
        let got = verdicts_of(rows, "2024-06-03T00:00:00Z", "2024-06-03T00:30:00Z");
        let raised: Vec<&str> =
            got.iter().filter(|(_, v)| *v == Verdict::Raises).map(|(at, _)| at.as_str()).collect();
        // alice's two addresses share the windows ending 00:10 (and no other): 00:01 has left
        // the one ending 00:15.
        assert_eq!(raised, ["00:10"]);
        assert!(got.iter().all(|(_, v)| *v != Verdict::Unsettled), "{got:?}");
    }

    #[test]
    fn a_window_ending_inside_a_busy_second_is_settled_by_its_samples() {
        let at_end = |hit_at: &str| {
            vec![
                second(
                    "2024-06-03T00:01:00Z",
                    vec![group("alice", &["2024-06-03T00:01:00Z"], &["10.0.0.1"])],
                ),
                second("2024-06-03T00:10:00Z", vec![group("alice", &[hit_at], &["10.0.0.2"])]),
            ]
        };
        let verdict_at_10 = |rows| verdicts_of(rows, "2024-06-03T00:05:00Z", "2024-06-03T00:10:00Z")[0].1;
        // On the window's last instant: in it.
        assert_eq!(verdict_at_10(at_end("2024-06-03T00:10:00Z")), Verdict::Raises);
        // Later in that second: not in it.
        assert_eq!(verdict_at_10(at_end("2024-06-03T00:10:00.250Z")), Verdict::Quiet);
        // Both, or events not all sampled: a run must tell.
        let mut both = at_end("2024-06-03T00:10:00Z");
        if let AggregationValue::Buckets(g) = &mut both[1].subs[0].value {
            g.push(group("bob", &["2024-06-03T00:10:00.5Z"], &["10.0.0.9"]));
        }
        assert_eq!(verdict_at_10(both), Verdict::Unsettled);
        let mut unsampled = at_end("2024-06-03T00:10:00Z");
        if let AggregationValue::Buckets(g) = &mut unsampled[1].subs[0].value {
            g[0].count = 7;
        }
        assert_eq!(verdict_at_10(unsampled), Verdict::Unsettled);
    }

    #[test]
    fn keys_order_as_the_engines_order_them() {
        let mut keys = vec![
            serde_json::json!("b"),
            serde_json::json!(10),
            serde_json::json!(true),
            serde_json::json!("a"),
            serde_json::json!(2.5),
        ];
        keys.sort_by(key_order);
        assert_eq!(
            keys,
            vec![
                serde_json::json!(true),
                serde_json::json!(2.5),
                serde_json::json!(10),
                serde_json::json!("a"),
                serde_json::json!("b")
            ]
        );
    }
}
