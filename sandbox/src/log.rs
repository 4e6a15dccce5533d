//! Container logs: a guest's stdout and stderr go to one file per container run, in the CRI
//! format the kubelet writes (`<RFC 3339 time> <stream> <F|P> <content>`; `P` marks a partial
//! line). The log is capped in size; past the cap one marker line says so and the rest is
//! dropped — the guest never sees an error for it. Bytes are kept as written (binary and invalid
//! UTF-8 included); only newlines split lines.

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

struct Inner {
    out: BufWriter<File>,
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

impl LogWriter {
    /// Creates (truncates) the log file; `limit` caps the bytes of guest output kept.
    pub fn create(path: &Path, limit: u64) -> io::Result<LogWriter> {
        let file = match File::create(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // The folder is made once, not per run.
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                File::create(path)?
            }
            other => other?,
        };
        Ok(LogWriter {
            inner: Arc::new(Mutex::new(Inner {
                out: BufWriter::new(file),
                limit,
                written: 0,
                truncated: false,
                pending: [Vec::new(), Vec::new()],
                error: None,
            })),
        })
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

    /// Writes out any unterminated line and flushes the file.
    pub fn close(&self) -> io::Result<()> {
        let mut inner = self.lock();
        inner.flush_pending();
        inner.flush();
        match inner.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
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
        if let Err(e) = self.out.flush() {
            self.error.get_or_insert(e);
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
