//! Turns BuildKit's progress messages into the plain lines `docker build --progress=plain`
//! prints, so a build log reads the same whichever builder ran.
//!
//! BuildKit reports a graph of *vertexes* (one per Dockerfile step or internal operation),
//! each starting, producing output, and completing (possibly cached or with an error); the same
//! vertex shows up in many messages. This keeps per-vertex state and emits each fact once:
//!
//! ```text
//! #5 [2/3] RUN echo hi
//! #5 0.312 hi
//! #5 DONE 0.4s
//! #6 [3/3] RUN exit 3
//! #6 ERROR: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3
//! ```

use std::collections::HashMap;

use bollard::moby::buildkit::v1::StatusResponse;

/// Per-build translator state.
#[derive(Debug, Default)]
pub(crate) struct BuildkitLog {
    vertexes: HashMap<String, VertexState>,
    next_number: usize,
    /// Vertex numbers in order of first appearance, for the final flush.
    order: Vec<String>,
}

#[derive(Debug, Default)]
struct VertexState {
    number: usize,
    name: String,
    /// Start time in seconds since the epoch, for log and duration offsets.
    started: Option<f64>,
    announced: bool,
    finished: bool,
    /// Status ids (`transferring context:`) already reported as done.
    statuses_done: Vec<String>,
    /// Output not yet terminated by a newline, per stream (1 = stdout, 2 = stderr).
    partial: HashMap<i64, Vec<u8>>,
    /// Offset of the first byte of `partial`, for its line prefix.
    partial_at: HashMap<i64, f64>,
}

/// Seconds since the epoch of a protobuf timestamp (any type with `seconds` and `nanos`).
macro_rules! secs {
    ($ts:expr) => {
        $ts.as_ref().map(|t| t.seconds as f64 + f64::from(t.nanos) / 1e9)
    };
}

impl BuildkitLog {
    /// New translator for one build.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Lines to show for one progress message.
    pub(crate) fn translate(&mut self, msg: &StatusResponse) -> Vec<String> {
        let mut out = Vec::new();
        for v in &msg.vertexes {
            let state = self.state(&v.digest);
            if !v.name.is_empty() {
                state.name = v.name.clone();
            }
            if let Some(s) = secs!(v.started) {
                state.started = Some(s);
            }
            let completed = secs!(v.completed);
            if !state.announced && (state.started.is_some() || v.cached || completed.is_some()) {
                state.announced = true;
                out.push(format!("#{} {}", state.number, state.name));
            }
            if state.finished {
                continue;
            }
            if v.cached {
                state.finished = true;
                out.push(format!("#{} CACHED", state.number));
            } else if let Some(done) = completed {
                state.finished = true;
                flush_partial(state, &mut out);
                if !v.error.is_empty() {
                    out.push(format!("#{} ERROR: {}", state.number, v.error));
                } else {
                    let took = state.started.map_or(0.0, |s| (done - s).max(0.0));
                    out.push(format!("#{} DONE {took:.1}s", state.number));
                }
            }
        }
        for s in &msg.statuses {
            let state = self.state(&s.vertex);
            if s.completed.is_some() && !state.statuses_done.contains(&s.id) {
                state.statuses_done.push(s.id.clone());
                let label = if s.name.is_empty() { &s.id } else { &s.name };
                let size = if s.total > 0 { s.total } else { s.current };
                let amount = if size > 0 { format!(" {}", human_bytes(size)) } else { String::new() };
                out.push(format!("#{} {label}{amount} done", state.number));
            }
        }
        for log in &msg.logs {
            let at = secs!(log.timestamp);
            let state = self.state(&log.vertex);
            let offset = match (at, state.started) {
                (Some(a), Some(s)) => (a - s).max(0.0),
                _ => 0.0,
            };
            let buf = state.partial.entry(log.stream).or_default();
            if buf.is_empty() {
                state.partial_at.insert(log.stream, offset);
            }
            buf.extend_from_slice(&log.msg);
            while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                let started_at = state.partial_at.get(&log.stream).copied().unwrap_or(offset);
                out.push(format!(
                    "#{} {started_at:.3} {}",
                    state.number,
                    String::from_utf8_lossy(&line[..line.len() - 1]).trim_end_matches('\r')
                ));
                state.partial_at.insert(log.stream, offset);
            }
        }
        for w in &msg.warnings {
            let state = self.state(&w.vertex);
            out.push(format!("#{} WARN: {}", state.number, String::from_utf8_lossy(&w.short)));
        }
        out
    }

    /// Output still buffered without a trailing newline, at the end of the build.
    pub(crate) fn finish(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for digest in &self.order {
            if let Some(state) = self.vertexes.get_mut(digest) {
                flush_partial(state, &mut out);
            }
        }
        out
    }

    fn state(&mut self, digest: &str) -> &mut VertexState {
        if !self.vertexes.contains_key(digest) {
            self.next_number += 1;
            self.order.push(digest.to_string());
            self.vertexes.insert(digest.to_string(), VertexState { number: self.next_number, ..Default::default() });
        }
        self.vertexes.get_mut(digest).expect("inserted above")
    }
}

fn flush_partial(state: &mut VertexState, out: &mut Vec<String>) {
    let mut streams: Vec<i64> = state.partial.keys().copied().collect();
    streams.sort_unstable();
    for stream in streams {
        let buf = state.partial.remove(&stream).unwrap_or_default();
        if !buf.is_empty() {
            let at = state.partial_at.get(&stream).copied().unwrap_or(0.0);
            out.push(format!("#{} {at:.3} {}", state.number, String::from_utf8_lossy(&buf)));
        }
    }
}

fn human_bytes(n: i64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{n}B") } else { format!("{v:.2}{}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::moby::buildkit::v1::{Vertex, VertexLog, VertexStatus};

    fn vertex(digest: &str, name: &str, started: Option<i64>, completed: Option<i64>) -> Vertex {
        let mut v = Vertex { digest: digest.into(), name: name.into(), ..Default::default() };
        // The timestamp type is not re-exported by bollard; build it by inference.
        if let Some(s) = started {
            v.started = Some(Default::default());
            v.started.as_mut().unwrap().seconds = s;
        }
        if let Some(c) = completed {
            v.completed = Some(Default::default());
            v.completed.as_mut().unwrap().seconds = c;
        }
        v
    }

    fn log(digest: &str, at: i64, msg: &str) -> VertexLog {
        let mut l = VertexLog { vertex: digest.into(), stream: 1, msg: msg.as_bytes().to_vec(), ..Default::default() };
        l.timestamp = Some(Default::default());
        l.timestamp.as_mut().unwrap().seconds = at;
        l
    }

    #[test]
    fn run_step_with_output_and_done() {
        let mut t = BuildkitLog::new();
        let a = t.translate(&StatusResponse {
            vertexes: vec![vertex("d1", "[1/2] FROM busybox", None, None)],
            ..Default::default()
        });
        assert!(a.is_empty(), "not started yet: {a:?}");
        let b = t.translate(&StatusResponse {
            vertexes: vec![
                vertex("d1", "[1/2] FROM busybox", Some(100), Some(100)),
                vertex("d2", "[2/2] RUN echo hi", Some(100), None),
            ],
            logs: vec![log("d2", 101, "hi\npart"), log("d2", 101, "ial\n")],
            ..Default::default()
        });
        assert_eq!(
            b,
            vec!["#1 [1/2] FROM busybox", "#1 DONE 0.0s", "#2 [2/2] RUN echo hi", "#2 1.000 hi", "#2 1.000 partial",]
        );
        let c = t.translate(&StatusResponse {
            vertexes: vec![vertex("d2", "[2/2] RUN echo hi", Some(100), Some(102))],
            ..Default::default()
        });
        assert_eq!(c, vec!["#2 DONE 2.0s"]);
        // Repeated completion is not reported twice.
        let d = t.translate(&StatusResponse {
            vertexes: vec![vertex("d2", "[2/2] RUN echo hi", Some(100), Some(102))],
            ..Default::default()
        });
        assert!(d.is_empty());
    }

    #[test]
    fn errors_cached_and_statuses() {
        let mut t = BuildkitLog::new();
        let mut failed = vertex("d1", "[2/2] RUN exit 3", Some(0), Some(1));
        failed.error = "exit code: 3".into();
        let mut cached = vertex("d2", "[1/2] FROM busybox", None, None);
        cached.cached = true;
        let mut status = VertexStatus {
            id: "transferring context:".into(),
            vertex: "d3".into(),
            current: 2048,
            ..Default::default()
        };
        status.completed = Some(Default::default());
        let out = t.translate(&StatusResponse {
            vertexes: vec![failed, cached],
            statuses: vec![status],
            logs: vec![log("d1", 0, "no newline")],
            ..Default::default()
        });
        assert_eq!(
            out,
            vec![
                "#1 [2/2] RUN exit 3",
                "#1 ERROR: exit code: 3",
                "#2 [1/2] FROM busybox",
                "#2 CACHED",
                "#3 transferring context: 2.05kB done",
            ]
        );
        assert_eq!(t.finish(), vec!["#1 0.000 no newline"]);
    }
}
