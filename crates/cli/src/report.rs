//! `--html FILE`: one self-contained page (no network, no external scripts) a person reads
//! instead of a terminal: alerts as cards coloured by severity, a timeline, the histogram on a
//! real time axis with alerts marked, counts by field as bars.
//!
//! The page is `report.html` with the report's data in it as JSON. The data is written so that
//! no string from the logs can end the script element it sits in (`<`, `>`, `&` and the two
//! JavaScript line separators are escaped), and the page's own script inserts every string as
//! text, never as markup: event fields come from whoever made the calls.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as Json;
use tripline_event::AlertRecord;
use tripline_runtime::backtest::AlertBacktest;
use tripline_runtime::Alert;

const TEMPLATE: &str = include_str!("report.html");
const PLACEHOLDER: &str = "{{TRIPLINE_DATA}}";

/// What a report shows; every field is always present (null or empty where it does not apply).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// The page's title.
    pub title: String,
    /// `backtest`, `run` or `search`.
    pub command: String,
    /// When the report was made.
    #[serde(with = "tripline_event::ts")]
    pub generated: DateTime<Utc>,
    /// The span looked at.
    pub span: Option<Span>,
    /// The search's query string.
    pub query: Option<String>,
    /// Alerts, oldest first.
    pub alerts: Vec<Json>,
    /// Alerts per alert that ran (zero included).
    pub alert_counts: Vec<AlertCount>,
    /// A time histogram, zero-filled.
    pub histogram: Option<Histogram>,
    /// Counts by field.
    pub counts: Vec<Counts>,
    /// A table of hits.
    pub hits: Option<Hits>,
}

/// A span of time.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Span {
    /// Start.
    #[serde(with = "tripline_event::ts")]
    pub from: DateTime<Utc>,
    /// End.
    #[serde(with = "tripline_event::ts")]
    pub to: DateTime<Utc>,
}

/// One alert's count.
#[derive(Clone, Debug, Serialize)]
pub struct AlertCount {
    /// The alert.
    pub alert: String,
    /// How many it raised.
    pub count: usize,
    /// Its highest severity raised (its catalog severity when it raised nothing).
    pub severity: String,
}

/// A histogram over time.
#[derive(Clone, Debug, Serialize)]
pub struct Histogram {
    /// The date field.
    pub field: String,
    /// Bucket width.
    pub interval_secs: u64,
    /// The field it is split by.
    pub by: Option<String>,
    /// Every bucket, oldest first, empty ones included.
    pub buckets: Vec<HistogramBucket>,
}

/// One bucket.
#[derive(Clone, Debug, Serialize)]
pub struct HistogramBucket {
    /// Its start.
    #[serde(with = "tripline_event::ts")]
    pub start: DateTime<Utc>,
    /// Events in it.
    pub count: u64,
    /// Split by value (`other` for the rest); empty when not split.
    pub by: serde_json::Map<String, Json>,
}

/// Counts by one field.
#[derive(Clone, Debug, Serialize)]
pub struct Counts {
    /// The field.
    pub field: String,
    /// All events counted.
    pub total: u64,
    /// The most frequent values.
    pub rows: Vec<CountRow>,
    /// Events with another value.
    pub other: u64,
    /// Events without the field.
    pub missing: u64,
}

/// One value's count.
#[derive(Clone, Debug, Serialize)]
pub struct CountRow {
    /// The value.
    pub value: Json,
    /// Its count.
    pub count: u64,
}

/// Hits as a table.
#[derive(Clone, Debug, Serialize)]
pub struct Hits {
    /// The columns.
    pub fields: Vec<String>,
    /// All that matched.
    pub total: u64,
    /// The cells (null where a hit lacks the field).
    pub rows: Vec<Vec<Json>>,
    /// The hits whole (`--json`), not in the page.
    #[serde(skip)]
    pub sources: Vec<Json>,
    /// Events that may match unseen (values too long to index).
    #[serde(skip)]
    pub unindexed: u64,
}

impl Report {
    /// A backtest's report.
    pub fn backtest(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        alerts: &[AlertRecord],
        results: &[AlertBacktest],
        entries: &[Arc<dyn Alert>],
    ) -> Self {
        let alert_counts = results
            .iter()
            .zip(entries)
            .map(|(r, e)| AlertCount {
                alert: r.alert.clone(),
                count: r.raised.len(),
                severity: top_severity(&r.raised).unwrap_or_else(|| e.meta().severity.as_str().to_string()),
            })
            .collect();
        Report {
            title: format!(
                "tripline backtest {} – {}",
                tripline_event::format_timestamp(from),
                tripline_event::format_timestamp(to)
            ),
            command: "backtest".into(),
            span: Some(Span { from, to }),
            alerts: alerts.iter().map(AlertRecord::to_json).collect(),
            alert_counts,
            ..Report::new()
        }
    }

    /// A run's report: the alerts raised at `now` by these entries.
    pub fn run(now: DateTime<Utc>, alerts: &[AlertRecord], entries: &[Arc<dyn Alert>]) -> Self {
        let alert_counts = entries
            .iter()
            .map(|e| {
                let own: Vec<AlertRecord> =
                    alerts.iter().filter(|a| a.classname == e.name()).cloned().collect();
                AlertCount {
                    alert: e.name().to_string(),
                    count: own.len(),
                    severity: top_severity(&own).unwrap_or_else(|| e.meta().severity.as_str().to_string()),
                }
            })
            .collect();
        let mut sorted = alerts.to_vec();
        sorted.sort_by(|a, b| (a.utctimestamp, &a.classname).cmp(&(b.utctimestamp, &b.classname)));
        Report {
            title: format!("tripline run at {}", tripline_event::format_timestamp(now)),
            command: "run".into(),
            alerts: sorted.iter().map(AlertRecord::to_json).collect(),
            alert_counts,
            ..Report::new()
        }
    }

    /// An empty report made now.
    pub fn new() -> Self {
        Report { generated: Utc::now(), ..Report::default() }
    }

    /// The page.
    pub fn html(&self) -> anyhow::Result<String> {
        let data = serde_json::to_string(self).context("serializing the report")?;
        Ok(TEMPLATE.replacen(PLACEHOLDER, &script_safe(&data), 1))
    }

    /// Write the page to `path`.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, self.html()?)
            .with_context(|| format!("writing the report to {}", path.display()))
    }
}

/// The highest severity among these alerts.
pub fn top_severity(alerts: &[AlertRecord]) -> Option<String> {
    let rank = |s: &str| tripline_event::SEVERITIES.iter().position(|x| *x == s).unwrap_or(0);
    alerts.iter().map(|a| a.severity.as_str()).max_by_key(|s| rank(s)).map(str::to_string)
}

/// JSON that cannot end or open an HTML element, or break a JavaScript string: `<`, `>`, `&`,
/// U+2028 and U+2029 as `\u` escapes (still the same JSON).
pub fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_strings_stay_inside_the_data() {
        let mut r = Report::new();
        r.title = "</script><script>alert(1)</script> & \u{2028}".into();
        let page = r.html().unwrap();
        assert_eq!(page.matches(PLACEHOLDER).count(), 0);
        assert!(!page.contains("</script><script>alert(1)"), "the title broke out");
        // The data is still the same JSON.
        let start = page.find("id=\"tripline-data\"").unwrap();
        let body = &page[start..];
        let json = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
        let back: Json = serde_json::from_str(json).unwrap();
        assert_eq!(back["title"], Json::String(r.title.clone()));
        for key in
            ["command", "generated", "span", "query", "alerts", "alert_counts", "histogram", "counts", "hits"]
        {
            assert!(back.get(key).is_some(), "{key} is always present");
        }
    }

    #[test]
    fn the_template_holds_one_placeholder_in_the_data_element_and_forbids_the_network() {
        assert_eq!(TEMPLATE.matches(PLACEHOLDER).count(), 1);
        assert!(TEMPLATE.contains(&format!(
            "<script id=\"tripline-data\" type=\"application/json\">{PLACEHOLDER}</script>"
        )));
        assert!(TEMPLATE.contains("Content-Security-Policy"));
        assert!(TEMPLATE.contains("default-src 'none'"));
        for external in ["src=\"http", "href=\"http", "src='http", "@import", "url(http"] {
            assert!(!TEMPLATE.contains(external), "the page loads {external}");
        }
    }
}
