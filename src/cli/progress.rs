//! Upload progress on stderr: an indicatif spinner with bytes and rate on a terminal, plain
//! lines at most once a second otherwise (CI logs), nothing for `-o json`. The total is not
//! known up front because the context is packed while it is sent.

use indicatif::{BinaryBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A live spinner line (stderr is a terminal).
    Bar,
    /// A plain line now and then (stderr is a file or pipe).
    Lines,
    /// Nothing (`-o json`).
    Hidden,
}

impl ProgressMode {
    /// The mode for stderr as it is now; `quiet` for machine-readable output.
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            ProgressMode::Hidden
        } else if std::io::stderr().is_terminal() {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        }
    }
}

/// Progress of one upload; shared with the body stream, hence the interior mutability.
#[derive(Debug)]
pub struct UploadProgress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    start: Instant,
    state: Mutex<LineState>,
}

#[derive(Debug, Default)]
struct LineState {
    bytes: u64,
    last_line: Option<Instant>,
}

/// Plain-line mode prints at most this often.
const LINE_INTERVAL: Duration = Duration::from_secs(1);

impl UploadProgress {
    /// Starts showing progress of uploading `what`.
    pub fn start(mode: ProgressMode, what: &str) -> Self {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{spinner} {msg} {binary_bytes} ({binary_bytes_per_sec}, {elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_message(format!("Uploading {what}"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        UploadProgress { mode, bar, start: Instant::now(), state: Mutex::new(LineState::default()) }
    }

    /// `n` more bytes went out.
    pub fn add(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
        let Ok(mut st) = self.state.lock() else { return };
        st.bytes += n;
        if self.mode == ProgressMode::Lines && st.last_line.is_none_or(|t| t.elapsed() >= LINE_INTERVAL) {
            st.last_line = Some(Instant::now());
            eprintln!("Uploading: {} ({}/s)", BinaryBytes(st.bytes), BinaryBytes(rate(st.bytes, self.start.elapsed())));
        }
    }

    /// The upload is complete: one summary line (except when hidden).
    pub fn finish(&self) {
        let bytes = self.state.lock().map(|s| s.bytes).unwrap_or_default();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.mode != ProgressMode::Hidden {
            let took = self.start.elapsed();
            eprintln!(
                "Uploaded {} in {:.1}s ({}/s)",
                BinaryBytes(bytes),
                took.as_secs_f64(),
                BinaryBytes(rate(bytes, took))
            );
        }
    }

    /// The upload failed: remove the live line so the error is readable.
    pub fn abandon(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn rate(bytes: u64, took: Duration) -> u64 {
    let secs = took.as_secs_f64();
    if secs <= 0.0 { bytes } else { (bytes as f64 / secs) as u64 }
}
