//! # tripline-sigma: Sigma rules, compiled to Tripline's query AST
//!
//! Security teams write and share detections in Sigma. This crate reads a Sigma rule (YAML, the
//! Sigma 2 specification) and compiles its detection to the backend-neutral
//! [`QueryAst`](tripline_dsl::QueryAst) both stores run. It does no I/O: it takes rule text and a
//! name for it (its file), and returns a rule or an error naming the rule, the line, the column
//! and the construct.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod fields;
pub mod rule;

pub use fields::Target;

pub use error::{Pos, SigmaError};
pub use rule::{Detection, FieldMatch, Level, Logsource, Search, SearchBody, SigmaRule, SigmaValue, Status};
