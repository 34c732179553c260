//! opensearch store: see the crate docs.
