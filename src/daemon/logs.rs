//! Run logs as files under the data directory, readable while the run goes on, followed live by
//! any number of readers without slowing the run.
//!
//! The run appends whole lines to a buffered file and publishes the flushed length on a `watch`
//! channel; followers read the file from their own offset and wait on the channel. Nothing the run
//! does depends on how many followers there are or how fast they read.

use crate::engine::log::LogSink;
use crate::metrics::LogBytes;
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::watch;

/// Unflushed output is written out at least this often, so followers see quiet steps promptly.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Or when this much is buffered.
const FLUSH_BYTES: usize = 64 * 1024;

/// The default cap on a run's log (`drydock serve --max-log-mib`): far above a verbose build's few
/// megabytes, far below what fills a disk when a step loops printing.
pub const DEFAULT_MAX_LOG_BYTES: u64 = 64 << 20;

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
    fn flush(&self) {
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
            let mut line = match step {
                Some(s) => format!("[{s}] {text}\n"),
                None => format!("{text}\n"),
            };
            // Past the cap, steps' output is dropped (the step goes on); drydock's own lines, which
            // no step can write, still say how the run ended.
            if step.is_some() && w.written + line.len() as u64 > self.max_bytes {
                if w.truncated {
                    return;
                }
                w.truncated = true;
                line = format!(
                    "[drydock] the log reached its limit of {} MiB (drydock serve --max-log-mib): the steps' \
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
        assert_eq!(String::from_utf8(all).unwrap(), "[build] one\ntwo\n");
        let part = store.read("0001", 0, state.len, 14).await.unwrap();
        assert_eq!(String::from_utf8(part).unwrap(), "[build] one\n", "cut at a line boundary");
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
        let text = std::fs::read_to_string(store.path("0002")).unwrap();
        assert!(text.starts_with("[spam] line 0\n"), "{text}");
        assert_eq!(text.matches("reached its limit").count(), 1, "{text}");
        assert!(!text.contains("line 49"), "{text}");
        assert!(text.ends_with("Run ID: 0002 ended\n"), "drydock's own lines are kept: {text}");
    }
}
