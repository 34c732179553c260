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
//!
//! ## What is refused
//!
//! - A header line naming a field that no flow log version has (`srcprt`), or a field twice: an
//!   [`ErrorKind::BadFlowHeader`] on the header's line, and, because no line of that file can be
//!   read reliably by that header, the same kind of error for **every following line** (each
//!   counted, none stored). The same header given as `--flow-format` or `TRIPLINE_FLOW_FORMAT`
//!   is refused at start-up.
//! - In a line: a number that is not one, or beyond its field (a port over 65535, a protocol
//!   over 255, an `integer` field over 2³¹−1); a `start` or `end` that is negative, that is not an
//!   integer, or whose instant lies outside what the stores hold (1678 to 2261; `10413792000` is
//!   the year 2300) ([`ErrorKind::TimestampOutOfRange`]); an `end` before its `start`. Each is an
//!   error for that line only.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{Map, Number, Value};
use tripline_event::Event;

use crate::keys::canonical_ip;
use crate::ErrorKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A non-negative integer, at most this (what the index template's `integer`/`long` holds,
    /// or the field's own range: a port, a protocol number).
    Int(u64),
    Ip,
    Time,
    Text,
}

/// The largest value of an `integer` field of the index template.
const I32: u64 = i32::MAX as u64;
/// The largest value of a `long` field of the index template.
const I64: u64 = i64::MAX as u64;

/// Known fields: the name in the format, the key under `details`, its kind. A header naming any
/// other field is refused (see [`FlowFormat::parse_header`]).
const FIELDS: &[(&str, &str, Kind)] = &[
    ("version", "version", Kind::Int(I32)),
    ("account-id", "accountid", Kind::Text),
    ("interface-id", "interfaceid", Kind::Text),
    ("srcaddr", "sourceipaddress", Kind::Ip),
    ("dstaddr", "destinationipaddress", Kind::Ip),
    ("srcport", "sourceport", Kind::Int(65_535)),
    ("dstport", "destinationport", Kind::Int(65_535)),
    ("protocol", "protocol", Kind::Int(255)),
    ("packets", "packets", Kind::Int(I64)),
    ("bytes", "bytes", Kind::Int(I64)),
    ("start", "start", Kind::Time),
    ("end", "end", Kind::Time),
    ("action", "action", Kind::Text),
    ("log-status", "logstatus", Kind::Text),
    ("vpc-id", "vpcid", Kind::Text),
    ("subnet-id", "subnetid", Kind::Text),
    ("instance-id", "instanceid", Kind::Text),
    ("tcp-flags", "tcpflags", Kind::Int(I32)),
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
    ("traffic-path", "trafficpath", Kind::Int(I32)),
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
    ("encryption-status", "encryptionstatus", Kind::Int(I32)),
];

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
        let mut columns = Vec::with_capacity(14);
        let mut names = Vec::with_capacity(14);
        for name in DEFAULT_FORMAT.split_ascii_whitespace() {
            if let Some((key, kind)) = known(name) {
                columns.push(Column { key: key.to_owned(), kind });
                names.push(name.to_owned());
            }
        }
        FlowFormat { columns, names }
    }

    /// A format from a header line (`version account-id …`) or an AWS format string
    /// (`${version} ${srcaddr} …`). `None` unless it is a valid header: see
    /// [`FlowFormat::parse_header`], which says why one is not.
    pub fn parse(spec: &str) -> Option<Self> {
        Self::parse_header(spec).ok().flatten()
    }

    /// A format from a header line or an AWS format string, telling a line that is not a header
    /// at all (`Ok(None)`: a record, a README) from a header that cannot be used (`Err`).
    ///
    /// A line is a header when every token looks like a field name (lower-case letters, digits,
    /// `-`, `_`; optionally in `${…}`) and at least one of them is a known flow log field. Such a
    /// header is refused ([`ErrorKind::BadFlowHeader`]) when it names a field no flow log version
    /// has (`srcprt`: a typo would otherwise shift nothing and silently mislabel a column), or
    /// the same field twice.
    pub fn parse_header(spec: &str) -> Result<Option<Self>, ErrorKind> {
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
            return Ok(None);
        }
        let mut columns = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let Some((key, kind)) = known(name) else {
                return Err(ErrorKind::BadFlowHeader(format!(
                    "field {} `{}` is not a VPC flow log field",
                    i + 1,
                    clip(name)
                )));
            };
            if let Some(first) = names[..i].iter().position(|n| n == name) {
                return Err(ErrorKind::BadFlowHeader(format!(
                    "field `{name}` is named twice (fields {} and {})",
                    first + 1,
                    i + 1
                )));
            }
            columns.push(Column { key: key.to_owned(), kind });
        }
        Ok(Some(FlowFormat { columns, names: names.into_iter().map(str::to_owned).collect() }))
    }

    /// The field names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// How many fields a line has.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether a line could be a record of this format: it has the format's number of fields
    /// and, where the format has a `version`, that field is a number. What recognises
    /// header-less flow log text (the fields themselves are checked when the line is read).
    pub fn fits(&self, line: &str) -> bool {
        let version = self.names.iter().position(|n| n == "version");
        let mut n = 0;
        for (i, token) in line.split_ascii_whitespace().enumerate() {
            if Some(i) == version && !(token == "-" || token.bytes().all(|b| b.is_ascii_digit())) {
                return false;
            }
            n = i + 1;
        }
        n == self.len()
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
            Kind::Int(max) => match token.parse::<u64>() {
                Ok(v) if v <= max => Value::Number(Number::from(v)),
                Ok(_) => {
                    return Err(ErrorKind::BadFlowLine(format!(
                        "field {} ({}) is larger than {max}: {:?}",
                        i + 1,
                        format.names[i],
                        clip(token)
                    )))
                }
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
                let field = if col.key == "start" { "start" } else { "end" };
                let t = epoch_seconds(token).map_err(|why| match why {
                    BadEpoch::OutOfRange => ErrorKind::TimestampOutOfRange { field, value: clip(token) },
                    BadEpoch::Negative => ErrorKind::BadFlowLine(format!(
                        "field {} ({}) is a negative epoch time: {:?}",
                        i + 1,
                        format.names[i],
                        clip(token)
                    )),
                    BadEpoch::Syntax => ErrorKind::BadFlowLine(format!(
                        "field {} ({}) is not an epoch time: {:?}",
                        i + 1,
                        format.names[i],
                        clip(token)
                    )),
                })?;
                if field == "start" {
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
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            return Err(ErrorKind::BadFlowLine(format!(
                "end ({}) is before start ({})",
                e.timestamp(),
                s.timestamp()
            )));
        }
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

/// Why an epoch time was refused.
enum BadEpoch {
    /// Not an integer.
    Syntax,
    /// Below zero: a flow cannot have started before 1970.
    Negative,
    /// Beyond what the stores hold (or beyond any integer).
    OutOfRange,
}

/// Epoch seconds (`1700000000`) as an instant within the stored range. No arithmetic on the
/// input: a value too large for an `i64`, for chrono or for the stores is refused, not wrapped.
fn epoch_seconds(token: &str) -> Result<DateTime<Utc>, BadEpoch> {
    let digits = token.strip_prefix('-').unwrap_or(token);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadEpoch::Syntax);
    }
    if token.starts_with('-') {
        return Err(BadEpoch::Negative);
    }
    let secs = token.parse::<i64>().map_err(|_| BadEpoch::OutOfRange)?;
    let t = Utc.timestamp_opt(secs, 0).single().ok_or(BadEpoch::OutOfRange)?;
    tripline_event::check_timestamp(t).map_err(|_| BadEpoch::OutOfRange)
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}
