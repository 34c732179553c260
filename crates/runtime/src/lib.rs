//! # tripline-runtime: run an alert, deliver what it raises, exactly once
//!
//! An alert (`tripline_alerts::Alert`) is pure: a query, a plan and what to say about what it
//! finds. This crate is where it meets the world:
//!
//! ```text
//!           ┌──────────── runner ────────────┐            ┌──── sinks ──────────┐
//! clock ──▶ │ compile query at `now`          │            │ alerts index (first) │ idempotent by id
//!           │ + must_not alert_names = name   │ AlertRecord│ SNS                  │ receipt in the index
//! store ──▶ │ search / aggregate / count      │ ─────────▶ │ webhooks (Slack, PD) │ receipt (PD: dedup_key)
//!           │ on_event / on_aggregation /     │            │ Step Functions       │ execution name = id
//!           │ on_silence → drafts → records   │            └──────────┬───────────┘
//!           └─────────────────────────────────┘                       ▼
//!                                                            tag the events (last)
//! ```
//!
//! - [`runner`]: runs one alert against an [`EventStore`](tripline_store::EventStore) at a given
//!   clock and turns its drafts into MozDef alerts with deterministic ids.
//! - [`sinks`]: the [`Sink`] trait and its implementations (SNS, Step Functions, webhooks), and
//!   the delivery record (sink name → receipt) that makes a retried run deliver nothing twice and
//!   lose nothing.
//! - [`metrics`]: CloudWatch embedded metrics (EMF) lines.
//!
//! ## Time windows: by event time, with a lateness allowance
//!
//! A window is by **event time** (`utctimestamp`, when the call was made), never by when the event
//! reached the store (`receivedtimestamp`, still stored and searchable). A day of old logs ingested
//! now is therefore found at its own time: running the alerts now raises nothing for it, and
//! running them at the logs' time (`tripline run --at`) raises what those logs raise there.
//!
//! Logs also arrive late (CloudTrail delivers typically 5 to 15 minutes after the call), so a run
//! looks back a **lateness allowance** `L` ([`RunOptions::lateness`], default 30 minutes,
//! `TRIPLINE_LATENESS` in a Lambda, `tripline run --lateness`, 0s to 24h). For an alert whose
//! query has a window of length `w`, at clock `now` ([`runner::passes`]):
//!
//! - **Simple** alerts match their filter over `[now − w − L, now]`. Tags make each event raise
//!   the alert exactly once, however late (up to `L`) it arrives.
//! - **Aggregations** count by event time over windows of exactly `w`, never `w + L`: each run
//!   first evaluates the **settled** window `[now − L − w, now − L]`, where late events have
//!   arrived, and delivers and tags what it raises; then the **current** window `[now − w, now]`,
//!   which leaves out the events the settled pass raised. With `L = 0` there is one pass.
//! - **Deadman** alerts check the settled window `[now − L − w, now − L]`: silence is only known
//!   once late events had time to arrive.
//!
//! The trade-off: an aggregation whose threshold is crossed only thanks to late events alerts
//! from the settled pass, up to `L` after the events; on-time bursts still alert from the current
//! pass at once. A deadman speaks `L` later than it would without the allowance. An event
//! arriving more than `L` late may be missed: a simple alert no longer looks back that far, and an
//! aggregation counts it only in the windows of runs that still hold its time (up to `L + w`
//! after it). Each alert records the window it
//! looked at in `details.window` (`since`, `until`).
//!
//! [`Runner::evaluate`] (dry runs) makes the same passes without side effects: the current pass
//! leaves out the raised groups' events of the settled window, the events the settled pass's tags
//! would have excluded, so a dry run raises what a run would.
//!
//! ## Why no alert is lost and none is sent twice
//!
//! A run does its side effects in this order, and a failure at any step returns an error (so
//! Lambda retries the invocation with the same scheduled event, hence the same clock):
//!
//! 1. **Evaluate** (once per pass, steps 2–5 following each). Events that already raised this
//!    alert carry its name in `alert_names` and are left out. Alert ids are hashes of the alert name, its key and its events: the same input and
//!    clock give the same ids.
//! 2. **Read the delivery markers** of alerts with these ids already in the alerts index.
//! 3. **Write the alerts** to the alerts index (replacing by id: never a duplicate), keeping the
//!    markers read in 2.
//! 4. **Deliver to each sink** that accepts the alert (SNS: all; a webhook: its route; Step
//!    Functions: `Contain` alerts) and whose name has no receipt in the stored copy's
//!    `details.delivery`, then write the receipt (message id, execution ARN, …) at once. On a FIFO
//!    topic the alert id is also the SNS deduplication id, PagerDuty deduplicates by the alert id,
//!    and Step Functions refuses a second execution of the alert's name (`ExecutionAlreadyExists`
//!    counts as delivered): for those the window between delivering and writing the receipt is
//!    closed too.
//! 5. **Tag the events** last. Until this succeeds the events are still candidates, so a retry
//!    raises the same alert id again and steps 3–4 recognise it as already delivered.
//!
//! The remaining duplicate window is a crash between a delivery without an idempotency key (SNS
//! on a standard topic, a Slack webhook) and its receipt's write in step 4; use a FIFO topic to
//! close it for SNS.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "backtest")]
pub mod backtest;
pub mod cases;
pub mod metrics;
pub mod replay;
pub mod runner;
pub mod sinks;

pub use runner::{Pass, Raised, RunError, RunOptions, RunReport, Runner, Step, Window};
pub use sinks::{Delivery, Receipt, Route, Sink, Sinks, Sns, StepFunctions, Webhook, WebhookFormat};
pub use tripline_alerts::{
    create_alert, registry, resource, tuning, Alert, AlertDraft, Group, Meta, Plan, Registry, Remediation,
    Severity,
};
