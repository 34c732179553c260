//! `tripline search`: query strings over the embedded store, counts by field, time histograms.
//!
//! What the MozDef workshop did in Kibana and the AWS IR lab in CloudWatch Logs Insights:
//!
//! ```text
//! tripline search 'details.eventverb:Describe AND NOT details.errorcode:*' --last 24h
//! tripline search 'source:cloudtrail' --last 7d --count-by details.useridentity.arn
//! tripline search '*' --from 2026-11-23T00:00:00Z --to 2026-11-24T00:00:00Z --histogram 1h
//! ```
//!
//! The store is opened read-only, so searching works while an ingest is running.
//!
//! Every time option is about when events happened (`utctimestamp`), like the alerts' windows:
//! `--last D` is `--from` D before now `--to` now. When an event was received
//! (`receivedtimestamp`) is searched only by name (`receivedtimestamp:[… TO …]`), so logs
//! ingested today but written last week are found at last week.
//!
//! Every argument is checked before the store is touched, with a message naming the argument
//! and what it accepts: durations (`--last`, `--histogram`) are 1s..=100 years, `--limit` is
//! 1..=[`MAX_LIMIT`], times lie in the range the stores hold, a histogram has at most
//! [`MAX_HISTOGRAM_BUCKETS`] buckets, and a `--count-by` field is a dotted path.

use std::path::Path;

use anyhow::{bail, Context};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value as Json};
use tripline_dsl::{Aggregation, Bound, QueryAst};
use tripline_event::TimestampError;
use tripline_store::embedded::EmbeddedStore;
use tripline_store::{AggregationValue, Bucket, EventStore, SearchRequest, Sort};

/// The largest `--limit`: hits per page and terms buckets, the stores' own ceiling
/// (OpenSearch's `max_result_window` and [`tripline_dsl::search::MAX_BUCKETS`]).
pub const MAX_LIMIT: usize = tripline_dsl::search::MAX_BUCKETS;
/// The longest `--last` or `--histogram` duration: 100 years of 365.25 days.
pub const MAX_DURATION_SECS: u64 = 36_525 * 86_400;
/// The most buckets a `--histogram` may have over the matching events.
pub const MAX_HISTOGRAM_BUCKETS: i64 = 10_000;
/// The longest `--count-by` field path.
pub const MAX_FIELD_LEN: usize = 256;

/// Arguments of `tripline search`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Lucene-style query string (`field:value`, quotes, AND/OR/NOT, wildcards, /regex/,
    /// [a TO b], _exists_:field). `*` or nothing: every event.
    #[arg(default_value = "*")]
    pub query: String,
    /// Events that happened (utctimestamp) at or after this time (RFC 3339, any offset;
    /// 1678-01-01 to 2261-12-31).
    #[arg(long, conflicts_with = "last", value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
    pub from: Option<DateTime<Utc>>,
    /// Events that happened (utctimestamp) at or before this time (RFC 3339, any offset;
    /// 1678-01-01 to 2261-12-31).
    #[arg(long, conflicts_with = "last", value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
    pub to: Option<DateTime<Utc>>,
    /// Events that happened (utctimestamp) in the last DURATION (`90s`, `15m`, `24h`, `7d`; 1s to
    /// 100 years): the same as --from DURATION ago --to now. When events were received does not
    /// count (search `receivedtimestamp:[A TO B]` for that).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub last: Option<TimeDelta>,
    /// Hits to show, or buckets for --count-by (1 to 10000).
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = parse_limit, allow_negative_numbers = true)]
    pub limit: usize,
    /// Count events per value of this field (most frequent first), with the rest as "other"
    /// and events without the field as "missing", each with its share of all matches.
    #[arg(long, value_name = "FIELD", value_parser = parse_field)]
    pub count_by: Option<String>,
    /// Count events per time bucket of this width (`5m`, `1h`, `1d`; 1s to 100 years, and at
    /// most 10000 buckets over the matching events); without a width, one that gives at most
    /// 48 buckets. Empty buckets are shown (and left out of --json).
    #[arg(long, value_name = "DURATION", num_args = 0..=1, value_parser = parse_duration)]
    pub histogram: Option<Option<TimeDelta>>,
    /// Split the histogram by this field: its 5 most frequent values, "other" and "missing".
    #[arg(long, value_name = "FIELD", value_parser = parse_field, requires = "histogram")]
    pub by: Option<String>,
    /// The hits table's columns, comma-separated dotted paths (default: utctimestamp, source,
    /// category, summary). A column for `details.errorcode` is added when a hit failed.
    #[arg(long, value_name = "FIELDS", value_delimiter = ',', value_parser = parse_field)]
    pub fields: Vec<String>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report (histogram, counts, hits) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
    /// Also write the histogram and the counts as an SVG chart to FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<std::path::PathBuf>,
}

/// The default columns of the hits table.
pub const DEFAULT_FIELDS: [&str; 4] = ["utctimestamp", "source", "category", "summary"];
/// The values `--by` splits a histogram into (the rest is "other").
pub const BY_VALUES: usize = 5;
/// The most buckets a histogram without a width gets.
pub const AUTO_BUCKETS: i64 = 48;

const DURATION_FORMAT: &str = "a whole number and a unit s, m, h or d (e.g. 90s, 30m, 24h, 7d)";

/// `15m` → 15 minutes; 1s..=100 years ([`MAX_DURATION_SECS`]).
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    use tripline_dsl::duration::{parse_secs, DurationError, UNITS_SMHD};
    let out_of_range = || format!("{text:?} is out of range: a duration is 1s to 100 years (36525d)");
    let secs = match parse_secs(text, &UNITS_SMHD, false) {
        Ok(secs) => secs,
        Err(DurationError::TooLarge) => return Err(out_of_range()),
        Err(DurationError::Unit) => {
            return Err(format!("{text:?}: the unit must be s, m, h or d (e.g. 15m, 24h, 7d)"))
        }
        Err(DurationError::Syntax) => {
            return Err(format!("{text:?} is not a duration: expected {DURATION_FORMAT}"))
        }
    };
    if !(1..=MAX_DURATION_SECS).contains(&secs) {
        return Err(out_of_range());
    }
    i64::try_from(secs).ok().and_then(TimeDelta::try_seconds).ok_or_else(out_of_range)
}

/// `--limit`: 1..=[`MAX_LIMIT`].
fn parse_limit(text: &str) -> Result<usize, String> {
    let bad = || format!("{text:?} is out of range: the limit is a whole number from 1 to {MAX_LIMIT}");
    let n: usize = text.parse().map_err(|_| {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            bad()
        } else {
            format!("{text:?} is not a number: the limit is a whole number from 1 to {MAX_LIMIT}")
        }
    })?;
    if (1..=MAX_LIMIT).contains(&n) {
        Ok(n)
    } else {
        Err(bad())
    }
}

/// A `--count-by` field: a dotted path of non-empty names (`details.useridentity.arn`), without
/// spaces or control characters, at most [`MAX_FIELD_LEN`] bytes.
fn parse_field(text: &str) -> Result<String, String> {
    let shown = quote(text, 60);
    if text.is_empty() {
        return Err("the field name is empty: name a field such as details.useridentity.arn".into());
    }
    if text.len() > MAX_FIELD_LEN {
        return Err(format!("{shown} is longer than {MAX_FIELD_LEN} bytes: no field is named that"));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{shown}: a field name has no spaces or control characters"));
    }
    if text.split('.').any(str::is_empty) {
        return Err(format!(
            "{shown}: a field is a dotted path of non-empty names, such as details.useridentity.arn"
        ));
    }
    Ok(text.to_string())
}

/// A time argument (`--from`, `--to`, `run --at`): RFC 3339 inside the range the stores hold.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    parse_time_at(text, Utc::now())
}

/// A time as the CLI takes it: RFC 3339, `now`, or a duration before `now` (`-2h`, `-30d`,
/// `-90s`).
pub fn parse_time_at(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let trimmed = text.trim();
    if trimmed == "now" {
        return Ok(now);
    }
    if let Some(ago) = trimmed.strip_prefix('-') {
        let d = parse_duration(ago).map_err(|e| format!("{} before now: {e}", quote(text, 60)))?;
        return now.checked_sub_signed(d).ok_or_else(|| {
            format!(
                "{} reaches before the range Tripline stores ({})",
                quote(text, 60),
                tripline_event::TIMESTAMP_MIN
            )
        });
    }
    tripline_dsl::parse_timestamp(text).map_err(|e| match e {
        TimestampError::OutOfRange(_) => format!(
            "{} is outside the range Tripline stores ({} to {})",
            quote(text, 60),
            tripline_event::TIMESTAMP_MIN,
            tripline_event::TIMESTAMP_MAX
        ),
        TimestampError::Syntax(e) => {
            format!(
                "{} is not a time: RFC 3339 such as 2026-11-23T12:00:00Z, `now`, or a duration ago such as -2h or -7d ({e})",
                quote(text, 60)
            )
        }
    })
}

/// `text` quoted for a message, cut to `n` characters.
fn quote(text: &str, n: usize) -> String {
    format!("{:?}", crate::table::cut(text, n))
}

/// The query the arguments ask for, time bounds included.
pub fn build_query(args: &Args, now: DateTime<Utc>) -> anyhow::Result<QueryAst> {
    let text = args.query.trim();
    let mut must = Vec::new();
    if !text.is_empty() && text != "*" {
        must.push(
            tripline_dsl::query_string::parse(text).with_context(|| format!("query {}", quote(text, 80)))?,
        );
    }
    // `--last D` is `--from now−D --to now`: one range on the event time for all three.
    let (from, to) = match args.last {
        Some(last) => {
            let since = now.checked_sub_signed(last).with_context(|| {
                format!("--last {}s reaches before the earliest time there is", last.num_seconds())
            })?;
            (Some(since), Some(now))
        }
        None => (args.from, args.to),
    };
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            bail!(
                "--from {} is after --to {}",
                tripline_event::format_timestamp(f),
                tripline_event::format_timestamp(t)
            );
        }
    }
    if from.is_some() || to.is_some() {
        must.push(QueryAst::Range {
            field: tripline_dsl::WINDOW_FIELD.into(),
            lower: from.map(Bound::inclusive),
            upper: to.map(Bound::inclusive),
        });
    }
    Ok(QueryAst::all(must))
}

/// Run the search.
pub async fn run(store_dir: &Path, args: Args) -> anyhow::Result<()> {
    let query = build_query(&args, Utc::now())?;
    let store = EmbeddedStore::open_read_only(store_dir)?;
    let out = search(&store, &query, &args).await?;
    print!("{out}");
    Ok(())
}

/// What a search found, before it is shown.
#[derive(Default)]
pub struct Found {
    /// Events matching.
    pub total: u64,
    /// The histogram, when asked.
    pub histogram: Option<crate::report::Histogram>,
    /// The counts, when asked.
    pub counts: Option<crate::report::Counts>,
    /// A note for the counts (top values of more, field missing everywhere).
    pub counts_note: Option<String>,
    /// The hits, when neither was asked.
    pub hits: Option<crate::report::Hits>,
    /// A note for the hits (events that may match unseen).
    pub note: Option<String>,
}

/// Search `store` and render the result as the arguments ask (tables, bars or JSON), writing
/// the HTML report and the SVG chart when asked.
pub async fn search(store: &dyn EventStore, query: &QueryAst, args: &Args) -> anyhow::Result<String> {
    let found = find(store, query, args).await?;
    if let Some(path) = &args.html {
        let mut report = crate::report::Report::new();
        report.title = format!("tripline search {}", crate::table::cut(args.query.trim(), 120));
        report.command = "search".into();
        report.query = Some(args.query.clone());
        report.span = match (args.from, args.to) {
            (Some(from), Some(to)) => Some(crate::report::Span { from, to }),
            _ => None,
        };
        report.histogram = found.histogram.clone();
        report.counts = found.counts.iter().cloned().collect();
        report.hits = found.hits.clone();
        report.write(path)?;
    }
    if let Some(path) = &args.svg {
        if found.total == 0 && (args.histogram.is_some() || args.count_by.is_some()) {
            bail!("--svg {}: no event matches the search, so there is nothing to draw", path.display());
        }
        let svg = crate::chart::svg(found.histogram.as_ref(), found.counts.as_ref())?;
        std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
    }
    render(&found, args)
}

/// The histogram and counts asked for, or the hits.
pub async fn find(store: &dyn EventStore, query: &QueryAst, args: &Args) -> anyhow::Result<Found> {
    if args.histogram.is_none() && args.count_by.is_none() {
        let (hits, note) = hits(store, query, args).await?;
        return Ok(Found { total: hits.total, hits: Some(hits), note, ..Found::default() });
    }
    let mut found = Found { total: count(store, query).await?, ..Found::default() };
    if found.total == 0 {
        return Ok(found);
    }
    if let Some(width) = args.histogram {
        found.histogram = Some(histogram(store, query, width, args).await?);
    }
    if let Some(field) = &args.count_by {
        let (counts, note) = count_by(store, query, field, found.total, args).await?;
        found.counts = Some(counts);
        found.counts_note = note;
    }
    Ok(found)
}

fn render(found: &Found, args: &Args) -> anyhow::Result<String> {
    let what = match (&args.histogram, &args.count_by) {
        (Some(_), Some(f)) => format!("nothing to plot or count by {f}"),
        (Some(_), None) => "nothing to plot".to_string(),
        (None, Some(f)) => format!("nothing to count by {f}"),
        (None, None) => String::new(),
    };
    if found.total == 0 && (args.histogram.is_some() || args.count_by.is_some()) {
        return nothing_matches(args, &what);
    }
    if args.json {
        let mut parts = Vec::new();
        if let Some(h) = &found.histogram {
            let rows: Vec<Json> = h
                .buckets
                .iter()
                .filter(|b| b.count > 0)
                .map(|b| {
                    let mut row = json!({"key": format_bucket(b.start), "count": b.count});
                    if !b.by.is_empty() {
                        row["by"] = Json::Object(b.by.clone());
                    }
                    row
                })
                .collect();
            parts.push(
                json!({"total": found.total, "interval_secs": h.interval_secs, "by": h.by, "buckets": rows}),
            );
        }
        if let Some(c) = &found.counts {
            let rows: Vec<Json> = c.rows.iter().map(|r| json!({"key": r.value, "count": r.count})).collect();
            let mut v = json!({"total": c.total, "buckets": rows, "other": c.other, "missing": c.missing});
            if let Some(n) = &found.counts_note {
                v["note"] = json!(n);
            }
            parts.push(v);
        }
        if let Some(h) = &found.hits {
            let mut v = json!({"total": h.total, "fields": h.fields, "hits": h.sources});
            if let Some(n) = &found.note {
                v["unindexed_candidates"] = json!(h.unindexed);
                v["note"] = json!(n);
            }
            parts.push(v);
        }
        let v = match (parts.len(), &found.histogram, &found.counts) {
            (2, _, _) => json!({"histogram": parts[0], "counts": parts[1]}),
            (1, _, _) => parts.remove(0),
            _ => json!({"total": found.total}),
        };
        return Ok(format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    let mut out = String::new();
    if let Some(h) = &found.histogram {
        out.push_str(&format!("{}\n", histogram_table(h)));
    }
    if let Some(c) = &found.counts {
        if c.rows.is_empty() {
            out.push_str(&format!("{}\n", found.counts_note.clone().unwrap_or_default()));
            return Ok(out);
        }
        out.push_str(&format!("{}\n", counts_table(c)));
    }
    if let Some(h) = &found.hits {
        let note = found.note.as_ref().map(|n| format!("{n}\n")).unwrap_or_default();
        if h.total == 0 {
            return Ok(format!("no event matches\n{note}"));
        }
        out.push_str(&format!(
            "{}\n{}, {} shown (newest first)\n{note}",
            hits_table(h),
            events_match(h.total),
            h.rows.len()
        ));
        return Ok(out);
    }
    out.push_str(&format!("{}\n", events_match(found.total)));
    if let Some(n) = &found.counts_note {
        out.push_str(n);
        out.push('\n');
    }
    Ok(out)
}

fn format_bucket(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

async fn hits(
    store: &dyn EventStore,
    query: &QueryAst,
    args: &Args,
) -> anyhow::Result<(crate::report::Hits, Option<String>)> {
    let result = store
        .search(&SearchRequest { query: query.clone(), size: args.limit, sort: Sort::NewestFirst })
        .await?;
    // Values too long to index can match nothing: say how many events the answer may be missing.
    let missed = (result.unindexed_candidates > 0).then(|| {
        format!(
            "note: {} more {} a value longer than {} characters in a field this search matches on; such values are kept but not indexed, so {} may match without being found (their fields are listed in `{}`)",
            result.unindexed_candidates,
            if result.unindexed_candidates == 1 { "event holds" } else { "events hold" },
            tripline_dsl::MAX_KEYWORD_CHARS,
            if result.unindexed_candidates == 1 { "it" } else { "they" },
            tripline_dsl::UNINDEXED_FIELD,
        )
    });
    let mut fields: Vec<String> = if args.fields.is_empty() {
        DEFAULT_FIELDS.iter().map(|f| f.to_string()).collect()
    } else {
        args.fields.clone()
    };
    // A denied or failed call is not shown as if it succeeded.
    let failed = |h: &tripline_store::Hit| {
        tripline_event::lookup(&h.source, ERROR_FIELD).is_some_and(|v| !v.is_null() && v != "")
    };
    if result.hits.iter().any(failed) && !fields.iter().any(|f| f == ERROR_FIELD) {
        fields.push(ERROR_FIELD.to_string());
    }
    let rows = result
        .hits
        .iter()
        .map(|h| {
            fields
                .iter()
                .map(|f| match tripline_event::lookup(&h.source, f) {
                    None | Some(Json::Null) => Json::Null,
                    Some(v) => v.clone(),
                })
                .collect()
        })
        .collect();
    let sources =
        result.hits.iter().map(|h| json!({"index": h.index, "id": h.id, "source": h.source})).collect();
    Ok((
        crate::report::Hits {
            fields,
            total: result.total,
            rows,
            sources,
            unindexed: result.unindexed_candidates,
        },
        missed,
    ))
}

/// Where a failed call says why.
pub const ERROR_FIELD: &str = "details.errorcode";

fn cell_text(v: &Json) -> String {
    match v {
        Json::Null => "—".into(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn hits_table(h: &crate::report::Hits) -> crate::table::Fit {
    let header: Vec<&str> = h.fields.iter().map(String::as_str).collect();
    let mut t = crate::table::Fit::new(&header);
    if let Some(i) = h.fields.iter().position(|f| f == ERROR_FIELD) {
        t = t.error(i);
    }
    for row in &h.rows {
        t.row(row.iter().map(cell_text));
    }
    t
}

async fn count(store: &dyn EventStore, query: &QueryAst) -> anyhow::Result<u64> {
    Ok(store.search(&SearchRequest { query: query.clone(), size: 0, sort: Sort::NewestFirst }).await?.total)
}

/// The answer when nothing matches the search at all.
fn nothing_matches(args: &Args, what: &str) -> anyhow::Result<String> {
    let note = format!("no event matches the search: {what}");
    if args.json {
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({"total": 0, "buckets": [], "note": note}))?
        ));
    }
    Ok(format!("{note}\n"))
}

async fn count_by(
    store: &dyn EventStore,
    query: &QueryAst,
    field: &str,
    total: u64,
    args: &Args,
) -> anyhow::Result<(crate::report::Counts, Option<String>)> {
    let aggs = [
        Aggregation::terms(field).size(args.limit).samples(0).named("count"),
        Aggregation::cardinality(field).named("distinct"),
    ];
    let results = store.aggregate(query, &aggs).await?;
    let buckets = buckets_of(&results, "count")?;
    let distinct = results.iter().find(|r| r.name == "distinct").and_then(|r| match r.value {
        AggregationValue::Count(n) => Some(n),
        AggregationValue::Buckets(_) => None,
    });
    let note = if buckets.is_empty() {
        let similar = similar_fields(store, query, field).await?;
        let hint = if similar.is_empty() {
            String::new()
        } else {
            format!(" (matching events have {})", similar.join(", "))
        };
        Some(format!("no matching event has {field}; {} matched{hint}", events(total)))
    } else {
        match distinct {
            Some(d) if d > buckets.len() as u64 => Some(format!(
                "the {} most frequent of {d} distinct values; raise --limit (up to {MAX_LIMIT}) to see more",
                buckets.len()
            )),
            _ => None,
        }
    };
    // Events without the field, counted by the engine; the rest of those with it is "other".
    let missing = count(
        store,
        &QueryAst::all(vec![query.clone(), QueryAst::negate(QueryAst::Exists { field: field.to_string() })]),
    )
    .await?;
    let shown: u64 = buckets.iter().map(|b| b.count).sum();
    let other = total.saturating_sub(missing).saturating_sub(shown);
    let rows =
        buckets.iter().map(|b| crate::report::CountRow { value: b.key.clone(), count: b.count }).collect();
    Ok((crate::report::Counts { field: field.to_string(), total, rows, other, missing }, note))
}

/// A bucket width that gives at most [`AUTO_BUCKETS`] buckets over `span`.
fn auto_width(span: TimeDelta) -> TimeDelta {
    const WIDTHS: [i64; 14] =
        [1, 10, 60, 300, 600, 900, 1_800, 3_600, 10_800, 21_600, 43_200, 86_400, 604_800, 2_592_000];
    let secs = span.num_seconds().max(1);
    let w = WIDTHS.iter().copied().find(|w| secs / w < AUTO_BUCKETS).unwrap_or(secs / AUTO_BUCKETS + 1);
    TimeDelta::try_seconds(w).unwrap_or(TimeDelta::days(30))
}

async fn histogram(
    store: &dyn EventStore,
    query: &QueryAst,
    width: Option<TimeDelta>,
    args: &Args,
) -> anyhow::Result<crate::report::Histogram> {
    // The buckets the matching events span, counted before any is computed: a 1s histogram over
    // years of events would be millions of rows.
    let oldest = edge_time(store, query, Sort::OldestFirst).await?;
    let newest = edge_time(store, query, Sort::NewestFirst).await?;
    let width = width.unwrap_or_else(|| auto_width(newest - oldest));
    let width_ms = width.num_milliseconds().max(1);
    let buckets_needed =
        newest.timestamp_millis().div_euclid(width_ms) - oldest.timestamp_millis().div_euclid(width_ms) + 1;
    if buckets_needed > MAX_HISTOGRAM_BUCKETS {
        let span_ms = (newest.timestamp_millis() - oldest.timestamp_millis()).unsigned_abs();
        let wider = span_ms.div_ceil(MAX_HISTOGRAM_BUCKETS.unsigned_abs() - 1).max(1000);
        bail!(
            "--histogram {}: the matching events span {} to {}, which is {buckets_needed} buckets; at most \
             {MAX_HISTOGRAM_BUCKETS}: choose a width of at least {} or narrow the search (--from/--to/--last)",
            show_duration_ms(width_ms.unsigned_abs()),
            tripline_event::format_timestamp(oldest),
            tripline_event::format_timestamp(newest),
            show_duration_ms(wider),
        );
    }
    let secs =
        u64::try_from(width.num_seconds()).ok().filter(|s| *s > 0).context("--histogram must be positive")?;
    let counts = |q: QueryAst| async move {
        let agg = Aggregation::date_histogram("utctimestamp", secs).named("histogram");
        let results = store.aggregate(&q, std::slice::from_ref(&agg)).await?;
        let mut by_start = std::collections::BTreeMap::new();
        for b in buckets_of(&results, "histogram")? {
            let start = b.key.as_str().and_then(|k| tripline_dsl::parse_timestamp(k).ok());
            let start =
                start.with_context(|| format!("the store returned a histogram bucket keyed {}", b.key))?;
            by_start.insert(start.timestamp(), b.count);
        }
        anyhow::Ok(by_start)
    };
    let all = counts(query.clone()).await?;
    // With --by: one histogram per frequent value, one for events without the field.
    let mut series: Vec<(String, std::collections::BTreeMap<i64, u64>)> = Vec::new();
    if let Some(field) = &args.by {
        let agg = Aggregation::terms(field.as_str()).size(BY_VALUES).samples(0).named("by");
        let results = store.aggregate(query, std::slice::from_ref(&agg)).await?;
        for b in buckets_of(&results, "by")? {
            let Some(value) = json_value(&b.key) else { continue };
            let q = QueryAst::all(vec![
                query.clone(),
                QueryAst::Term { field: field.clone(), value, case_insensitive: false },
            ]);
            series.push((cell_text(&b.key), counts(q).await?));
        }
        let q =
            QueryAst::all(vec![query.clone(), QueryAst::negate(QueryAst::Exists { field: field.clone() })]);
        series.push(("missing".into(), counts(q).await?));
    }
    // Every bucket from the oldest event's to the newest's, empty ones too.
    let step = i64::try_from(secs).unwrap_or(i64::MAX);
    let first = oldest.timestamp().div_euclid(step).saturating_mul(step);
    let last = newest.timestamp().div_euclid(step).saturating_mul(step);
    let mut buckets = Vec::new();
    let mut at = first;
    while at <= last {
        let Some(start) = DateTime::from_timestamp(at, 0) else { break };
        let count = all.get(&at).copied().unwrap_or(0);
        let mut by = serde_json::Map::new();
        if args.by.is_some() {
            let mut split = 0;
            for (name, s) in &series {
                let n = s.get(&at).copied().unwrap_or(0);
                split += n;
                by.insert(name.clone(), json!(n));
            }
            by.insert("other".into(), json!(count.saturating_sub(split)));
        }
        buckets.push(crate::report::HistogramBucket { start, count, by });
        let Some(next) = at.checked_add(step) else { break };
        at = next;
    }
    Ok(crate::report::Histogram {
        field: "utctimestamp".into(),
        interval_secs: secs,
        by: args.by.clone(),
        buckets,
    })
}

/// A bucket key as a query value.
fn json_value(v: &Json) -> Option<tripline_dsl::Value> {
    match v {
        Json::String(s) => Some(tripline_dsl::Value::Str(s.clone())),
        Json::Bool(b) => Some(tripline_dsl::Value::Bool(*b)),
        Json::Number(n) => {
            n.as_i64().map(tripline_dsl::Value::Int).or_else(|| n.as_f64().map(tripline_dsl::Value::Float))
        }
        _ => None,
    }
}

/// The `utctimestamp` of the oldest or newest matching event.
async fn edge_time(store: &dyn EventStore, query: &QueryAst, sort: Sort) -> anyhow::Result<DateTime<Utc>> {
    let which = if matches!(sort, Sort::OldestFirst) { "oldest" } else { "newest" };
    let result = store.search(&SearchRequest { query: query.clone(), size: 1, sort }).await?;
    let hit = result.hits.first().with_context(|| format!("the store returned no {which} event"))?;
    let text = hit
        .source
        .get("utctimestamp")
        .and_then(Json::as_str)
        .with_context(|| format!("the {which} matching event ({}) has no utctimestamp", hit.id))?;
    tripline_dsl::parse_timestamp(text)
        .with_context(|| format!("the {which} matching event ({}) has utctimestamp {text:?}", hit.id))
}

/// `90000` (ms) → `2m`: in the largest unit it reaches, rounded up.
fn show_duration_ms(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= size {
            return format!("{}{unit}", secs.div_ceil(size));
        }
    }
    format!("{}s", secs.max(1))
}

fn buckets_of<'a>(
    results: &'a [tripline_store::AggregationResult],
    name: &str,
) -> anyhow::Result<&'a [Bucket]> {
    match results.iter().find(|r| r.name == name).map(|r| &r.value) {
        Some(AggregationValue::Buckets(b)) => Ok(b),
        _ => bail!("the store returned no buckets for {name}"),
    }
}

/// Field paths of recent matching events that look like what `field` meant: the same ignoring
/// case, the same under `details.`, or the same last name (at most 5).
async fn similar_fields(
    store: &dyn EventStore,
    query: &QueryAst,
    field: &str,
) -> anyhow::Result<Vec<String>> {
    let sample =
        store.search(&SearchRequest { query: query.clone(), size: 100, sort: Sort::NewestFirst }).await?;
    let mut paths = std::collections::BTreeSet::new();
    for h in &sample.hits {
        leaf_paths(&h.source, String::new(), 0, &mut paths);
    }
    let want = field.to_ascii_lowercase();
    let last = want.rsplit('.').next().unwrap_or(&want).to_string();
    let mut ranked: Vec<(u8, String)> = paths
        .into_iter()
        .filter_map(|p| {
            let lower = p.to_ascii_lowercase();
            let rank = if lower == want {
                0
            } else if lower == format!("details.{want}") {
                1
            } else if lower.rsplit('.').next() == Some(last.as_str()) {
                2
            } else {
                return None;
            };
            Some((rank, p))
        })
        .collect();
    ranked.sort();
    Ok(ranked.into_iter().take(5).map(|(_, p)| p).collect())
}

/// Every path to a non-null value in `v` (arrays add no segment), at most 8 levels deep.
fn leaf_paths(v: &Json, prefix: String, depth: usize, out: &mut std::collections::BTreeSet<String>) {
    if depth > 8 || out.len() > 2_000 {
        return;
    }
    match v {
        Json::Object(map) => {
            for (k, child) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaf_paths(child, path, depth + 1, out);
            }
        }
        Json::Array(items) => {
            for item in items {
                leaf_paths(item, prefix.clone(), depth + 1, out);
            }
        }
        Json::Null => {}
        _ if !prefix.is_empty() => {
            out.insert(prefix);
        }
        _ => {}
    }
}

/// `1 event matches`, `2 events match`.
fn events_match(n: u64) -> String {
    if n == 1 {
        "1 event matches".into()
    } else {
        format!("{n} events match")
    }
}

/// `1 event`, `2 events`.
fn events(n: u64) -> String {
    if n == 1 {
        "1 event".into()
    } else {
        format!("{n} events")
    }
}

/// A text bar of `count` out of `max`, at most `width` long.
fn bar(count: u64, max: u64, width: u64) -> String {
    // In u128 so that no count can overflow the product; the bar is at most `width` long.
    let len = (u128::from(count) * u128::from(width)).div_ceil(u128::from(max.max(1))).min(u128::from(width));
    "█".repeat(len as usize)
}

/// `12.5%` of `total`.
fn percent(count: u64, total: u64) -> String {
    if total == 0 {
        return "—".into();
    }
    format!("{:.1}%", count as f64 * 100.0 / total as f64)
}

/// The histogram, a row per bucket (empty ones too), split columns when `--by`.
fn histogram_table(h: &crate::report::Histogram) -> crate::table::Fit {
    let names: Vec<String> = h.buckets.first().map(|b| b.by.keys().cloned().collect()).unwrap_or_default();
    // The split columns in the order the series were made, "other" before "missing".
    let mut split: Vec<String> = names.iter().filter(|n| *n != "other" && *n != "missing").cloned().collect();
    if !names.is_empty() {
        split.push("other".into());
        split.push("missing".into());
    }
    // Split, the numbers are the picture (and the table stays narrow); else a bar per bucket.
    let bars = split.is_empty();
    let mut header = vec!["from".to_string(), "count".to_string()];
    header.extend(split.iter().cloned());
    if bars {
        header.push(String::new());
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = crate::table::Fit::new(&header).keep(0);
    for i in 1..header.len() {
        t = if bars && i == header.len() - 1 { t.keep(i) } else { t.numeric(i) };
    }
    let max = h.buckets.iter().map(|b| b.count).max().unwrap_or(0);
    let format = if h.interval_secs % 60 == 0 { "%Y-%m-%d %H:%M" } else { "%Y-%m-%d %H:%M:%S" };
    for b in &h.buckets {
        let mut row = vec![b.start.format(format).to_string(), b.count.to_string()];
        for name in &split {
            row.push(b.by.get(name).and_then(Json::as_u64).unwrap_or(0).to_string());
        }
        if bars {
            row.push(bar(b.count, max, 40));
        }
        t.row(row);
    }
    t
}

/// Counts by value with their share, then "other" and "missing": rows that add up to the total.
fn counts_table(c: &crate::report::Counts) -> crate::table::Fit {
    let mut t =
        crate::table::Fit::new(&[c.field.as_str(), "count", "share", ""]).numeric(1).numeric(2).keep(3);
    let max = c.rows.iter().map(|r| r.count).chain([c.other, c.missing]).max().unwrap_or(0);
    for r in &c.rows {
        t.row([cell_text(&r.value), r.count.to_string(), percent(r.count, c.total), bar(r.count, max, 40)]);
    }
    if c.other > 0 {
        t.row(["(other)".to_string(), c.other.to_string(), percent(c.other, c.total), bar(c.other, max, 40)]);
    }
    if c.missing > 0 {
        t.row([
            "(missing)".to_string(),
            c.missing.to_string(),
            percent(c.missing, c.total),
            bar(c.missing, max, 40),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_event::Event;

    fn args(query: &str) -> Args {
        Args {
            query: query.into(),
            from: None,
            to: None,
            last: None,
            limit: 20,
            count_by: None,
            histogram: None,
            by: None,
            fields: vec![],
            json: false,
            html: None,
            svg: None,
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        tripline_dsl::parse_timestamp(s).unwrap()
    }

    async fn store() -> EmbeddedStore {
        let store = EmbeddedStore::in_memory().unwrap();
        let mut events = Vec::new();
        for i in 0..30i64 {
            let at = t("2026-11-23T10:00:00Z") + TimeDelta::minutes(i * 10);
            let user = if i % 3 == 0 { "bob" } else { "alice" };
            let mut e =
                Event::new("cloudtrail", "AwsApiCall", format!("DescribeInstances by {user} #{i}"), at, at);
            e.details.insert("user".into(), json!(user));
            e.details.insert("useridentity".into(), json!({"arn": format!("arn:aws:iam::1:user/{user}")}));
            events.push(e);
        }
        store.index_events(&events).await.unwrap();
        store
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m").unwrap(), TimeDelta::minutes(15));
        assert_eq!(parse_duration("7d").unwrap(), TimeDelta::days(7));
        assert_eq!(parse_duration("1s").unwrap(), TimeDelta::seconds(1));
        assert_eq!(parse_duration("36525d").unwrap(), TimeDelta::days(36_525));
        for bad in ["15", "0h", "h", "", "-5m", "+5m", "1.5h", "5 m", "5M", "1y", "1h30m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        for huge in
            ["36526d", "99999999d", "18446744073709551615s", "99999999999999999999999d", "3155760001s"]
        {
            let err = parse_duration(huge).unwrap_err();
            assert!(err.contains("1s to 100 years"), "{huge}: {err}");
        }
    }

    #[test]
    fn limits_and_fields() {
        assert_eq!(parse_limit("1"), Ok(1));
        assert_eq!(parse_limit("10000"), Ok(MAX_LIMIT));
        for bad in ["0", "10001", "18446744073709551615", "99999999999999999999999"] {
            assert!(parse_limit(bad).unwrap_err().contains("1 to 10000"), "{bad}");
        }
        assert!(parse_limit("-1").unwrap_err().contains("not a number"));
        assert_eq!(parse_field("details.useridentity.arn").as_deref(), Ok("details.useridentity.arn"));
        for bad in ["", ".", "details.", ".x", "a..b", "a b", "a\tb", "a\u{0}b"] {
            assert!(parse_field(bad).is_err(), "{bad:?}");
        }
        assert!(parse_field(&"x".repeat(MAX_FIELD_LEN + 1)).unwrap_err().contains("longer than"));
    }

    #[test]
    fn times_are_rfc3339_inside_the_stored_range() {
        assert_eq!(parse_time("2026-11-23T13:00:00+01:00").unwrap(), t("2026-11-23T12:00:00Z"));
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
        for far in ["9999-01-01T00:00:00Z", "1600-01-01T00:00:00Z", "2262-01-01T00:00:00Z"] {
            let err = parse_time(far).unwrap_err();
            assert!(err.contains("outside the range") && err.contains("2261-12-31"), "{err}");
        }
    }

    #[test]
    fn last_near_the_clock_edges_does_not_overflow() {
        let mut a = args("*");
        a.last = Some(TimeDelta::seconds(MAX_DURATION_SECS as i64));
        // The earliest instant chrono has: subtracting anything must be an error, not a panic.
        assert!(build_query(&a, DateTime::<Utc>::MIN_UTC).is_err());
        assert!(build_query(&a, Utc::now()).is_ok());
    }

    #[tokio::test]
    async fn hits_table_and_count_by_with_bars() {
        let store = store().await;
        let now = t("2026-11-23T15:00:00Z");
        let mut a = args("details.user:bob");
        a.last = Some(TimeDelta::hours(2));
        let q = build_query(&a, now).unwrap();
        let out = search(&store, &q, &a).await.unwrap();
        // bob: i % 3 == 0, at 10:00 + 10 min·i; window 13:00–15:00 → i = 18..=30 → 18, 21, 24, 27
        assert!(out.contains("4 events match, 4 shown"), "{out}");
        assert!(out.contains("DescribeInstances by bob #27"), "{out}");

        let mut c = args("*");
        c.count_by = Some("details.user".into());
        let out = search(&store, &build_query(&c, now).unwrap(), &c).await.unwrap();
        assert!(out.contains("alice") && out.contains("20") && out.contains(&"█".repeat(40)), "{out}");
        assert!(out.contains("30 events match"), "{out}");
        assert!(!out.contains("most frequent"), "every value is shown: {out}");

        c.limit = 1;
        let out = search(&store, &build_query(&c, now).unwrap(), &c).await.unwrap();
        assert!(out.contains("the 1 most frequent of 2 distinct values;"), "{out}");
    }

    #[tokio::test]
    async fn count_by_a_field_no_event_has_says_so() {
        let store = store().await;
        let mut c = args("*");
        c.count_by = Some("details.nope".into());
        let out = search(&store, &build_query(&c, Utc::now()).unwrap(), &c).await.unwrap();
        assert_eq!(out, "no matching event has details.nope; 30 events matched\n");

        // A near miss is pointed at: wrong case, or `details.` left out.
        c.count_by = Some("details.userIdentity.ARN".into());
        let out = search(&store, &build_query(&c, Utc::now()).unwrap(), &c).await.unwrap();
        assert!(out.contains("no matching event has details.userIdentity.ARN; 30 events matched"), "{out}");
        assert!(out.contains("(matching events have details.useridentity.arn)"), "{out}");
        c.count_by = Some("user".into());
        let out = search(&store, &build_query(&c, Utc::now()).unwrap(), &c).await.unwrap();
        assert!(out.contains("(matching events have details.user)"), "{out}");

        c.json = true;
        let v: Json =
            serde_json::from_str(&search(&store, &build_query(&c, Utc::now()).unwrap(), &c).await.unwrap())
                .unwrap();
        assert_eq!(v["total"], 30);
        assert_eq!(v["buckets"], json!([]));
        assert!(v["note"].as_str().unwrap().starts_with("no matching event has user"), "{v}");

        let mut none = args("details.user:nobody");
        none.count_by = Some("details.user".into());
        let out = search(&store, &build_query(&none, Utc::now()).unwrap(), &none).await.unwrap();
        assert!(out.starts_with("no event matches the search"), "{out}");
        none.count_by = None;
        none.histogram = Some(Some(TimeDelta::hours(1)));
        let out = search(&store, &build_query(&none, Utc::now()).unwrap(), &none).await.unwrap();
        assert!(out.contains("no event matches") && out.contains("nothing to plot"), "{out}");
    }

    #[tokio::test]
    async fn histogram_and_json() {
        let store = store().await;
        let mut a = args("*");
        a.from = Some(t("2026-11-23T12:00:00+02:00")); // 10:00Z
        a.to = Some(t("2026-11-23T11:59:59Z"));
        a.histogram = Some(Some(TimeDelta::hours(1)));
        a.json = true;
        let out = search(&store, &build_query(&a, Utc::now()).unwrap(), &a).await.unwrap();
        let v: Json = serde_json::from_str(&out).unwrap();
        assert_eq!(v["total"], 12);
        assert_eq!(v["buckets"][0]["key"], "2026-11-23T10:00:00.000Z");
        assert_eq!(v["buckets"][0]["count"], 6);
        assert_eq!(v["buckets"].as_array().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_histogram_of_too_many_buckets_is_refused_with_a_width_that_fits() {
        let store = EmbeddedStore::in_memory().unwrap();
        let a0 = t("2000-01-01T00:00:00Z");
        let b0 = t("2026-01-01T00:00:00Z");
        let events: Vec<Event> =
            [a0, b0].iter().map(|&at| Event::new("cloudtrail", "AwsApiCall", "x", at, at)).collect();
        store.index_events(&events).await.unwrap();
        let mut a = args("*");
        a.histogram = Some(Some(TimeDelta::seconds(1)));
        let err = search(&store, &build_query(&a, Utc::now()).unwrap(), &a).await.unwrap_err().to_string();
        assert!(err.contains("--histogram 1s") && err.contains("at most 10000"), "{err}");
        assert!(err.contains("at least 23h"), "26 years in 10000 buckets is 22.8 hours each: {err}");
        // The suggested width fits.
        a.histogram = Some(Some(TimeDelta::hours(23)));
        let out = search(&store, &build_query(&a, Utc::now()).unwrap(), &a).await.unwrap();
        assert!(out.contains("1999-12-31 ") && out.contains("2 events match"), "{out}");
    }

    #[test]
    fn shown_durations_round_up() {
        assert_eq!(show_duration_ms(1), "1s");
        assert_eq!(show_duration_ms(59_000), "59s");
        assert_eq!(show_duration_ms(61_000), "2m");
        assert_eq!(show_duration_ms(3_600_000), "1h");
        assert_eq!(show_duration_ms(82_000_000), "23h");
        assert_eq!(show_duration_ms(86_400_001), "2d");
    }

    #[test]
    fn bad_input_is_explained() {
        let mut a = args("*");
        a.from = Some(t("2026-11-24T00:00:00Z"));
        a.to = Some(t("2026-11-23T00:00:00Z"));
        let err = build_query(&a, Utc::now()).unwrap_err();
        assert!(format!("{err:#}").contains("--from 2026-11-24T00:00:00.000Z is after --to"), "{err:#}");
        let err = build_query(&args("details.x:(unclosed"), Utc::now()).unwrap_err();
        assert!(format!("{err:#}").contains("query"), "{err:#}");
        // A long query is not echoed whole.
        let long = format!("details.x:({}", "a ".repeat(10_000));
        let err = format!("{:#}", build_query(&args(&long), Utc::now()).unwrap_err());
        assert!(err.len() < 1_000, "{}", err.len());
    }
}
