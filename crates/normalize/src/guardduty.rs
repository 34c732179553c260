//! GuardDuty findings → MozDef events.
//!
//! Findings arrive in the EventBridge envelope (`detail-type: GuardDuty Finding`, the finding in
//! `detail`) or bare (GuardDuty's S3 export, `get-findings` output, whose keys may be PascalCase:
//! keys are matched case-insensitively).
//!
//! | event field | from |
//! |---|---|
//! | `source`, `category` | `guardduty` |
//! | `summary` | `title` (else `type`) |
//! | `utctimestamp` | `updatedAt`, else `createdAt`, else the envelope's `time`, else the ingest clock |
//! | `severity` | from the numeric severity: below 4 (GuardDuty *Low*) `INFO`; 4 to below 7 (*Medium*) `WARNING`; 7 and above (*High*, *Critical*) `CRITICAL` |
//! | `hostname` | the EC2 instance id for instance findings, else empty |
//! | `details.finding` | `type` (`CryptoCurrency:EC2/BitcoinTool.B!DNS`) |
//! | `details.threatpurpose` | the part of `type` before `:` (`CryptoCurrency`) |
//! | `details.findingid`, `details.arn`, `details.accountid`, `details.region`, `details.title`, `details.description` | as named |
//! | `details.severity`, `details.severitylabel` | the number, and GuardDuty's label (`Low`, `Medium`, `High`, `Critical`) |
//! | `details.resourcetype`, `details.instanceid`, `details.accesskeyid`, `details.username`, `details.bucketname` | the affected resource |
//! | `details.protocolname` | the action's protocol in lower case (`tcp`, `udp`), as for flow logs (`details.protocol` is the numeric field) |
//! | `details.actiontype`, `details.direction` | `NETWORK_CONNECTION`/`PORT_PROBE`/`DNS_REQUEST`/`AWS_API_CALL`/…, and `INBOUND`/`OUTBOUND` |
//! | `details.remoteipaddress`, `details.remoteport`, `details.remotecountry`, `details.remotecountrycode`, `details.remoteorg`, `details.domain` | the other party |
//! | `details.sourceipaddress`/`sourceport`, `details.destinationipaddress`/`destinationport` | who talked to whom (below) |
//! | `details.rawfinding` | the whole finding as a JSON string (its subtrees vary between finding types) |
//!
//! ## Direction
//!
//! `details.sourceipaddress` is always the side that initiated the traffic:
//!
//! - INBOUND network connections, port probes, API calls, RDS login attempts, Kubernetes API calls:
//!   the remote address is the source (the attacker); the instance's private address and local
//!   port are the destination.
//! - OUTBOUND network connections (a compromised instance calling out, as in `Backdoor:` and
//!   `CryptoCurrency:` findings): the instance is the source and the remote address the
//!   destination.
//! - DNS requests (`…!DNS` findings) are outbound: the instance is the source; the queried domain
//!   is `details.domain` and there is no destination address.
//!
//! `details.remoteipaddress` is the remote party in every case, so "who is the outsider" needs no
//! knowledge of direction.

use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value};
use tripline_event::Event;

use crate::keys::{canonical_ip, get_ci, lower_keys, parse_time, scalar_string, time_field};
use crate::ErrorKind;

/// Whether a JSON object looks like a GuardDuty finding (keys compared case-insensitively).
pub fn is_finding(obj: &Map<String, Value>) -> bool {
    get_ci(obj, "schemaVersion").is_some()
        && get_ci(obj, "type").is_some()
        && get_ci(obj, "severity").is_some()
        && (get_ci(obj, "resource").is_some() || get_ci(obj, "service").is_some())
}

/// The MozDef severity for a GuardDuty severity number.
pub fn mozdef_severity(severity: f64) -> &'static str {
    if severity >= 7.0 {
        "CRITICAL"
    } else if severity >= 4.0 {
        "WARNING"
    } else {
        "INFO"
    }
}

/// GuardDuty's own label for a severity number.
pub fn guardduty_label(severity: f64) -> &'static str {
    if severity >= 9.0 {
        "Critical"
    } else if severity >= 7.0 {
        "High"
    } else if severity >= 4.0 {
        "Medium"
    } else {
        "Low"
    }
}

fn path<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for k in keys {
        cur = match cur {
            Value::Object(m) => m.get(*k)?,
            Value::Array(a) => a.first()?.as_object()?.get(*k)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn text(v: &Value, keys: &[&str]) -> Option<String> {
    path(v, keys).and_then(scalar_string).filter(|s| !s.is_empty())
}

/// Normalize one finding. `envelope_time` is the EventBridge envelope's `time`, when there was one.
pub fn normalize(
    finding: Value,
    envelope_time: Option<&str>,
    received: DateTime<Utc>,
) -> Result<Event, ErrorKind> {
    if !finding.is_object() {
        return Err(ErrorKind::NotAnObject);
    }
    let raw = finding.to_string();
    let f = lower_keys(finding);
    let kind = text(&f, &["type"]).ok_or(ErrorKind::MissingField("type"))?;
    let severity = match path(&f, &["severity"]) {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|s| s.is_finite())
    .ok_or(ErrorKind::MissingField("severity"))?;

    let mut time = None;
    for (field, key) in [("updatedAt", "updatedat"), ("createdAt", "createdat")] {
        if let Some(s) = text(&f, &[key]) {
            time = Some(time_field(field, s)?);
            break;
        }
    }
    let time = time.or_else(|| envelope_time.and_then(parse_time)).unwrap_or(received);

    let mut d = Map::new();
    let put = |d: &mut Map<String, Value>, k: &str, v: Option<String>| {
        if let Some(v) = v {
            d.insert(k.to_owned(), Value::String(v));
        }
    };
    put(&mut d, "finding", Some(kind.clone()));
    put(&mut d, "threatpurpose", kind.split(':').next().map(str::to_owned).filter(|_| kind.contains(':')));
    put(&mut d, "findingid", text(&f, &["id"]));
    put(&mut d, "arn", text(&f, &["arn"]));
    put(&mut d, "accountid", text(&f, &["accountid"]));
    put(&mut d, "region", text(&f, &["region"]));
    put(&mut d, "partition", text(&f, &["partition"]));
    let title = text(&f, &["title"]);
    put(&mut d, "title", title.clone());
    put(&mut d, "description", text(&f, &["description"]));
    if let Some(n) = Number::from_f64(severity) {
        d.insert("severity".into(), Value::Number(n));
    }
    put(&mut d, "severitylabel", Some(guardduty_label(severity).to_owned()));
    put(&mut d, "createdat", text(&f, &["createdat"]));
    put(&mut d, "updatedat", text(&f, &["updatedat"]));

    // The affected resource.
    put(&mut d, "resourcetype", text(&f, &["resource", "resourcetype"]));
    let instance = text(&f, &["resource", "instancedetails", "instanceid"]);
    put(&mut d, "instanceid", instance.clone());
    let local_ip = text(&f, &["resource", "instancedetails", "networkinterfaces", "privateipaddress"])
        .and_then(|s| canonical_ip(&s));
    put(&mut d, "accesskeyid", text(&f, &["resource", "accesskeydetails", "accesskeyid"]));
    put(&mut d, "username", text(&f, &["resource", "accesskeydetails", "username"]));
    put(&mut d, "principalid", text(&f, &["resource", "accesskeydetails", "principalid"]));
    if let Some(Value::Array(buckets)) = path(&f, &["resource", "s3bucketdetails"]) {
        let names: Vec<Value> =
            buckets.iter().filter_map(|b| b.get("name").and_then(scalar_string)).map(Value::String).collect();
        match names.len() {
            0 => {}
            1 => {
                d.insert("bucketname".into(), names[0].clone());
            }
            _ => {
                d.insert("bucketname".into(), Value::Array(names));
            }
        }
    }

    // The service part: counts, times, and the action (who talked to whom).
    put(&mut d, "detectorid", text(&f, &["service", "detectorid"]));
    put(&mut d, "resourcerole", text(&f, &["service", "resourcerole"]));
    put(&mut d, "eventfirstseen", text(&f, &["service", "eventfirstseen"]));
    put(&mut d, "eventlastseen", text(&f, &["service", "eventlastseen"]));
    if let Some(n) = path(&f, &["service", "count"]).and_then(Value::as_u64) {
        d.insert("count".into(), Value::Number(n.into()));
    }
    if let Some(b) = path(&f, &["service", "archived"]).and_then(Value::as_bool) {
        d.insert("archived".into(), Value::Bool(b));
    }
    if let Some(action) = path(&f, &["service", "action"]) {
        direction(action, local_ip, &mut d);
    }
    d.insert("rawfinding".into(), Value::String(raw));

    let summary = title.unwrap_or_else(|| kind.clone());
    let mut event = Event::new("guardduty", "guardduty", summary, time, received);
    event.severity = mozdef_severity(severity).to_owned();
    event.hostname = instance.unwrap_or_default();
    event.tags = vec!["guardduty".to_owned()];
    event.details = d;
    Ok(event)
}

/// The remote party of an action's `remoteIpDetails` (lower-cased).
struct Remote {
    ip: Option<String>,
    country: Option<String>,
    country_code: Option<String>,
    org: Option<String>,
}

fn remote(v: Option<&Value>) -> Remote {
    let Some(v) = v else { return Remote { ip: None, country: None, country_code: None, org: None } };
    Remote {
        ip: text(v, &["ipaddressv4"]).or_else(|| text(v, &["ipaddressv6"])).and_then(|s| canonical_ip(&s)),
        country: text(v, &["country", "countryname"]),
        country_code: text(v, &["country", "countrycode"]),
        org: text(v, &["organization", "asnorg"]).or_else(|| text(v, &["organization", "org"])),
    }
}

fn port(v: &Value, keys: &[&str]) -> Option<u64> {
    match path(v, keys)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn direction(action: &Value, local_ip: Option<String>, d: &mut Map<String, Value>) {
    let kind = text(action, &["actiontype"]).unwrap_or_default();
    if !kind.is_empty() {
        d.insert("actiontype".into(), Value::String(kind.clone()));
    }
    let set = |d: &mut Map<String, Value>, k: &str, v: Option<String>| {
        if let Some(v) = v {
            d.insert(k.into(), Value::String(v));
        }
    };
    let set_port = |d: &mut Map<String, Value>, k: &str, v: Option<u64>| {
        if let Some(v) = v {
            d.insert(k.into(), Value::Number(v.into()));
        }
    };
    // (remote, remote port, local ip, local port, outbound)
    let (rem, remote_port, local, local_port, outbound) = match kind.as_str() {
        "NETWORK_CONNECTION" => {
            let a = path(action, &["networkconnectionaction"]).unwrap_or(&Value::Null);
            let dir = text(a, &["connectiondirection"]).unwrap_or_default();
            set(d, "protocolname", text(a, &["protocol"]).map(|p| p.to_lowercase()));
            if let Some(b) = path(a, &["blocked"]).and_then(Value::as_bool) {
                d.insert("blocked".into(), Value::Bool(b));
            }
            let local =
                text(a, &["localipdetails", "ipaddressv4"]).and_then(|s| canonical_ip(&s)).or(local_ip);
            (
                remote(path(a, &["remoteipdetails"])),
                port(a, &["remoteportdetails", "port"]),
                local,
                port(a, &["localportdetails", "port"]),
                dir == "OUTBOUND",
            )
        }
        "PORT_PROBE" => {
            let a = path(action, &["portprobeaction"]).unwrap_or(&Value::Null);
            let probe = path(a, &["portprobedetails"]).unwrap_or(&Value::Null);
            let local =
                text(probe, &["localipdetails", "ipaddressv4"]).and_then(|s| canonical_ip(&s)).or(local_ip);
            (
                remote(path(probe, &["remoteipdetails"])),
                None,
                local,
                port(probe, &["localportdetails", "port"]),
                false,
            )
        }
        "DNS_REQUEST" => {
            let a = path(action, &["dnsrequestaction"]).unwrap_or(&Value::Null);
            set(d, "domain", text(a, &["domain"]));
            set(d, "protocolname", text(a, &["protocol"]).map(|p| p.to_lowercase()));
            (remote(None), None, local_ip, None, true)
        }
        "AWS_API_CALL" => {
            let a = path(action, &["awsapicallaction"]).unwrap_or(&Value::Null);
            set(d, "api", text(a, &["api"]));
            set(d, "servicename", text(a, &["servicename"]));
            set(d, "callertype", text(a, &["callertype"]));
            set(d, "errorcode", text(a, &["errorcode"]));
            set(d, "domain", text(a, &["domaindetails", "domain"]));
            (remote(path(a, &["remoteipdetails"])), None, None, None, false)
        }
        "RDS_LOGIN_ATTEMPT" => {
            let a = path(action, &["rdsloginattemptaction"]).unwrap_or(&Value::Null);
            (remote(path(a, &["remoteipdetails"])), None, None, None, false)
        }
        "KUBERNETES_API_CALL" => {
            let a = path(action, &["kubernetesapicallaction"]).unwrap_or(&Value::Null);
            set(d, "api", text(a, &["requesturi"]));
            (remote(path(a, &["remoteipdetails"])), None, None, None, false)
        }
        _ => (remote(None), None, local_ip, None, false),
    };
    if kind.is_empty() {
        return;
    }
    d.insert("direction".into(), Value::String(if outbound { "OUTBOUND" } else { "INBOUND" }.into()));
    set(d, "remoteipaddress", rem.ip.clone());
    set_port(d, "remoteport", remote_port);
    set(d, "remotecountry", rem.country);
    set(d, "remotecountrycode", rem.country_code);
    set(d, "remoteorg", rem.org);
    if outbound {
        set(d, "sourceipaddress", local);
        set_port(d, "sourceport", local_port);
        set(d, "destinationipaddress", rem.ip);
        set_port(d, "destinationport", remote_port);
    } else {
        set(d, "sourceipaddress", rem.ip);
        set_port(d, "sourceport", remote_port);
        set(d, "destinationipaddress", local);
        set_port(d, "destinationport", local_port);
    }
}
