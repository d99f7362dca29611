//! An incremental Server-Sent Events parser (the WHATWG `text/event-stream` rules), fed with
//! whatever byte chunks the network delivers. Small enough that no extra crate is needed.

use std::time::Duration;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` type (`message` when none was given).
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last event id at dispatch time (what to send back as `Last-Event-ID`).
    pub id: Option<String>,
}

/// Parser state between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line whose end has not arrived yet; kept as bytes so that a UTF-8 character
    /// split between two chunks is decoded whole.
    partial: Vec<u8>,
    /// The previous chunk ended in `\r`: a leading `\n` of the next one belongs to that line end.
    after_cr: bool,
    /// A stream may start with a byte-order mark, which is not part of the first field name.
    started: bool,
    data: String,
    has_data: bool,
    event: String,
    /// The `id:` seen so far in the current event; promoted to `last_id` only on dispatch, so a
    /// connection that drops mid-event resumes before it rather than after it.
    id_buffer: Option<String>,
    last_id: Option<String>,
    retry: Option<Duration>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk and returns the events it completes, in order.
    pub fn push(&mut self, mut chunk: &[u8]) -> Vec<SseEvent> {
        if !self.started && !chunk.is_empty() {
            self.partial.extend_from_slice(chunk);
            if self.partial.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.partial) {
                return Vec::new();
            }
            self.started = true;
            let buffered = std::mem::take(&mut self.partial);
            let rest = buffered.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buffered);
            return self.push_lines(rest);
        }
        if self.after_cr && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        self.after_cr = false;
        self.push_lines(chunk)
    }

    fn push_lines(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let mut i = 0;
        while i < chunk.len() {
            match chunk[i..].iter().position(|&b| b == b'\n' || b == b'\r') {
                None => {
                    self.partial.extend_from_slice(&chunk[i..]);
                    break;
                }
                Some(p) => {
                    self.partial.extend_from_slice(&chunk[i..i + p]);
                    let end = i + p;
                    i = end + 1;
                    if chunk[end] == b'\r' {
                        match chunk.get(i) {
                            Some(b'\n') => i += 1,
                            None => self.after_cr = true,
                            Some(_) => {}
                        }
                    }
                    let line = std::mem::take(&mut self.partial);
                    events.extend(self.line(&String::from_utf8_lossy(&line)));
                }
            }
        }
        events
    }

    /// The id to resume from: the last id of a dispatched event.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// The reconnection delay the server asked for with `retry:`.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None; // comment, e.g. `: keep-alive`
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => {
                self.id_buffer = (!value.is_empty()).then(|| value.to_string());
            }
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok().map(Duration::from_millis);
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        // The id counts even for an event without data, as the standard says.
        if self.id_buffer.is_some() {
            self.last_id = self.id_buffer.take();
        }
        let event = std::mem::take(&mut self.event);
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(SseEvent {
            event: if event.is_empty() { "message".into() } else { event },
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> (Vec<SseEvent>, SseParser) {
        let mut p = SseParser::new();
        let events = chunks.iter().flat_map(|c| p.push(c)).collect();
        (events, p)
    }

    fn ev(event: &str, data: &str, id: Option<&str>) -> SseEvent {
        SseEvent { event: event.into(), data: data.into(), id: id.map(str::to_string) }
    }

    const STREAM: &[u8] =
        b": keep-alive\n\nevent: log\nid: 12\ndata: line one\ndata: line two\n\nevent: end\ndata: {\"a\":1}\n\n";

    #[test]
    fn multi_line_data_ids_and_comments() {
        let (events, p) = all(&[STREAM]);
        assert_eq!(events, [ev("log", "line one\nline two", Some("12")), ev("end", "{\"a\":1}", Some("12"))]);
        assert_eq!(p.last_event_id(), Some("12"));
    }

    #[test]
    fn every_chunk_boundary_gives_the_same_events() {
        let (whole, _) = all(&[STREAM]);
        for cut in 0..STREAM.len() {
            let (split, _) = all(&[&STREAM[..cut], &STREAM[cut..]]);
            assert_eq!(split, whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(all(&bytes).0, whole);
    }

    #[test]
    fn crlf_and_cr_line_ends_even_split_between_chunks() {
        let (events, _) = all(&[b"event: log\r", b"\ndata: a\r\rdata: b\r\n\r", b"\n"]);
        assert_eq!(events, [ev("log", "a", None), ev("message", "b", None)]);
    }

    #[test]
    fn utf8_split_between_chunks_survives() {
        let text = "data: grüße\n\n".as_bytes();
        let (events, _) = all(&[&text[..9], &text[9..]]);
        assert_eq!(events[0].data, "grüße");
    }

    #[test]
    fn empty_data_lines_are_kept_and_no_data_means_no_event() {
        let (events, p) = all(&[b"data:\ndata\ndata: x\n\nid: 7\n\nevent: log\n\n"]);
        assert_eq!(events, [ev("message", "\n\nx", None)]);
        assert_eq!(p.last_event_id(), Some("7"), "an id without data still counts");
    }

    #[test]
    fn an_event_cut_before_its_blank_line_is_not_dispatched_nor_resumed_past() {
        let (events, p) = all(&[b"id: 5\ndata: a\n\nid: 9\ndata: b\n"]);
        assert_eq!(events, [ev("message", "a", Some("5"))]);
        assert_eq!(p.last_event_id(), Some("5"));
    }

    #[test]
    fn bom_retry_and_space_rules() {
        let (events, p) = all(&[b"\xEF\xBB", b"\xBFretry: 1500\ndata:  two spaces\n\n"]);
        assert_eq!(events, [ev("message", " two spaces", None)]);
        assert_eq!(p.retry(), Some(Duration::from_millis(1500)));
    }
}
