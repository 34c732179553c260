//! # tripline-functions: the Lambda entry points
//!
//! Two binaries. `alert` serves every alert of the catalog: each alert's function sets
//! `TRIPLINE_ALERT` to the alert's name ([`alert::run`] reads its configuration once, then serves
//! the EventBridge scheduled events). `ingest` normalizes log objects into the store
//! ([`ingest`]). Build them for Lambda with `make package` (`cargo lambda build`); run the alert
//! binary locally with `TRIPLINE_ALERT=iam_create_user cargo lambda watch` and `cargo lambda
//! invoke alert --data-file events/scheduled-event.json`.
//!
//! The Lambda glue lives here, not in `tripline-runtime`, so the CLI does not link
//! `lambda_runtime`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alert;
pub mod ingest;
