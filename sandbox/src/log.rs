//! Container logs: a guest's stdout and stderr go to one log per container run, in the CRI
//! format the kubelet writes (`<RFC 3339 time> <stream> <F|P> <content>`; `P` marks a partial
//! line). A log starts in memory and goes to its file only once it is large ([`INLINE_MAX`])
//! or someone asks ([`LogWriter::spill`], as the node does when a run lasts): a short run's log
//! comes back from [`LogWriter::close`] to be stored with its pod, and no file is made for it.
//! The log is capped in size; past the cap one marker line says so and the rest is dropped —
//! the guest never sees an error for it. Bytes are kept as written (binary and invalid UTF-8
//! included); only newlines split lines.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// Longest line kept whole; longer lines are split into partial (`P`) records.
const MAX_LINE: usize = 16 * 1024;

/// Bytes of log kept in memory at most; past them the log goes to its file.
pub const INLINE_MAX: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Where a log's records go: memory until it spills, then its file.
enum Out {
    Memory(Vec<u8>),
    File(BufWriter<File>),
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Out::Memory(v) => v.write(buf),
            Out::File(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::Memory(_) => Ok(()),
            Out::File(f) => f.flush(),
        }
    }
}

struct Inner {
    out: Out,
    /// The file the log spills to.
    path: std::path::PathBuf,
    /// Asked to spill while empty: the file is made at the first write.
    spill_at_write: bool,
    limit: u64,
    written: u64,
    truncated: bool,
    pending: [Vec<u8>; 2],
    error: Option<io::Error>,
}

/// The writer of one container run's log, shared by its stdout and stderr.
#[derive(Clone)]
pub struct LogWriter {
    inner: Arc<Mutex<Inner>>,
}

/// Creates (truncates) a log file, making its folder when missing.
fn create_file(path: &Path) -> io::Result<File> {
    match File::create(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // The folder is made once, not per run.
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            File::create(path)
        }
        other => other,
    }
}

impl LogWriter {
    /// Creates (truncates) the log file; `limit` caps the bytes of guest output kept.
    pub fn create(path: &Path, limit: u64) -> io::Result<LogWriter> {
        let file = create_file(path)?;
        Ok(LogWriter::with(
            Out::File(BufWriter::new(file)),
            path,
            limit,
        ))
    }

    /// A log kept in memory until it outgrows [`INLINE_MAX`] or [`LogWriter::spill`] is
    /// called; then it goes to `path`. `limit` caps the bytes of guest output kept.
    pub fn in_memory(path: &Path, limit: u64) -> LogWriter {
        LogWriter::with(Out::Memory(Vec::new()), path, limit)
    }

    fn with(out: Out, path: &Path, limit: u64) -> LogWriter {
        LogWriter {
            inner: Arc::new(Mutex::new(Inner {
                out,
                path: path.to_path_buf(),
                spill_at_write: false,
                limit,
                written: 0,
                truncated: false,
                pending: [Vec::new(), Vec::new()],
                error: None,
            })),
        }
    }

    /// Moves the log to its file (nothing happens when it is there already), so that readers
    /// can follow it.
    pub fn spill(&self) {
        let mut inner = self.lock();
        inner.spill();
        inner.flush();
    }

    pub fn sink(&self, stream: Stream) -> LogSink {
        LogSink {
            writer: self.clone(),
            stream,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, stream: Stream, mut bytes: &[u8]) {
        let mut inner = self.lock();
        if inner.truncated {
            return;
        }
        let room = inner.limit.saturating_sub(inner.written);
        let over = bytes.len() as u64 > room;
        if over {
            bytes = &bytes[..room as usize];
        }
        inner.written += bytes.len() as u64;
        let idx = stream as usize;
        let mut start = 0;
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                let mut line = std::mem::take(&mut inner.pending[idx]);
                line.extend_from_slice(&bytes[start..i]);
                inner.record(stream, true, &line);
                start = i + 1;
            }
        }
        inner.pending[idx].extend_from_slice(&bytes[start..]);
        while inner.pending[idx].len() >= MAX_LINE {
            let rest = inner.pending[idx].split_off(MAX_LINE);
            let chunk = std::mem::replace(&mut inner.pending[idx], rest);
            inner.record(stream, false, &chunk);
        }
        if over {
            inner.truncated = true;
            inner.flush_pending();
            let limit = inner.limit;
            let marker = format!("[wasmjob] log truncated: output past {limit} bytes was dropped");
            inner.record(Stream::Stderr, true, marker.as_bytes());
        }
        inner.flush();
    }

    /// Writes out any unterminated line and flushes the file; returns the log when it is
    /// still in memory (no file was made for it).
    pub fn close(&self) -> io::Result<Option<Vec<u8>>> {
        let mut inner = self.lock();
        inner.flush_pending();
        inner.flush();
        if let Some(e) = inner.error.take() {
            return Err(e);
        }
        Ok(match &mut inner.out {
            Out::Memory(v) => Some(std::mem::take(v)),
            Out::File(_) => None,
        })
    }
}

impl Inner {
    fn record(&mut self, stream: Stream, full: bool, content: &[u8]) {
        let ts = jiff::Timestamp::now();
        let tag = if full { "F" } else { "P" };
        let r = write!(self.out, "{ts:.9} {} {tag} ", stream.name())
            .and_then(|_| self.out.write_all(content))
            .and_then(|_| self.out.write_all(b"\n"));
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }

    fn flush_pending(&mut self) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let line = std::mem::take(&mut self.pending[stream as usize]);
            if !line.is_empty() {
                self.record(stream, false, &line);
            }
        }
    }

    fn flush(&mut self) {
        if let Out::Memory(v) = &self.out
            && (v.len() > INLINE_MAX || (self.spill_at_write && !v.is_empty()))
        {
            self.spill();
        }
        if let Err(e) = self.out.flush() {
            self.error.get_or_insert(e);
        }
    }

    fn spill(&mut self) {
        let Out::Memory(kept) = &mut self.out else {
            return;
        };
        if kept.is_empty() {
            // No file for a log with nothing in it (yet).
            self.spill_at_write = true;
            return;
        }
        let kept = std::mem::take(kept);
        match create_file(&self.path) {
            Ok(f) => {
                let mut f = BufWriter::new(f);
                if let Err(e) = f.write_all(&kept) {
                    self.error.get_or_insert(e);
                }
                self.out = Out::File(f);
            }
            Err(e) => {
                // Kept in memory: the run goes on, and the error is reported at its end.
                self.out = Out::Memory(kept);
                self.error.get_or_insert(e);
            }
        }
    }
}

/// One stream (stdout or stderr) of a container, as WASI sees it.
#[derive(Clone)]
pub struct LogSink {
    writer: LogWriter,
    stream: Stream,
}

impl IsTerminal for LogSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for LogSink {
    async fn ready(&mut self) {}
}

impl OutputStream for LogSink {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.writer.write(self.stream, &bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(1 << 20)
    }
}

impl tokio::io::AsyncWrite for LogSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.writer.write(self.stream, buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// One record of a log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub time: String,
    pub stream: String,
    /// Whether the record ends a line (`F`) rather than continuing (`P`).
    pub full: bool,
    pub content: Vec<u8>,
}

/// Reads a whole log file; a missing file reads as empty, and a malformed record is kept as
/// plain content rather than dropped.
pub fn read_log(path: &Path) -> io::Result<Vec<LogLine>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut lines = Vec::new();
    for raw in BufReader::new(file).split(b'\n') {
        let raw = raw?;
        lines.push(parse_record(&raw));
    }
    Ok(lines)
}

/// One record of the CRI log format (`TIME STREAM F|P CONTENT`).
pub fn parse_record(raw: &[u8]) -> LogLine {
    let mut parts = raw.splitn(4, |b| *b == b' ');
    let (Some(time), Some(stream), Some(tag), Some(content)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return LogLine {
            time: String::new(),
            stream: "stdout".into(),
            full: true,
            content: raw.to_vec(),
        };
    };
    LogLine {
        time: String::from_utf8_lossy(time).into_owned(),
        stream: String::from_utf8_lossy(stream).into_owned(),
        full: tag != b"P",
        content: content.to_vec(),
    }
}

impl LogLine {
    /// The bytes as the guest wrote them (a newline after full records).
    pub fn raw(&self) -> Vec<u8> {
        let mut v = self.content.clone();
        if self.full {
            v.push(b'\n');
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[LogLine]) -> String {
        String::from_utf8_lossy(&lines.iter().flat_map(|l| l.raw()).collect::<Vec<u8>>())
            .into_owned()
    }

    #[test]
    fn lines_partials_and_streams_round_trip() {
        let dir = tempdir();
        let path = dir.join("0.log");
        let w = LogWriter::create(&path, 1 << 20).unwrap();
        w.write(Stream::Stdout, b"hello\nwor");
        w.write(Stream::Stderr, b"oops\n");
        w.write(Stream::Stdout, b"ld\nend");
        w.close().unwrap();
        let lines = read_log(&path).unwrap();
        assert_eq!(lines.iter().filter(|l| l.stream == "stderr").count(), 1);
        assert_eq!(text(&lines), "hello\noops\nworld\nend");
        assert!(!lines.last().unwrap().full);
    }

    #[test]
    fn cap_truncates_with_a_marker() {
        let dir = tempdir();
        let path = dir.join("0.log");
        let w = LogWriter::create(&path, 10).unwrap();
        w.write(Stream::Stdout, b"0123456789abcdef\n");
        w.write(Stream::Stdout, b"more\n");
        w.close().unwrap();
        let lines = read_log(&path).unwrap();
        assert_eq!(lines[0].content, b"0123456789");
        assert!(String::from_utf8_lossy(&lines[1].content).contains("log truncated"));
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn binary_output_is_kept() {
        let dir = tempdir();
        let path = dir.join("0.log");
        let w = LogWriter::create(&path, 1 << 20).unwrap();
        let bytes: Vec<u8> = (0u8..=255).filter(|b| *b != b'\n').collect();
        w.write(Stream::Stdout, &bytes);
        w.close().unwrap();
        let lines = read_log(&path).unwrap();
        assert_eq!(lines[0].content, bytes);
    }

    /// A short run's log stays in memory and comes back at its end; a long one, or one asked
    /// to spill, goes to its file whole.
    #[test]
    fn logs_start_in_memory_and_spill_to_their_file() {
        let dir = tempdir();
        let path = dir.join("0.log");
        let w = LogWriter::in_memory(&path, 1 << 20);
        w.write(Stream::Stdout, b"short\nno newline");
        let kept = w.close().unwrap().expect("in memory");
        assert!(!path.exists(), "no file for a short log");
        let lines: Vec<LogLine> = kept
            .split(|b| *b == b'\n')
            .filter(|r| !r.is_empty())
            .map(parse_record)
            .collect();
        assert_eq!(text(&lines), "short\nno newline");
        // Past the inline size: the file holds all of it.
        let w = LogWriter::in_memory(&path, 1 << 20);
        let line = vec![b'x'; 1000];
        for _ in 0..100 {
            w.write(Stream::Stdout, &line);
            w.write(Stream::Stdout, b"\n");
        }
        assert!(w.close().unwrap().is_none());
        assert_eq!(read_log(&path).unwrap().len(), 100);
        // Asked to spill while empty: the file comes with the first output.
        let later = dir.join("1.log");
        let w = LogWriter::in_memory(&later, 1 << 20);
        w.spill();
        assert!(!later.exists(), "no file for an empty log");
        // Spilled, a log is in its file at once, for followers.
        let early = dir.join("2.log");
        let e = LogWriter::in_memory(&early, 1 << 20);
        e.write(Stream::Stdout, b"first\n");
        e.spill();
        assert_eq!(text(&read_log(&early).unwrap()), "first\n");
        w.write(Stream::Stderr, b"late\n");
        assert!(later.exists());
        assert!(w.close().unwrap().is_none());
        assert_eq!(text(&read_log(&later).unwrap()), "late\n");
    }

    fn tempdir() -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!(
            "wasmjob-log-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&p).unwrap();
        p
    }
}
