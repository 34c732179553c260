//! CloudWatch metrics from a Lambda, as Embedded Metric Format (EMF) lines.
//!
//! A function writes one JSON object per line on **stdout**; CloudWatch Logs extracts the
//! metrics it declares under `_aws.CloudWatchMetrics` (no API call, no permission, no agent).
//! The `tracing` JSON logs go to stderr, so an EMF line is never interleaved with a log line: each
//! is one complete object, written with one `write` of the locked stdout.
//!
//! | metric (namespace `Tripline`) | unit | emitted by | dimensions |
//! |---|---|---|---|
//! | `EventsIngested` | Count | the ingest function, per successful invocation: events the store accepted | none |
//! | `EventsRefused` | Count | the same: events the store refused for good, one by one (mapping conflicts, a document too large) | none |
//! | `RecordsMalformed` | Count | the same: records that did not normalize | none |
//! | `AlertsRaised` | Count | an alert's function, per successful run | `Alert` (the alert's name) |
//! | `RunDurationMs` | Milliseconds | the same: the run, search to delivery | `Alert` |
//!
//! A failed invocation emits nothing: it is retried, and what it wrote is written again by the
//! retry, so counting only successful invocations counts each event once. Failures themselves
//! are the function's `Errors` metric (and the alarms on it).
//!
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>.

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value as Json};

/// The CloudWatch namespace of every Tripline metric.
pub const NAMESPACE: &str = "Tripline";

/// A metric's unit (the CloudWatch unit names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// `Count`.
    Count,
    /// `Milliseconds`.
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One EMF document: a set of dimensions and the values measured under them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    dimensions: Vec<(String, String)>,
    values: Vec<(String, u64, Unit)>,
}

impl Metrics {
    /// No dimensions, no values yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a dimension (`Alert` = `describe_recon`). Every value of this document is published
    /// under all its dimensions together.
    pub fn dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Add a count.
    pub fn count(self, name: &str, value: u64) -> Self {
        self.value(name, value, Unit::Count)
    }

    /// Add a duration in milliseconds.
    pub fn milliseconds(self, name: &str, value: u64) -> Self {
        self.value(name, value, Unit::Milliseconds)
    }

    fn value(mut self, name: &str, value: u64, unit: Unit) -> Self {
        self.values.push((name.to_owned(), value, unit));
        self
    }

    /// The EMF document at `at`: `_aws` (timestamp in epoch milliseconds, the namespace, the
    /// dimension set, each metric's name and unit) and, at the top level, each dimension's value
    /// and each metric's value.
    pub fn to_json(&self, at: DateTime<Utc>) -> Json {
        let mut doc = Map::new();
        for (name, value) in &self.dimensions {
            doc.insert(name.clone(), json!(value));
        }
        for (name, value, _) in &self.values {
            doc.insert(name.clone(), json!(value));
        }
        let names: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        let metrics: Vec<Json> =
            self.values.iter().map(|(n, _, unit)| json!({"Name": n, "Unit": unit.as_str()})).collect();
        doc.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": at.timestamp_millis(),
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [names], "Metrics": metrics}],
            }),
        );
        Json::Object(doc)
    }

    /// The document as one line of JSON (no newline in it; the caller adds one).
    pub fn to_line(&self, at: DateTime<Utc>) -> String {
        self.to_json(at).to_string()
    }
}

/// Where EMF lines go.
#[derive(Clone, Debug, Default)]
pub enum MetricsOut {
    /// Standard output, one line each (what CloudWatch Logs reads in a Lambda).
    #[default]
    Stdout,
    /// Kept in memory (tests read them back with [`MetricsOut::lines`]).
    Memory(Arc<Mutex<Vec<String>>>),
    /// Nowhere (the command line).
    Off,
}

impl MetricsOut {
    /// An in-memory destination.
    pub fn memory() -> Self {
        MetricsOut::Memory(Arc::default())
    }

    /// Write `metrics`, measured now. A failure to write stdout is logged, never fatal.
    pub fn emit(&self, metrics: &Metrics) {
        self.emit_at(metrics, Utc::now());
    }

    /// Write `metrics`, measured at `at`.
    pub fn emit_at(&self, metrics: &Metrics, at: DateTime<Utc>) {
        let line = metrics.to_line(at);
        match self {
            MetricsOut::Stdout => {
                let mut out = std::io::stdout().lock();
                let written = out.write_all(format!("{line}\n").as_bytes()).and_then(|()| out.flush());
                if let Err(e) = written {
                    tracing::warn!(error = %e, "metrics not written to stdout");
                }
            }
            MetricsOut::Memory(lines) => match lines.lock() {
                Ok(mut l) => l.push(line),
                Err(poisoned) => poisoned.into_inner().push(line),
            },
            MetricsOut::Off => {}
        }
    }

    /// The lines written so far (in-memory destination; empty otherwise).
    pub fn lines(&self) -> Vec<String> {
        match self {
            MetricsOut::Memory(lines) => match lines.lock() {
                Ok(l) => l.clone(),
                Err(poisoned) => poisoned.into_inner().clone(),
            },
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T10:00:00.250Z").expect("time").with_timezone(&Utc)
    }

    #[test]
    fn a_document_declares_its_metrics_under_aws_cloudwatch_metrics() {
        let m = Metrics::new()
            .dimension("Alert", "describe_recon")
            .count("AlertsRaised", 3)
            .milliseconds("RunDurationMs", 125);
        let line = m.to_line(at());
        assert!(!line.contains('\n'), "one line: {line}");
        let v: Json = serde_json::from_str(&line).expect("a complete JSON object");
        assert_eq!(v["_aws"]["Timestamp"], json!(at().timestamp_millis()));
        let decl = v["_aws"]["CloudWatchMetrics"].as_array().expect("an array of directives");
        assert_eq!(decl.len(), 1);
        assert_eq!(decl[0]["Namespace"], "Tripline");
        assert_eq!(decl[0]["Dimensions"], json!([["Alert"]]));
        assert_eq!(
            decl[0]["Metrics"],
            json!([{"Name": "AlertsRaised", "Unit": "Count"}, {"Name": "RunDurationMs", "Unit": "Milliseconds"}])
        );
        // The values the directive names are top-level members, as are the dimensions'.
        assert_eq!(
            (v["Alert"].clone(), v["AlertsRaised"].clone(), v["RunDurationMs"].clone()),
            (json!("describe_recon"), json!(3), json!(125))
        );
    }

    #[test]
    fn without_dimensions_the_dimension_set_is_empty() {
        let v = Metrics::new().count("EventsIngested", 16).count("EventsRefused", 0).to_json(at());
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
        assert_eq!((v["EventsIngested"].clone(), v["EventsRefused"].clone()), (json!(16), json!(0)));
        let names: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(names.len(), 3, "the two values and _aws, nothing else: {names:?}");
    }

    #[test]
    fn memory_keeps_each_document_as_one_line() {
        let out = MetricsOut::memory();
        out.emit_at(&Metrics::new().count("A", 1), at());
        out.emit_at(&Metrics::new().count("B", 2), at());
        let lines = out.lines();
        assert_eq!(lines.len(), 2);
        let b: Json = serde_json::from_str(&lines[1]).expect("JSON");
        assert_eq!(b["B"], 2);
        assert!(MetricsOut::Off.lines().is_empty());
    }
}
