//! Docker's word processing for one Dockerfile word: quote removal, the escape character,
//! and `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
//! `${VAR:?msg}` expansion. Other `${VAR…}` forms are kept as written, so an image name
//! that uses them fails reference validation with the text visible in the message.

/// Result of expanding one word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Expansion {
    /// The processed word.
    pub(super) value: String,
    /// Variables that were used without a value (unset or empty, no default applied),
    /// in order, without repeats; used to tell the user which ARG to supply.
    pub(super) missing: Vec<String>,
}

/// Expands `word`; `lookup` returns `None` for an unset variable.
pub(super) fn expand(word: &str, escape: char, lookup: &dyn Fn(&str) -> Option<String>) -> Expansion {
    let mut p = Processor { chars: word.chars().collect(), pos: 0, escape, lookup, missing: Vec::new() };
    let value = p.process(None);
    Expansion { value, missing: p.missing }
}

struct Processor<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    missing: Vec<String>,
}

impl Processor<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Processes until `stop` (consumed) or the end of the word.
    fn process(&mut self, stop: Option<char>) -> String {
        let mut out = String::new();
        while let Some(c) = self.next() {
            if Some(c) == stop {
                break;
            }
            match c {
                '\'' => {
                    while let Some(q) = self.next() {
                        if q == '\'' {
                            break;
                        }
                        out.push(q);
                    }
                }
                '"' => self.double_quoted(&mut out),
                '$' => {
                    let v = self.dollar();
                    out.push_str(&v);
                }
                c if c == self.escape => out.push(self.next().unwrap_or(c)),
                c => out.push(c),
            }
        }
        out
    }

    fn double_quoted(&mut self, out: &mut String) {
        while let Some(c) = self.next() {
            match c {
                '"' => return,
                '$' => {
                    let v = self.dollar();
                    out.push_str(&v);
                }
                // Inside double quotes the escape only protects `"`, `$` and itself.
                c if c == self.escape => match self.peek() {
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.pos += 1;
                        out.push(n);
                    }
                    _ => out.push(c),
                },
                c => out.push(c),
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if !(c.is_ascii_alphanumeric() || c == '_') {
                break;
            }
            name.push(c);
            self.pos += 1;
        }
        name
    }

    /// Handles what follows a `$`.
    fn dollar(&mut self) -> String {
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                self.braced()
            }
            Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                let name = self.name();
                self.plain(&name)
            }
            _ => "$".to_string(),
        }
    }

    fn plain(&mut self, name: &str) -> String {
        match (self.lookup)(name) {
            Some(v) if !v.is_empty() => v,
            _ => {
                self.note_missing(name);
                String::new()
            }
        }
    }

    /// `${…}` after the `{`.
    fn braced(&mut self) -> String {
        let start = self.pos;
        let name = self.name();
        let colon = self.peek() == Some(':');
        let op_at = self.pos + usize::from(colon);
        let op = self.chars.get(op_at).copied();
        match op {
            Some('}') if !colon && !name.is_empty() => {
                self.pos += 1;
                self.plain(&name)
            }
            Some(op @ ('-' | '+' | '?')) if !name.is_empty() => {
                self.pos = op_at + 1;
                let word = self.process(Some('}'));
                let value = (self.lookup)(&name);
                // With `:`, an empty value counts as unset.
                let set = match &value {
                    Some(v) => !(colon && v.is_empty()),
                    None => false,
                };
                match op {
                    '-' if set => value.unwrap_or_default(),
                    '-' => word,
                    '+' if set => word,
                    '+' => String::new(),
                    _ if set => value.unwrap_or_default(),
                    _ => {
                        self.note_missing(&name);
                        String::new()
                    }
                }
            }
            _ => {
                // Unsupported form: keep it verbatim up to the matching brace.
                self.pos = start;
                let mut depth = 1;
                let mut raw = String::from("${");
                while let Some(c) = self.next() {
                    raw.push(c);
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                raw
            }
        }
    }

    fn note_missing(&mut self, name: &str) {
        if !self.missing.iter().any(|m| m == name) {
            self.missing.push(name.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(word: &str) -> Expansion {
        let lookup = |n: &str| match n {
            "TAG" => Some("3.20".to_string()),
            "EMPTY" => Some(String::new()),
            "IMG" => Some("alpine".to_string()),
            _ => None,
        };
        expand(word, '\\', &lookup)
    }

    fn value(word: &str) -> String {
        run(word).value
    }

    #[test]
    fn simple_and_braced() {
        assert_eq!(value("alpine:$TAG"), "alpine:3.20");
        assert_eq!(value("${IMG}:${TAG}"), "alpine:3.20");
        assert_eq!(value("$IMG-x"), "alpine-x");
        assert_eq!(value("a$"), "a$");
        assert_eq!(value("a$/b"), "a$/b");
    }

    #[test]
    fn defaults_and_alternatives() {
        assert_eq!(value("${UNSET:-node:20}"), "node:20");
        assert_eq!(value("${EMPTY:-d}"), "d");
        assert_eq!(value("${EMPTY-d}"), "");
        assert_eq!(value("${UNSET-d}"), "d");
        assert_eq!(value("${TAG:-d}"), "3.20");
        assert_eq!(value("x${TAG:+-slim}"), "x-slim");
        assert_eq!(value("x${UNSET:+-slim}"), "x");
        assert_eq!(value("x${EMPTY+y}"), "xy");
        assert_eq!(value("${UNSET:-${IMG}:${TAG}}"), "alpine:3.20");
        assert_eq!(value("${UNSET:-\"a b\"}"), "a b");
    }

    #[test]
    fn missing_variables_are_reported() {
        assert_eq!(run("$UNSET").missing, ["UNSET"]);
        assert_eq!(run("${EMPTY}$UNSET${UNSET}").missing, ["EMPTY", "UNSET"]);
        assert!(run("${UNSET:-x}").missing.is_empty());
        assert_eq!(run("${UNSET:?need it}").missing, ["UNSET"]);
        assert_eq!(value("${UNSET:?need it}"), "");
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(value("\"alpine:$TAG\""), "alpine:3.20");
        assert_eq!(value("'alpine:$TAG'"), "alpine:$TAG");
        assert_eq!(value("\\$TAG"), "$TAG");
        assert_eq!(value("\"\\$TAG \\x\""), "$TAG \\x");
        assert_eq!(expand("`$TAG", '`', &|_| Some("v".into())).value, "$TAG");
    }

    #[test]
    fn unsupported_forms_stay_verbatim() {
        assert_eq!(value("${TAG%%.*}"), "${TAG%%.*}");
        assert_eq!(value("${}"), "${}");
        assert_eq!(value("${TAG"), "${TAG");
    }
}
