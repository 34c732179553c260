//! VPC Flow Log lines → MozDef events.
//!
//! A flow log line is a list of space-separated fields whose order is the log's *format*. The
//! default (version 2) format is
//! `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start
//! end action log-status`; custom formats pick any fields of versions 2 to 8. Files delivered to S3
//! begin with a header line naming the fields, which sets the format for that file; lines
//! delivered to CloudWatch Logs have no header, so they are read in the default format unless the
//! caller names another ([`FlowFormat::parse`], the `--flow-format` option, the Lambda's
//! `TRIPLINE_FLOW_FORMAT`).
//!
//! | event field | from |
//! |---|---|
//! | `source` / `category` | `vpc_flow` / `vpc-flow` |
//! | `utctimestamp` | `start` (else `end`, else the ingest clock) |
//! | `hostname` | `instance-id`, else `interface-id` |
//! | `summary` | `"203.0.113.7:51515 -> 10.0.0.5:22 tcp ACCEPT 4 packets 840 bytes"` |
//! | `details.sourceipaddress`, `details.destinationipaddress` | `srcaddr`, `dstaddr` (validated IPs) |
//! | `details.sourceport`, `details.destinationport`, `details.protocol`, `details.packets`, `details.bytes`, `details.version`, `details.tcpflags`, `details.trafficpath` | numbers |
//! | `details.start`, `details.end` | epoch seconds → RFC 3339 |
//! | `details.protocolname` | `tcp`, `udp`, `icmp`, `icmpv6` for protocols 6, 17, 1, 58 |
//! | `details.action` and `details.success` | `ACCEPT`/`REJECT`; `success` is true for `ACCEPT` |
//! | `details.logstatus` | `OK` (rows with `NODATA` or `SKIPDATA` are counted as skipped, not indexed) |
//! | every other field | `details.<name without hyphens>`: `accountid`, `interfaceid`, `vpcid`, `subnetid`, `instanceid`, `pktsrcaddr`, `flowdirection`, `pktsrcawsservice`, … |
//!
//! A field whose value is `-` (not applicable) is left out.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{Map, Number, Value};
use tripline_event::Event;

use crate::keys::canonical_ip;
use crate::ErrorKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int,
    Ip,
    Time,
    Text,
}

/// Known fields: the name in the format, the key under `details`, its kind.
const FIELDS: &[(&str, &str, Kind)] = &[
    ("version", "version", Kind::Int),
    ("account-id", "accountid", Kind::Text),
    ("interface-id", "interfaceid", Kind::Text),
    ("srcaddr", "sourceipaddress", Kind::Ip),
    ("dstaddr", "destinationipaddress", Kind::Ip),
    ("srcport", "sourceport", Kind::Int),
    ("dstport", "destinationport", Kind::Int),
    ("protocol", "protocol", Kind::Int),
    ("packets", "packets", Kind::Int),
    ("bytes", "bytes", Kind::Int),
    ("start", "start", Kind::Time),
    ("end", "end", Kind::Time),
    ("action", "action", Kind::Text),
    ("log-status", "logstatus", Kind::Text),
    ("vpc-id", "vpcid", Kind::Text),
    ("subnet-id", "subnetid", Kind::Text),
    ("instance-id", "instanceid", Kind::Text),
    ("tcp-flags", "tcpflags", Kind::Int),
    ("type", "type", Kind::Text),
    ("pkt-srcaddr", "pktsrcaddr", Kind::Ip),
    ("pkt-dstaddr", "pktdstaddr", Kind::Ip),
    ("region", "region", Kind::Text),
    ("az-id", "azid", Kind::Text),
    ("sublocation-type", "sublocationtype", Kind::Text),
    ("sublocation-id", "sublocationid", Kind::Text),
    ("pkt-src-aws-service", "pktsrcawsservice", Kind::Text),
    ("pkt-dst-aws-service", "pktdstawsservice", Kind::Text),
    ("flow-direction", "flowdirection", Kind::Text),
    ("traffic-path", "trafficpath", Kind::Int),
    ("ecs-cluster-arn", "ecsclusterarn", Kind::Text),
    ("ecs-cluster-name", "ecsclustername", Kind::Text),
    ("ecs-container-instance-arn", "ecscontainerinstancearn", Kind::Text),
    ("ecs-container-instance-id", "ecscontainerinstanceid", Kind::Text),
    ("ecs-container-id", "ecscontainerid", Kind::Text),
    ("ecs-second-container-id", "ecssecondcontainerid", Kind::Text),
    ("ecs-service-name", "ecsservicename", Kind::Text),
    ("ecs-task-definition-arn", "ecstaskdefinitionarn", Kind::Text),
    ("ecs-task-arn", "ecstaskarn", Kind::Text),
    ("ecs-task-id", "ecstaskid", Kind::Text),
    ("reject-reason", "rejectreason", Kind::Text),
];

/// Keys the normalizer derives itself.
const DERIVED: [&str; 2] = ["protocolname", "success"];

/// The default (version 2) format.
pub const DEFAULT_FORMAT: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

#[derive(Clone, Debug, PartialEq, Eq)]
struct Column {
    key: String,
    kind: Kind,
}

/// The order of fields in a flow log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowFormat {
    columns: Vec<Column>,
    names: Vec<String>,
}

fn known(name: &str) -> Option<(&'static str, Kind)> {
    FIELDS.iter().find(|(n, _, _)| *n == name).map(|(_, k, kind)| (*k, *kind))
}

impl FlowFormat {
    /// The default version-2 format.
    pub fn v2() -> Self {
        Self::from_names(DEFAULT_FORMAT.split_ascii_whitespace())
    }

    fn from_names<'a>(names: impl Iterator<Item = &'a str>) -> Self {
        let mut columns = Vec::new();
        let mut all = Vec::new();
        for name in names {
            let (key, kind) = match known(name) {
                Some((k, kind)) => (k.to_owned(), kind),
                None => {
                    // A field this version does not know: its name without hyphens, unless that
                    // would take the key (and the index type) of a known field (`byt_es`).
                    let key = name.replace(['-', '_'], "");
                    let taken = FIELDS.iter().any(|(_, k, _)| *k == key) || DERIVED.contains(&key.as_str());
                    (if taken { format!("field_{key}") } else { key }, Kind::Text)
                }
            };
            columns.push(Column { key, kind });
            all.push(name.to_owned());
        }
        FlowFormat { columns, names: all }
    }

    /// A format from a header line (`version account-id …`) or an AWS format string
    /// (`${version} ${srcaddr} …`). `None` unless every field looks like a field name and at least
    /// one of them is a known flow log field.
    pub fn parse(spec: &str) -> Option<Self> {
        let names: Vec<&str> = spec
            .split_ascii_whitespace()
            .map(|t| t.strip_prefix("${").and_then(|t| t.strip_suffix('}')).unwrap_or(t))
            .collect();
        let looks_like_name = |t: &&str| {
            t.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        };
        if names.is_empty() || !names.iter().all(looks_like_name) || !names.iter().any(|n| known(n).is_some())
        {
            return None;
        }
        Some(Self::from_names(names.into_iter()))
    }

    /// The field names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// How many fields a line has.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether the format has no fields (never true for a parsed format).
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

impl Default for FlowFormat {
    fn default() -> Self {
        Self::v2()
    }
}

/// Whether a line could be a default-format flow log record (14 fields, version first). Used to
/// recognise header-less files.
pub fn looks_like_v2(line: &str) -> bool {
    let mut it = line.split_ascii_whitespace();
    it.next().is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit())) && it.count() == 13
}

fn protocol_name(n: u64) -> Option<&'static str> {
    match n {
        1 => Some("icmp"),
        6 => Some("tcp"),
        17 => Some("udp"),
        58 => Some("icmpv6"),
        _ => None,
    }
}

/// Normalize one flow log line. `Ok(None)` for rows that carry no flow (`NODATA`, `SKIPDATA`):
/// the caller counts them as skipped.
pub fn normalize_line(
    format: &FlowFormat,
    line: &str,
    received: DateTime<Utc>,
) -> Result<Option<Event>, ErrorKind> {
    let mut details = Map::with_capacity(format.len() + 2);
    let mut n = 0usize;
    let mut start = None;
    let mut end = None;
    for (i, token) in line.split_ascii_whitespace().enumerate() {
        n = i + 1;
        let Some(col) = format.columns.get(i) else { continue };
        if token == "-" {
            continue;
        }
        let value = match col.kind {
            Kind::Text => Value::String(token.to_owned()),
            Kind::Int => match token.parse::<u64>() {
                Ok(v) => Value::Number(Number::from(v)),
                Err(_) => {
                    return Err(ErrorKind::BadFlowLine(format!(
                        "field {} ({}) is not a number: {:?}",
                        i + 1,
                        format.names[i],
                        clip(token)
                    )))
                }
            },
            Kind::Ip => match canonical_ip(token) {
                Some(ip) => Value::String(ip),
                None => {
                    return Err(ErrorKind::BadFlowLine(format!(
                        "field {} ({}) is not an IP address: {:?}",
                        i + 1,
                        format.names[i],
                        clip(token)
                    )))
                }
            },
            Kind::Time => {
                let t = token.parse::<i64>().ok().and_then(|s| Utc.timestamp_opt(s, 0).single());
                let Some(t) = t else {
                    return Err(ErrorKind::BadFlowLine(format!(
                        "field {} ({}) is not an epoch time: {:?}",
                        i + 1,
                        format.names[i],
                        clip(token)
                    )));
                };
                if col.key == "start" {
                    start = Some(t);
                } else {
                    end = Some(t);
                }
                Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, true))
            }
        };
        details.insert(col.key.clone(), value);
    }
    if n != format.len() {
        return Err(ErrorKind::BadFlowLine(format!("expected {} fields, found {n}", format.len())));
    }
    if let Some(Value::String(status)) = details.get("logstatus") {
        if status == "NODATA" || status == "SKIPDATA" {
            return Ok(None);
        }
    }
    let protocol = details.get("protocol").and_then(Value::as_u64);
    if let Some(name) = protocol.and_then(protocol_name) {
        details.insert("protocolname".into(), Value::String(name.into()));
    }
    let action = details.get("action").and_then(Value::as_str).map(str::to_owned);
    if let Some(a) = &action {
        details.insert("success".into(), Value::Bool(a == "ACCEPT"));
    }
    let show = |k: &str| match details.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "-".to_owned(),
    };
    let proto = match protocol {
        Some(p) => protocol_name(p).map(str::to_owned).unwrap_or_else(|| format!("proto{p}")),
        None => "-".to_owned(),
    };
    let summary = format!(
        "{}:{} -> {}:{} {} {} {} packets {} bytes",
        show("sourceipaddress"),
        show("sourceport"),
        show("destinationipaddress"),
        show("destinationport"),
        proto,
        action.as_deref().unwrap_or("-"),
        show("packets"),
        show("bytes"),
    );
    let hostname = details
        .get("instanceid")
        .or_else(|| details.get("interfaceid"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let time = start.or(end).unwrap_or(received);
    let mut event = Event::new("vpc_flow", "vpc-flow", summary, time, received);
    event.hostname = hostname;
    event.details = details;
    Ok(Some(event))
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}
