//! Reading a file or stream: gunzip when needed, recognise the format, and feed records to the
//! normalizers, counting as it goes.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use chrono::{DateTime, Utc};
use flate2::read::MultiGzDecoder;
use tripline_event::Event;

use crate::stream::{self, End, Piece};
use crate::vpcflow::{self, FlowFormat};
use crate::{dispatch, ErrorKind, NormalizeError, Options, Stats};

/// Where results go: each event or error, with the record's 1-based ordinal in its file (0 for a
/// failure of the whole file before any record).
pub(crate) type Sink<'a> = dyn FnMut(u64, Result<Event, NormalizeError>) + 'a;

/// The state of one read: where we are, what we counted, where results go.
pub(crate) struct Ctx<'a> {
    file: &'a str,
    record: u64,
    opts: &'a Options,
    flow: Option<FlowFormat>,
    stats: Stats,
    sink: &'a mut Sink<'a>,
    /// Scratch space of the CloudTrail fast path, reused from record to record.
    pub(crate) scratch: crate::keys::Scratch,
}

impl<'a> Ctx<'a> {
    /// The context of one file (or stream) named `file`, counted as one file read.
    fn for_file(file: &'a str, opts: &'a Options, sink: &'a mut Sink<'a>) -> Self {
        let stats = Stats { files: 1, ..Stats::default() };
        Ctx { file, record: 0, opts, flow: None, stats, sink, scratch: Default::default() }
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.opts.clock.now()
    }

    pub(crate) fn flow_format(&self) -> FlowFormat {
        self.flow.clone().or_else(|| self.opts.flow_format.clone()).unwrap_or_default()
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

    /// A record skipped on purpose.
    pub(crate) fn skip(&mut self, reason: &str) {
        self.record += 1;
        self.stats.skip(reason);
    }

    /// A failure of the whole file (or of the rest of it).
    fn fail_file(&mut self, kind: ErrorKind) {
        self.stats.error(kind.name());
        let record = if self.record > 0 { Some(self.record + 1) } else { None };
        (self.sink)(record.unwrap_or(0), Err(NormalizeError { file: self.file.to_owned(), record, kind }));
    }
}

/// Read one file (plain or gzip, recognised by content).
pub(crate) fn path(path: &Path, opts: &Options, sink: &mut Sink<'_>) -> Stats {
    let name = path.display().to_string();
    match File::open(path) {
        Ok(f) => reader(f, &name, opts, sink),
        Err(e) => {
            let mut ctx = Ctx::for_file(&name, opts, sink);
            ctx.fail_file(ErrorKind::Io(e.to_string()));
            ctx.stats
        }
    }
}

/// Read one stream.
pub(crate) fn reader<R: Read>(r: R, name: &str, opts: &Options, sink: &mut Sink<'_>) -> Stats {
    let mut ctx = Ctx::for_file(name, opts, sink);
    let mut raw = BufReader::with_capacity(64 * 1024, r);
    let gz = match raw.fill_buf() {
        Ok(b) => b.starts_with(&[0x1f, 0x8b]),
        Err(e) => {
            ctx.fail_file(ErrorKind::Io(e.to_string()));
            return ctx.stats;
        }
    };
    if gz {
        content(&mut ctx, BufReader::with_capacity(64 * 1024, MultiGzDecoder::new(raw)));
    } else {
        content(&mut ctx, raw);
    }
    ctx.stats
}

fn content<R: BufRead>(ctx: &mut Ctx<'_>, mut r: R) {
    // The first byte that is not whitespace (or a byte order mark) decides.
    let first = loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) => return ctx.fail_file(ErrorKind::Io(e.to_string())),
        };
        if buf.is_empty() {
            return; // empty file
        }
        match buf.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0xEF | 0xBB | 0xBF)) {
            Some(i) => {
                let b = buf[i];
                r.consume(i);
                break b;
            }
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    };
    match first {
        b'{' | b'[' => json(ctx, r),
        b'P' if r.fill_buf().is_ok_and(|b| b.starts_with(b"PAR1")) => ctx.fail_file(
            ErrorKind::UnknownFormat("Parquet is not supported; deliver flow logs as text".into()),
        ),
        _ => text(ctx, r),
    }
}

fn json<R: Read>(ctx: &mut Ctx<'_>, r: R) {
    let limit = ctx.opts.max_record_bytes;
    let end = stream::scan(r, limit, |p| match p {
        Piece::Record(b) => dispatch::bytes(ctx, b),
        Piece::Bad(k) => ctx.fail(k),
    });
    match end {
        Ok(End::Clean) => {}
        Ok(End::Truncated) => {
            ctx.fail_file(ErrorKind::Json("the file ends in the middle of a record".into()))
        }
        Err(e) => ctx.fail_file(ErrorKind::Io(e.to_string())),
    }
}

/// Text: a VPC flow log (with or without a header line).
fn text<R: BufRead>(ctx: &mut Ctx<'_>, mut r: R) {
    let limit = ctx.opts.max_record_bytes;
    let mut line = Vec::with_capacity(512);
    let mut first = true;
    // The line of a header that cannot be used, and why.
    let mut bad_header: Option<(u64, String)> = None;
    loop {
        line.clear();
        let n = match (&mut r).take((limit as u64).saturating_add(1)).read_until(b'\n', &mut line) {
            Ok(n) => n,
            Err(e) => return ctx.fail_file(ErrorKind::Io(e.to_string())),
        };
        if n == 0 {
            return;
        }
        if line.len() > limit && !line.ends_with(b"\n") {
            ctx.fail(ErrorKind::TooLarge(limit));
            // Drop the rest of the over-long line.
            loop {
                line.clear();
                match (&mut r).take(64 * 1024).read_until(b'\n', &mut line) {
                    Ok(0) => return,
                    Ok(_) if line.ends_with(b"\n") => break,
                    Ok(_) => {}
                    Err(e) => return ctx.fail_file(ErrorKind::Io(e.to_string())),
                }
            }
            continue;
        }
        let s = String::from_utf8_lossy(&line);
        let s = s.trim();
        if s.is_empty() {
            ctx.record += 1;
            continue;
        }
        if let Some((line, why)) = &bad_header {
            // No line can be read reliably by a header that cannot be used: each is an error.
            let kind = ErrorKind::BadFlowHeader(format!("line not read: the header on line {line} {why}"));
            ctx.fail(kind);
            continue;
        }
        if first {
            first = false;
            match FlowFormat::parse_header(s) {
                Ok(Some(fmt)) => {
                    ctx.record += 1;
                    ctx.flow = Some(fmt);
                    continue;
                }
                Err(kind) => {
                    let why = match &kind {
                        ErrorKind::BadFlowHeader(why) => format!("is unusable ({why})"),
                        other => format!("is unusable ({other})"),
                    };
                    ctx.fail(kind);
                    bad_header = Some((ctx.record, why));
                    continue;
                }
                Ok(None) => {}
            }
            if ctx.opts.flow_format.is_none() && !vpcflow::looks_like_v2(s) {
                let shown: String = s.chars().take(60).collect();
                return ctx.fail_file(ErrorKind::UnknownFormat(format!(
                    "neither JSON nor a VPC flow log (first line: {shown:?})"
                )));
            }
        }
        let received = ctx.now();
        if ctx.flow.is_none() {
            ctx.flow = Some(ctx.flow_format());
        }
        let Some(fmt) = &ctx.flow else { return };
        match vpcflow::normalize_line(fmt, s, received) {
            Ok(Some(e)) => ctx.done(Ok(e)),
            Ok(None) => ctx.skip("flow_nodata_skipdata"),
            Err(k) => ctx.fail(k),
        }
    }
}

/// Dispatch one already-parsed value.
pub(crate) fn value(v: serde_json::Value, name: &str, opts: &Options, sink: &mut Sink<'_>) -> Stats {
    let mut ctx = Ctx::for_file(name, opts, sink);
    dispatch::value(&mut ctx, v, 0);
    ctx.stats
}
