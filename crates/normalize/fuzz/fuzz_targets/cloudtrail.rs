//! Any bytes through the whole reader (gzip sniffing, the streaming JSON scanner, dispatch,
//! CloudTrail mapping), then the CloudTrail normalizer on the bytes as one record: never a panic,
//! and every event it yields serializes with lower-case detail keys and a valid IP field. And the
//! CloudTrail fast path against the reference path on the bytes as one record: whenever the fast
//! path yields an event, the reference yields the same one (same JSON text, same id).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_normalize::{cloudtrail, read_reader, Clock, Event, Options};

fn check(e: &Event) {
    let json = e.to_json();
    assert!(json.is_object());
    for k in e.details.keys() {
        assert_eq!(k.to_lowercase(), *k);
    }
    if let Some(ip) = e.details.get("sourceipaddress") {
        let ip = ip.as_str().expect("string");
        assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{ip}");
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = Options { clock: Clock::Fixed(chrono::DateTime::UNIX_EPOCH), max_record_bytes: 1 << 16, ..Options::default() };
    let _ = read_reader(data, "fuzz", &opts, |r| {
        if let Ok(e) = r {
            check(&e)
        }
    });
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(fast) = cloudtrail::normalize_json_fast(text, chrono::DateTime::UNIX_EPOCH) {
            check(&fast);
            let reference = cloudtrail::normalize_json_reference(text, chrono::DateTime::UNIX_EPOCH)
                .expect("the fast path gave an event where the reference fails");
            assert_eq!(serde_json::to_string(&fast).unwrap(), serde_json::to_string(&reference).unwrap());
            assert_eq!(fast.id(), reference.id());
        }
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(e) = cloudtrail::normalize(v, chrono::DateTime::UNIX_EPOCH) {
            check(&e);
        }
    }
});
