//! CloudTrail's field names, as Sigma rules write them, mapped to the fields Tripline stores.
//!
//! `tripline-normalize` keeps every CloudTrail record field under `details`, keys lower-cased
//! recursively (`userIdentity.arn` → `details.useridentity.arn`). Three exceptions matter here:
//!
//! - `sourceIPAddress` is split: an IP address goes to `details.sourceipaddress` (an `ip` field,
//!   CIDR-searchable), anything else (`ec2.amazonaws.com`, `AWS Internal`) to
//!   `details.sourcehostname` ([`Target::SourceIp`]).
//! - `requestParameters`, `responseElements`, `additionalEventData`, `serviceEventDetails`,
//!   `insightDetails` and `edgeDeviceDetails` vary per API, so each is stored as one JSON string,
//!   a fixed list of scalar members is also a flat keyword field `details.<subtree>_<member>`
//!   (both lower-cased), and every scalar leaf is a `path=value` string in the subtree's pairs
//!   field `details.<subtree>_pairs` ([`Target::Pair`]). A member is matched on its flat field
//!   when it has one, else on the pairs field: value `v` at path `p` is the pair `p=v` (a `Term`,
//!   or a `Wildcard` with the path's wildcard characters escaped); case-insensitively, a `Regex`
//!   with the path literal and only the value's letters folded (the path stays exact); `exists`
//!   is `p=*` or `p.*` (the member, or members under it); `|re` is the regular expression after
//!   `p=`. `|cidr` and `lt`/`lte`/`gt`/`gte` are refused: the pairs are text.
//! - Booleans (`readOnly`, `managementEvent`, `sessionCredentialFromConsole`) stay booleans.
//!
//! | Sigma (CloudTrail) field | Tripline field |
//! |---|---|
//! | `eventSource`, `eventName`, `eventType`, `eventCategory`, `eventID`, `eventVersion`, `awsRegion`, `userAgent`, `errorCode`, `errorMessage`, `requestID`, `recipientAccountId`, `sharedEventID`, `vpcEndpointId`, `apiVersion` | `details.` + the name lower-cased |
//! | `readOnly`, `managementEvent`, `sessionCredentialFromConsole` | `details.` + lower-cased (boolean) |
//! | `sourceIPAddress` | `details.sourceipaddress` (IP values) / `details.sourcehostname` (other values) |
//! | `userIdentity.*`: `type`, `principalId`, `arn`, `accountId`, `accessKeyId`, `userName`, `invokedBy`, `identityProvider`, `sessionContext.attributes.mfaAuthenticated`, `sessionContext.attributes.creationDate`, `sessionContext.sourceIdentity`, `sessionContext.sessionIssuer.{type, principalId, arn, accountId, userName}`, `webIdFederationData.federatedProvider` | `details.useridentity.…`, every segment lower-cased |
//! | `tlsDetails.{tlsVersion, cipherSuite, clientProvidedHostHeader}` | `details.tlsdetails.…` lower-cased |
//! | `requestParameters.X` for X the normalizer flattens ([`FLATTENED`]) | `details.requestparameters_x` (text) |
//! | `responseElements.ConsoleLogin` | `details.responseelements_consolelogin` (text) |
//! | `additionalEventData.{MFAUsed, LoginTo, MobileVersion}` | `details.additionaleventdata_…` (text) |
//! | `requestParameters`, `responseElements`, … themselves (the whole subtree) | `details.<subtree>`: its JSON text as the record wrote it (`\|contains` searches it) |
//! | any other `requestParameters.<path>`, `responseElements.<path>`, `additionalEventData.<path>`, `serviceEventDetails.<path>` (also `insightDetails`, `edgeDeviceDetails`) | `path=value` in `details.<subtree>_pairs` |
//!
//! The flattened members are the normalizer's `EXTRACTS` table (`tripline_normalize::cloudtrail`),
//! read from there (the normalizer is a lower layer than this crate).

/// Top-level CloudTrail fields kept as keywords under `details`.
pub const KEYWORDS: [&str; 15] = [
    "eventSource",
    "eventName",
    "eventType",
    "eventCategory",
    "eventID",
    "eventVersion",
    "awsRegion",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestID",
    "recipientAccountId",
    "sharedEventID",
    "vpcEndpointId",
    "apiVersion",
];

/// Top-level CloudTrail fields that are booleans.
pub const BOOLEANS: [&str; 3] = ["readOnly", "managementEvent", "sessionCredentialFromConsole"];

/// Nested fields (kept as objects, keys lower-cased).
pub const NESTED: [&str; 20] = [
    "userIdentity.type",
    "userIdentity.principalId",
    "userIdentity.arn",
    "userIdentity.accountId",
    "userIdentity.accessKeyId",
    "userIdentity.userName",
    "userIdentity.invokedBy",
    "userIdentity.identityProvider",
    "userIdentity.sessionContext.attributes.mfaAuthenticated",
    "userIdentity.sessionContext.attributes.creationDate",
    "userIdentity.sessionContext.sourceIdentity",
    "userIdentity.sessionContext.sessionIssuer.type",
    "userIdentity.sessionContext.sessionIssuer.principalId",
    "userIdentity.sessionContext.sessionIssuer.arn",
    "userIdentity.sessionContext.sessionIssuer.accountId",
    "userIdentity.sessionContext.sessionIssuer.userName",
    "userIdentity.webIdFederationData.federatedProvider",
    "tlsDetails.tlsVersion",
    "tlsDetails.cipherSuite",
    "tlsDetails.clientProvidedHostHeader",
];

use tripline_normalize::cloudtrail::mapping::push_key;
use tripline_normalize::cloudtrail::RAW_SUBTREES;
use tripline_normalize::PAIRS_SUFFIX;

/// The subtrees stored as JSON text, with their flattened members: the normalizer's own table,
/// so a member is mapped exactly when the normalizer stores it flat.
pub use tripline_normalize::cloudtrail::EXTRACTS as FLATTENED;

/// Where a Sigma field is stored, and as what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A keyword field (values compared as text).
    Keyword(String),
    /// A boolean field.
    Bool(String),
    /// A numeric field (`lt`/`lte`/`gt`/`gte` apply); none of CloudTrail's mapped fields is one.
    Number(String),
    /// `sourceIPAddress`: `details.sourceipaddress` for addresses, `details.sourcehostname` else.
    SourceIp,
    /// An `ip` field: addresses (exact) and `|cidr`.
    Ip(String),
    /// A member of a variable subtree, matched in the subtree's pairs field (keyword strings
    /// `path=value`, one per scalar leaf).
    Pair {
        /// The pairs field (`details.requestparameters_pairs`).
        field: String,
        /// The member's path as the pairs field writes it: keys joined with `.`, `\`, `.` and
        /// `=` inside a key escaped with a backslash.
        path: String,
    },
}

/// Where an IP `sourceIPAddress` is stored.
pub const SOURCE_IP: &str = "details.sourceipaddress";
/// Where any other `sourceIPAddress` is stored.
pub const SOURCE_HOST: &str = "details.sourcehostname";

/// The stored field for a CloudTrail field name (exactly as CloudTrail spells it), or why there
/// is none.
pub fn cloudtrail(field: &str) -> Result<Target, String> {
    if field == "sourceIPAddress" {
        return Ok(Target::SourceIp);
    }
    let lowered = || format!("details.{}", field.to_lowercase());
    if KEYWORDS.contains(&field) || NESTED.contains(&field) {
        return Ok(Target::Keyword(lowered()));
    }
    if BOOLEANS.contains(&field) {
        return Ok(Target::Bool(lowered()));
    }
    // A whole subtree is its JSON text as the record wrote it (`requestParameters|contains: x`).
    if RAW_SUBTREES.contains(&field) {
        return Ok(Target::Keyword(lowered()));
    }
    if let Some((subtree, member)) = field.split_once('.') {
        if let Some((_, members)) = FLATTENED.iter().find(|(s, _)| *s == subtree) {
            if members.contains(&member) {
                return Ok(Target::Keyword(format!(
                    "details.{}_{}",
                    subtree.to_lowercase(),
                    member.to_lowercase()
                )));
            }
        }
        if RAW_SUBTREES.contains(&subtree) {
            if member.split('.').any(str::is_empty) {
                return Err(format!("{field:?} has an empty path segment"));
            }
            let mut path = String::with_capacity(member.len());
            for (i, key) in member.split('.').enumerate() {
                if i > 0 {
                    path.push('.');
                }
                push_key(&mut path, key);
            }
            return Ok(Target::Pair {
                field: format!("details.{}{PAIRS_SUFFIX}", subtree.to_lowercase()),
                path,
            });
        }
    }
    if field.is_empty() {
        return Err("keyword searches (values without a field) are not supported".into());
    }
    Err(format!(
        "no CloudTrail field {field:?} is mapped (field names are case-sensitive, as CloudTrail writes them)"
    ))
}

/// VPC flow log fields (`logsource: {product: aws, service: vpcflowlogs}`, Tripline's name), as
/// the flow log format names them (`srcaddr`, `dstport`, `pkt-srcaddr`, …), mapped as the
/// normalizer stores them: addresses are `ip` fields (`|cidr`), ports, protocol, packets, bytes,
/// version, `tcp-flags` and `traffic-path` numbers, the rest `details.<name without hyphens>`
/// keywords. `start` and `end` are refused: a rule's window is the time condition.
pub fn vpcflow(field: &str) -> Result<Target, String> {
    let details = |name: &str| format!("details.{name}");
    Ok(match field {
        "srcaddr" => Target::Ip(details("sourceipaddress")),
        "dstaddr" => Target::Ip(details("destinationipaddress")),
        "pkt-srcaddr" => Target::Ip(details("pktsrcaddr")),
        "pkt-dstaddr" => Target::Ip(details("pktdstaddr")),
        "srcport" => Target::Number(details("sourceport")),
        "dstport" => Target::Number(details("destinationport")),
        "protocol" | "packets" | "bytes" | "version" => Target::Number(details(field)),
        "tcp-flags" | "traffic-path" => Target::Number(details(&field.replace('-', ""))),
        "start" | "end" => {
            return Err(format!(
                "{field}: times are not matched by value; the rule's window is its time condition"
            ))
        }
        "action"
        | "log-status"
        | "account-id"
        | "interface-id"
        | "vpc-id"
        | "subnet-id"
        | "instance-id"
        | "type"
        | "region"
        | "az-id"
        | "sublocation-type"
        | "sublocation-id"
        | "pkt-src-aws-service"
        | "pkt-dst-aws-service"
        | "flow-direction"
        | "ecs-cluster-arn"
        | "ecs-cluster-name"
        | "ecs-container-instance-arn"
        | "ecs-container-instance-id"
        | "ecs-container-id"
        | "ecs-second-container-id"
        | "ecs-service-name"
        | "ecs-task-definition-arn"
        | "ecs-task-arn"
        | "ecs-task-id"
        | "reject-reason" => Target::Keyword(details(&field.replace('-', ""))),
        "protocolname" => Target::Keyword(details("protocolname")),
        _ => {
            return Err(format!(
            "no VPC flow log field {field:?} (the names of the flow log format: srcaddr, dstport, action, …)"
        ))
        }
    })
}

/// GuardDuty finding fields (`logsource: {product: aws, service: guardduty}`, Tripline's name),
/// as GuardDuty writes them, mapped to what the normalizer extracts (`details.rawfinding` keeps
/// the rest as text, which is not matched by path).
pub fn guardduty(field: &str) -> Result<Target, String> {
    let k = |name: &str| Target::Keyword(format!("details.{name}"));
    Ok(match field {
        "type" => k("finding"),
        "id" => k("findingid"),
        "arn" | "accountId" | "region" | "title" | "description" => k(&field.to_lowercase()),
        "severity" => Target::Number("details.severity".into()),
        "resource.resourceType" => k("resourcetype"),
        "resource.instanceDetails.instanceId" => k("instanceid"),
        "resource.accessKeyDetails.accessKeyId" => k("accesskeyid"),
        "resource.accessKeyDetails.userName" => k("username"),
        "resource.accessKeyDetails.principalId" => k("principalid"),
        "service.action.actionType" => k("actiontype"),
        "service.archived" => Target::Bool("details.archived".into()),
        "service.count" => Target::Number("details.count".into()),
        _ => {
            return Err(format!(
                "no GuardDuty finding field {field:?} is mapped (type, id, arn, accountId, region, title, description, \
                 severity, resource.resourceType, resource.instanceDetails.instanceId, \
                 resource.accessKeyDetails.{{accessKeyId, userName, principalId}}, service.action.actionType, \
                 service.archived, service.count)"
            ))
        }
    })
}
