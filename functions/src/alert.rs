//! One binary for every alert: the function's `TRIPLINE_ALERT` names the catalog entry it runs.
//!
//! [`run`] initialises JSON logs, reads [`Config`] from the environment **once** (not per
//! invocation), finds the alert in the catalog, connects the store and the sinks, then serves
//! EventBridge scheduled events with [`Handler::handle`].
//!
//! **The clock is the scheduled event's `time`**, not the wall clock when the function happens to
//! run. A retried invocation (Lambda retries asynchronous invocations that fail) receives the same
//! event, so it evaluates the same window and raises the same alert ids: what the first attempt
//! delivered is recognised, not repeated. An event without `time` falls back to the wall clock.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TRIPLINE_ALERT` | the catalog name of the alert this function runs | required |
//! | `TRIPLINE_RULES` | rule folders packaged beside the binary (`make package RULES=…`), `:`-separated | unset: the built-in catalog |
//! | `TRIPLINE_TUNING` | the alert's tuning as JSON (`tripline infra render --tuning FILE` writes it) | unset: as the rule says |
//! | `TRIPLINE_OPENSEARCH_*` | the store (see `tripline_store::opensearch::OpenSearchConfig`) | `TRIPLINE_OPENSEARCH_URL` required |
//! | `TRIPLINE_SNS_TOPIC_ARN` | where alerts are published | unset: no SNS |
//! | `TRIPLINE_STATE_MACHINE_ARN` | the remediation workflow | required for alerts whose policy is `contain` |
//! | `TRIPLINE_WEBHOOKS` | webhook sinks, a JSON array (see [`parse_webhooks`]): `[{"name": "secops", "url": "https://hooks.slack.com/…", "format": "slack", "min_severity": "WARNING", "tags": ["iam"]}, {"name": "oncall", "url": "https://events.pagerduty.com/v2/enqueue", "format": "pagerduty", "routing_key": "…", "min_severity": "CRITICAL"}]` | unset: none |
//! | `TRIPLINE_RUNBOOK_URL` | runbook link per alert, `{name}` replaced by the alert's name | unset: no link |
//! | `TRIPLINE_LATENESS` | how late an event may arrive and still alert (`0s`, `15m`, `2h`; 0s to 24h; see [`passes`](tripline_runtime::runner::passes)) | `30m` |
//! | `AWS_ENDPOINT_URL`, `AWS_REGION`, … | the AWS SDK's own settings (a local moto works through `AWS_ENDPOINT_URL`) | |
//! | `RUST_LOG` | log filter | `info` |
//!
//! Logs are JSON lines on stderr; metrics ([`tripline_runtime::metrics`]) are EMF lines on stdout.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, TimeDelta, Utc};
use lambda_runtime::{service_fn, LambdaEvent};
use serde::Serialize;
use serde_json::Value as Json;
use tripline_runtime::{registry, Alert, Remediation};
use tripline_store::opensearch::{Auth, OpenSearchConfig, OpenSearchStore};
use tripline_store::{EventStore, StoreError};

use tripline_runtime::metrics::{Metrics, MetricsOut};
use tripline_runtime::runner::{parse_lateness, RunError, RunOptions, RunReport, Runner, DEFAULT_LATENESS};
use tripline_runtime::sinks::{Route, Sinks, Sns, StepFunctions, Webhook, WebhookFormat};

/// The scheduled event a function receives.
pub type ScheduledEvent = EventBridgeEvent<Json>;

/// What a Lambda needs to know, read from the environment once.
#[derive(Clone, Debug)]
pub struct Config {
    /// The store.
    pub opensearch: OpenSearchConfig,
    /// SNS topic for alerts.
    pub sns_topic_arn: Option<String>,
    /// Remediation state machine.
    pub state_machine_arn: Option<String>,
    /// Runbook URL pattern.
    pub runbook_url: Option<String>,
    /// How late an event may arrive and still alert ([`RunOptions::lateness`]).
    pub lateness: TimeDelta,
    /// Webhook sinks (`TRIPLINE_WEBHOOKS`).
    pub webhooks: Vec<Webhook>,
}

/// One entry of `TRIPLINE_WEBHOOKS`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookSpec {
    name: String,
    url: String,
    format: String,
    #[serde(default)]
    routing_key: Option<String>,
    #[serde(default)]
    min_severity: Option<tripline_runtime::Severity>,
    #[serde(default)]
    tags: Vec<String>,
}

/// `TRIPLINE_WEBHOOKS`: a JSON array of `{name, url, format: slack|pagerduty, routing_key
/// (pagerduty), min_severity (INFO..CRITICAL, default INFO), tags (any of; default all)}`.
/// Errors never repeat the value: it holds webhook URLs and routing keys.
pub fn parse_webhooks(text: &str) -> Result<Vec<Webhook>, ConfigError> {
    let specs: Vec<WebhookSpec> = serde_json::from_str(text).map_err(|e| {
        ConfigError::Webhooks(format!(
            "not a JSON array of webhooks (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let mut names = std::collections::HashSet::new();
    specs
        .into_iter()
        .map(|spec| {
            if !names.insert(spec.name.clone()) {
                return Err(ConfigError::Webhooks(format!("webhook {:?} is listed twice", spec.name)));
            }
            let format = match (spec.format.as_str(), spec.routing_key) {
                ("slack", None) => WebhookFormat::Slack,
                ("pagerduty", Some(key)) if !key.trim().is_empty() => {
                    WebhookFormat::PagerDuty { routing_key: key }
                }
                ("slack", Some(_)) => {
                    return Err(ConfigError::Webhooks(format!(
                        "webhook {:?}: routing_key is for pagerduty",
                        spec.name
                    )))
                }
                ("pagerduty", _) => {
                    return Err(ConfigError::Webhooks(format!(
                        "webhook {:?}: pagerduty needs a routing_key",
                        spec.name
                    )))
                }
                (other, _) => {
                    return Err(ConfigError::Webhooks(format!(
                        "webhook {:?}: format {other:?}, expected slack or pagerduty",
                        spec.name
                    )))
                }
            };
            let route = Route {
                min_severity: spec.min_severity.unwrap_or(tripline_runtime::Severity::Info),
                tags: spec.tags,
            };
            Webhook::new(&spec.name, &spec.url, format, route)
                .map_err(|e| ConfigError::Webhooks(e.to_string()))
        })
        .collect()
}

/// Configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The store's settings.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A variable with a value that cannot be right.
    #[error("{variable}={value:?}: {reason}")]
    Invalid {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What is expected.
        reason: &'static str,
    },
    /// `TRIPLINE_WEBHOOKS` cannot be used (the reason, never the value).
    #[error("TRIPLINE_WEBHOOKS: {0}")]
    Webhooks(String),
    /// `TRIPLINE_ALERT` is not set.
    #[error("TRIPLINE_ALERT is not set: it names the catalog alert this function runs")]
    NoAlert,
    /// No alert of that name in the registry.
    #[error("no alert named {0:?} in the catalog (TRIPLINE_ALERT)")]
    UnknownAlert(String),
    /// A rule file of `TRIPLINE_RULES` does not load.
    #[error("TRIPLINE_RULES: refused: {0}")]
    Rules(String),
    /// `TRIPLINE_TUNING` cannot be applied.
    #[error("TRIPLINE_TUNING: {0}")]
    Tuning(String),
    /// The alert's policy is `contain` but no state machine is configured.
    #[error("alert {0} contains threats (remediation: contain) but TRIPLINE_STATE_MACHINE_ARN is not set")]
    NoStateMachine(String),
}

impl Config {
    /// From the process environment (see the [module docs](self)).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    /// From any key → value lookup.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let arn = |variable: &'static str| -> Result<Option<String>, ConfigError> {
            match get(variable) {
                Some(v) if !v.starts_with("arn:") => {
                    Err(ConfigError::Invalid { variable, value: v, reason: "expected an ARN (arn:aws:…)" })
                }
                other => Ok(other),
            }
        };
        let lateness = match get("TRIPLINE_LATENESS") {
            None => DEFAULT_LATENESS,
            Some(v) => parse_lateness(&v).map_err(|_| ConfigError::Invalid {
                variable: "TRIPLINE_LATENESS",
                value: v,
                reason: "expected a lateness of 0s to 24h: a whole number and a unit s, m or h (e.g. 30m)",
            })?,
        };
        Ok(Config {
            opensearch: OpenSearchConfig::from_lookup(&get)?,
            sns_topic_arn: arn("TRIPLINE_SNS_TOPIC_ARN")?,
            state_machine_arn: arn("TRIPLINE_STATE_MACHINE_ARN")?,
            runbook_url: get("TRIPLINE_RUNBOOK_URL"),
            lateness,
            webhooks: get("TRIPLINE_WEBHOOKS").map(|t| parse_webhooks(&t)).transpose()?.unwrap_or_default(),
        })
    }
}

/// JSON logs (one object per line, what CloudWatch Logs Insights parses), filtered by
/// `RUST_LOG` (default `info`). Does nothing if a subscriber is already installed.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// What an invocation returns: a summary of the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// The alert.
    pub alert: String,
    /// The clock the run used (the scheduled event's time).
    #[serde(with = "tripline_event::ts")]
    pub at: DateTime<Utc>,
    /// How many alerts were raised.
    pub raised: usize,
    /// How many of them the settled pass raised (late events, deadmen; see `tripline_runtime`'s
    /// time windows).
    pub raised_settled: usize,
    /// Their ids.
    pub ids: Vec<String>,
    /// SNS messages published by this invocation.
    pub sns_published: usize,
    /// Remediation executions started by this invocation.
    pub executions_started: usize,
    /// Deliveries by sink name (SNS and Step Functions included).
    pub delivered: std::collections::BTreeMap<String, usize>,
    /// Events tagged.
    pub events_tagged: u64,
}

impl From<&RunReport> for Summary {
    fn from(r: &RunReport) -> Self {
        Summary {
            alert: r.alert.clone(),
            at: r.now,
            raised: r.raised.len(),
            raised_settled: r.raised_settled,
            ids: r.raised.iter().map(|a| a.id.clone()).collect(),
            sns_published: r.sns_published(),
            executions_started: r.executions_started(),
            delivered: r.delivered.clone(),
            events_tagged: r.events_tagged,
        }
    }
}

/// One alert's function: the alert, its policy, and the connections made once at cold start.
pub struct Handler {
    alert: Arc<dyn Alert>,
    remediation: Remediation,
    store: Arc<dyn EventStore>,
    sinks: Sinks,
    options: RunOptions,
    metrics: MetricsOut,
}

impl Handler {
    /// A handler from parts (tests build one against stand-in servers).
    pub fn new(
        alert: Arc<dyn Alert>,
        remediation: Remediation,
        store: Arc<dyn EventStore>,
        sinks: Sinks,
        options: RunOptions,
    ) -> Self {
        Handler { alert, remediation, store, sinks, options, metrics: MetricsOut::Stdout }
    }

    /// Where the run's metrics go (stdout, as EMF, unless told otherwise).
    pub fn with_metrics(mut self, metrics: MetricsOut) -> Self {
        self.metrics = metrics;
        self
    }

    /// Connect what `config` names, with AWS settings from `sdk` (credentials, region, endpoint).
    /// The alert's policy comes from its catalog entry ([`Alert::meta`]).
    pub async fn from_config(
        alert: Arc<dyn Alert>,
        config: Config,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, ConfigError> {
        let remediation = alert.meta().remediation;
        if remediation == Remediation::Contain && config.state_machine_arn.is_none() {
            return Err(ConfigError::NoStateMachine(alert.name().to_string()));
        }
        let store: Arc<dyn EventStore> = match &config.opensearch.auth {
            Auth::SigV4 { .. } => Arc::new(OpenSearchStore::with_sdk_config(config.opensearch.clone(), sdk)?),
            _ => Arc::new(OpenSearchStore::connect(config.opensearch.clone()).await?),
        };
        let mut sinks = Sinks::none();
        if let Some(arn) = config.sns_topic_arn {
            sinks = sinks.with(Sns::new(aws_sdk_sns::Client::new(sdk), arn));
        }
        for webhook in config.webhooks {
            sinks = sinks.with(webhook);
        }
        if let Some(arn) = config.state_machine_arn {
            sinks = sinks.with(StepFunctions::new(aws_sdk_sfn::Client::new(sdk), arn));
        }
        let options = RunOptions {
            runbook_url: config.runbook_url,
            lateness: config.lateness,
            ..RunOptions::default()
        };
        Ok(Handler::new(alert, remediation, store, sinks, options))
    }

    /// The alert this handler runs.
    pub fn alert(&self) -> &dyn Alert {
        self.alert.as_ref()
    }

    /// Run the alert at the event's time and deliver what it raises; a successful run emits
    /// `AlertsRaised` and `RunDurationMs` by `Alert` ([`tripline_runtime::metrics`]).
    pub async fn handle(&self, event: &ScheduledEvent) -> Result<Summary, RunError> {
        let now = clock(event);
        let started = std::time::Instant::now();
        let runner = Runner::new(self.store.as_ref())
            .with_sinks(self.sinks.clone())
            .with_options(self.options.clone());
        let report = runner.run(self.alert.as_ref(), self.remediation, now).await?;
        let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.metrics.emit(
            &Metrics::new()
                .dimension("Alert", self.alert.name())
                .count("AlertsRaised", report.raised.len() as u64)
                .milliseconds("RunDurationMs", millis),
        );
        Ok(Summary::from(&report))
    }

    /// [`Handler::handle`] in `lambda_runtime`'s shape.
    pub async fn invoke(&self, event: LambdaEvent<ScheduledEvent>) -> Result<Summary, lambda_runtime::Error> {
        self.handle(&event.payload).await.map_err(|e| {
            tracing::error!(alert = self.alert.name(), error = %e, "run failed; Lambda will retry");
            lambda_runtime::Error::from(e)
        })
    }
}

/// The clock of a run: the scheduled event's time (deterministic retries), else now.
pub fn clock(event: &ScheduledEvent) -> DateTime<Utc> {
    event.time.unwrap_or_else(Utc::now)
}

/// The alert `TRIPLINE_ALERT` names, from the built-in catalog and the rule folders
/// `TRIPLINE_RULES` lists (`:`-separated, relative to the package root), tuned by
/// `TRIPLINE_TUNING` (JSON, one alert's entry of a tuning file).
pub fn alert_from_env() -> Result<Arc<dyn Alert>, ConfigError> {
    let name = std::env::var("TRIPLINE_ALERT").map_err(|_| ConfigError::NoAlert)?;
    let dirs: Vec<std::path::PathBuf> = std::env::var("TRIPLINE_RULES")
        .unwrap_or_default()
        .split(':')
        .filter(|d| !d.trim().is_empty())
        .map(|d| std::path::PathBuf::from(d.trim()))
        .collect();
    let alert = if dirs.is_empty() {
        registry::find(name.trim())
    } else {
        let (registry, report) = tripline_runtime::cases::load(&dirs);
        if !report.refused.is_empty() {
            let reasons: Vec<String> = report.refused.iter().map(ToString::to_string).collect();
            return Err(ConfigError::Rules(reasons.join("; ")));
        }
        registry.get(name.trim()).cloned()
    };
    let alert = alert.ok_or(ConfigError::UnknownAlert(name))?;
    match std::env::var("TRIPLINE_TUNING") {
        Ok(json) if !json.trim().is_empty() => {
            let t: tripline_runtime::tuning::AlertTuning =
                serde_json::from_str(&json).map_err(|e| ConfigError::Tuning(e.to_string()))?;
            let tuned = tripline_runtime::tuning::Tuned::new(alert, &t)
                .map_err(|e| ConfigError::Tuning(e.to_string()))?;
            Ok(Arc::new(tuned))
        }
        _ => Ok(alert),
    }
}

/// The whole `main` of the alert binary: the alert `TRIPLINE_ALERT` names, configured from the
/// environment, serving scheduled events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let alert = alert_from_env().inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    let config = Config::from_env().inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let name = alert.name().to_string();
    let schedule = alert.meta().schedule.clone();
    let handler = Handler::from_config(alert, config, &sdk).await?;
    tracing::info!(alert = name, schedule, "ready");
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduledEvent>| handler.invoke(event))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(lateness: Option<&str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| match k {
            "TRIPLINE_OPENSEARCH_URL" => Some("http://127.0.0.1:9200".into()),
            "TRIPLINE_LATENESS" => lateness.map(str::to_string),
            _ => None,
        })
    }

    #[test]
    fn webhooks_come_from_the_environment_checked_and_never_echoed() {
        let ok = parse_webhooks(
            r#"[{"name":"secops","url":"https://hooks.example.com/services/SECRET1","format":"slack","min_severity":"WARNING","tags":["iam"]},
                {"name":"oncall","url":"https://events.example.com/v2/enqueue","format":"pagerduty","routing_key":"SECRET2"}]"#,
        )
        .unwrap();
        assert_eq!(
            ok.iter().map(|w| tripline_runtime::sinks::Sink::name(w).to_string()).collect::<Vec<_>>(),
            ["webhook:secops", "webhook:oncall"]
        );
        for bad in [
            r#"{"name":"x"}"#,
            r#"[{"name":"a","url":"https://h/SECRET1","format":"slack","routing_key":"SECRET2"}]"#,
            r#"[{"name":"a","url":"https://h/SECRET1","format":"pagerduty"}]"#,
            r#"[{"name":"a","url":"https://h/SECRET1","format":"teams"}]"#,
            r#"[{"name":"a","url":"ftp://h/SECRET1","format":"slack"}]"#,
            r#"[{"name":"a","url":"https://h/SECRET1","format":"slack"},{"name":"a","url":"https://h/SECRET1","format":"slack"}]"#,
            r#"[{"name":"a","url":"https://h/SECRET1","format":"slack","extra":"SECRET2"}]"#,
        ] {
            let err = parse_webhooks(bad).unwrap_err().to_string();
            assert!(err.starts_with("TRIPLINE_WEBHOOKS: "), "{err}");
            assert!(!err.contains("SECRET"), "{err}");
        }
    }

    #[test]
    fn lateness_comes_from_the_environment_checked() {
        assert_eq!(config(None).unwrap().lateness, DEFAULT_LATENESS);
        assert_eq!(config(Some("15m")).unwrap().lateness, TimeDelta::minutes(15));
        assert_eq!(config(Some("0s")).unwrap().lateness, TimeDelta::zero());
        for bad in ["25h", "soon", "-1m"] {
            let err = config(Some(bad)).unwrap_err().to_string();
            assert!(err.starts_with("TRIPLINE_LATENESS=") && err.contains("0s to 24h"), "{err}");
        }
    }
}
