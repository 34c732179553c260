//! Aggregations, counted by the engine over every matching document.
//!
//! A collector gathers the matching doc ids per segment; each aggregation then reads the values of
//! its field from the `_fast` JSON columns (strings as per-segment ordinals, resolved to text once
//! per bucket, not per document), groups the documents, and recurses into sub-aggregations with
//! each bucket's documents. Per-segment results are merged by key, so counts and cardinalities are
//! exact at any volume (no HyperLogLog, no per-segment top-N truncation). Sampled hits are the most
//! recent documents of a bucket by `utctimestamp`.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, DynamicColumn};
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentOrdinal, SegmentReader};
use tripline_dsl::{Aggregation, AggregationKind};

use super::mapping::{parse_date, FAST_JSON, RECV, UTC};
use crate::{AggregationResult, AggregationValue, Bucket, Hit, StoreError};

/// Collects the matching doc ids of every segment.
pub(crate) struct DocIds;

/// One segment's matching doc ids, ascending.
pub(crate) struct SegmentDocIds {
    segment: SegmentOrdinal,
    docs: Vec<DocId>,
}

impl Collector for DocIds {
    type Fruit = Vec<(SegmentOrdinal, Vec<DocId>)>;
    type Child = SegmentDocIds;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        _reader: &SegmentReader,
    ) -> tantivy::Result<SegmentDocIds> {
        Ok(SegmentDocIds { segment, docs: Vec::new() })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<(SegmentOrdinal, Vec<DocId>)>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits)
    }
}

impl SegmentCollector for SegmentDocIds {
    type Fruit = (SegmentOrdinal, Vec<DocId>);

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.docs.push(doc);
    }

    fn harvest(self) -> Self::Fruit {
        (self.segment, self.docs)
    }
}

/// A bucket key, independent of segments.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Bool(bool),
    Int(i64),
    /// f64 bits (never integral: those are `Int`).
    Float(u64),
    Str(String),
    /// µs since the epoch.
    Date(i64),
}

impl Key {
    fn num(x: f64) -> Key {
        if x.fract() == 0.0 && x.abs() < 9.0e15 {
            Key::Int(x as i64)
        } else {
            Key::Float(x.to_bits())
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Key::Bool(_) => 0,
            Key::Int(_) | Key::Float(_) => 1,
            Key::Date(_) => 2,
            Key::Str(_) => 3,
        }
    }

    fn as_f64(&self) -> f64 {
        match self {
            Key::Int(i) => *i as f64,
            Key::Float(b) => f64::from_bits(*b),
            _ => 0.0,
        }
    }

    fn cmp_key(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
            (Key::Str(a), Key::Str(b)) => a.cmp(b),
            (Key::Date(a), Key::Date(b)) => a.cmp(b),
            (a, b) if a.rank() == 1 && b.rank() == 1 => a.as_f64().total_cmp(&b.as_f64()),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    fn to_json(&self) -> Json {
        match self {
            Key::Bool(b) => Json::Bool(*b),
            Key::Int(i) => Json::from(*i),
            Key::Float(b) => {
                serde_json::Number::from_f64(f64::from_bits(*b)).map(Json::Number).unwrap_or(Json::Null)
            }
            Key::Str(s) => Json::String(s.clone()),
            Key::Date(t) => Json::String(format_micros(*t)),
        }
    }
}

fn format_micros(t: i64) -> String {
    chrono::DateTime::from_timestamp_micros(t)
        .map(tripline_event::format_timestamp)
        .unwrap_or_else(|| t.to_string())
}

/// A key within one segment: string values stay ordinals until a bucket is done.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum LocalKey {
    Ord(usize, u64),
    Bool(bool),
    Int(i64),
    Float(u64),
    Date(i64),
}

#[derive(Debug)]
enum Partial {
    Buckets(HashMap<Key, PartialBucket>),
    Distinct(HashSet<Key>),
}

#[derive(Debug, Default)]
struct PartialBucket {
    count: u64,
    /// (utctimestamp µs, segment, doc), most recent first.
    samples: Vec<(i64, SegmentOrdinal, DocId)>,
    subs: Vec<Partial>,
}

/// One segment's columns, opened once per field.
struct SegmentContext<'a> {
    segment: SegmentOrdinal,
    reader: &'a SegmentReader,
    utc: Option<Column<i64>>,
    recv: Option<Column<i64>>,
    columns: HashMap<String, Vec<DynamicColumn>>,
}

fn index_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Index(e.to_string())
}

impl<'a> SegmentContext<'a> {
    fn new(segment: SegmentOrdinal, reader: &'a SegmentReader) -> Result<Self, StoreError> {
        let ff = reader.fast_fields();
        Ok(SegmentContext {
            segment,
            reader,
            utc: ff.column_opt::<i64>(UTC).map_err(index_err)?,
            recv: ff.column_opt::<i64>(RECV).map_err(index_err)?,
            columns: HashMap::new(),
        })
    }

    fn columns(&mut self, field: &str) -> Result<&[DynamicColumn], StoreError> {
        if !self.columns.contains_key(field) {
            let handles = self
                .reader
                .fast_fields()
                .dynamic_column_handles(&format!("{FAST_JSON}.{field}"))
                .map_err(index_err)?;
            let cols = handles.iter().map(|h| h.open()).collect::<Result<Vec<_>, _>>().map_err(index_err)?;
            self.columns.insert(field.to_string(), cols);
        }
        Ok(self.columns.get(field).map(Vec::as_slice).unwrap_or(&[]))
    }

    fn utc(&self, doc: DocId) -> i64 {
        self.utc.as_ref().and_then(|c| c.first(doc)).unwrap_or(i64::MIN)
    }
}

/// The keys of one document in `cols`, deduplicated, appended to `out`.
fn doc_keys(cols: &[DynamicColumn], doc: DocId, out: &mut Vec<LocalKey>) {
    let start = out.len();
    for (ci, col) in cols.iter().enumerate() {
        match col {
            DynamicColumn::Str(c) => out.extend(c.term_ords(doc).map(|o| LocalKey::Ord(ci, o))),
            DynamicColumn::Bool(c) => out.extend(c.values_for_doc(doc).map(LocalKey::Bool)),
            DynamicColumn::I64(c) => out.extend(c.values_for_doc(doc).map(LocalKey::Int)),
            DynamicColumn::U64(c) => out.extend(c.values_for_doc(doc).map(|u| local_num(u as f64))),
            DynamicColumn::F64(c) => out.extend(c.values_for_doc(doc).map(local_num)),
            DynamicColumn::DateTime(c) => {
                out.extend(c.values_for_doc(doc).map(|d| LocalKey::Date(d.into_timestamp_micros())))
            }
            DynamicColumn::IpAddr(_) | DynamicColumn::Bytes(_) => {}
        }
    }
    if out.len() - start > 1 {
        out[start..].sort_unstable();
        let mut v: Vec<LocalKey> = out.drain(start..).collect();
        v.dedup();
        out.extend(v);
    }
}

fn local_num(x: f64) -> LocalKey {
    match Key::num(x) {
        Key::Int(i) => LocalKey::Int(i),
        _ => LocalKey::Float(x.to_bits()),
    }
}

/// Instants (µs) of a document for a date histogram over `field`.
fn doc_times(
    ctx: &mut SegmentContext<'_>,
    field: &str,
    doc: DocId,
    out: &mut Vec<i64>,
) -> Result<(), StoreError> {
    let fixed = match field {
        "utctimestamp" => Some(&ctx.utc),
        "receivedtimestamp" => Some(&ctx.recv),
        _ => None,
    };
    if let Some(col) = fixed {
        out.extend(col.as_ref().and_then(|c| c.first(doc)));
        return Ok(());
    }
    let cols = ctx.columns(field)?;
    for col in cols {
        match col {
            DynamicColumn::DateTime(c) => {
                out.extend(c.values_for_doc(doc).map(|d| d.into_timestamp_micros()))
            }
            DynamicColumn::Str(c) => {
                let mut s = String::new();
                for o in c.term_ords(doc) {
                    s.clear();
                    c.ord_to_str(o, &mut s).map_err(index_err)?;
                    out.extend(parse_date(&s));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// One segment's aggregation, its string keys still ordinals: they are resolved once for the
/// whole tree ([`resolve_tree`]), in one sorted walk per column, not once per bucket.
#[derive(Debug)]
enum Local {
    Buckets(HashMap<LocalKey, LocalBucket>),
    Distinct(HashSet<LocalKey>),
}

#[derive(Debug)]
struct LocalBucket {
    count: u64,
    samples: Vec<(i64, SegmentOrdinal, DocId)>,
    subs: Vec<Local>,
}

fn segment_aggs(
    ctx: &mut SegmentContext<'_>,
    aggs: &[Aggregation],
    docs: &[DocId],
) -> Result<Vec<Local>, StoreError> {
    aggs.iter().map(|a| segment_agg(ctx, a, docs)).collect()
}

fn segment_agg(ctx: &mut SegmentContext<'_>, agg: &Aggregation, docs: &[DocId]) -> Result<Local, StoreError> {
    match &agg.kind {
        AggregationKind::Terms { field, samples, .. } => {
            let cols = ctx.columns(field)?.to_vec();
            let mut groups: HashMap<LocalKey, Vec<DocId>> = HashMap::new();
            let mut keys = Vec::new();
            for &doc in docs {
                keys.clear();
                doc_keys(&cols, doc, &mut keys);
                for k in &keys {
                    groups.entry(k.clone()).or_default().push(doc);
                }
            }
            let mut out = HashMap::with_capacity(groups.len());
            for (k, group) in groups {
                out.insert(k, make_bucket(ctx, &agg.subs, *samples, &group)?);
            }
            Ok(Local::Buckets(out))
        }
        AggregationKind::DateHistogram { field, interval_secs } => {
            let width = (*interval_secs as i64).max(1).saturating_mul(1_000_000);
            let mut groups: HashMap<i64, Vec<DocId>> = HashMap::new();
            let mut times = Vec::new();
            for &doc in docs {
                times.clear();
                doc_times(ctx, field, doc, &mut times)?;
                times.sort_unstable();
                times.dedup_by_key(|t| t.div_euclid(width));
                for t in &times {
                    groups.entry(t.div_euclid(width) * width).or_default().push(doc);
                }
            }
            let mut out = HashMap::with_capacity(groups.len());
            for (start, group) in groups {
                out.insert(LocalKey::Date(start), make_bucket(ctx, &agg.subs, 0, &group)?);
            }
            Ok(Local::Buckets(out))
        }
        AggregationKind::Cardinality { field } => {
            let cols = ctx.columns(field)?.to_vec();
            let mut local: HashSet<LocalKey> = HashSet::new();
            let mut keys = Vec::new();
            for &doc in docs {
                keys.clear();
                doc_keys(&cols, doc, &mut keys);
                local.extend(keys.drain(..));
            }
            Ok(Local::Distinct(local))
        }
    }
}

fn make_bucket(
    ctx: &mut SegmentContext<'_>,
    subs: &[Aggregation],
    samples: usize,
    group: &[DocId],
) -> Result<LocalBucket, StoreError> {
    let mut sampled: Vec<(i64, SegmentOrdinal, DocId)> = Vec::new();
    if samples > 0 {
        sampled = group.iter().map(|&d| (ctx.utc(d), ctx.segment, d)).collect();
        let cmp =
            |a: &(i64, u32, u32), b: &(i64, u32, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2));
        if sampled.len() > samples {
            sampled.select_nth_unstable_by(samples - 1, cmp);
            sampled.truncate(samples);
        }
        sampled.sort_by(cmp);
    }
    Ok(LocalBucket { count: group.len() as u64, samples: sampled, subs: segment_aggs(ctx, subs, group)? })
}

/// Every string ordinal in a segment's aggregation tree, by field and column.
fn collect_ords(aggs: &[Aggregation], locals: &[Local], out: &mut HashMap<String, HashMap<usize, Vec<u64>>>) {
    for (agg, local) in aggs.iter().zip(locals) {
        let keys: Box<dyn Iterator<Item = &LocalKey>> = match local {
            Local::Buckets(b) => Box::new(b.keys()),
            Local::Distinct(d) => Box::new(d.iter()),
        };
        let field = agg.field();
        for k in keys {
            if let LocalKey::Ord(ci, ord) = k {
                out.entry(field.to_string()).or_default().entry(*ci).or_default().push(*ord);
            }
        }
        if let Local::Buckets(b) = local {
            for bucket in b.values() {
                collect_ords(&agg.subs, &bucket.subs, out);
            }
        }
    }
}

/// The text of string ordinals, by field, column and ordinal.
type Names = HashMap<String, HashMap<(usize, u64), String>>;

/// A segment's aggregation tree with its keys resolved: every string ordinal of a column in one
/// sorted walk of its dictionary.
fn resolve_tree(
    ctx: &mut SegmentContext<'_>,
    aggs: &[Aggregation],
    locals: Vec<Local>,
) -> Result<Vec<Partial>, StoreError> {
    let mut ords = HashMap::new();
    collect_ords(aggs, &locals, &mut ords);
    let mut names: Names = HashMap::new();
    for (field, by_column) in ords {
        let cols = ctx.columns(&field)?.to_vec();
        let mut text = HashMap::new();
        for (ci, list) in by_column {
            for (ord, name) in column_names(&cols, ci, list)? {
                text.insert((ci, ord), name);
            }
        }
        names.insert(field, text);
    }
    Ok(aggs.iter().zip(locals).map(|(a, l)| to_partial(a, l, &names)).collect())
}

/// The text of `ords` in string column `ci` of `cols`.
fn column_names(
    cols: &[DynamicColumn],
    ci: usize,
    mut ords: Vec<u64>,
) -> Result<Vec<(u64, String)>, StoreError> {
    ords.sort_unstable();
    ords.dedup();
    let Some(DynamicColumn::Str(c)) = cols.get(ci) else { return Ok(Vec::new()) };
    let mut found = Vec::with_capacity(ords.len());
    let mut bad = false;
    c.dictionary()
        .sorted_ords_to_term_cb(&ords, |bytes| match std::str::from_utf8(bytes) {
            Ok(s) => found.push(s.to_string()),
            Err(_) => bad = true,
        })
        .map_err(index_err)?;
    if bad || found.len() != ords.len() {
        return Err(StoreError::Index(format!(
            "a string column's dictionary holds {} of {} ordinals as text",
            found.len(),
            ords.len()
        )));
    }
    Ok(ords.into_iter().zip(found).collect())
}

fn key_of(k: &LocalKey, names: Option<&HashMap<(usize, u64), String>>) -> Key {
    match k {
        LocalKey::Ord(ci, ord) => {
            Key::Str(names.and_then(|n| n.get(&(*ci, *ord))).cloned().unwrap_or_default())
        }
        LocalKey::Bool(b) => Key::Bool(*b),
        LocalKey::Int(i) => Key::Int(*i),
        LocalKey::Float(b) => Key::num(f64::from_bits(*b)),
        LocalKey::Date(t) => Key::Date(*t),
    }
}

fn to_partial(agg: &Aggregation, local: Local, names: &Names) -> Partial {
    let own = names.get(agg.field());
    match local {
        Local::Distinct(d) => Partial::Distinct(d.iter().map(|k| key_of(k, own)).collect()),
        Local::Buckets(b) => {
            let samples = sample_limit(agg);
            let mut out: HashMap<Key, PartialBucket> = HashMap::with_capacity(b.len());
            for (k, bucket) in b {
                let subs = agg.subs.iter().zip(bucket.subs).map(|(a, l)| to_partial(a, l, names)).collect();
                let partial = PartialBucket { count: bucket.count, samples: bucket.samples, subs };
                merge_bucket(out.entry(key_of(&k, own)).or_default(), partial, samples);
            }
            Partial::Buckets(out)
        }
    }
}

fn merge_bucket(into: &mut PartialBucket, from: PartialBucket, samples: usize) {
    into.count += from.count;
    if !from.samples.is_empty() {
        into.samples.extend(from.samples);
        into.samples.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        into.samples.truncate(samples);
    }
    if into.subs.is_empty() {
        into.subs = from.subs;
    } else {
        for (a, b) in into.subs.iter_mut().zip(from.subs) {
            merge_partial(a, b);
        }
    }
}

fn sample_limit(agg: &Aggregation) -> usize {
    match agg.kind {
        AggregationKind::Terms { samples, .. } => samples,
        _ => 0,
    }
}

fn merge_partial(into: &mut Partial, from: Partial) {
    match (into, from) {
        (Partial::Buckets(a), Partial::Buckets(b)) => {
            for (k, bucket) in b {
                // Each side holds at most its limit; `finish` takes the first `samples`.
                merge_bucket(a.entry(k).or_default(), bucket, usize::MAX);
            }
        }
        (Partial::Distinct(a), Partial::Distinct(b)) => a.extend(b),
        _ => {}
    }
}

/// Compute `aggs` over the documents `matches` found (per segment) in `searcher`.
pub(crate) fn aggregate(
    searcher: &Searcher,
    matches: Vec<(SegmentOrdinal, Vec<DocId>)>,
    aggs: &[Aggregation],
    load_hit: &dyn Fn(DocAddress) -> Result<Hit, StoreError>,
) -> Result<Vec<AggregationResult>, StoreError> {
    let mut total: Option<Vec<Partial>> = None;
    for (segment, mut docs) in matches {
        docs.sort_unstable();
        let reader = searcher.segment_reader(segment);
        let mut ctx = SegmentContext::new(segment, reader)?;
        let locals = segment_aggs(&mut ctx, aggs, &docs)?;
        let partials = resolve_tree(&mut ctx, aggs, locals)?;
        match &mut total {
            None => total = Some(partials),
            Some(t) => {
                for (a, b) in t.iter_mut().zip(partials) {
                    merge_partial(a, b);
                }
            }
        }
    }
    let partials = match total {
        Some(t) => t,
        None => aggs.iter().map(empty_partial).collect(),
    };
    aggs.iter().zip(partials).map(|(a, p)| finish(a, p, load_hit)).collect()
}

fn empty_partial(agg: &Aggregation) -> Partial {
    match agg.kind {
        AggregationKind::Cardinality { .. } => Partial::Distinct(HashSet::new()),
        _ => Partial::Buckets(HashMap::new()),
    }
}

fn finish(
    agg: &Aggregation,
    partial: Partial,
    load_hit: &dyn Fn(DocAddress) -> Result<Hit, StoreError>,
) -> Result<AggregationResult, StoreError> {
    let value = match (&agg.kind, partial) {
        (_, Partial::Distinct(set)) => AggregationValue::Count(set.len() as u64),
        (AggregationKind::Terms { size, min_count, .. }, Partial::Buckets(map)) => {
            let mut buckets: Vec<(Key, PartialBucket)> =
                map.into_iter().filter(|(_, b)| b.count >= (*min_count).max(1)).collect();
            buckets.sort_by(|(ka, a), (kb, b)| b.count.cmp(&a.count).then_with(|| ka.cmp_key(kb)));
            buckets.truncate(*size);
            AggregationValue::Buckets(finish_buckets(agg, buckets, load_hit)?)
        }
        (_, Partial::Buckets(map)) => {
            let mut buckets: Vec<(Key, PartialBucket)> = map.into_iter().collect();
            buckets.sort_by(|(a, _), (b, _)| a.cmp_key(b));
            AggregationValue::Buckets(finish_buckets(agg, buckets, load_hit)?)
        }
    };
    Ok(AggregationResult { name: agg.name.clone(), value })
}

fn finish_buckets(
    agg: &Aggregation,
    buckets: Vec<(Key, PartialBucket)>,
    load_hit: &dyn Fn(DocAddress) -> Result<Hit, StoreError>,
) -> Result<Vec<Bucket>, StoreError> {
    let limit = sample_limit(agg);
    buckets
        .into_iter()
        .map(|(key, b)| {
            let samples = b
                .samples
                .iter()
                .take(limit)
                .map(|&(_, seg, doc)| load_hit(DocAddress::new(seg, doc)))
                .collect::<Result<Vec<_>, _>>()?;
            let mut subs_p = b.subs;
            if subs_p.is_empty() {
                subs_p = agg.subs.iter().map(empty_partial).collect();
            }
            let subs = agg
                .subs
                .iter()
                .zip(subs_p)
                .map(|(a, p)| finish(a, p, load_hit))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Bucket { key: key.to_json(), count: b.count, samples, subs })
        })
        .collect()
}
