//! embedded store: see the crate docs.
