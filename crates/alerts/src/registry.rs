//! The registry: every alert with how it is deployed. The SAM template's functions and schedules
//! are derived from it.

use serde::Serialize;

use crate::{Alert, Severity};

/// What happens beyond notification when an alert fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Remediation {
    /// Alerts index and SNS only.
    None,
    /// Also start the remediation workflow (Step Functions) with the alert as input.
    Contain,
}

/// One alert as deployed.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RegistryEntry {
    /// The alert's name (also its Lambda's binary name, with `-` for `_`).
    pub name: &'static str,
    /// What it detects, one line.
    pub description: &'static str,
    /// EventBridge schedule expression (`rate(5 minutes)`).
    pub schedule: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Remediation policy.
    pub remediation: Remediation,
    /// Lambda memory in MB.
    pub memory_mb: u32,
    /// Lambda timeout in seconds.
    pub timeout_secs: u32,
    /// Builds the alert with its default configuration.
    #[serde(skip)]
    pub build: fn() -> Box<dyn Alert>,
}

/// Every alert in the catalog, in a stable order.
pub fn entries() -> Vec<RegistryEntry> {
    use crate::*;
    fn boxed<A: Alert + Default + 'static>() -> Box<dyn Alert> {
        Box::new(A::default())
    }
    const EVERY_5_MIN: &str = "rate(5 minutes)";
    let entry = |name, description, schedule, severity, remediation, build| RegistryEntry {
        name,
        description,
        schedule,
        severity,
        remediation,
        memory_mb: 128,
        timeout_secs: 60,
        build,
    };
    vec![
        entry(
            describe_recon::NAME,
            "Excessive Describe calls by one identity (50 in 20 minutes): reconnaissance",
            EVERY_5_MIN,
            Severity::Warning,
            Remediation::None,
            boxed::<describe_recon::DescribeRecon>,
        ),
        entry(
            iam_user_multiple_ips::NAME,
            "One IAM user active from two or more source IPs within 15 minutes: leaked credentials",
            EVERY_5_MIN,
            Severity::Warning,
            Remediation::None,
            boxed::<iam_user_multiple_ips::IamUserMultipleIps>,
        ),
        entry(
            s3_bucket_public::NAME,
            "S3 bucket made public (ACL, policy, public access block), unless just created",
            EVERY_5_MIN,
            Severity::Critical,
            Remediation::Contain,
            boxed::<s3_bucket_public::S3BucketPublic>,
        ),
        entry(
            s3_account_public_access::NAME,
            "S3 account-level public access block removed or weakened",
            EVERY_5_MIN,
            Severity::Warning,
            Remediation::None,
            boxed::<s3_account_public_access::S3AccountPublicAccess>,
        ),
        entry(
            ssh_from_outside::NAME,
            "Accepted SSH (TCP 22) from a non-internal address; critical when a session was established",
            EVERY_5_MIN,
            Severity::Warning,
            Remediation::None,
            boxed::<ssh_from_outside::SshFromOutside>,
        ),
        entry(
            iam_create_user::NAME,
            "IAM user created",
            EVERY_5_MIN,
            Severity::Notice,
            Remediation::None,
            boxed::<iam_create_user::IamCreateUser>,
        ),
        entry(
            cloudtrail_logging_disabled::NAME,
            "CloudTrail logging stopped, trail deleted or narrowed (successful calls only)",
            EVERY_5_MIN,
            Severity::Critical,
            Remediation::None,
            boxed::<cloudtrail_logging_disabled::CloudtrailLoggingDisabled>,
        ),
        entry(
            root_account_usage::NAME,
            "The root user signed in or called an API",
            EVERY_5_MIN,
            Severity::Warning,
            Remediation::None,
            boxed::<root_account_usage::RootAccountUsage>,
        ),
        entry(
            console_login_without_mfa::NAME,
            "Successful console sign-in by an IAM or root user without MFA",
            EVERY_5_MIN,
            Severity::Warning,
            Remediation::None,
            boxed::<console_login_without_mfa::ConsoleLoginWithoutMfa>,
        ),
        entry(
            guardduty_finding::NAME,
            "Every GuardDuty finding, severity mapped and resource named (containment comes from the GuardDuty EventBridge rule, never from logs)",
            EVERY_5_MIN,
            Severity::Warning,
            Remediation::None,
            boxed::<guardduty_finding::GuarddutyFinding>,
        ),
        entry(
            guardduty_port_probe::NAME,
            "GuardDuty port-probe findings grouped by the probing address",
            "rate(15 minutes)",
            Severity::Notice,
            Remediation::None,
            boxed::<guardduty_port_probe::GuarddutyPortProbe>,
        ),
        entry(
            cloudtrail_deadman::NAME,
            "Deadman: no CloudTrail events for an hour",
            "rate(1 hour)",
            Severity::Warning,
            Remediation::None,
            boxed::<cloudtrail_deadman::CloudtrailDeadman>,
        ),
    ]
}

/// An entry by name.
pub fn find(name: &str) -> Option<RegistryEntry> {
    entries().into_iter().find(|e| e.name == name)
}
