//! Any JSON as a GuardDuty finding, bare and inside an EventBridge envelope: never a panic; the
//! severity label is one of MozDef's and the address fields hold IPs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tripline_normalize::{guardduty, read_value, Clock, Options};

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(e) = guardduty::normalize(v.clone(), Some("2026-11-23T10:00:00Z"), chrono::DateTime::UNIX_EPOCH) {
        assert!(["INFO", "WARNING", "CRITICAL"].contains(&e.severity.as_str()));
        for key in ["sourceipaddress", "destinationipaddress", "remoteipaddress"] {
            if let Some(ip) = e.details.get(key) {
                assert!(ip.as_str().unwrap().parse::<std::net::IpAddr>().is_ok());
            }
        }
        let _ = e.to_json();
    }
    let opts = Options { clock: Clock::Fixed(chrono::DateTime::UNIX_EPOCH), ..Options::default() };
    let envelope = json!({"detail-type": "GuardDuty Finding", "source": "aws.guardduty", "time": "x", "detail": v});
    let _ = read_value(envelope, "fuzz", &opts, |_| {});
});
