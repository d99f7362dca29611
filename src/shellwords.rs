//! POSIX `sh` word splitting for ACR `cmd:` and `build:` strings.
//!
//! ACR appends these strings to a `docker run`/`docker build` command line that the
//! agent runs with `/bin/sh -c`, so quoting follows the shell. drydock has no host shell
//! in between: it splits the string itself and passes the words to Docker's API.
//! `$VAR`, `$(…)` and backticks are therefore left as literal text. Expanding them here
//! would substitute the drydock agent's own environment (credentials, tokens, paths) into
//! a user-controlled container command line, which leaks it; the container's own shell can
//! expand them instead (`sh -c '…'`).

#[cfg(test)]
mod tests;

/// Why a string cannot be split into words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellWordsError {
    /// A quote was opened and never closed.
    #[error(
        "unterminated {kind} quote opened at line {line}, column {column}; close it with a matching `{quote}` \
         (for a literal quote character, write `\\{quote}` outside quotes)"
    )]
    UnterminatedQuote {
        /// The quote character, `'` or `"`.
        quote: char,
        /// `single` or `double`.
        kind: &'static str,
        /// 1-based line of the opening quote.
        line: usize,
        /// 1-based column (in characters) of the opening quote.
        column: usize,
    },
}

/// Splits `s` into words with POSIX shell quoting rules (no expansion of any kind).
///
/// Whitespace (including newlines) separates words; `'…'` is literal; inside `"…"` a
/// backslash only escapes `$`, `` ` ``, `"`, `\` and newline; outside quotes a backslash
/// escapes any character; backslash-newline joins lines; an unquoted `#` at the start of a
/// word comments out the rest of the line, as `sh` does.
pub fn split(s: &str) -> Result<Vec<String>, ShellWordsError> {
    let chars: Vec<char> = s.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    // A word can exist and be empty (`''`), so track it separately from its text.
    let mut in_word = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                i += 1;
            }
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\\' => {
                match chars.get(i + 1) {
                    Some('\n') => {}
                    Some(&next) => {
                        word.push(next);
                        in_word = true;
                    }
                    // `sh` keeps a lone trailing backslash.
                    None => {
                        word.push('\\');
                        in_word = true;
                    }
                }
                i += 2;
            }
            '\'' => {
                let close = find_from(&chars, i + 1, '\'').ok_or_else(|| unterminated(&chars, i))?;
                word.extend(&chars[i + 1..close]);
                in_word = true;
                i = close + 1;
            }
            '"' => {
                i = double_quoted(&chars, i, &mut word)?;
                in_word = true;
            }
            _ => {
                word.push(c);
                in_word = true;
                i += 1;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Reads a `"…"` section starting at `open`; returns the index after the closing quote.
fn double_quoted(chars: &[char], open: usize, word: &mut String) -> Result<usize, ShellWordsError> {
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok(i + 1),
            '\\' => match chars.get(i + 1) {
                Some('\n') => i += 2,
                Some(&next @ ('$' | '`' | '"' | '\\')) => {
                    word.push(next);
                    i += 2;
                }
                _ => {
                    word.push('\\');
                    i += 1;
                }
            },
            c => {
                word.push(c);
                i += 1;
            }
        }
    }
    Err(unterminated(chars, open))
}

fn find_from(chars: &[char], from: usize, target: char) -> Option<usize> {
    chars.iter().skip(from).position(|&c| c == target).map(|p| p + from)
}

fn unterminated(chars: &[char], open: usize) -> ShellWordsError {
    let before = &chars[..open];
    let line = before.iter().filter(|&&c| c == '\n').count() + 1;
    let line_start = before.iter().rposition(|&c| c == '\n').map_or(0, |p| p + 1);
    let quote = chars[open];
    ShellWordsError::UnterminatedQuote {
        quote,
        kind: if quote == '\'' { "single" } else { "double" },
        line,
        column: open - line_start + 1,
    }
}

/// Lists, in order of first appearance, the shell constructs in `s` that ACR's agent
/// shell interpreted but that drydock passes to the container as plain arguments:
/// `&&`, `||`, `;`, `|`, `&`, `>`, `<`, backticks and `$(`. Quoting is respected
/// (backticks and `$(` still count inside double quotes, where the shell runs them).
/// Callers should warn and suggest wrapping the command in `sh -c '…'`.
pub fn shell_operators(s: &str) -> Vec<&'static str> {
    let chars: Vec<char> = s.chars().collect();
    let mut found: Vec<&'static str> = Vec::new();
    let mut note = |op: &'static str| {
        if !found.contains(&op) {
            found.push(op);
        }
    };
    let mut i = 0;
    let mut in_double = false;
    let mut word_start = true;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let mut step = 1;
        match (c, in_double) {
            ('\\', _) => step = 2,
            ('"', _) => in_double = !in_double,
            ('\'', false) => {
                step = find_from(&chars, i + 1, '\'').map_or(chars.len() - i, |close| close + 1 - i);
            }
            ('#', false) if word_start => {
                step = find_from(&chars, i, '\n').map_or(chars.len() - i, |nl| nl - i);
            }
            ('`', _) => note("`"),
            ('$', _) if next == Some('(') => {
                note("$(");
                step = 2;
            }
            ('&', false) if next == Some('&') => {
                note("&&");
                step = 2;
            }
            ('|', false) if next == Some('|') => {
                note("||");
                step = 2;
            }
            ('&', false) => note("&"),
            ('|', false) => note("|"),
            (';', false) => note(";"),
            ('>', false) => note(">"),
            ('<', false) => note("<"),
            _ => {}
        }
        word_start = !in_double && c.is_whitespace();
        i += step;
    }
    found
}
