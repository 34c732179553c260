//! Tuning without code: per-alert schedule, window, severity, on/off and exclusions, from a
//! TOML file that `tripline run`, `tripline infra render` and the Lambdas read.
//!
//! ```toml
//! [alerts.iam_create_user]
//! schedule = "rate(10 minutes)"   # EventBridge expression (the template's schedule)
//! window = "30m"                  # how far back it looks: s, m, h or d
//! severity = "CRITICAL"           # INFO, NOTICE, WARNING, CRITICAL: every alert it raises
//!
//! [alerts.iam_create_user.exclude] # events never looked at (must_not of the query)
//! principals = ["arn:aws:iam::123456789012:role/terraform-*"]  # userIdentity.arn or its session issuer; * and ? wildcards
//! source_ips = ["10.0.0.0/8", "cloudformation.amazonaws.com"]  # CIDRs, or host names as CloudTrail writes them
//! accounts = ["111111111111"]                                  # recipientAccountId or userIdentity.accountId
//! user_agents = ["Terraform/*"]                                # userAgent, wildcards
//!
//! [alerts.describe_recon]
//! enabled = false
//! ```
//!
//! Names that are not alerts of the catalog, unknown keys, bad schedules, windows, CIDRs and
//! severities are errors, so a typo never leaves an alert untuned in silence. A deployed function
//! gets its alert's tuning as JSON in `TRIPLINE_TUNING` (written by `infra render`), since a Lambda
//! has no tuning file.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use tripline_dsl::{QueryAst, SearchQuery, Value};
use tripline_event::EventRef;

use crate::{Alert, AlertDraft, Group, Meta, Plan, Registry, Severity};

/// A tuning file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    /// Per alert, by name.
    #[serde(default)]
    pub alerts: BTreeMap<String, AlertTuning>,
}

/// One alert's tuning; every key optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTuning {
    /// `false` leaves the alert out of runs and of the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// EventBridge schedule expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Look-back window (`30m`, `2h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// The severity of every alert it raises (and its catalog entry's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Events it never looks at.
    #[serde(default, skip_serializing_if = "Exclusions::is_empty")]
    pub exclude: Exclusions,
}

/// Events an alert never looks at.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusions {
    /// ARN patterns of the acting principal (`userIdentity.arn`, or the role behind a session).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<String>,
    /// Source networks (CIDR) or host names (`cloudformation.amazonaws.com`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
    /// Account ids (the account the event is for, or the principal's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// User-agent patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_agents: Vec<String>,
}

impl Exclusions {
    /// Nothing excluded.
    pub fn is_empty(&self) -> bool {
        self.principals.is_empty()
            && self.source_ips.is_empty()
            && self.accounts.is_empty()
            && self.user_agents.is_empty()
    }

    /// The exclusions as query clauses (each a `must_not` of the alert's query).
    pub fn clauses(&self) -> Result<Vec<QueryAst>, TuningError> {
        let pattern = |field: &str, p: &str| {
            if p.contains(['*', '?']) {
                QueryAst::Wildcard { field: field.into(), pattern: p.into(), case_insensitive: false }
            } else {
                QueryAst::Term { field: field.into(), value: Value::from(p), case_insensitive: false }
            }
        };
        let mut out = Vec::new();
        for p in &self.principals {
            out.push(pattern("details.useridentity.arn", p));
            out.push(pattern("details.useridentity.sessioncontext.sessionissuer.arn", p));
        }
        for ip in &self.source_ips {
            if ip.parse::<std::net::IpAddr>().is_ok() || ip.contains('/') {
                let net = tripline_dsl::ast::parse_cidr(ip)
                    .map_err(|e| TuningError::Invalid(format!("source_ips: {e}")))?;
                out.push(QueryAst::Subnet { field: "details.sourceipaddress".into(), net });
            } else {
                out.push(pattern("details.sourcehostname", ip));
            }
        }
        for a in &self.accounts {
            out.push(pattern("details.recipientaccountid", a));
            out.push(pattern("details.useridentity.accountid", a));
        }
        for ua in &self.user_agents {
            out.push(pattern("details.useragent", ua));
        }
        Ok(out)
    }
}

/// A tuning file that cannot be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TuningError {
    /// Not TOML of the expected shape.
    #[error("tuning file: {0}")]
    Parse(String),
    /// A name that is no alert.
    #[error("tuning file: no alert is named {0:?} (tripline rules list shows the names)")]
    UnknownAlert(String),
    /// A value out of range.
    #[error("tuning file: {0}")]
    Invalid(String),
}

impl Tuning {
    /// Read a tuning file's text.
    pub fn parse(text: &str) -> Result<Tuning, TuningError> {
        toml::from_str(text).map_err(|e| TuningError::Parse(e.to_string()))
    }

    /// `registry` with the tuning applied: disabled alerts left out, the others wrapped.
    pub fn apply(&self, registry: &Registry) -> Result<Registry, TuningError> {
        for name in self.alerts.keys() {
            if registry.get(name).is_none() {
                return Err(TuningError::UnknownAlert(name.clone()));
            }
        }
        let mut out = Registry::new();
        for alert in registry.iter() {
            let tuned = match self.alerts.get(alert.name()) {
                None => alert.clone(),
                Some(t) if t.enabled == Some(false) => continue,
                Some(t) => Arc::new(Tuned::new(alert.clone(), t)?) as Arc<dyn Alert>,
            };
            out.add(tuned).map_err(|e| TuningError::Invalid(e.to_string()))?;
        }
        Ok(out)
    }
}

/// A window such as `30m`, `2h`, `1d` (1 s to 30 days).
pub fn parse_window(text: &str) -> Result<TimeDelta, TuningError> {
    let secs =
        tripline_sigma::parse_timespan(text).map_err(|e| TuningError::Invalid(format!("window {e}")))?;
    Ok(TimeDelta::seconds(i64::try_from(secs).unwrap_or(i64::MAX)))
}

/// An alert with its tuning applied.
pub struct Tuned {
    inner: Arc<dyn Alert>,
    meta: Meta,
    window: Option<TimeDelta>,
    severity: Option<Severity>,
    exclude: Vec<QueryAst>,
}

impl Tuned {
    /// `inner` tuned by `t` (checked: schedule, window, exclusions).
    pub fn new(inner: Arc<dyn Alert>, t: &AlertTuning) -> Result<Tuned, TuningError> {
        let mut meta = inner.meta().clone();
        if let Some(s) = &t.schedule {
            meta = meta.schedule(s.clone());
        }
        if let Some(s) = t.severity {
            meta = meta.severity(s);
        }
        crate::registry::check(&meta).map_err(|e| TuningError::Invalid(e.to_string()))?;
        let window = t.window.as_deref().map(parse_window).transpose()?;
        Ok(Tuned { inner, meta, window, severity: t.severity, exclude: t.exclude.clauses()? })
    }

    fn tune(&self, d: Option<AlertDraft>) -> Option<AlertDraft> {
        d.map(|mut d| {
            if let Some(s) = self.severity {
                d.severity = s;
            }
            d
        })
    }
}

impl Alert for Tuned {
    fn meta(&self) -> &Meta {
        &self.meta
    }
    fn query(&self) -> SearchQuery {
        let mut q = self.inner.query();
        if let Some(w) = self.window {
            q = q.with_window(w);
        }
        if !self.exclude.is_empty() {
            q = q.must_not(self.exclude.clone());
        }
        q
    }
    fn plan(&self) -> Plan {
        self.inner.plan()
    }
    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        self.tune(self.inner.on_event(event))
    }
    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        self.tune(self.inner.on_aggregation(group))
    }
    fn on_aggregation_at(&self, group: &Group, now: chrono::DateTime<chrono::Utc>) -> Option<AlertDraft> {
        self.tune(self.inner.on_aggregation_at(group, now))
    }
    fn on_silence(&self) -> Option<AlertDraft> {
        self.tune(self.inner.on_silence())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> chrono::DateTime<chrono::Utc> {
        tripline_dsl::parse_timestamp("2026-03-02T12:00:00Z").expect("time")
    }

    #[test]
    fn a_tuning_file_changes_schedule_window_severity_and_excludes() {
        let t = Tuning::parse(
            r#"
[alerts.iam_create_user]
schedule = "rate(10 minutes)"
window = "2h"
severity = "CRITICAL"
[alerts.iam_create_user.exclude]
principals = ["arn:aws:iam::123456789012:role/terraform-*"]
source_ips = ["10.0.0.0/8", "cloudformation.amazonaws.com"]
accounts = ["111111111111"]

[alerts.describe_recon]
enabled = false
"#,
        )
        .expect("parses");
        let base = Registry::builtin();
        let tuned = t.apply(&base).expect("applies");
        assert_eq!(tuned.len(), base.len() - 1, "the disabled alert is left out");
        assert!(tuned.get("describe_recon").is_none());
        let a = tuned.get("iam_create_user").expect("kept");
        assert_eq!(a.meta().schedule, "rate(10 minutes)");
        assert_eq!(a.meta().severity, Severity::Critical);
        let q = a.query().compile(now()).expect("compiles");
        assert_eq!(q.window, Some(TimeDelta::hours(2)));
        let shown = format!("{:?}", q.filter);
        for needle in
            ["terraform-*", "sessionissuer.arn", "10.0.0.0/8", "details.sourcehostname", "111111111111"]
        {
            assert!(shown.contains(needle), "{needle} missing from {shown}");
        }
        // Untuned alerts are the catalog's own.
        assert_eq!(
            tuned.get("root_account_usage").map(|a| a.meta().clone()),
            base.get("root_account_usage").map(|a| a.meta().clone())
        );
    }

    #[test]
    fn mistakes_are_errors_not_silence() {
        let base = Registry::builtin();
        let err = |text: &str| match Tuning::parse(text).and_then(|t| t.apply(&base)) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        };
        assert!(
            err("[alerts.no_such_alert]\nenabled = false").contains("no alert is named \"no_such_alert\"")
        );
        assert!(err("[alerts.iam_create_user]\nwindw = \"1h\"").contains("unknown field"));
        assert!(err("[alerts.iam_create_user]\nwindow = \"1y\"").contains("window"));
        assert!(err("[alerts.iam_create_user]\nschedule = \"every 5m\"").contains("schedule"));
        assert!(err("[alerts.iam_create_user]\nseverity = \"HIGH\"").contains("tuning file"));
        assert!(
            err("[alerts.iam_create_user.exclude]\nsource_ips = [\"10.0.0.0/33\"]").contains("source_ips")
        );
    }
}
