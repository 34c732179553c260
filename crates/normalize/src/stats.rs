//! Counts of what a read produced: events per source, errors per kind, rows skipped on purpose.

use std::collections::BTreeMap;

/// What reading one or more files produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Files read (or streams, or S3 objects).
    pub files: u64,
    /// Events produced, by `source` (`cloudtrail`, `vpc_flow`, `guardduty`, `unknown`).
    pub records: BTreeMap<String, u64>,
    /// Records (or files) that failed, by [`ErrorKind::name`](crate::ErrorKind::name).
    pub errors: BTreeMap<String, u64>,
    /// Rows deliberately not turned into events, by reason: `NODATA` and `SKIPDATA` flow log rows,
    /// CloudWatch Logs `CONTROL_MESSAGE`s, CloudTrail digest files.
    pub skipped: BTreeMap<String, u64>,
}

impl Stats {
    /// Events produced, all sources.
    pub fn total_records(&self) -> u64 {
        self.records.values().sum()
    }

    /// Errors, all kinds.
    pub fn total_errors(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Rows skipped, all reasons.
    pub fn total_skipped(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Add another read's counts to these.
    pub fn merge(&mut self, other: &Stats) {
        self.files += other.files;
        for (k, v) in &other.records {
            *self.records.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.skipped {
            *self.skipped.entry(k.clone()).or_default() += v;
        }
    }

    pub(crate) fn record(&mut self, source: &str) {
        match self.records.get_mut(source) {
            Some(n) => *n += 1,
            None => {
                self.records.insert(source.to_owned(), 1);
            }
        }
    }

    pub(crate) fn error(&mut self, kind: &str) {
        *self.errors.entry(kind.to_owned()).or_default() += 1;
    }

    pub(crate) fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_owned()).or_default() += 1;
    }
}
