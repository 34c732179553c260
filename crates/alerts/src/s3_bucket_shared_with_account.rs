//! A bucket policy that lets another AWS account read: exfiltration by sharing.
//!
//! Copying data out is slow and loud; granting an outside account read on the bucket is one call
//! (`PutBucketPolicy`, MITRE ATT&CK T1537, Transfer Data to Cloud Account). The policy is read
//! from the call: an `Allow` for an AWS principal in an account other than the one that received
//! the call raises, when it may read or list (`s3:Get*`, `s3:List*`, `s3:*`): a grant to write
//! only is how AWS delivers logs into a bucket (Elastic Load Balancing's regional accounts put
//! access logs with `s3:PutObject`), and takes nothing out. `Principal: *` is
//! `s3_bucket_public`'s, and AWS services (`Service` principals) are not accounts. It stays in Rust: it parses
//! the policy and compares its accounts with the record's.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;
use tripline_event::EventRef;

use crate::common::{actor, first_text, get_ci, request_parameters};
use crate::policy::{document, outsiders, reads_s3};
use crate::{create_alert, field_text, Alert, AlertDraft, Meta, Plan, Severity};

/// The registry name.
pub const NAME: &str = "s3_bucket_shared_with_account";

static META: LazyLock<Meta> = LazyLock::new(|| {
    Meta::new(NAME, "Bucket policy grants another AWS account").severity(Severity::Warning).tags(&["attack.exfiltration", "attack.t1537"])
});

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct S3BucketSharedWithAccount;

impl Alert for S3BucketSharedWithAccount {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(20)
            .must((TermMatch("source", "cloudtrail"), TermMatch("details.eventsource", "s3.amazonaws.com")))
            .must(TermMatch("details.eventname", "PutBucketPolicy"))
            .must_not(ExistsMatch("details.errorcode"))
    }

    fn plan(&self) -> Plan {
        Plan::Simple { limit: 100 }
    }

    fn on_event(&self, event: &EventRef) -> Option<AlertDraft> {
        let params = request_parameters(event)?;
        let doc = document(get_ci(&params, "bucketPolicy")?)?;
        let own = field_text(event, "details.recipientaccountid");
        let accounts: Vec<String> = outsiders(&doc, &own)
            .into_iter()
            .filter(|o| o.principal != "*" && o.actions.iter().any(|a| reads_s3(a)))
            .map(|o| o.principal)
            .collect();
        if accounts.is_empty() {
            return None;
        }
        let bucket = first_text(event, &["details.requestparameters_bucketname"]);
        let who = actor(event);
        let summary = format!("S3 bucket {bucket} shared with {} by {who}", accounts.join(", "));
        Some(
            create_alert(summary, "exfiltration", &["cloudtrail", "s3", "T1537"], vec![event.clone()], Severity::Warning)
                .key(event.documentid.clone())
                .detail("actor", who)
                .detail("bucket", bucket)
                .detail("accounts", accounts)
                .detail("runbook", "Check the account against your organization's; if foreign, restore the policy and review the bucket's access logs"),
        )
    }
}
