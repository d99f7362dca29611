//! Run logs as files under the data directory, readable while the run goes on, followed live by
//! any number of readers without slowing the run.
//!
//! The run appends whole lines to a buffered file and publishes the flushed length on a `watch`
//! channel; followers read the file from their own offset and wait on the channel. Nothing the run
//! does depends on how many followers there are or how fast they read.
//!
//! Each line is stored behind the time it was written (`2026-01-02T03:04:05.678Z [step] text`,
//! see [`STAMP_LEN`]); readers remove the stamps ([`strip_stamps`]) unless a client asked for
//! them, so the log as served stays what steps printed. Offsets a client sees (SSE event ids,
//! `?offset=`) count bytes of the log in the form it asked for: without stamps they are offsets
//! into the text as served, found in the file by [`LogStore::position`].

use crate::engine::log::LogSink;
use crate::metrics::LogBytes;
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt};
use tokio::sync::watch;

/// Unflushed output is written out at least this often, so followers see quiet steps promptly.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Or when this much is buffered.
const FLUSH_BYTES: usize = 64 * 1024;

/// The default cap on a run's log (`drydock serve --max-log-mib`): far above a verbose build's few
/// megabytes, far below what fills a disk when a step loops printing.
pub const DEFAULT_MAX_LOG_BYTES: u64 = 64 << 20;

/// Bytes of the time stamp in front of each stored line: RFC 3339 UTC with milliseconds
/// (`2026-01-02T03:04:05.678Z`, always 24 bytes) and one space.
pub const STAMP_LEN: usize = 25;

/// The stamp for a line written at `at`.
fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ ").to_string()
}

/// Whether `line` starts with a stamp. Checked digit by digit rather than by parsing: it runs
/// on every line served, and logs written before stamps existed must pass through unchanged
/// (their lines start with `[step]` or drydock's own words, never with a date).
fn has_stamp(line: &[u8]) -> bool {
    const SHAPE: &[u8; STAMP_LEN] = b"dddd-dd-ddTdd:dd:dd.dddZ ";
    line.len() >= STAMP_LEN
        && line.iter().zip(SHAPE).all(|(b, want)| if *want == b'd' { b.is_ascii_digit() } else { b == want })
}

/// Stored lines as clients see them by default: without the stamps. `at_line_start` says
/// whether the chunk starts a line; when it starts inside one (a client resumed mid-line), its
/// first piece is a step's own text, kept even if it looks like a stamp.
pub fn strip_stamps(chunk: &[u8], at_line_start: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunk.len());
    for (i, line) in chunk.split_inclusive(|b| *b == b'\n').enumerate() {
        let stamped = (i > 0 || at_line_start) && has_stamp(line);
        out.extend_from_slice(if stamped { &line[STAMP_LEN..] } else { line });
    }
    out
}

/// A place in a log file, for a reader of the log without stamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Offset in the file.
    pub file: u64,
    /// The same place in the text without stamps.
    pub text: u64,
    /// Whether a line starts there.
    pub line_start: bool,
}

/// What followers watch: bytes readable from the file, and whether the log is complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogState {
    /// Length of the file that is safe to read (whole lines only).
    pub len: u64,
    /// No more output will come.
    pub done: bool,
}

/// Every run's log file.
pub struct LogStore {
    dir: PathBuf,
    live: Mutex<HashMap<String, Arc<LiveLog>>>,
    /// Steps' output beyond this many bytes of a run's log is dropped (drydock's own lines are not).
    max_bytes: u64,
    /// Counts every byte written, for the metrics.
    written: LogBytes,
}

/// The log of a run that is still being written.
pub struct LiveLog {
    inner: Mutex<Writer>,
    state: watch::Sender<LogState>,
    max_bytes: u64,
    written: LogBytes,
}

struct Writer {
    file: BufWriter<std::fs::File>,
    written: u64,
    flushed: u64,
    last_flush: Instant,
    /// The cap was reached and said so.
    truncated: bool,
}

impl LogStore {
    /// Logs under `dir` (created if missing, private like the rest of the data directory), each
    /// capped at `max_bytes` of step output; every byte written is counted in `written`.
    pub fn new(dir: PathBuf, max_bytes: u64, written: LogBytes) -> std::io::Result<Arc<LogStore>> {
        crate::datadir::create_dir(&dir)?;
        Ok(Arc::new(LogStore { dir, live: Mutex::new(HashMap::new()), max_bytes, written }))
    }

    /// The directory of the log files.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The file of run `id` (ids are base36, safe as file names).
    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.log"))
    }

    /// Opens (or reopens, appending) the live log of a run.
    pub fn open(&self, id: &str) -> std::io::Result<Arc<LiveLog>> {
        // Create the file and register it under one lock: a follower that saw the file but not
        // the live log would take the log for finished and stop early.
        let mut map = self.live.lock().map_err(|_| std::io::Error::other("log registry poisoned"))?;
        let file = crate::datadir::append(&self.path(id))?;
        let len = file.metadata()?.len();
        let (state, _) = watch::channel(LogState { len, done: false });
        let live = Arc::new(LiveLog {
            inner: Mutex::new(Writer {
                file: BufWriter::with_capacity(FLUSH_BYTES * 2, file),
                written: len,
                flushed: len,
                last_flush: Instant::now(),
                truncated: false,
            }),
            state,
            max_bytes: self.max_bytes,
            written: self.written.clone(),
        });
        map.insert(id.to_string(), live.clone());
        Ok(live)
    }

    /// Flushes and closes a run's live log; followers see `done`.
    pub fn close(&self, id: &str) {
        let live = self.live.lock().ok().and_then(|mut m| m.remove(id));
        if let Some(live) = live {
            live.flush();
            live.state.send_modify(|s| s.done = true);
        }
    }

    /// Flushes every live log with buffered output older than the flush interval.
    pub fn flush_due(&self) {
        let logs: Vec<Arc<LiveLog>> = self.live.lock().map(|m| m.values().cloned().collect()).unwrap_or_default();
        for l in logs {
            l.flush_if_due(true);
        }
    }

    /// Runs `flush_due` every interval until the store is dropped.
    pub fn spawn_flusher(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_INTERVAL);
            loop {
                tick.tick().await;
                match weak.upgrade() {
                    Some(store) => store.flush_due(),
                    None => break,
                }
            }
        });
    }

    /// Where a follower of run `id` stands: a receiver for a live log, or the final state of a
    /// finished one (`None` when the run has no log at all).
    pub fn watch(&self, id: &str) -> Option<watch::Receiver<LogState>> {
        let map = self.live.lock().ok()?;
        if let Some(live) = map.get(id) {
            return Some(live.state.subscribe());
        }
        // Still under the lock, so the log cannot be opened between these two looks.
        let len = std::fs::metadata(self.path(id)).ok()?.len();
        drop(map);
        let (tx, rx) = watch::channel(LogState { len, done: true });
        drop(tx);
        Some(rx)
    }

    /// Reads up to `max` bytes of run `id`'s log from `offset`, not beyond `until`, ending at a
    /// line boundary when one is in range (so events never split a line).
    pub async fn read(&self, id: &str, offset: u64, until: u64, max: usize) -> std::io::Result<Vec<u8>> {
        let mut reader = self.reader(id).await?;
        reader.read(offset, until, max).await
    }

    /// Where byte `text_offset` of run `id`'s log as served without stamps is in the file (or the
    /// end of its whole lines, when the text is shorter). It reads the file up to there: resuming
    /// a stream is rare, and this keeps the offsets clients count in the text they were sent.
    pub async fn position(&self, id: &str, text_offset: u64) -> std::io::Result<Position> {
        let mut at = Position { file: 0, text: 0, line_start: true };
        if text_offset == 0 {
            return Ok(at);
        }
        let mut file = tokio::io::BufReader::new(tokio::fs::File::open(self.path(id)).await?);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = file.read_until(b'\n', &mut line).await?;
            // The end, or a line still being written: stop after the whole ones.
            if n == 0 || line.last() != Some(&b'\n') {
                return Ok(at);
            }
            let stamp = if has_stamp(&line) { STAMP_LEN } else { 0 };
            let text = (n - stamp) as u64;
            if at.text + text > text_offset {
                let into = text_offset - at.text;
                return Ok(Position { file: at.file + (stamp as u64) + into, text: text_offset, line_start: false });
            }
            at.file += n as u64;
            at.text += text;
            if at.text == text_offset {
                return Ok(at);
            }
        }
    }

    /// A reader that keeps the file open, for followers that read a log chunk by chunk.
    pub async fn reader(&self, id: &str) -> std::io::Result<LogReader> {
        Ok(LogReader { file: tokio::fs::File::open(self.path(id)).await?, pos: 0 })
    }
}

/// An open log file and where the last read ended.
pub struct LogReader {
    file: tokio::fs::File,
    pos: u64,
}

impl LogReader {
    /// Reads up to `max` bytes from `offset`, not beyond `until`, cut at the last line end when
    /// the read was limited by `max`.
    pub async fn read(&mut self, offset: u64, until: u64, max: usize) -> std::io::Result<Vec<u8>> {
        if offset >= until {
            return Ok(Vec::new());
        }
        if offset != self.pos {
            self.file.seek(std::io::SeekFrom::Start(offset)).await?;
            self.pos = offset;
        }
        let want = ((until - offset) as usize).min(max);
        let mut buf = vec![0u8; want];
        let mut got = 0;
        while got < want {
            let n = self.file.read(&mut buf[got..]).await?;
            if n == 0 {
                break;
            }
            got += n;
        }
        buf.truncate(got);
        self.pos = offset + got as u64;
        if got == max
            && let Some(last_nl) = buf.iter().rposition(|b| *b == b'\n')
        {
            buf.truncate(last_nl + 1);
        }
        Ok(buf)
    }
}

impl LiveLog {
    /// Writes out what is buffered and publishes the new length.
    pub fn flush(&self) {
        self.flush_if_due(false);
    }

    /// Flushes buffered output (only if the interval passed, when `only_if_due`) and publishes
    /// the new readable length.
    fn flush_if_due(&self, only_if_due: bool) {
        let Ok(mut w) = self.inner.lock() else { return };
        if w.written == w.flushed || (only_if_due && w.last_flush.elapsed() < FLUSH_INTERVAL) {
            return;
        }
        if w.file.flush().is_ok() {
            w.flushed = w.written;
            w.last_flush = Instant::now();
            let len = w.flushed;
            self.state.send_modify(|s| s.len = len);
        }
    }
}

impl LogSink for LiveLog {
    fn line(&self, step: Option<&str>, text: &str) {
        let due = {
            let Ok(mut w) = self.inner.lock() else { return };
            let at = stamp(chrono::Utc::now());
            let mut line = match step {
                Some(s) => format!("{at}[{s}] {text}\n"),
                None => format!("{at}{text}\n"),
            };
            // Past the cap, steps' output is dropped (the step goes on); drydock's own lines, which
            // no step can write, still say how the run ended. The cap counts the stamps too: it
            // is there to protect the disk.
            if step.is_some() && w.written + line.len() as u64 > self.max_bytes {
                if w.truncated {
                    return;
                }
                w.truncated = true;
                line = format!(
                    "{at}[drydock] the log reached its limit of {} MiB (drydock serve --max-log-mib): the steps' \
                     further output is not kept; the run goes on\n",
                    self.max_bytes >> 20
                );
            }
            if w.file.write_all(line.as_bytes()).is_err() {
                return;
            }
            w.written += line.len() as u64;
            self.written.add(line.len() as u64);
            w.written - w.flushed >= FLUSH_BYTES as u64 || w.last_flush.elapsed() >= FLUSH_INTERVAL
        };
        if due {
            self.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn followers_see_whole_lines_and_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = LogStore::new(dir.path().join("logs"), DEFAULT_MAX_LOG_BYTES, Default::default()).unwrap();
        let live = store.open("0001").unwrap();
        let mut rx = store.watch("0001").unwrap();
        live.line(Some("build"), "one");
        live.line(None, "two");
        store.close("0001");
        rx.changed().await.unwrap();
        let state = *rx.borrow();
        assert!(state.done);
        let all = store.read("0001", 0, state.len, 1 << 20).await.unwrap();
        assert_eq!(String::from_utf8(strip_stamps(&all, true)).unwrap(), "[build] one\ntwo\n");
        let part = store.read("0001", 0, state.len, STAMP_LEN + 14).await.unwrap();
        assert_eq!(String::from_utf8(strip_stamps(&part, true)).unwrap(), "[build] one\n", "cut at a line boundary");
        let done = store.watch("0001").unwrap();
        assert_eq!(*done.borrow(), LogState { len: state.len, done: true });
    }

    #[test]
    fn steps_output_past_the_cap_is_dropped_once_said() {
        let dir = tempfile::tempdir().unwrap();
        let store = LogStore::new(dir.path().join("logs"), 100, Default::default()).unwrap();
        let live = store.open("0002").unwrap();
        for i in 0..50 {
            live.line(Some("spam"), &format!("line {i}"));
        }
        live.line(None, "Run ID: 0002 ended");
        store.close("0002");
        let text = String::from_utf8(strip_stamps(&std::fs::read(store.path("0002")).unwrap(), true)).unwrap();
        assert!(text.starts_with("[spam] line 0\n"), "{text}");
        assert_eq!(text.matches("reached its limit").count(), 1, "{text}");
        assert!(!text.contains("line 49"), "{text}");
        assert!(text.ends_with("Run ID: 0002 ended\n"), "drydock's own lines are kept: {text}");
    }

    #[test]
    fn each_stored_line_carries_its_time_and_readers_can_drop_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = LogStore::new(dir.path().join("logs"), DEFAULT_MAX_LOG_BYTES, Default::default()).unwrap();
        let live = store.open("0003").unwrap();
        let before = chrono::Utc::now();
        live.line(Some("build"), "2026-01-02T03:04:05.678Z looks like a stamp");
        live.line(None, "");
        store.close("0003");
        let stored = String::from_utf8(std::fs::read(store.path("0003")).unwrap()).unwrap();
        let lines: Vec<&str> = stored.lines().collect();
        assert_eq!(lines.len(), 2, "{stored}");
        for line in &lines {
            let at = chrono::DateTime::parse_from_rfc3339(&line[..STAMP_LEN - 1]).unwrap();
            assert!(at >= before - chrono::Duration::milliseconds(1), "{line}");
            assert_eq!(line.as_bytes()[STAMP_LEN - 1], b' ', "{line}");
        }
        assert_eq!(&lines[0][STAMP_LEN..], "[build] 2026-01-02T03:04:05.678Z looks like a stamp");
        // Only the stamp in front goes; a step's own date and an empty line stay as printed.
        let plain = String::from_utf8(strip_stamps(stored.as_bytes(), true)).unwrap();
        assert_eq!(plain, "[build] 2026-01-02T03:04:05.678Z looks like a stamp\n\n");
        // Logs written before stamps existed pass through untouched.
        let old = "[build] one\nRun ID: 0003 was successful\n";
        assert_eq!(strip_stamps(old.as_bytes(), true), old.as_bytes());
        // A chunk that starts inside a line keeps its first piece whole.
        let tail = &stored.as_bytes()[STAMP_LEN + 8..];
        assert_eq!(strip_stamps(tail, false), b"2026-01-02T03:04:05.678Z looks like a stamp\n\n");
    }

    #[tokio::test]
    async fn offsets_in_the_text_without_stamps_are_found_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = LogStore::new(dir.path().join("logs"), DEFAULT_MAX_LOG_BYTES, Default::default()).unwrap();
        let live = store.open("0004").unwrap();
        live.line(Some("a"), "one");
        live.line(None, "two");
        store.close("0004");
        let stored = std::fs::read(store.path("0004")).unwrap();
        let text = strip_stamps(&stored, true);
        assert_eq!(text, b"[a] one\ntwo\n");
        for offset in 0..=text.len() as u64 {
            let at = store.position("0004", offset).await.unwrap();
            assert_eq!(at.text, offset);
            let rest = strip_stamps(&stored[at.file as usize..], at.line_start);
            assert_eq!(rest, &text[offset as usize..], "from text offset {offset}");
        }
        let past = store.position("0004", 1000).await.unwrap();
        assert_eq!(past, Position { file: stored.len() as u64, text: text.len() as u64, line_start: true });
    }
}
