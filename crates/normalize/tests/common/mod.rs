#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use tripline_event::Event;
use tripline_normalize::{read_path, Clock, NormalizeError, Options, Stats};

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events").join(rel)
}

pub fn received() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T00:00:00Z").unwrap().with_timezone(&Utc)
}

pub fn opts() -> Options {
    Options { clock: Clock::Fixed(received()), ..Options::default() }
}

pub fn read(rel: &str) -> (Vec<Event>, Vec<NormalizeError>, Stats) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    let stats = read_path(&fixture(rel), &opts(), |r| match r {
        Ok(e) => ok.push(e),
        Err(e) => bad.push(e),
    });
    (ok, bad, stats)
}

pub fn by_name<'a>(events: &'a [Event], name: &str) -> &'a Event {
    events
        .iter()
        .find(|e| e.details.get("eventname").and_then(|v| v.as_str()) == Some(name))
        .unwrap_or_else(|| panic!("no {name} event"))
}
