//! The registry: every catalog alert is there once, builds, and compiles its query.

use std::collections::HashSet;
use std::sync::Arc;

use tripline_alerts::{registry, Alert, Meta, Plan, Registry, RegistryError, Remediation, Severity};

fn now() -> chrono::DateTime<chrono::Utc> {
    tripline_dsl::parse_timestamp("2024-05-15T00:00:00Z").expect("a valid time")
}

/// The alert modules in `src/` (every file but the crate's own plumbing).
fn alert_modules() -> HashSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    std::fs::read_dir(&dir)
        .expect("src/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".rs").map(str::to_string))
        .filter(|m| {
            !matches!(
                m.as_str(),
                "lib" | "registry" | "common" | "sigma" | "tuning" | "policy" | "attack" | "first_seen"
            )
        })
        .collect()
}

/// The alerts of the repository's `rules/` folder, by name.
fn rule_alerts() -> HashSet<String> {
    let (_, report) = Registry::with_rules([]);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    report.loaded.into_iter().map(|(name, _)| name).collect()
}

#[test]
fn every_alert_module_is_in_the_catalog_once_and_its_query_compiles() {
    let catalog = Registry::builtin();
    let names: Vec<&str> = catalog.iter().map(|a| a.name()).collect();
    assert_eq!(names.iter().copied().collect::<HashSet<_>>().len(), names.len(), "{names:?}");
    assert_eq!(
        names.iter().map(|n| n.to_string()).collect::<HashSet<_>>(),
        alert_modules().union(&rule_alerts()).cloned().collect::<HashSet<_>>(),
        "one alert per module or rule"
    );
    for alert in catalog.iter() {
        let e = alert.meta();
        assert_eq!(registry::check(e), Ok(()));
        let compiled = alert.query().compile(now()).unwrap_or_else(|err| panic!("{}: {err}", e.name));
        assert!(compiled.since.is_some(), "{} has no time window", e.name);
        assert!(compiled.aggregations.is_empty(), "{}: aggregations belong in the plan", e.name);
        assert!(!e.description.is_empty());
        if let Plan::Aggregation { field, per_bucket, .. } = alert.plan() {
            assert!(field.starts_with("details."), "{}: {field}", e.name);
            for agg in per_bucket {
                assert!(!agg.name.is_empty());
            }
        }
    }
    assert_eq!(registry::find("s3_bucket_public").map(|a| a.meta().remediation), Some(Remediation::Contain));
    // A finding read from the store proves nothing about its origin: only GuardDuty's own
    // EventBridge rule starts containment for findings, never this alert.
    assert_eq!(registry::find("guardduty_finding").map(|a| a.meta().remediation), Some(Remediation::None));
    assert!(registry::find("no_such_alert").is_none());
}

#[test]
fn the_deadman_is_hourly_and_a_deadman() {
    let a = registry::find("cloudtrail_deadman").expect("registered");
    assert_eq!(a.meta().schedule, "rate(1 hour)");
    assert!(matches!(a.plan(), Plan::Deadman));
}

/// An alert defined at run time (as a rule loaded from a file will be).
struct Loaded(Meta);
impl Alert for Loaded {
    fn meta(&self) -> &Meta {
        &self.0
    }
    fn query(&self) -> tripline_dsl::SearchQuery {
        tripline_dsl::SearchQuery::minutes(5)
    }
    fn plan(&self) -> Plan {
        Plan::Simple { limit: 10 }
    }
}

#[test]
fn alerts_added_at_run_time_join_the_catalog_checked() {
    let mut r = Registry::builtin();
    let before = r.len();
    r.add(Arc::new(Loaded(Meta::new("sigma_new_rule", "from a file").severity(Severity::Critical))))
        .expect("added");
    assert_eq!(r.len(), before + 1);
    assert_eq!(r.get("sigma_new_rule").map(|a| a.meta().severity), Some(Severity::Critical));
    assert_eq!(
        r.add(Arc::new(Loaded(Meta::new("iam_create_user", "clash")))).unwrap_err(),
        RegistryError::Duplicate("iam_create_user".into())
    );
    assert!(matches!(
        r.add(Arc::new(Loaded(Meta::new("Bad Name", "x")))).unwrap_err(),
        RegistryError::InvalidName(_)
    ));
    assert_eq!(r.len(), before + 1, "refused alerts are not added");
}
