//! Reading a file or stream: gunzip when needed, recognise the format, and feed records to the
//! normalizers, counting as it goes.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::pipeline::{Pipeline, Sink};
use crate::source::{self, Line, Source};
use crate::stream::{self, End, Piece};
use crate::{ErrorKind, Options, Stats};

/// Read one file (plain or gzip, recognised by content).
pub(crate) fn path(path: &Path, opts: &Options, sink: &mut Sink<'_>) -> Stats {
    let name = path.display().to_string();
    match File::open(path) {
        Ok(f) => reader(f, &name, opts, sink),
        Err(e) => {
            let mut ctx = Pipeline::for_file(&name, opts, sink);
            ctx.fail_file(ErrorKind::Io(e.to_string()));
            ctx.into_stats()
        }
    }
}

/// Read one stream.
pub(crate) fn reader<R: Read>(r: R, name: &str, opts: &Options, sink: &mut Sink<'_>) -> Stats {
    let mut ctx = Pipeline::for_file(name, opts, sink);
    let mut raw = BufReader::with_capacity(64 * 1024, r);
    let gz = match raw.fill_buf() {
        Ok(b) => b.starts_with(&[0x1f, 0x8b]),
        Err(e) => {
            ctx.fail_file(ErrorKind::Io(e.to_string()));
            return ctx.into_stats();
        }
    };
    if gz {
        content(&mut ctx, BufReader::with_capacity(64 * 1024, MultiGzDecoder::new(raw)));
    } else {
        content(&mut ctx, raw);
    }
    ctx.into_stats()
}

fn content<R: BufRead>(ctx: &mut Pipeline<'_>, mut r: R) {
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

fn json<R: Read>(ctx: &mut Pipeline<'_>, r: R) {
    let limit = ctx.opts().max_record_bytes;
    let end = stream::scan(r, limit, |p| match p {
        Piece::Record(b) => source::bytes(ctx, b),
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

/// Text: the source that recognises the first line that is not blank (a VPC flow log header or
/// record) reads the file; a first line no source recognises makes the file an
/// [`ErrorKind::UnknownFormat`], naming the line.
fn text<R: BufRead>(ctx: &mut Pipeline<'_>, mut r: R) {
    let limit = ctx.opts().max_record_bytes;
    let mut line = Vec::with_capacity(512);
    let mut reader: Option<&'static dyn Source> = None;
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
            ctx.pass();
            continue;
        }
        let at = Line::File { first: reader.is_none() };
        let s_reader = match reader {
            Some(found) => found,
            None => match source::text_source(ctx, s, at) {
                Some(found) => *reader.insert(found),
                None => {
                    let kind = ErrorKind::UnknownFormat(format!(
                        "neither JSON nor a known text format (VPC flow logs); line {}: {:?}",
                        ctx.next_record(),
                        source::clip(s)
                    ));
                    return ctx.fail_file(kind);
                }
            },
        };
        s_reader.normalize_text(s, at, ctx);
    }
}

/// Dispatch one already-parsed value.
pub(crate) fn value(v: serde_json::Value, name: &str, opts: &Options, sink: &mut Sink<'_>) -> Stats {
    let mut ctx = Pipeline::for_file(name, opts, sink);
    source::value(&mut ctx, v, 0);
    ctx.into_stats()
}
