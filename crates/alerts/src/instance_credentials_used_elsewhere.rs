//! An EC2 instance role's session used from more than one public address: its credentials left
//! the instance.
//!
//! An instance's role credentials come from its metadata service; an intruder who reads them
//! (SSRF, a shell) uses them from their own machine (MITRE ATT&CK T1552.005, Cloud Instance
//! Metadata API). The session of an instance role is named after the instance (`AROA…:i-…`), and
//! an instance reaches AWS from one public address (its own, or its NAT gateway's) or privately
//! through VPC endpoints. So the engine counts the distinct public source addresses per session
//! (a cardinality inside each `principalId` group, private ranges left out): two or more within
//! an hour raise, critical. Calls AWS services make for the session (`invokedBy`) carry no
//! address. GuardDuty's `InstanceCredentialExfiltration` findings say the same from AWS's side
//! (`guardduty_access_key_finding`). It stays in Rust: CloudTrail's `sourceIPAddress` is an
//! address or a service name (two stored fields), which a Sigma value_count would miscount.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;

use crate::common::{by_aws_services, group_text, internal_networks, sub_keys};
use crate::{create_alert, Alert, AlertDraft, Group, Meta, Plan, Severity};

/// The registry name.
pub const NAME: &str = "instance_credentials_used_elsewhere";

static META: LazyLock<Meta> = LazyLock::new(|| {
    Meta::new(NAME, "An instance role's session used from two or more public addresses within an hour")
        .severity(Severity::Critical)
        .tags(&["attack.credential-access", "attack.t1552.005", "attack.defense-evasion", "attack.t1078.004"])
});

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct InstanceCredentialsUsedElsewhere;

impl Alert for InstanceCredentialsUsedElsewhere {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        let private: Vec<_> =
            internal_networks().into_iter().map(|n| SubnetMatch("details.sourceipaddress", n)).collect();
        SearchQuery::minutes(60)
            .must(TermMatch("source", "cloudtrail"))
            .must(TermMatch("details.useridentity.type", "AssumedRole"))
            .must(WildcardMatch("details.useridentity.principalid", "*:i-*"))
            .must(ExistsMatch("details.sourceipaddress"))
            .must_not(private)
            .must_not(by_aws_services())
    }

    fn plan(&self) -> Plan {
        Plan::Aggregation {
            field: "details.useridentity.principalid".into(),
            threshold: 2,
            samples: 10,
            max_groups: 1000,
            per_bucket: vec![
                Aggregation::cardinality("details.sourceipaddress").named("ips"),
                Aggregation::terms("details.sourceipaddress").named("addresses").size(10).samples(0),
                Aggregation::terms("details.useridentity.arn").named("arns").size(1).samples(0),
            ],
        }
    }

    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        let ips = group.metric("ips")?;
        if ips < 2 {
            return None;
        }
        let session = group_text(group);
        let instance = session.rsplit(':').next().unwrap_or_default().to_string();
        let arn = sub_keys(group, "arns").join(", ");
        let addresses = sub_keys(group, "addresses");
        let summary = format!(
            "Credentials of instance {instance} ({arn}) used from {ips} public addresses within an hour: {}",
            addresses.join(", ")
        );
        Some(
            create_alert(summary, "credential-access", &["cloudtrail", "ec2", "T1552.005"], group.samples.clone(), Severity::Critical)
                .key(session.clone())
                .detail("session", session)
                .detail("instance", instance)
                .detail("sourceipaddresses", addresses)
                .detail("runbook", "Revoke the role's sessions issued before now (an inline deny on aws:TokenIssueTime), find how the metadata was read (IMDSv1, SSRF), then rotate what the role could read"),
        )
    }
}
