//! The `guardduty_port_probe` catalog alert on canned MozDef events, run by the runtime over an in-memory
//! embedded store: what must raise does, with the right severity and summary; what must not,
//! doesn't.

mod common;

use common::*;
use serde_json::json;
use tripline_alerts::*;

#[tokio::test]
async fn guardduty_port_probe_groups_by_the_prober() {
    let alert = guardduty_port_probe::GuarddutyPortProbe::default();
    let probe = |ip: &str, instance: &str, minutes: i64| {
        finding(
            ago(minutes),
            "Recon:EC2/PortProbeUnprotectedPort",
            2.0,
            json!({"remoteipaddress": ip, "sourceipaddress": ip, "instanceid": instance}),
        )
    };
    let events = vec![
        probe("192.0.2.150", "i-1", 10),
        probe("192.0.2.150", "i-2", 20),
        probe("192.0.2.150", "i-3", 25),
        probe("192.0.2.151", "i-1", 15),
        // Outside the hour, and outside the settled hour [now − 90 min, now − 30 min] too.
        probe("192.0.2.152", "i-1", 100),
        finding(
            ago(5),
            "CryptoCurrency:EC2/BitcoinTool.B!DNS",
            8.0,
            json!({"remoteipaddress": "192.0.2.150"}),
        ),
    ];
    let raised = raise(&alert, &events).await;
    assert_eq!(raised.len(), 2, "{:?}", names(&raised));
    let main = raised.iter().find(|a| a.details["sourceipaddress"] == "192.0.2.150").expect("grouped");
    assert!(main.summary.contains("3 finding(s) on 3 instance(s)"), "{}", main.summary);
    assert_eq!(main.severity, "NOTICE");
}
