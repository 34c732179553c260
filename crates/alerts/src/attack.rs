//! The ATT&CK techniques of the cloud (IaaS) matrix that an AWS account's logs can show, and the
//! catalog's coverage of them.
//!
//! Alerts carry ATT&CK tags the way Sigma writes them (`attack.persistence`, `attack.t1098.001`,
//! in [`Meta::tags`](crate::Meta::tags)). [`coverage`] lays the catalog over [`TECHNIQUES`]: for
//! each tactic and technique, the alerts tagged with that technique (or one of its
//! sub-techniques). Techniques no alert carries are listed too, as gaps.

use std::collections::BTreeMap;

use crate::Registry;

/// The ATT&CK tactics, in the matrix's order, as Sigma tags spell them (`attack.<tactic>`).
pub const TACTICS: [&str; 14] = [
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

/// `(tactic, technique id, name)` of the IaaS matrix (ATT&CK Enterprise v16), the techniques an
/// account's CloudTrail, VPC Flow Logs and GuardDuty can show.
pub const TECHNIQUES: &[(&str, &str, &str)] = &[
    ("reconnaissance", "T1595", "Active Scanning"),
    ("initial-access", "T1078.004", "Valid Accounts: Cloud Accounts"),
    ("initial-access", "T1133", "External Remote Services"),
    ("initial-access", "T1190", "Exploit Public-Facing Application"),
    ("initial-access", "T1199", "Trusted Relationship"),
    ("execution", "T1648", "Serverless Execution"),
    ("execution", "T1651", "Cloud Administration Command"),
    ("execution", "T1204.003", "User Execution: Malicious Image"),
    ("execution", "T1059.009", "Command and Scripting Interpreter: Cloud API"),
    ("persistence", "T1098.001", "Account Manipulation: Additional Cloud Credentials"),
    ("persistence", "T1098.003", "Account Manipulation: Additional Cloud Roles"),
    ("persistence", "T1098.004", "Account Manipulation: SSH Authorized Keys"),
    ("persistence", "T1136.003", "Create Account: Cloud Account"),
    ("persistence", "T1525", "Implant Internal Image"),
    ("persistence", "T1078.004", "Valid Accounts: Cloud Accounts"),
    ("persistence", "T1546", "Event Triggered Execution"),
    ("privilege-escalation", "T1098.003", "Account Manipulation: Additional Cloud Roles"),
    ("privilege-escalation", "T1484.002", "Domain or Tenant Policy Modification: Trust Modification"),
    (
        "privilege-escalation",
        "T1548.005",
        "Abuse Elevation Control Mechanism: Temporary Elevated Cloud Access",
    ),
    ("privilege-escalation", "T1078.004", "Valid Accounts: Cloud Accounts"),
    ("defense-evasion", "T1562.008", "Impair Defenses: Disable or Modify Cloud Logs"),
    ("defense-evasion", "T1562.001", "Impair Defenses: Disable or Modify Tools"),
    ("defense-evasion", "T1562.007", "Impair Defenses: Disable or Modify Cloud Firewall"),
    ("defense-evasion", "T1578", "Modify Cloud Compute Infrastructure"),
    ("defense-evasion", "T1666", "Modify Cloud Resource Hierarchy"),
    ("defense-evasion", "T1535", "Unused/Unsupported Cloud Regions"),
    ("defense-evasion", "T1078.004", "Valid Accounts: Cloud Accounts"),
    ("defense-evasion", "T1550.001", "Use Alternate Authentication Material: Application Access Token"),
    ("credential-access", "T1110", "Brute Force"),
    ("credential-access", "T1552.005", "Unsecured Credentials: Cloud Instance Metadata API"),
    ("credential-access", "T1555.006", "Credentials from Password Stores: Cloud Secrets Management Stores"),
    ("credential-access", "T1528", "Steal Application Access Token"),
    ("credential-access", "T1606", "Forge Web Credentials"),
    ("discovery", "T1580", "Cloud Infrastructure Discovery"),
    ("discovery", "T1526", "Cloud Service Discovery"),
    ("discovery", "T1087.004", "Account Discovery: Cloud Account"),
    ("discovery", "T1069.003", "Permission Groups Discovery: Cloud Groups"),
    ("discovery", "T1619", "Cloud Storage Object Discovery"),
    ("discovery", "T1046", "Network Service Discovery"),
    ("discovery", "T1654", "Log Enumeration"),
    ("lateral-movement", "T1021.004", "Remote Services: SSH"),
    ("lateral-movement", "T1021.008", "Remote Services: Direct Cloud VM Connections"),
    ("lateral-movement", "T1021.001", "Remote Services: Remote Desktop Protocol"),
    ("collection", "T1530", "Data from Cloud Storage"),
    ("exfiltration", "T1537", "Transfer Data to Cloud Account"),
    ("impact", "T1485", "Data Destruction"),
    ("impact", "T1486", "Data Encrypted for Impact"),
    ("impact", "T1489", "Service Stop"),
    ("impact", "T1490", "Inhibit System Recovery"),
    ("impact", "T1496", "Resource Hijacking"),
    ("impact", "T1531", "Account Access Removal"),
];

/// One row of the coverage: a technique under a tactic, and the alerts that detect it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The tactic (Sigma spelling: `defense-evasion`).
    pub tactic: String,
    /// The technique id (`T1562.008`).
    pub technique: String,
    /// Its name (empty for a technique outside [`TECHNIQUES`]).
    pub name: String,
    /// The alerts tagged with it, by name.
    pub alerts: Vec<String>,
}

/// Whether a technique tag (`t1098.001`) covers the row `technique`: the same id, or a
/// sub-technique of the row (`t1578.002` covers `T1578`). A parent's tag (`t1098`) does not
/// claim every sub-technique: it gets a row of its own.
fn covers(tag: &str, technique: &str) -> bool {
    let (tag, technique) = (tag.to_ascii_uppercase(), technique.to_ascii_uppercase());
    tag == technique || tag.strip_prefix(technique.as_str()).is_some_and(|rest| rest.starts_with('.'))
}

/// The catalog over the matrix: every row of [`TECHNIQUES`] (covered or not), then the
/// techniques alerts are tagged with that the table does not hold, under the alerts' tactics.
pub fn coverage(registry: &Registry) -> Vec<Row> {
    let tagged: Vec<(String, Vec<String>, Vec<String>)> = registry
        .iter()
        .map(|a| {
            let tags = &a.meta().tags;
            let lower = |t: &String| t.to_ascii_lowercase();
            let techniques: Vec<String> = tags
                .iter()
                .map(lower)
                .filter_map(|t| t.strip_prefix("attack.").map(str::to_string))
                .filter(|t| t.starts_with('t') && t[1..].starts_with(|c: char| c.is_ascii_digit()))
                .collect();
            let tactics: Vec<String> = tags
                .iter()
                .map(lower)
                .filter_map(|t| t.strip_prefix("attack.").map(str::to_string))
                .filter(|t| TACTICS.contains(&t.as_str()))
                .collect();
            (a.name().to_string(), techniques, tactics)
        })
        .collect();
    let mut rows: Vec<Row> = TECHNIQUES
        .iter()
        .map(|(tactic, id, name)| Row {
            tactic: (*tactic).to_string(),
            technique: (*id).to_string(),
            name: (*name).to_string(),
            // Under this tactic when the alert says so, or when it names none of the technique's
            // tactics (then it counts under each).
            alerts: tagged
                .iter()
                .filter(|(_, techniques, tactics)| {
                    techniques.iter().any(|t| covers(t, id))
                        && (tactics.iter().any(|t| t == tactic)
                            || !TECHNIQUES.iter().any(|(x, i, _)| i == id && tactics.iter().any(|t| t == x)))
                })
                .map(|(n, _, _)| n.clone())
                .collect(),
        })
        .collect();
    let mut extra: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
    for (alert, techniques, tactics) in &tagged {
        for t in techniques {
            if TECHNIQUES.iter().any(|(_, id, _)| covers(t, id)) {
                continue;
            }
            let tactic = tactics.first().map(String::as_str).unwrap_or("other");
            let order = TACTICS.iter().position(|x| *x == tactic).unwrap_or(TACTICS.len());
            extra.entry((order, t.to_ascii_uppercase())).or_default().push(alert.clone());
        }
    }
    for ((order, technique), alerts) in extra {
        let tactic = TACTICS.get(order).copied().unwrap_or("other").to_string();
        rows.push(Row { tactic, technique, name: String::new(), alerts });
    }
    rows.sort_by_key(|r| TACTICS.iter().position(|x| *x == r.tactic).unwrap_or(TACTICS.len()));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_techniques_and_parents() {
        assert!(covers("t1098.001", "T1098.001"));
        assert!(covers("t1578.002", "T1578"), "a sub-technique covers its parent's row");
        assert!(covers("t1110", "T1110"));
        assert!(!covers("t1098", "T1098.004"), "a parent tag does not claim a sub-technique");
        assert!(!covers("t1098.001", "T1098.003"));
        assert!(!covers("t1562", "T15620"));
    }

    #[test]
    fn the_builtin_catalog_covers_every_tactic() {
        let rows = coverage(&Registry::builtin());
        // Resource development and command and control happen outside the account's logs.
        for tactic in TACTICS.iter().filter(|t| TECHNIQUES.iter().any(|(x, _, _)| x == *t)) {
            assert!(
                rows.iter().any(|r| r.tactic == *tactic && !r.alerts.is_empty()),
                "no alert for {tactic}"
            );
        }
        let every = rows.iter().find(|r| r.technique == "T1562.008").expect("row");
        assert!(every.alerts.contains(&"cloudtrail_logging_disabled".to_string()), "{every:?}");
        assert!(rows.iter().all(|r| !r.technique.is_empty()));
    }
}
