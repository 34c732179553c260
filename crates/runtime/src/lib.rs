//! # tripline-runtime: run an alert, deliver what it raises, exactly once
//!
//! An alert (`tripline_alerts::Alert`) is pure: a query, a plan and what to say about what it
//! finds. This crate is where it meets the world:
//!
//! ```text
//!           ┌──────────── runner ────────────┐            ┌──── sinks ────┐
//! clock ──▶ │ compile query at `now`          │            │ alerts index  │ (idempotent by id)
//!           │ + must_not alert_names = name   │ AlertRecord│ SNS           │ (marker in the index)
//! store ──▶ │ search / aggregate / count      │ ─────────▶ │ Step Functions│ (execution name = id)
//!           │ on_event / on_aggregation /     │            └───────┬───────┘
//!           │ on_silence → drafts → records   │                    ▼
//!           └─────────────────────────────────┘            tag the events (last)
//! ```
//!
//! - [`runner`]: runs one alert against an [`EventStore`](tripline_store::EventStore) at a given
//!   clock and turns its drafts into MozDef alerts with deterministic ids.
//! - [`sinks`]: SNS and Step Functions clients, and the delivery protocol that makes a retried
//!   run deliver nothing twice and lose nothing.
//! - [`lambda`]: the glue each alert's Lambda uses — configuration from the environment (read once),
//!   JSON logs, the EventBridge scheduled-event handler.
//!
//! ## Why no alert is lost and none is sent twice
//!
//! A run does its side effects in this order, and a failure at any step returns an error (so
//! Lambda retries the invocation with the same scheduled event, hence the same clock):
//!
//! 1. **Evaluate.** Events that already raised this alert carry its name in `alert_names` and are
//!    left out. Alert ids are hashes of the alert name, its key and its events: the same input and
//!    clock give the same ids.
//! 2. **Read the delivery markers** of alerts with these ids already in the alerts index.
//! 3. **Write the alerts** to the alerts index (replacing by id: never a duplicate), keeping the
//!    markers read in 2.
//! 4. **Publish to SNS** each alert whose stored copy has no `details.delivery.sns` marker, then
//!    write the marker (the SNS message id). On a FIFO topic the alert id is also the
//!    deduplication id, which closes the window between publishing and writing the marker.
//! 5. **Start the remediation workflow** for `Contain` alerts, with an execution name derived from
//!    the alert id. Step Functions refuses a second execution of that name, so a retry cannot
//!    contain twice; `ExecutionAlreadyExists` counts as delivered.
//! 6. **Tag the events** last. Until this succeeds the events are still candidates, so a retry
//!    raises the same alert id again and steps 3–5 recognise it as already delivered.
//!
//! The remaining duplicate window is a crash between an SNS publish on a standard topic and the
//! marker write in step 4; use a FIFO topic to close it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod lambda;
pub mod runner;
pub mod sinks;

pub use runner::{Raised, RunError, RunOptions, RunReport, Runner};
pub use sinks::{Sinks, Sns, StepFunctions};
pub use tripline_alerts::{
    create_alert, registry, resource, Alert, AlertDraft, Group, Plan, RegistryEntry, Remediation, Severity,
};
