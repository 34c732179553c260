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

use std::path::Path;

use anyhow::{bail, Context};
use chrono::{DateTime, TimeDelta, Utc};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use serde_json::{json, Value as Json};
use tripline_dsl::{Aggregation, Bound, QueryAst};
use tripline_store::embedded::EmbeddedStore;
use tripline_store::{AggregationValue, Bucket, EventStore, SearchRequest, Sort};

/// Arguments of `tripline search`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Lucene-style query string (`field:value`, quotes, AND/OR/NOT, wildcards, /regex/,
    /// [a TO b], _exists_:field). `*` or nothing: every event.
    #[arg(default_value = "*")]
    pub query: String,
    /// Events from this time on (RFC 3339, any offset).
    #[arg(long, conflicts_with = "last")]
    pub from: Option<String>,
    /// Events up to this time (RFC 3339, any offset).
    #[arg(long, conflicts_with = "last")]
    pub to: Option<String>,
    /// Events of the last DURATION (`90s`, `15m`, `24h`, `7d`), by utctimestamp or receivedtimestamp.
    #[arg(long)]
    pub last: Option<String>,
    /// Hits to show, or buckets for --count-by.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Count events per value of this field (most frequent first).
    #[arg(long, conflicts_with = "histogram")]
    pub count_by: Option<String>,
    /// Count events per time bucket of this width (`5m`, `1h`, `1d`).
    #[arg(long)]
    pub histogram: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// `15m` → 15 minutes.
fn parse_duration(text: &str) -> anyhow::Result<TimeDelta> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: i64 =
        n.parse().with_context(|| format!("duration {text:?}: expected a number and s/m/h/d, e.g. 24h"))?;
    let d = match unit {
        "s" => TimeDelta::try_seconds(n),
        "m" => TimeDelta::try_minutes(n),
        "h" => TimeDelta::try_hours(n),
        "d" => TimeDelta::try_days(n),
        _ => bail!("duration {text:?}: unit must be s, m, h or d (e.g. 15m, 24h, 7d)"),
    };
    match d {
        Some(d) if n > 0 => Ok(d),
        _ => bail!("duration {text:?}: must be positive and not absurdly large"),
    }
}

fn parse_time(what: &str, text: &str) -> anyhow::Result<DateTime<Utc>> {
    tripline_dsl::parse_timestamp(text)
        .with_context(|| format!("--{what} {text:?}: expected RFC 3339, e.g. 2026-11-23T12:00:00Z"))
}

/// The query the arguments ask for, time bounds included.
pub fn build_query(args: &Args, now: DateTime<Utc>) -> anyhow::Result<QueryAst> {
    let text = args.query.trim();
    let mut must = Vec::new();
    if !text.is_empty() && text != "*" {
        must.push(tripline_dsl::query_string::parse(text).with_context(|| format!("query {text:?}"))?);
    }
    if let Some(last) = &args.last {
        must.push(tripline_dsl::search::time_window(now - parse_duration(last)?, now));
    }
    if args.from.is_some() || args.to.is_some() {
        let from = args.from.as_deref().map(|t| parse_time("from", t)).transpose()?;
        let to = args.to.as_deref().map(|t| parse_time("to", t)).transpose()?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                bail!("--from is after --to");
            }
        }
        must.push(QueryAst::Range {
            field: "utctimestamp".into(),
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

/// Search `store` and render the result as the arguments ask (table, bars or JSON).
pub async fn search(store: &dyn EventStore, query: &QueryAst, args: &Args) -> anyhow::Result<String> {
    let agg = if let Some(field) = &args.count_by {
        Some(Aggregation::terms(field.clone()).size(args.limit.max(1)).samples(0).named("count"))
    } else if let Some(width) = &args.histogram {
        let secs = parse_duration(width)?.num_seconds() as u64;
        Some(Aggregation::date_histogram("utctimestamp", secs).named("histogram"))
    } else {
        None
    };
    let Some(agg) = agg else {
        let result = store
            .search(&SearchRequest { query: query.clone(), size: args.limit, sort: Sort::NewestFirst })
            .await?;
        if args.json {
            let hits: Vec<Json> = result
                .hits
                .iter()
                .map(|h| json!({"index": h.index, "id": h.id, "source": h.source}))
                .collect();
            return Ok(format!(
                "{}\n",
                serde_json::to_string_pretty(&json!({"total": result.total, "hits": hits}))?
            ));
        }
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_header(["utctimestamp", "source", "category", "summary"]);
        for h in &result.hits {
            let s = |k: &str| h.source.get(k).and_then(Json::as_str).unwrap_or("").to_string();
            table.add_row([s("utctimestamp"), s("source"), s("category"), truncate(&s("summary"), 100)]);
        }
        return Ok(format!(
            "{table}\n{} events match, {} shown (newest first)\n",
            result.total,
            result.hits.len()
        ));
    };
    let total =
        store.search(&SearchRequest { query: query.clone(), size: 0, sort: Sort::NewestFirst }).await?.total;
    let results = store.aggregate(query, std::slice::from_ref(&agg)).await?;
    let buckets: &[Bucket] = match results.first().map(|r| &r.value) {
        Some(AggregationValue::Buckets(b)) => b,
        _ => bail!("the store returned no buckets"),
    };
    if args.json {
        let rows: Vec<Json> = buckets.iter().map(|b| json!({"key": b.key, "count": b.count})).collect();
        return Ok(format!("{}\n", serde_json::to_string_pretty(&json!({"total": total, "buckets": rows}))?));
    }
    let header =
        if args.count_by.is_some() { args.count_by.clone().unwrap_or_default() } else { "from".into() };
    Ok(format!("{}\n{total} events match\n", bar_table(&header, buckets)))
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// A table of buckets with a text bar per count.
fn bar_table(header: &str, buckets: &[Bucket]) -> Table {
    const WIDTH: u64 = 40;
    let max = buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([header, "count", ""]);
    for b in buckets {
        let key = match &b.key {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        let len = (b.count * WIDTH).div_ceil(max) as usize;
        table.add_row([
            Cell::new(key),
            Cell::new(b.count).set_alignment(CellAlignment::Right),
            Cell::new("█".repeat(len)),
        ]);
    }
    table
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
            json: false,
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
            events.push(e);
        }
        store.index_events(&events).await.unwrap();
        store
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m").unwrap(), TimeDelta::minutes(15));
        assert_eq!(parse_duration("7d").unwrap(), TimeDelta::days(7));
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("0h").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[tokio::test]
    async fn hits_table_and_count_by_with_bars() {
        let store = store().await;
        let now = t("2026-11-23T15:00:00Z");
        let mut a = args("details.user:bob");
        a.last = Some("2h".into());
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
    }

    #[tokio::test]
    async fn histogram_and_json() {
        let store = store().await;
        let mut a = args("*");
        a.from = Some("2026-11-23T12:00:00+02:00".into()); // 10:00Z
        a.to = Some("2026-11-23T11:59:59Z".into());
        a.histogram = Some("1h".into());
        a.json = true;
        let out = search(&store, &build_query(&a, Utc::now()).unwrap(), &a).await.unwrap();
        let v: Json = serde_json::from_str(&out).unwrap();
        assert_eq!(v["total"], 12);
        assert_eq!(v["buckets"][0]["key"], "2026-11-23T10:00:00.000Z");
        assert_eq!(v["buckets"][0]["count"], 6);
        assert_eq!(v["buckets"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn bad_input_is_explained() {
        let mut a = args("*");
        a.from = Some("yesterday".into());
        let err = build_query(&a, Utc::now()).unwrap_err();
        assert!(format!("{err:#}").contains("RFC 3339"), "{err:#}");
        let err = build_query(&args("details.x:(unclosed"), Utc::now()).unwrap_err();
        assert!(format!("{err:#}").contains("query"), "{err:#}");
    }
}
