//! The state one read shares with every source: the file's name, the record counter, the clock,
//! the counts ([`Stats`]) and where results go. Nothing here belongs to a log source: what a
//! source needs to remember from one record to the next (CloudTrail's scratch buffers, a flow
//! log file's header) is kept in [`SourceState`], typed and owned by that source's module.

use std::any::Any;

use chrono::{DateTime, Utc};
use tripline_event::Event;

use crate::{ErrorKind, NormalizeError, Options, Stats};

/// Where results go: each event or error, with the record's 1-based ordinal in its file (0 for a
/// failure of the whole file before any record).
pub(crate) type Sink<'a> = dyn FnMut(u64, Result<Event, NormalizeError>) + 'a;

/// The shared state of one read: where we are, what we counted, where results go.
pub(crate) struct Pipeline<'a> {
    file: &'a str,
    record: u64,
    opts: &'a Options,
    stats: Stats,
    sink: &'a mut Sink<'a>,
    /// Each source's private state for this read.
    pub(crate) state: SourceState,
}

impl<'a> Pipeline<'a> {
    /// The pipeline of one file (or stream) named `file`, counted as one file read.
    pub(crate) fn for_file(file: &'a str, opts: &'a Options, sink: &'a mut Sink<'a>) -> Self {
        let stats = Stats { files: 1, ..Stats::default() };
        Pipeline { file, record: 0, opts, stats, sink, state: SourceState::default() }
    }

    /// The ingest clock's time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.opts.clock.now()
    }

    /// The read's options.
    pub(crate) fn opts(&self) -> &'a Options {
        self.opts
    }

    /// A record normalized (or not).
    pub(crate) fn done(&mut self, r: Result<Event, ErrorKind>) {
        match r {
            Ok(e) => {
                self.record += 1;
                self.stats.record(&e.source);
                (self.sink)(self.record, Ok(e));
            }
            Err(k) => self.fail(k),
        }
    }

    /// A record that failed.
    pub(crate) fn fail(&mut self, kind: ErrorKind) {
        self.record += 1;
        self.stats.error(kind.name());
        (self.sink)(
            self.record,
            Err(NormalizeError { file: self.file.to_owned(), record: Some(self.record), kind }),
        );
    }

    /// A record skipped on purpose, counted under `reason`.
    pub(crate) fn skip(&mut self, reason: &str) {
        self.record += 1;
        self.stats.skip(reason);
    }

    /// A line that is no record (a blank line, a header): numbered, not counted.
    pub(crate) fn pass(&mut self) {
        self.record += 1;
    }

    /// The ordinal the next record will have.
    pub(crate) fn next_record(&self) -> u64 {
        self.record + 1
    }

    /// A failure of the whole file (or of the rest of it).
    pub(crate) fn fail_file(&mut self, kind: ErrorKind) {
        self.stats.error(kind.name());
        let record = if self.record > 0 { Some(self.record + 1) } else { None };
        (self.sink)(record.unwrap_or(0), Err(NormalizeError { file: self.file.to_owned(), record, kind }));
    }

    /// What was counted.
    pub(crate) fn into_stats(self) -> Stats {
        self.stats
    }
}

/// The sources' private state for one read, one value per type: a source keeps a type of its own
/// here (private to its module) and finds it with [`SourceState::get`].
#[derive(Default)]
pub(crate) struct SourceState(Vec<Box<dyn Any>>);

impl SourceState {
    /// This read's `T`, created (by `Default`) on first use.
    pub(crate) fn get<T: Any + Default>(&mut self) -> &mut T {
        let i = match self.0.iter().position(|s| s.is::<T>()) {
            Some(i) => i,
            None => {
                self.0.push(Box::new(T::default()));
                self.0.len() - 1
            }
        };
        // `i` holds a `T`: found by type, or just pushed.
        match self.0[i].downcast_mut::<T>() {
            Some(t) => t,
            None => unreachable!("SourceState slot {i} holds its type"),
        }
    }
}
