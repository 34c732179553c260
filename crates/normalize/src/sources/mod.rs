//! The log sources of [`SOURCES`](crate::source::SOURCES), one module each. Each is a unit type
//! implementing [`Source`](crate::source::Source); what it needs to remember during a read is a
//! private type of its module kept in the pipeline's [`SourceState`](crate::pipeline::SourceState).

pub(crate) mod cloudtrail;
pub(crate) mod cloudwatch_logs;
pub(crate) mod containers;
pub(crate) mod eventbridge;
pub(crate) mod generic;
pub(crate) mod guardduty;
pub(crate) mod vpcflow;
