//! Streaming the records of an input file: JSON Lines, or one JSON array.
//!
//! Memory stays flat for any file size: records are read one at a time into a buffer that
//! never grows past the record size limit. A longer record is skipped (its bytes are counted,
//! not kept) and reported as too large.
//!
//! - **JSON Lines**: one record per line; blank lines are ignored; a `\r\n` ending is fine.
//!   A broken line is reported and the next line is read as usual.
//! - **JSON array**: a file whose first non-blank character is `[` is one array of records,
//!   split element by element without reading the whole array. A record's bytes are still
//!   checked by the JSON parser, so a broken record is reported and reading goes on; only a
//!   break in the array itself (unbalanced brackets or quotes, text after the closing `]`)
//!   stops reading, with the line where it happened.
//!
//! Every record carries its ordinal (1-based position among the records; the key of the
//! journal) and the line it starts on (for messages).

use std::fmt;
use std::io::{self, BufRead, Read};

use sha2::{Digest, Sha256};

/// How the records of an input are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[non_exhaustive]
pub enum InputFormat {
    /// JSON array if the first non-blank character is `[`, JSON Lines otherwise.
    #[default]
    Auto,
    /// One JSON object per line.
    #[value(name = "jsonl")]
    JsonLines,
    /// One JSON array of objects.
    #[value(name = "array")]
    JsonArray,
}

/// One record as read from the input, before any checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// 1-based position among the input's records (blank lines do not count).
    pub ordinal: u64,
    /// 1-based line on which the record starts.
    pub line: u64,
    /// The record's bytes, without line ending; empty when `oversize` is set.
    pub bytes: Vec<u8>,
    /// The record's full size in bytes when it is over the limit (its bytes were not kept).
    pub oversize: Option<u64>,
}

/// A problem that stops reading the input.
#[derive(Debug)]
#[non_exhaustive]
pub enum InputError {
    /// Reading failed.
    Io(io::Error),
    /// A JSON array input is broken in a way that hides where the next record starts.
    BrokenArray {
        /// 1-based line of the problem.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io(error) => write!(f, "cannot read the input: {error}"),
            InputError::BrokenArray { line, message } => write!(
                f,
                "line {line}: the JSON array is broken ({message}); no record after this point can be read"
            ),
        }
    }
}

impl std::error::Error for InputError {}

impl From<io::Error> for InputError {
    fn from(error: io::Error) -> Self {
        InputError::Io(error)
    }
}

/// Bytes between two checkpoints of a [`HashingReader`]: small enough that a second read
/// can vouch for a record soon after reading it (and buffers little meanwhile), large enough
/// that the checkpoints of a 1 GB input take 128 KiB.
pub const CHECKPOINT_BYTES: u64 = 256 * 1024;

/// A reader that feeds every byte it reads into a SHA-256, to tie a journal to its input.
///
/// It also keeps the SHA-256 of every prefix whose length is a multiple of
/// [`CHECKPOINT_BYTES`] (a copy of the running hash, finished): a second read of the input
/// compares them as it goes, and so knows that the bytes read so far are the ones read the
/// first time without waiting for the end of the input.
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
    checkpoints: Vec<[u8; 32]>,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
            checkpoints: Vec::new(),
        }
    }

    /// Bytes read (and hashed) so far.
    pub fn hashed(&self) -> u64 {
        self.bytes
    }

    /// The SHA-256 of each prefix of a multiple of [`CHECKPOINT_BYTES`] read so far.
    pub fn checkpoints(&self) -> &[[u8; 32]] {
        &self.checkpoints
    }

    /// Reads the rest of the input, then returns its hex SHA-256 and length in bytes.
    pub fn finish(mut self) -> io::Result<InputDigest> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(InputDigest {
            sha256: hex(&self.hasher.finalize()),
            bytes: self.bytes,
            checkpoints: self.checkpoints,
        })
    }

    fn absorb(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let to_checkpoint = CHECKPOINT_BYTES - self.bytes % CHECKPOINT_BYTES;
            let take = usize::try_from(to_checkpoint).map_or(data.len(), |n| n.min(data.len()));
            self.hasher.update(&data[..take]);
            self.bytes += take as u64;
            data = &data[take..];
            if self.bytes.is_multiple_of(CHECKPOINT_BYTES) {
                self.checkpoints.push(self.hasher.clone().finalize().into());
            }
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.absorb(&buf[..read]);
        Ok(read)
    }
}

/// The identity of an input's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputDigest {
    /// Lowercase hex SHA-256 of every byte.
    pub sha256: String,
    /// Length in bytes.
    pub bytes: u64,
    /// The SHA-256 of each prefix of a multiple of [`CHECKPOINT_BYTES`] (see
    /// [`HashingReader`]).
    pub checkpoints: Vec<[u8; 32]>,
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Streams the records of an input; see the module docs.
#[derive(Debug)]
pub struct RecordReader<R> {
    reader: R,
    format: InputFormat,
    max_record_bytes: usize,
    /// Line the reader is on (1-based).
    line: u64,
    ordinal: u64,
    array: ArrayState,
    /// Set after the end or a fatal error; the iterator then returns `None`.
    finished: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    /// Before the opening `[` (detection has not run yet).
    Start,
    /// Expecting the first element or `]`.
    FirstElement,
    /// Expecting `,` or `]`.
    AfterElement,
    /// Expecting an element (after a `,`).
    NextElement,
    /// After the closing `]`.
    Closed,
}

impl<R: BufRead> RecordReader<R> {
    /// Reads records from `reader`; a record longer than `max_record_bytes` is not kept.
    pub fn new(reader: R, format: InputFormat, max_record_bytes: usize) -> Self {
        Self {
            reader,
            format,
            max_record_bytes,
            line: 1,
            ordinal: 0,
            array: ArrayState::Start,
            finished: false,
        }
    }

    /// The format in use; `Auto` until the first record has been asked for.
    pub fn format(&self) -> InputFormat {
        self.format
    }

    /// Gives back the underlying reader (e.g. to hash the rest of the input).
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// The underlying reader (e.g. to see how much of the input has been hashed).
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    fn detect(&mut self) -> io::Result<()> {
        if self.format != InputFormat::Auto {
            return Ok(());
        }
        // Look past a UTF-8 byte-order mark and blank space, without consuming records.
        loop {
            let buffer = self.reader.fill_buf()?;
            let Some(&first) = buffer.first() else {
                self.format = InputFormat::JsonLines;
                return Ok(());
            };
            if buffer.starts_with(b"\xEF\xBB\xBF") {
                self.reader.consume(3);
                continue;
            }
            match first {
                b'\n' => {
                    self.line += 1;
                    self.reader.consume(1);
                }
                b' ' | b'\t' | b'\r' => self.reader.consume(1),
                b'[' => {
                    self.format = InputFormat::JsonArray;
                    return Ok(());
                }
                _ => {
                    self.format = InputFormat::JsonLines;
                    return Ok(());
                }
            }
        }
    }

    fn next_line_record(&mut self) -> io::Result<Option<RawRecord>> {
        loop {
            let start_line = self.line;
            let mut bytes = Vec::new();
            let Some(total) =
                read_line_capped(&mut self.reader, &mut bytes, self.max_record_bytes)?
            else {
                return Ok(None);
            };
            self.line += 1;
            if start_line == 1 && bytes.starts_with(b"\xEF\xBB\xBF") {
                bytes.drain(..3);
            }
            if total as usize <= self.max_record_bytes && bytes.iter().all(u8::is_ascii_whitespace)
            {
                continue;
            }
            self.ordinal += 1;
            let oversize = (total > self.max_record_bytes as u64).then(|| {
                bytes = Vec::new();
                total
            });
            return Ok(Some(RawRecord {
                ordinal: self.ordinal,
                line: start_line,
                bytes,
                oversize,
            }));
        }
    }

    /// Next byte that is not blank space, counting lines; `None` at the end.
    fn skip_blank(&mut self) -> io::Result<Option<u8>> {
        loop {
            let buffer = self.reader.fill_buf()?;
            let Some(&byte) = buffer.first() else {
                return Ok(None);
            };
            match byte {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => return Ok(Some(byte)),
            }
            self.reader.consume(1);
        }
    }

    fn broken(&self, message: impl Into<String>) -> InputError {
        InputError::BrokenArray {
            line: self.line,
            message: message.into(),
        }
    }

    fn next_array_record(&mut self) -> Result<Option<RawRecord>, InputError> {
        if self.array == ArrayState::Start {
            // Detection skips a byte-order mark, but a pass told the format up front (the
            // import's sending pass) starts here and must skip it too.
            if self.reader.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
                self.reader.consume(3);
            }
        }
        loop {
            let next = self.skip_blank()?;
            match (self.array, next) {
                (ArrayState::Start, Some(b'[')) => {
                    self.reader.consume(1);
                    self.array = ArrayState::FirstElement;
                }
                (ArrayState::Start, _) => return Err(self.broken("expected `[` at the start")),
                (ArrayState::FirstElement, Some(b']')) | (ArrayState::AfterElement, Some(b']')) => {
                    self.reader.consume(1);
                    self.array = ArrayState::Closed;
                }
                (ArrayState::AfterElement, Some(b',')) => {
                    self.reader.consume(1);
                    self.array = ArrayState::NextElement;
                }
                (ArrayState::AfterElement, Some(other)) => {
                    return Err(self.broken(format!(
                        "expected `,` or `]` between records, found `{}`",
                        char::from(other).escape_default()
                    )));
                }
                (ArrayState::NextElement, Some(b']')) => {
                    return Err(self.broken("a `,` right before the closing `]`"));
                }
                (ArrayState::NextElement, Some(b',')) | (ArrayState::FirstElement, Some(b',')) => {
                    return Err(self.broken("an empty record between commas"));
                }
                (ArrayState::FirstElement, Some(_)) | (ArrayState::NextElement, Some(_)) => {
                    let record = self.read_array_element()?;
                    self.array = ArrayState::AfterElement;
                    return Ok(Some(record));
                }
                (ArrayState::Closed, None) => return Ok(None),
                (ArrayState::Closed, Some(other)) => {
                    return Err(self.broken(format!(
                        "text after the closing `]`: `{}`",
                        char::from(other).escape_default()
                    )));
                }
                (_, None) => return Err(self.broken("the input ends before the closing `]`")),
            }
        }
    }

    /// Reads one element, up to (not including) the `,` or `]` that ends it.
    fn read_array_element(&mut self) -> Result<RawRecord, InputError> {
        let start_line = self.line;
        let mut scanner = ElementScanner::default();
        let mut bytes = Vec::new();
        let mut total: u64 = 0;
        'outer: loop {
            let buffer = self.reader.fill_buf()?;
            if buffer.is_empty() {
                if scanner.complete {
                    break 'outer;
                }
                return Err(self.broken("the input ends inside a record"));
            }
            let mut used = 0;
            for &byte in buffer {
                if scanner.ends_before(byte) {
                    break;
                }
                used += 1;
                if byte == b'\n' {
                    self.line += 1;
                }
            }
            let keep = (self.max_record_bytes as u64).saturating_sub(total) as usize;
            bytes.extend_from_slice(&buffer[..used.min(keep)]);
            total += used as u64;
            let ended = used < buffer.len();
            self.reader.consume(used);
            if ended {
                break 'outer;
            }
        }
        // Trailing blank space belongs to the separator, not the record.
        while bytes.last().is_some_and(u8::is_ascii_whitespace) {
            bytes.pop();
        }
        self.ordinal += 1;
        let oversize = (total > self.max_record_bytes as u64).then(|| {
            bytes = Vec::new();
            total
        });
        Ok(RawRecord {
            ordinal: self.ordinal,
            line: start_line,
            bytes,
            oversize,
        })
    }
}

/// Tracks strings and nesting to find where an array element ends.
#[derive(Debug, Default)]
struct ElementScanner {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// A complete object, array or string was read at the top level.
    complete: bool,
}

impl ElementScanner {
    /// Feeds `byte`; true when `byte` is not part of the element: the `,` or `]` after it,
    /// or anything but blank space after a complete value (which the array then reports).
    fn ends_before(&mut self, byte: u8) -> bool {
        if self.in_string {
            match (self.escaped, byte) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => {
                    self.in_string = false;
                    self.complete = self.depth == 0;
                }
                _ => {}
            }
            return false;
        }
        if self.complete && !byte.is_ascii_whitespace() {
            return true;
        }
        match byte {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            // A stray `}` stays in the record, whose parsing then reports it.
            b'}' | b']' if self.depth == 0 => return byte == b']',
            b'}' | b']' => {
                self.depth -= 1;
                self.complete = self.depth == 0;
            }
            b',' if self.depth == 0 => return true,
            _ => {}
        }
        false
    }
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<RawRecord, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let result = match self.detect() {
            Err(error) => Err(InputError::Io(error)),
            Ok(()) => match self.format {
                InputFormat::JsonArray => self.next_array_record(),
                _ => self.next_line_record().map_err(InputError::Io),
            },
        };
        match result {
            Ok(Some(record)) => Some(Ok(record)),
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(error) => {
                self.finished = true;
                Some(Err(error))
            }
        }
    }
}

/// Reads one line (without its `\n` or `\r\n`) into `out`, keeping at most `cap` bytes.
///
/// Returns the line's full length (as if nothing were dropped), or `None` at the end of input.
pub fn read_line_capped<R: BufRead>(
    reader: &mut R,
    out: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Option<u64>> {
    out.clear();
    let mut total: u64 = 0;
    let mut saw_any = false;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if buffer.is_empty() {
            break;
        }
        saw_any = true;
        let (chunk, found_newline) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (&buffer[..at], true),
            None => (buffer, false),
        };
        let room = cap.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        total += chunk.len() as u64;
        let used = chunk.len() + usize::from(found_newline);
        reader.consume(used);
        if found_newline {
            break;
        }
    }
    if !saw_any {
        return Ok(None);
    }
    if out.last() == Some(&b'\r') && total <= cap as u64 {
        out.pop();
        total -= 1;
    }
    Ok(Some(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str, format: InputFormat, cap: usize) -> Vec<Result<RawRecord, String>> {
        RecordReader::new(text.as_bytes(), format, cap)
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    fn texts(records: &[Result<RawRecord, String>]) -> Vec<(u64, u64, String)> {
        records
            .iter()
            .map(|r| match r {
                Ok(r) => (
                    r.ordinal,
                    r.line,
                    match r.oversize {
                        Some(size) => format!("<{size} bytes>"),
                        None => String::from_utf8_lossy(&r.bytes).into_owned(),
                    },
                ),
                Err(e) => (0, 0, format!("error: {e}")),
            })
            .collect()
    }

    #[test]
    fn json_lines_skip_blank_lines_and_keep_line_numbers() {
        let records = read_all(
            "{\"a\":1}\n\n  \n{\"b\":2}\r\n{\"c\":3}",
            InputFormat::Auto,
            100,
        );
        assert_eq!(
            texts(&records),
            vec![
                (1, 1, "{\"a\":1}".into()),
                (2, 4, "{\"b\":2}".into()),
                (3, 5, "{\"c\":3}".into())
            ]
        );
    }

    #[test]
    fn an_oversized_line_is_counted_not_kept() {
        let long = "x".repeat(50);
        let records = read_all(&format!("{{}}\n{long}\n{{}}\n"), InputFormat::JsonLines, 10);
        assert_eq!(
            texts(&records),
            vec![
                (1, 1, "{}".into()),
                (2, 2, "<50 bytes>".into()),
                (3, 3, "{}".into())
            ]
        );
    }

    #[test]
    fn a_tiny_buffer_still_reads_whole_lines() {
        let text = "{\"a\":\"0123456789\"}\n{\"b\":2}\n";
        let reader = io::BufReader::with_capacity(3, text.as_bytes());
        let records: Vec<_> = RecordReader::new(reader, InputFormat::Auto, 1000)
            .map(|r| String::from_utf8(r.unwrap().bytes).unwrap())
            .collect();
        assert_eq!(records, vec!["{\"a\":\"0123456789\"}", "{\"b\":2}"]);
    }

    #[test]
    fn a_byte_order_mark_is_skipped_when_the_array_format_is_given() {
        let records = read_all("\u{feff}[{\"a\":1}]", InputFormat::JsonArray, 100);
        assert_eq!(texts(&records), vec![(1, 1, "{\"a\":1}".into())]);
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let records = read_all("\u{feff}{\"a\":1}\n", InputFormat::Auto, 100);
        assert_eq!(texts(&records), vec![(1, 1, "{\"a\":1}".into())]);
        let records = read_all("\u{feff}[{\"a\":1}]", InputFormat::Auto, 100);
        assert_eq!(texts(&records), vec![(1, 1, "{\"a\":1}".into())]);
    }

    #[test]
    fn arrays_are_split_by_element_with_strings_and_nesting() {
        let text = "\n[\n  {\"a\": \"x,]}\\\"\"},\n  {\"b\": [1, {\"c\": 2}]}, [3],\n\"s\" ]\n";
        let reader = io::BufReader::with_capacity(4, text.as_bytes());
        let records: Vec<_> = RecordReader::new(reader, InputFormat::Auto, 1000)
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        assert_eq!(
            texts(&records),
            vec![
                (1, 3, "{\"a\": \"x,]}\\\"\"}".into()),
                (2, 4, "{\"b\": [1, {\"c\": 2}]}".into()),
                (3, 4, "[3]".into()),
                (4, 5, "\"s\"".into()),
            ]
        );
    }

    #[test]
    fn empty_arrays_and_inputs_have_no_records() {
        assert!(read_all("[]", InputFormat::Auto, 10).is_empty());
        assert!(read_all(" [ \n ] \n", InputFormat::Auto, 10).is_empty());
        assert!(read_all("", InputFormat::Auto, 10).is_empty());
        assert!(read_all("\n\n", InputFormat::Auto, 10).is_empty());
    }

    #[test]
    fn an_oversized_array_element_is_counted_not_kept() {
        let text = format!("[{{\"a\":\"{}\"}}, {{}}]", "y".repeat(40));
        assert_eq!(
            texts(&read_all(&text, InputFormat::Auto, 10)),
            vec![(1, 1, "<48 bytes>".into()), (2, 1, "{}".into())]
        );
    }

    #[test]
    fn broken_arrays_stop_with_the_line() {
        let cases = [
            (
                "[{}, ]",
                "line 1: the JSON array is broken (a `,` right before the closing `]`)",
            ),
            (
                "[{},\n{}\n{}]",
                "line 3: the JSON array is broken (expected `,` or `]` between records, found `{`)",
            ),
            (
                "[{}",
                "line 1: the JSON array is broken (the input ends before the closing `]`)",
            ),
            (
                "[{\"a\":1}\n",
                "line 2: the JSON array is broken (the input ends before the closing `]`)",
            ),
            (
                "[{\"a\":\"1}]",
                "line 1: the JSON array is broken (the input ends inside a record)",
            ),
            (
                "[{}] x",
                "line 1: the JSON array is broken (text after the closing `]`: `x`)",
            ),
            (
                "[,{}]",
                "line 1: the JSON array is broken (an empty record between commas)",
            ),
        ];
        for (text, expected) in cases {
            let records = read_all(text, InputFormat::Auto, 100);
            let last = records.last().unwrap().as_ref().unwrap_err();
            assert!(last.starts_with(expected), "{text:?}: {last}");
        }
    }

    #[test]
    fn checkpoints_are_the_hashes_of_the_prefixes_however_the_input_is_read() {
        let data: Vec<u8> = (0..CHECKPOINT_BYTES * 2 + 7)
            .map(|i| (i % 251) as u8)
            .collect();
        let whole = HashingReader::new(&data[..]).finish().unwrap();
        assert_eq!(whole.checkpoints.len(), 2);
        let prefix: [u8; 32] = Sha256::digest(&data[..CHECKPOINT_BYTES as usize]).into();
        assert_eq!(whole.checkpoints[0], prefix);
        let mut reader = HashingReader::new(&data[..]);
        let mut small = vec![0u8; 1000];
        while reader.read(&mut small).unwrap() > 0 {}
        assert_eq!(reader.hashed(), data.len() as u64);
        assert_eq!(reader.finish().unwrap(), whole);
    }

    #[test]
    fn the_hashing_reader_hashes_every_byte() {
        let mut reader = HashingReader::new(&b"abc"[..]);
        let mut first = [0u8; 1];
        reader.read_exact(&mut first).unwrap();
        let digest = reader.finish().unwrap();
        assert_eq!(digest.bytes, 3);
        assert_eq!(
            digest.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
