//! Raw logs through normalize into the embedded store, end to end: every file of the `ingest`
//! fuzz target's seed corpus (`crates/store/fuzz/corpus/ingest/*.seed`, the hostile examples of
//! issue 13 among them) replayed through the fuzz harness itself, so that its invariants hold
//! here without a fuzzer, and each file's own outcome is pinned down. A crash the fuzzer finds
//! is added to the corpus as a `.seed` file and is replayed here from then on.
//!
//! The first byte of a seed chooses the shape (`0` plain, `1` gzip, `2` CloudWatch Logs envelope,
//! `3` VPC flow file with the default header, `4` EventBridge GuardDuty envelope) and the batch
//! size; see the harness's docs.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};

use harness::{Input, Outcome, Shape};
use tripline_dsl::{QueryAst, Value};
use tripline_normalize::ErrorKind;
use tripline_store::{EventStore, SearchRequest, SearchResult, Sort};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/ingest")
}

fn seeds() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("the seed corpus")
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "seed"))
        .collect();
    v.sort();
    v
}

fn run(name: &str) -> (tokio::runtime::Runtime, Outcome) {
    let data = std::fs::read(corpus().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let rt = harness::runtime();
    let outcome = harness::check(&rt, &data).expect("a non-empty seed");
    (rt, outcome)
}

fn term(rt: &tokio::runtime::Runtime, o: &Outcome, field: &str, value: &str) -> SearchResult {
    let query =
        QueryAst::Term { field: field.into(), value: Value::Str(value.into()), case_insensitive: false };
    rt.block_on(o.store.search(&SearchRequest { query, size: 10, sort: Sort::NewestFirst })).expect("search")
}

/// The kinds of the errors read, with their record numbers.
fn errors(o: &Outcome) -> Vec<(Option<u64>, &'static str)> {
    o.errors.iter().map(|e| (e.record, e.kind.name())).collect()
}

fn sources(o: &Outcome) -> Vec<&str> {
    o.events.iter().map(|e| e.source.as_str()).collect()
}

#[test]
fn every_seed_holds_the_invariants() {
    let seeds = seeds();
    assert!(seeds.len() >= 14, "the seed corpus: {seeds:?}");
    let rt = harness::runtime();
    for path in seeds {
        let data = std::fs::read(&path).expect("seed");
        // Any failure is a panic naming the invariant; name the seed too.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| harness::check(&rt, &data)));
        let outcome = outcome.unwrap_or_else(|_| panic!("{} breaks an invariant", path.display()));
        assert!(outcome.is_some(), "{}: empty", path.display());
    }
}

#[test]
fn the_first_byte_chooses_shape_and_batch() {
    let shape = |b: u8| Input::split(&[b, b'{']).map(|i| (i.shape, i.batch));
    assert_eq!(shape(b'0'), Some((Shape::Plain, 4)));
    assert_eq!(shape(b'1'), Some((Shape::Gzip, 4)));
    assert_eq!(shape(b'2'), Some((Shape::CloudWatch, 4)));
    assert_eq!(shape(b'3'), Some((Shape::FlowWithHeader, 4)));
    assert_eq!(shape(b'4'), Some((Shape::EventBridgeGuardDuty, 4)));
    assert_eq!(shape(b'\n'), Some((Shape::Plain, 1)));
    assert_eq!(shape(0xff), Some((Shape::Plain, 16)));
    assert!(Input::split(b"").is_none());
    let rt = harness::runtime();
    assert!(harness::check(&rt, b"").is_none());
    // A selector byte alone is an empty file of each shape: nothing read, nothing stored.
    for b in b'0'..=b'4' {
        let o = harness::check(&rt, &[b]).expect("input");
        assert_eq!(o.stored, 0, "{}", b as char);
    }
}

#[test]
fn a_user_agent_that_looks_like_year_9999_is_a_keyword() {
    let (rt, o) = run("cloudtrail-useragent-9999.seed");
    assert_eq!((o.events.len(), o.written, o.stored), (1, 1, 1), "{:?}", o.errors);
    assert!(o.errors.is_empty() && o.failed.is_empty());
    let found = term(&rt, &o, "details.useragent", "9999-01-01");
    assert_eq!(found.total, 1);
    assert_eq!(found.hits[0].source["details"]["useragent"], "9999-01-01", "kept as written, not a date");
    assert_eq!(found.hits[0].source["utctimestamp"], "2026-11-23T10:00:00.000Z");
    assert_eq!(found.hits[0].id, o.events[0].id());
}

#[test]
fn a_bucket_named_3000_01_01_is_a_keyword_gzip() {
    let (rt, o) = run("cloudtrail-bucket-3000-gzip.seed");
    assert_eq!((o.events.len(), o.written, o.stored), (1, 1, 1), "{:?}", o.errors);
    let found = term(&rt, &o, "details.requestparameters_bucketname", "3000-01-01");
    assert_eq!(found.total, 1);
    assert_eq!(found.hits[0].source["details"]["requestparameters_bucketname"], "3000-01-01");
    assert_eq!(found.hits[0].source["utctimestamp"], "2026-11-23T10:05:00.000Z");
}

#[test]
fn an_event_time_in_year_9999_is_an_error_and_its_neighbour_is_stored() {
    let (rt, o) = run("cloudtrail-eventtime-9999.seed");
    assert_eq!(errors(&o), vec![(Some(1), "timestamp_out_of_range")]);
    assert!(
        matches!(&o.errors[0].kind, ErrorKind::TimestampOutOfRange { value, .. } if value.starts_with("9999-12-31"))
    );
    assert_eq!((o.events.len(), o.stored), (1, 1));
    assert_eq!(o.events[0].utctimestamp.to_rfc3339(), "2026-11-23T10:10:00+00:00");
    let found = term(&rt, &o, "details.eventname", "DescribeInstances");
    assert_eq!(found.total, 1, "only the good record");
}

#[test]
fn an_event_time_in_year_1600_is_an_error_cloudwatch() {
    let (_rt, o) = run("cloudwatch-cloudtrail-eventtime-1600.seed");
    assert_eq!(errors(&o), vec![(Some(1), "timestamp_out_of_range")]);
    assert!(
        matches!(&o.errors[0].kind, ErrorKind::TimestampOutOfRange { value, .. } if value.starts_with("1600-01-01"))
    );
    assert_eq!((o.events.len(), o.stored), (1, 1));
    assert_eq!(sources(&o), vec!["cloudtrail"]);
}

#[test]
fn records_that_are_not_a_list_are_errors_not_events() {
    for (name, found) in
        [("cloudtrail-records-object.seed", "an object"), ("cloudtrail-records-string.seed", "a string")]
    {
        let (_rt, o) = run(name);
        assert_eq!(errors(&o), vec![(Some(1), "not_a_list")], "{name}");
        assert!(
            matches!(&o.errors[0].kind, ErrorKind::NotAList { field: "Records", found: f } if *f == found),
            "{name}: {:?}",
            o.errors
        );
        assert_eq!((o.events.len(), o.written, o.stored), (0, 0, 0), "{name}: nothing of it is stored");
    }
}

#[test]
fn a_record_written_twice_is_stored_once() {
    let (rt, o) = run("cloudtrail-duplicate-batch1.seed");
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert_eq!((o.events.len(), o.written, o.stored), (4, 4, 3));
    assert_eq!(o.events[1].id(), o.events[2].id());
    let found = term(&rt, &o, "details.eventname", "ConsoleLogin");
    assert_eq!(found.total, 3);
}

#[test]
fn a_flow_start_in_year_2300_is_an_error() {
    let (_rt, o) = run("vpcflow-start-year-2300.seed");
    // Line 1 is the header, line 2 the good flow.
    assert_eq!(errors(&o), vec![(Some(3), "timestamp_out_of_range")]);
    assert!(
        matches!(&o.errors[0].kind, ErrorKind::TimestampOutOfRange { value, .. } if value == "10413792000"),
        "{:?}",
        o.errors
    );
    assert_eq!((o.events.len(), o.stored), (1, 1));
    assert_eq!(sources(&o), vec!["vpc_flow"]);
}

#[test]
fn a_flow_header_naming_srcprt_fails_every_line() {
    let (_rt, o) = run("vpcflow-header-srcprt.seed");
    assert_eq!(errors(&o), vec![(Some(1), "bad_flow_header"), (Some(2), "bad_flow_header")]);
    assert!(o.errors[0].to_string().contains("srcprt"), "{}", o.errors[0]);
    assert_eq!((o.events.len(), o.stored), (0, 0));
}

#[test]
fn a_flow_ending_before_it_starts_is_an_error() {
    let (_rt, o) = run("vpcflow-end-before-start.seed");
    assert_eq!(errors(&o), vec![(Some(3), "bad_flow_line")]);
    assert_eq!((o.events.len(), o.stored), (1, 1));
}

#[test]
fn a_negative_flow_start_is_an_error() {
    let (_rt, o) = run("vpcflow-negative-start.seed");
    assert_eq!(errors(&o), vec![(Some(3), "bad_flow_line")]);
    assert!(o.errors[0].to_string().contains("-60"), "{}", o.errors[0]);
    // Line 4 is NODATA: skipped, not an error.
    assert_eq!((o.events.len(), o.stored), (1, 1));
}

#[test]
fn flow_lines_in_a_cloudwatch_envelope_are_stored() {
    let (rt, o) = run("cloudwatch-vpcflow-lines.seed");
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert_eq!(sources(&o), vec!["vpc_flow", "vpc_flow"]);
    assert_eq!(o.stored, 2);
    assert_eq!(term(&rt, &o, "details.destinationport", "3389").total, 1);
}

#[test]
fn a_guardduty_finding_in_an_eventbridge_envelope_is_stored() {
    let (rt, o) = run("eventbridge-guardduty-finding.seed");
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert_eq!(sources(&o), vec!["guardduty"]);
    assert_eq!(o.stored, 1);
    assert_eq!(term(&rt, &o, "source", "guardduty").total, 1);
}

#[test]
fn a_finding_updated_in_year_9999_is_an_error() {
    let (_rt, o) = run("guardduty-findings-updatedat-9999.seed");
    assert_eq!(errors(&o), vec![(Some(1), "timestamp_out_of_range")]);
    assert_eq!(sources(&o), vec!["guardduty"]);
    assert_eq!(o.stored, 1);
}
