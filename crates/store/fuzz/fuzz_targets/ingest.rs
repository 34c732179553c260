//! Any bytes, shaped as a file `tripline ingest` reads (plain, gzip, a CloudWatch Logs envelope,
//! a VPC flow file with a header, an EventBridge GuardDuty envelope: the first byte chooses),
//! through `tripline_normalize::read_reader` into a new in-RAM embedded store, in batches, then
//! queried; every invariant of `tripline_store_fuzz` (src/lib.rs) holds, and nothing panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(tripline_store_fuzz::runtime)
}

fuzz_target!(|data: &[u8]| {
    let _ = tripline_store_fuzz::check(runtime(), data);
});
