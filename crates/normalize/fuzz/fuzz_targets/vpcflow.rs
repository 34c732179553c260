//! Any text as a flow log file (header detection, default format) and, line by line, through a
//! format taken from the first line: never a panic; numbers stay numbers, addresses stay IPs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_normalize::{read_reader, vpcflow, Clock, FlowFormat, Options};

fuzz_target!(|data: &[u8]| {
    let opts = Options { clock: Clock::Fixed(chrono::DateTime::UNIX_EPOCH), max_record_bytes: 1 << 16, ..Options::default() };
    let _ = read_reader(data, "fuzz", &opts, |_| {});
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines();
    let format = lines.next().and_then(FlowFormat::parse).unwrap_or_default();
    for line in lines {
        if let Ok(Some(e)) = vpcflow::normalize_line(&format, line, chrono::DateTime::UNIX_EPOCH) {
            for key in ["sourceipaddress", "destinationipaddress"] {
                if let Some(v) = e.details.get(key) {
                    assert!(v.as_str().unwrap().parse::<std::net::IpAddr>().is_ok());
                }
            }
            for key in ["sourceport", "destinationport", "packets", "bytes", "protocol"] {
                if let Some(v) = e.details.get(key) {
                    assert!(v.is_u64());
                }
            }
            let _ = e.to_json();
        }
    }
});
