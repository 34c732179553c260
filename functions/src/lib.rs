//! # tripline-functions: the Lambda entry points
//!
//! One binary per alert in the registry (`src/bin/<name with - for _>.rs`), each a few lines:
//! `tripline_runtime::lambda::run_alert("name")` reads its configuration once, then serves the
//! EventBridge scheduled events. Build them for Lambda with `cargo lambda build --release`; run one
//! locally with `cargo lambda watch` and `cargo lambda invoke <name> --data-file
//! events/scheduled-event.json`. `tests/binaries.rs` keeps the binaries and the registry in step.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ingest;

/// The binary (and Lambda function) name of an alert: its registry name with `-` for `_`.
pub fn binary_name(alert: &str) -> String {
    alert.replace('_', "-")
}
