//! Size-bounded output buffer that remembers which source line started each output line.

/// Rendered text plus, per output line, the source line of its first byte.
pub(super) struct Output {
    pub text: String,
    pub origins: Vec<u32>,
    at_line_start: bool,
    max: usize,
}

/// The output would exceed its size limit.
#[derive(Debug)]
pub(super) struct Overflow;

impl Output {
    /// An empty buffer holding at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Output { text: String::new(), origins: Vec::new(), at_line_start: true, max }
    }

    /// Appends `s`. Text nodes pass `advance = true`: each newline inside them moves to the
    /// next source line. Action output stays attributed to the action's line.
    pub fn write(&mut self, s: &str, line: u32, advance: bool) -> Result<(), Overflow> {
        if s.is_empty() {
            return Ok(());
        }
        if self.text.len().saturating_add(s.len()) > self.max {
            return Err(Overflow);
        }
        let mut line = line;
        let mut rest = s;
        loop {
            if self.at_line_start {
                self.origins.push(line);
                self.at_line_start = false;
            }
            match rest.find('\n') {
                Some(i) => {
                    self.text.push_str(&rest[..=i]);
                    self.at_line_start = true;
                    rest = &rest[i + 1..];
                    if advance {
                        line = line.saturating_add(1);
                    }
                    if rest.is_empty() {
                        return Ok(());
                    }
                }
                None => {
                    self.text.push_str(rest);
                    return Ok(());
                }
            }
        }
    }
}
