//! The `ssh_from_outside` catalog alert on canned MozDef events, run by the runtime over an in-memory
//! embedded store: what must raise does, with the right severity and summary; what must not,
//! doesn't.

mod common;

use common::*;
use tripline_alerts::*;

#[tokio::test]
async fn ssh_from_outside_severity_follows_the_largest_flow() {
    let alert = ssh_from_outside::SshFromOutside::default();
    let mut events = Vec::new();
    // A brute force: forty 3 kB connections, 120 kB in all, no session.
    for i in 0..40 {
        events.push(flow(
            ago(10) + chrono::TimeDelta::seconds(i),
            "192.0.2.7",
            "10.0.1.25",
            22,
            6,
            3000 + i as u64,
            "ACCEPT",
        ));
    }
    // Failed attempts then one session.
    events.push(flow(ago(9), "198.51.100.200", "10.0.1.25", 22, 6, 2100, "ACCEPT"));
    events.push(flow(ago(8), "198.51.100.200", "10.0.1.25", 22, 6, 48_220, "ACCEPT"));
    // IPv6 from outside.
    events.push(flow(ago(7), "2001:db8::7", "10.0.1.25", 22, 6, 700, "ACCEPT"));
    let raised = raise(&alert, &events).await;
    let by_ip = |ip: &str| raised.iter().find(|a| a.details["sourceipaddress"] == ip).cloned();
    assert_eq!(raised.len(), 3, "{:?}", names(&raised));
    let brute = by_ip("192.0.2.7").expect("brute force raised");
    assert_eq!(brute.severity, "WARNING");
    assert_eq!(brute.details["flows"], 40);
    assert_eq!(brute.details["largest_flow_bytes"], 3039);
    assert_eq!(brute.details["total_bytes"], (0..40).map(|i| 3000 + i).sum::<u64>());
    let session = by_ip("198.51.100.200").expect("session raised");
    assert_eq!(session.severity, "CRITICAL");
    assert!(session.summary.contains("a session was established"), "{}", session.summary);
    assert_eq!(by_ip("2001:db8::7").expect("ipv6").severity, "WARNING");
}

#[tokio::test]
async fn ssh_from_outside_ignores_inside_rejected_other_ports_and_udp() {
    let alert = ssh_from_outside::SshFromOutside::default();
    let events = vec![
        flow(ago(5), "10.0.0.10", "10.0.1.25", 22, 6, 96_000, "ACCEPT"),
        flow(ago(5), "172.20.1.1", "10.0.1.25", 22, 6, 96_000, "ACCEPT"),
        flow(ago(5), "192.168.1.1", "10.0.1.25", 22, 6, 96_000, "ACCEPT"),
        flow(ago(5), "169.254.169.254", "10.0.1.25", 22, 6, 96_000, "ACCEPT"),
        flow(ago(5), "fd00::5", "10.0.1.25", 22, 6, 96_000, "ACCEPT"),
        flow(ago(5), "fe80::5", "10.0.1.25", 22, 6, 96_000, "ACCEPT"),
        flow(ago(5), "192.0.2.99", "10.0.1.25", 22, 6, 44, "REJECT"),
        flow(ago(5), "192.0.2.99", "10.0.1.25", 443, 6, 9000, "ACCEPT"),
        flow(ago(5), "192.0.2.99", "10.0.1.25", 22, 17, 9000, "ACCEPT"),
        // Outside the 15-minute window and the settled one ([now − 45 min, now − 15 min]).
        flow(ago(50), "192.0.2.98", "10.0.1.25", 22, 6, 9000, "ACCEPT"),
    ];
    let raised = raise(&alert, &events).await;
    assert!(raised.is_empty(), "{:?}", names(&raised));
}
