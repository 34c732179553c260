//! The registry: every catalog alert is there once, builds, and compiles its query.

use std::collections::HashSet;

use tripline_alerts::{registry, Plan};

fn now() -> chrono::DateTime<chrono::Utc> {
    tripline_dsl::parse_timestamp("2024-05-15T00:00:00Z").expect("a valid time")
}

#[test]
fn every_entry_builds_an_alert_of_its_name_whose_query_compiles() {
    let entries = registry::entries();
    assert_eq!(entries.len(), 12, "{:?}", entries.iter().map(|e| e.name).collect::<Vec<_>>());
    let mut names = HashSet::new();
    for e in &entries {
        assert!(names.insert(e.name), "{} twice", e.name);
        let alert = (e.build)();
        assert_eq!(alert.name(), e.name);
        let compiled = alert.query().compile(now()).unwrap_or_else(|err| panic!("{}: {err}", e.name));
        assert!(compiled.since.is_some(), "{} has no time window", e.name);
        assert!(compiled.aggregations.is_empty(), "{}: aggregations belong in the plan", e.name);
        assert!(e.schedule.starts_with("rate(") && e.schedule.ends_with(')'), "{}: {}", e.name, e.schedule);
        assert!(!e.description.is_empty());
        assert!(
            e.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{}",
            e.name
        );
        if let Plan::Aggregation { field, per_bucket, .. } = alert.plan() {
            assert!(field.starts_with("details."), "{}: {field}", e.name);
            for agg in per_bucket {
                assert!(!agg.name.is_empty());
            }
        }
    }
    assert_eq!(
        registry::find("s3_bucket_public").map(|e| e.remediation),
        Some(registry::Remediation::Contain)
    );
    // A finding read from the store proves nothing about its origin: only GuardDuty's own
    // EventBridge rule starts containment for findings, never this alert.
    assert_eq!(registry::find("guardduty_finding").map(|e| e.remediation), Some(registry::Remediation::None));
    assert!(registry::find("no_such_alert").is_none());
}

#[test]
fn the_deadman_is_hourly_and_a_deadman() {
    let e = registry::find("cloudtrail_deadman").expect("registered");
    assert_eq!(e.schedule, "rate(1 hour)");
    assert!(matches!((e.build)().plan(), Plan::Deadman));
}
