//! The streaming JSON reader: cuts a byte stream into records without parsing the whole file.
//!
//! A CloudTrail delivery file is one JSON object, `{"Records":[…]}`, that can weigh 100 MB.
//! Parsing it into one tree would cost memory in proportion to the file. Instead this scanner
//! walks the bytes once, tracking only nesting depth and whether it is inside a string, and hands
//! out one record at a time:
//!
//! - a top-level object whose first key is `Records` (followed by an array): each element of the
//!   array, one by one; whatever follows the array in that object is skipped;
//! - a top-level array: each element;
//! - any other top-level value (NDJSON, concatenated JSON as Firehose writes it, one pretty-printed
//!   object): the whole value.
//!
//! Memory is bounded by the largest record (and capped: a record over the limit is skipped and
//! reported, never buffered). Because record boundaries come from bracket depth, a record with a
//! syntax error inside is reported alone and its neighbours still parse.

use std::io::{self, Read};

/// What the scanner hands to its consumer.
pub(crate) enum Piece<'a> {
    /// The bytes of one JSON value (not yet validated).
    Record(&'a [u8]),
    /// A record over the size limit (skipped) or garbage between values.
    Bad(crate::ErrorKind),
}

/// A buffered byte source with one-byte lookahead.
struct Bytes<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
}

impl<R: Read> Bytes<R> {
    fn new(inner: R) -> Self {
        Bytes { inner, buf: vec![0; 64 * 1024].into_boxed_slice(), pos: 0, len: 0 }
    }

    #[inline]
    fn fill(&mut self) -> io::Result<bool> {
        if self.pos < self.len {
            return Ok(true);
        }
        loop {
            match self.inner.read(&mut self.buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.pos = 0;
                    self.len = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    #[inline]
    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(if self.fill()? { Some(self.buf[self.pos]) } else { None })
    }

    #[inline]
    fn next(&mut self) -> io::Result<Option<u8>> {
        if self.fill()? {
            let b = self.buf[self.pos];
            self.pos += 1;
            Ok(Some(b))
        } else {
            Ok(None)
        }
    }

    /// Skip whitespace (and commas when `commas`), returning the next byte without consuming it.
    fn skip_ws(&mut self, commas: bool) -> io::Result<Option<u8>> {
        loop {
            match self.peek()? {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.pos += 1,
                Some(b',') if commas => self.pos += 1,
                // A UTF-8 byte order mark at the very start (or anywhere between values).
                Some(0xEF | 0xBB | 0xBF) => self.pos += 1,
                other => return Ok(other),
            }
        }
    }
}

/// Bytes of the current record; stops growing past `limit` (the record is then reported as too
/// large but still consumed, so the scan stays in step).
struct Capture {
    out: Vec<u8>,
    limit: usize,
    overflow: bool,
}

impl Capture {
    #[inline]
    fn push(&mut self, b: u8) {
        if self.out.len() < self.limit {
            self.out.push(b);
        } else {
            self.overflow = true;
        }
    }
    #[inline]
    fn extend(&mut self, bytes: &[u8]) {
        let room = self.limit.saturating_sub(self.out.len());
        if bytes.len() > room {
            self.overflow = true;
        }
        self.out.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
    fn reset(&mut self) {
        self.out.clear();
        self.overflow = false;
    }
}

/// Outcome of scanning a whole stream.
pub(crate) enum End {
    /// The stream ended cleanly between values.
    Clean,
    /// The stream ended inside a value (truncated file).
    Truncated,
}

/// Scan `reader`, calling `each` for every record. An I/O error stops the scan and is returned.
pub(crate) fn scan<R: Read>(reader: R, limit: usize, mut each: impl FnMut(Piece<'_>)) -> io::Result<End> {
    let mut src = Bytes::new(reader);
    let mut cap = Capture { out: Vec::with_capacity(8 * 1024), limit, overflow: false };
    loop {
        let Some(first) = src.skip_ws(false)? else { return Ok(End::Clean) };
        match first {
            b'{' => {
                src.pos += 1;
                cap.reset();
                cap.push(b'{');
                let start = try_records(&mut src, &mut cap)?;
                if let Start::Records = start {
                    // Stream the array's elements.
                    loop {
                        match src.skip_ws(true)? {
                            None => return Ok(End::Truncated),
                            Some(b']') => {
                                src.pos += 1;
                                break;
                            }
                            Some(_) => {
                                cap.reset();
                                if !value(&mut src, &mut cap)? {
                                    return Ok(End::Truncated);
                                }
                                emit(&cap, &mut each);
                            }
                        }
                    }
                    // Skip the rest of the enclosing object.
                    cap.reset();
                    cap.limit = 0;
                    let done = rest_of_object(&mut src, &mut cap)?;
                    cap.limit = limit;
                    if !done {
                        return Ok(End::Truncated);
                    }
                } else {
                    // An ordinary object: finish capturing it.
                    let in_str = matches!(start, Start::Other { in_str: true });
                    if !finish(&mut src, &mut cap, 1, in_str)? {
                        return Ok(End::Truncated);
                    }
                    emit(&cap, &mut each);
                }
            }
            b'[' => {
                src.pos += 1;
                loop {
                    match src.skip_ws(true)? {
                        None => return Ok(End::Truncated),
                        Some(b']') => {
                            src.pos += 1;
                            break;
                        }
                        Some(_) => {
                            cap.reset();
                            if !value(&mut src, &mut cap)? {
                                return Ok(End::Truncated);
                            }
                            emit(&cap, &mut each);
                        }
                    }
                }
            }
            _ => {
                // Garbage between values: report once and resynchronise at the next line.
                let mut shown = Vec::new();
                while let Some(b) = src.next()? {
                    if b == b'\n' {
                        break;
                    }
                    if shown.len() < 40 {
                        shown.push(b);
                    }
                }
                each(Piece::Bad(crate::ErrorKind::Json(format!(
                    "unexpected text between JSON values: {:?}",
                    String::from_utf8_lossy(&shown)
                ))));
            }
        }
    }
}

fn emit(cap: &Capture, each: &mut impl FnMut(Piece<'_>)) {
    if cap.overflow {
        each(Piece::Bad(crate::ErrorKind::TooLarge(cap.limit)));
    } else {
        each(Piece::Record(&cap.out));
    }
}

/// How a top-level object begins.
enum Start {
    /// `{"Records": [` (consumed).
    Records,
    /// Anything else; what was consumed is in the capture, which stopped inside a string or not.
    Other { in_str: bool },
}

/// After a top-level `{`: read the first key.
fn try_records<R: Read>(src: &mut Bytes<R>, cap: &mut Capture) -> io::Result<Start> {
    const KEY: &[u8] = b"Records";
    // whitespace before the key
    while let Some(b @ (b' ' | b'\t' | b'\r' | b'\n')) = src.peek()? {
        src.pos += 1;
        cap.push(b);
    }
    if src.peek()? != Some(b'"') {
        return Ok(Start::Other { in_str: false });
    }
    src.pos += 1;
    cap.push(b'"');
    for &k in KEY {
        match src.peek()? {
            Some(b) if b == k => {
                src.pos += 1;
                cap.push(b);
            }
            _ => return Ok(Start::Other { in_str: true }),
        }
    }
    if src.peek()? != Some(b'"') {
        return Ok(Start::Other { in_str: true });
    }
    src.pos += 1;
    cap.push(b'"');
    while let Some(b @ (b' ' | b'\t' | b'\r' | b'\n' | b':')) = src.peek()? {
        src.pos += 1;
        cap.push(b);
    }
    if src.peek()? != Some(b'[') {
        return Ok(Start::Other { in_str: false });
    }
    src.pos += 1;
    Ok(Start::Records)
}

/// Capture one JSON value starting at the next byte. Returns false if the stream ended first.
fn value<R: Read>(src: &mut Bytes<R>, cap: &mut Capture) -> io::Result<bool> {
    let Some(first) = src.next()? else { return Ok(false) };
    cap.push(first);
    match first {
        b'{' | b'[' => finish(src, cap, 1, false),
        b'"' => finish(src, cap, 0, true),
        _ => {
            // A scalar: up to the next delimiter, which is left in place.
            while let Some(b) = src.peek()? {
                if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                    return Ok(true);
                }
                src.pos += 1;
                cap.push(b);
            }
            Ok(true)
        }
    }
}

/// Continue capturing until nesting depth returns to zero (or, for a bare string, until its
/// closing quote). Returns false if the stream ended first. Works a buffer at a time; inside
/// strings it skips eight bytes at a time to the next quote or backslash.
fn finish<R: Read>(
    src: &mut Bytes<R>,
    cap: &mut Capture,
    mut depth: usize,
    mut in_str: bool,
) -> io::Result<bool> {
    let string_only = in_str && depth == 0;
    let mut esc = false;
    loop {
        if !src.fill()? {
            return Ok(false);
        }
        let chunk = &src.buf[src.pos..src.len];
        let mut done = None;
        let mut i = 0;
        while i < chunk.len() {
            if in_str {
                if esc {
                    esc = false;
                    i += 1;
                    continue;
                }
                let Some(p) = quote_or_backslash(&chunk[i..]) else { break };
                i += p;
                if chunk[i] == b'\\' {
                    esc = true;
                } else {
                    in_str = false;
                    if string_only {
                        done = Some(i + 1);
                        break;
                    }
                }
            } else {
                match chunk[i] {
                    b'"' => in_str = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            done = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        let end = done.unwrap_or(chunk.len());
        cap.extend(&chunk[..end]);
        src.pos += end;
        if done.is_some() {
            return Ok(true);
        }
    }
}

/// The index of the first `"` or `\\` in `s`, eight bytes at a time.
#[inline]
fn quote_or_backslash(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const SLASHES: u64 = ONES * b'\\' as u64;
    let mut words = s.chunks_exact(8);
    let mut base = 0;
    for w in &mut words {
        let Ok(w) = <[u8; 8]>::try_from(w) else { break };
        let w = u64::from_le_bytes(w);
        let (q, b) = (w ^ QUOTES, w ^ SLASHES);
        // A zero byte in q or b is a match; the lowest flagged byte is the first match (the
        // borrows of this test only run upwards, past a real zero).
        let hits = ((q.wrapping_sub(ONES) & !q) | (b.wrapping_sub(ONES) & !b)) & HIGH;
        if hits != 0 {
            return Some(base + (hits.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    words.remainder().iter().position(|&c| c == b'"' || c == b'\\').map(|p| base + p)
}

/// After the `Records` array: consume the rest of the enclosing object (depth 1).
fn rest_of_object<R: Read>(src: &mut Bytes<R>, cap: &mut Capture) -> io::Result<bool> {
    finish(src, cap, 1, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(input: &str) -> (Vec<String>, usize, bool) {
        let mut out = Vec::new();
        let mut bad = 0;
        let end = scan(input.as_bytes(), 1 << 20, |p| match p {
            Piece::Record(b) => out.push(String::from_utf8_lossy(b).into_owned()),
            Piece::Bad(_) => bad += 1,
        })
        .unwrap();
        (out, bad, matches!(end, End::Clean))
    }

    #[test]
    fn records_array_is_streamed_element_by_element() {
        let (p, bad, clean) =
            pieces(r#" {"Records": [ {"a": "}]{\""}, {"b": [1, {"c": 2}]} ], "x": {"y": "]"}} "#);
        assert_eq!(bad, 0);
        assert!(clean);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0], r#"{"a": "}]{\""}"#);
        assert_eq!(p[1], r#"{"b": [1, {"c": 2}]}"#);
    }

    #[test]
    fn other_objects_arrays_and_ndjson_are_whole_values() {
        let (p, _, clean) = pieces("{\"Recordsx\": [1]}\n{\"a\":1}{\"b\":2}\n[{\"c\":3}, 4]");
        assert!(clean);
        assert_eq!(p, vec!["{\"Recordsx\": [1]}", "{\"a\":1}", "{\"b\":2}", "{\"c\":3}", "4"]);
    }

    #[test]
    fn quote_or_backslash_finds_the_first() {
        for len in 0..40 {
            for at in 0..len {
                for c in [b'"', b'\\'] {
                    let mut s = vec![b'a'; len];
                    s[at] = c;
                    // A second match later, and bytes that differ from the targets by one bit.
                    if at + 3 < len {
                        s[at + 3] = b'"';
                    }
                    if at > 0 {
                        s[at - 1] = b'"' ^ 0x80;
                    }
                    assert_eq!(quote_or_backslash(&s), Some(at), "{len} {at} {c}");
                }
            }
            assert_eq!(quote_or_backslash(&vec![b'!'; len]), None);
            assert_eq!(quote_or_backslash(&vec![0u8; len]), None);
            assert_eq!(quote_or_backslash(&vec![0xFFu8; len]), None);
        }
    }

    #[test]
    fn strings_across_buffer_boundaries() {
        // Escapes and quotes at every offset relative to the 64 KiB buffer edge.
        for pad in 65_500..65_560 {
            let text =
                format!("{{\"Records\":[{{\"a\":\"{}\\\"}}]{{\\\\\"}},{{\"b\":1}}]}}", "x".repeat(pad));
            let (p, bad, clean) = pieces(&text);
            assert_eq!(bad, 0);
            assert!(clean);
            assert_eq!(p.len(), 2, "{pad}");
            assert_eq!(p[1], "{\"b\":1}");
        }
    }

    #[test]
    fn truncation_and_oversize_are_reported() {
        let (p, _, clean) = pieces(r#"{"Records":[{"a":1},{"b":"#);
        assert_eq!(p.len(), 1);
        assert!(!clean);
        let mut bad = Vec::new();
        let mut ok = 0;
        scan(r#"{"Records":[{"a":"0123456789"},{"b":1}]}"#.as_bytes(), 10, |p| match p {
            Piece::Record(_) => ok += 1,
            Piece::Bad(k) => bad.push(k),
        })
        .unwrap();
        assert_eq!(ok, 1);
        assert_eq!(bad, vec![crate::ErrorKind::TooLarge(10)]);
    }
}
