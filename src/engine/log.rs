//! Run logs: byte streams from containers and builds become masked, step-prefixed lines.
//!
//! Logs are data, not `tracing` output: they go to a [`LogSink`] (the terminal in local mode, a
//! file plus live followers in the daemon). Secrets are masked here, before any sink sees a line.

use crate::secrets::Masker;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

/// Longest line kept whole; longer output is split so that a newline-free stream cannot grow
/// memory without bound.
const MAX_LINE: usize = 64 * 1024;

/// Where log lines go. Lines arrive masked and without their newline; `step` is `None` for
/// run-level lines. Implementations must not block for long: they run on the engine's tasks.
pub trait LogSink: Send + Sync {
    /// One line.
    fn line(&self, step: Option<&str>, text: &str);
}

/// The log of one run: masks and fans out.
#[derive(Clone)]
pub struct RunLog {
    masker: Arc<Masker>,
    sink: Arc<dyn LogSink>,
}

impl RunLog {
    /// A log that masks `masker`'s secrets and writes to `sink`.
    pub fn new(masker: Masker, sink: Arc<dyn LogSink>) -> Self {
        RunLog { masker: Arc::new(masker), sink }
    }

    /// A run-level line.
    pub fn run_line(&self, text: &str) {
        self.sink.line(None, &self.masker.mask(text));
    }

    /// A line of a step (engine markers and short messages).
    pub fn step_line(&self, step: &str, text: &str) {
        self.sink.line(Some(step), &self.masker.mask(text));
    }

    /// A writer that turns a step's byte stream into lines.
    pub fn step_writer(&self, step: &str) -> StepWriter {
        StepWriter { log: self.clone(), step: step.to_string(), pending: Vec::new(), tail: Vec::new() }
    }

    /// The masker, for text that leaves the engine by another way (error messages).
    pub fn masker(&self) -> &Masker {
        &self.masker
    }
}

/// Buffers a step's output into lines. It also keeps the last lines, which `retryOnErrors` and
/// error messages look at.
pub struct StepWriter {
    log: RunLog,
    step: String,
    pending: Vec<u8>,
    tail: Vec<String>,
}

/// How many trailing lines a step writer remembers.
const TAIL_LINES: usize = 200;

impl StepWriter {
    /// Feeds bytes; complete lines are emitted. A carriage return ends a line too, so progress
    /// bars don't pile up into one huge line.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' || b == b'\r' {
                self.flush_line();
            } else {
                self.pending.push(b);
                if self.pending.len() >= MAX_LINE {
                    self.flush_line();
                }
            }
        }
    }

    /// Emits a whole line.
    pub fn line(&mut self, text: &str) {
        self.write(text.as_bytes());
        self.write(b"\n");
    }

    /// Emits what is buffered.
    pub fn finish(&mut self) {
        self.flush_line();
    }

    fn flush_line(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        let masked = self.log.masker.mask(&text);
        self.log.sink.line(Some(&self.step), &masked);
        if self.tail.len() == TAIL_LINES {
            self.tail.remove(0);
        }
        self.tail.push(masked);
    }

    /// Whether any remembered line contains one of `needles`.
    pub fn tail_contains_any(&self, needles: &[String]) -> bool {
        self.tail.iter().any(|l| needles.iter().any(|n| l.contains(n.as_str())))
    }

    /// The last `n` lines, joined, for error messages.
    pub fn last_lines(&self, n: usize) -> String {
        let start = self.tail.len().saturating_sub(n);
        self.tail[start..].join("\n")
    }

    /// Forgets remembered lines (between attempts).
    pub fn reset_tail(&mut self) {
        self.tail.clear();
    }
}

impl Drop for StepWriter {
    fn drop(&mut self) {
        self.flush_line();
    }
}

/// Writes `[step] line` to stderr, each step in its own colour on a terminal.
pub struct ConsoleSink {
    color: bool,
    out: Mutex<std::io::Stderr>,
}

impl Default for ConsoleSink {
    fn default() -> Self {
        ConsoleSink {
            color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            out: Mutex::new(std::io::stderr()),
        }
    }
}

impl LogSink for ConsoleSink {
    fn line(&self, step: Option<&str>, text: &str) {
        let prefix = match step {
            Some(s) if self.color => format!("\x1b[{}m[{s}]\x1b[0m ", step_color(s)),
            Some(s) => format!("[{s}] "),
            None => String::new(),
        };
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{prefix}{text}");
        }
    }
}

/// A stable colour per step id, so interleaved parallel output stays readable.
fn step_color(step: &str) -> u8 {
    const COLORS: [u8; 6] = [36, 32, 35, 34, 33, 96];
    let h = step.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    COLORS[(h % COLORS.len() as u32) as usize]
}

/// Collects lines in memory (tests, and the quick-build summary).
#[derive(Default)]
pub struct MemorySink {
    lines: Mutex<Vec<(Option<String>, String)>>,
}

impl MemorySink {
    /// Everything so far, as `[step] text` lines.
    pub fn text(&self) -> String {
        self.lines
            .lock()
            .map(|l| {
                l.iter()
                    .map(|(s, t)| match s {
                        Some(s) => format!("[{s}] {t}\n"),
                        None => format!("{t}\n"),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl LogSink for MemorySink {
    fn line(&self, step: Option<&str>, text: &str) {
        if let Ok(mut l) = self.lines.lock() {
            l.push((step.map(str::to_string), text.to_string()));
        }
    }
}

/// Sends every line to several sinks.
pub struct FanOut(pub Vec<Arc<dyn LogSink>>);

impl LogSink for FanOut {
    fn line(&self, step: Option<&str>, text: &str) {
        for s in &self.0 {
            s.line(step, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_masks_and_remembers_tail() {
        let mem = Arc::new(MemorySink::default());
        let mut masker = Masker::default();
        masker.add("s3cr3t-value");
        let log = RunLog::new(masker, mem.clone());
        let mut w = log.step_writer("build");
        w.write(b"pass=s3cr3t-");
        w.write(b"value\nprogress 1\rprogress 2\npartial");
        w.finish();
        assert_eq!(mem.text(), "[build] pass=***\n[build] progress 1\n[build] progress 2\n[build] partial\n");
        assert!(w.tail_contains_any(&["progress 2".to_string()]));
    }
}
