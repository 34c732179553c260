//! S3 objects written (or copied over themselves) encrypted with a KMS key of another account:
//! ransom.
//!
//! The cloud way to encrypt data for impact (MITRE ATT&CK T1486) needs no malware: copy each
//! object onto itself with `x-amz-server-side-encryption-aws-kms-key-id` naming a key in the
//! intruder's account, and the account can no longer read its own data once that key's policy
//! shuts it out. The engine groups `CopyObject`, `PutObject` and `CreateMultipartUpload` calls
//! that name a key by ARN per principal, and lists the key ARNs inside each group (a terms
//! sub-aggregation over the request's `path=value` pairs), so every key counts, not only the
//! sampled events'. A key whose account is not the one that received the call raises, critical.
//! It stays in Rust: it compares the key ARN's account with the record's `recipientAccountId`.

use std::sync::LazyLock;

use tripline_dsl::prelude::*;

use crate::common::{group_text, sub_buckets, sub_keys};
use crate::{create_alert, Alert, AlertDraft, Group, Meta, Plan, Severity};

/// The registry name.
pub const NAME: &str = "s3_objects_encrypted_with_foreign_key";

static META: LazyLock<Meta> = LazyLock::new(|| {
    Meta::new(NAME, "S3 objects encrypted with another account's KMS key")
        .severity(Severity::Critical)
        .tags(&["attack.impact", "attack.t1486"])
});

/// The request member that names the key, as a pair prefix.
pub const KEY_PAIR: &str = "x-amz-server-side-encryption-aws-kms-key-id=";

const PAIRS: &str = "details.requestparameters_pairs";

/// The alert.
#[derive(Clone, Debug, Default)]
pub struct S3ObjectsEncryptedWithForeignKey;

impl Alert for S3ObjectsEncryptedWithForeignKey {
    fn meta(&self) -> &Meta {
        &META
    }

    fn query(&self) -> SearchQuery {
        SearchQuery::minutes(20)
            .must((TermMatch("source", "cloudtrail"), TermMatch("details.eventsource", "s3.amazonaws.com")))
            .must(TermsMatch("details.eventname", ["CopyObject", "PutObject", "CreateMultipartUpload"]))
            .must(WildcardMatch(PAIRS, format!("{KEY_PAIR}arn:*")))
            .must(ExistsMatch("details.useridentity.arn"))
            .must_not(ExistsMatch("details.errorcode"))
    }

    fn plan(&self) -> Plan {
        Plan::Aggregation {
            field: "details.useridentity.arn".into(),
            threshold: 1,
            samples: 10,
            max_groups: 500,
            per_bucket: vec![
                Aggregation::terms(PAIRS).named("pairs").size(200).samples(0),
                Aggregation::terms("details.recipientaccountid").named("accounts").size(10).samples(0),
            ],
        }
    }

    fn on_aggregation(&self, group: &Group) -> Option<AlertDraft> {
        let own = sub_keys(group, "accounts");
        let foreign: Vec<(String, u64)> = sub_buckets(group, "pairs")
            .into_iter()
            .filter_map(|(k, n)| Some((k.as_str()?.strip_prefix(KEY_PAIR)?.to_string(), n)))
            .filter(|(arn, _)| arn.split(':').nth(4).is_some_and(|account| !own.iter().any(|o| o == account)))
            .collect();
        if foreign.is_empty() {
            return None;
        }
        let who = group_text(group);
        let objects: u64 = foreign.iter().map(|(_, n)| *n).sum();
        let keys: Vec<String> = foreign.into_iter().map(|(k, _)| k).collect();
        let summary = format!(
            "{who} wrote {objects} S3 object(s) encrypted with another account's KMS key: {}",
            keys.join(", ")
        );
        Some(
            create_alert(summary, "impact", &["cloudtrail", "s3", "kms", "T1486"], group.samples.clone(), Severity::Critical)
                .key(who.clone())
                .detail("actor", who)
                .detail("kms_keys", keys)
                .detail("objects", objects)
                .detail("runbook", "Contain the principal now (tripline respond deny-all); restore objects from earlier versions or backups; the foreign key's owner controls the copies"),
        )
    }
}
