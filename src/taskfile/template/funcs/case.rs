//! Word-case conversions: `title untitle swapcase snakecase kebabcase camelcase`, following
//! Go's strings.Title, goutils (untitle, swapcase) and huandu/xstrings v1.3 (the rest).

use super::super::value::Value;
use super::args::str_arg;
use super::runes::{
    is_letter, is_lower, is_number, is_punct, is_space, is_title, is_upper, to_lower, to_title, to_upper,
};
use super::{FuncCtx, FuncError};

fn text(s: String) -> Result<Value, FuncError> {
    Ok(Value::string(s))
}

/// strings.Title's word boundary: ASCII other than letters, digits and `_`, or white space.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    // Letters and digits are never separators; of the rest only white space is.
    is_space(c)
}

/// `title s`: title-cases the first letter of every word.
pub(super) fn title(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut prev = ' ';
    let out = str_arg(&a[0])?
        .chars()
        .map(|c| {
            let mapped = if is_separator(prev) { to_title(c) } else { c };
            prev = c;
            mapped
        })
        .collect();
    text(out)
}

/// `untitle s`: lower-cases the first letter of every white-space separated word.
pub(super) fn untitle(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut at_start = true;
    let out = str_arg(&a[0])?
        .chars()
        .map(|c| {
            if is_space(c) {
                at_start = true;
                return c;
            }
            let mapped = if at_start { to_lower(c) } else { c };
            at_start = false;
            mapped
        })
        .collect();
    text(out)
}

/// `swapcase s`: upper and title case become lower; lower case becomes upper, or title case
/// at the start of a white-space separated word.
pub(super) fn swapcase(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut after_space = true;
    let out = str_arg(&a[0])?
        .chars()
        .map(|c| {
            if is_upper(c) || is_title(c) {
                after_space = false;
                to_lower(c)
            } else if is_lower(c) {
                let first = std::mem::replace(&mut after_space, false);
                if first { to_title(c) } else { to_upper(c) }
            } else {
                after_space = is_space(c);
                c
            }
        })
        .collect();
    text(out)
}

/// xstrings' connector: `-`, `_` or white space.
fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || is_space(c)
}

/// `camelcase s`: words joined by connectors become one capitalised word each
/// ("http_server" → "HttpServer"; "HTTPServer" → "Httpserver": letters after the first of a
/// word are lower-cased). Leading connectors are kept, a doubled connector leaves one behind,
/// and a string of only connectors gets its last one twice, all as in xstrings.
pub(super) fn camelcase(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(&a[0])?;
    let mut out = String::with_capacity(s.len() + 1);
    let mut chars = s.chars();
    let Some(mut cur) = chars.next() else { return text(out) };
    while is_connector(cur) {
        out.push(cur);
        match chars.next() {
            Some(c) => cur = c,
            None => {
                out.push(cur);
                return text(out);
            }
        }
    }
    cur = to_upper(cur);
    for next in chars {
        let prev = cur;
        cur = next;
        if is_connector(cur) && is_connector(prev) {
            out.push(prev);
        } else if is_connector(prev) {
            cur = to_upper(cur);
        } else {
            cur = to_lower(cur);
            out.push(prev);
        }
    }
    out.push(cur);
    text(out)
}

/// `snakecase s`: "FirstName" → "first_name", "HTTP20xOK" → "http_20x_ok".
pub(super) fn snakecase(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    text(to_lower_words(str_arg(&a[0])?, '_'))
}

/// `kebabcase s`: "FirstName" → "first-name".
pub(super) fn kebabcase(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    text(to_lower_words(str_arg(&a[0])?, '-'))
}

/// The word classes of xstrings' tokenizer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    /// Only U+FFFD (Go's decoding error rune), or the end of input.
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// xstrings' "alphabet": a letter that is not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    is_letter(c) && !matches!(c as u32, 0x4E00..=0x9FCC | 0x3400..=0x4D85 | 0x20000..=0x2B81D)
}

/// The next rune that is not U+FFFD, and the bytes up to and including it. Go cannot tell
/// U+FFFD from a decoding error, so xstrings skips it; when only such runes remain it
/// reports `prev` for all of them.
fn next_valid(s: &str, prev: char) -> (char, usize) {
    let mut size = 0;
    for c in s.chars() {
        size += c.len_utf8();
        if c != '\u{FFFD}' {
            return (c, size);
        }
    }
    (prev, size)
}

/// Extends a word while `keep` holds for the following runes; returns the word's length.
fn extend(s: &str, mut len: usize, mut prev: char, keep: impl Fn(char) -> bool) -> (usize, char) {
    while len < s.len() {
        let (c, size) = next_valid(&s[len..], prev);
        if !keep(c) {
            return (len, c);
        }
        len += size;
        prev = c;
    }
    (len, prev)
}

/// xstrings' nextWord: splits off the first word of `s` and classifies it.
fn next_word(s: &str) -> (Word, &str, &str) {
    if s.is_empty() {
        return (Word::Invalid, "", "");
    }
    let (first, size) = next_valid(s, '\u{FFFD}');
    let (kind, len) = if first == '\u{FFFD}' {
        (Word::Invalid, size)
    } else if is_connector(first) {
        (Word::Connector, extend(s, size, first, is_connector).0)
    } else if is_punct(first) {
        (Word::Punct, extend(s, size, first, is_punct).0)
    } else if is_upper(first) {
        (Word::Upper, upper_word_len(s, size, first))
    } else if is_alphabet(first) {
        (Word::Alphabet, extend(s, size, first, |c| is_alphabet(c) && !is_upper(c)).0)
    } else if is_number(first) {
        (Word::Number, extend(s, size, first, is_number).0)
    } else {
        let other = |c: char| !(is_connector(c) || is_alphabet(c) || is_number(c) || is_punct(c));
        (Word::Other, extend(s, size, first, other).0)
    };
    (kind, &s[..len], &s[len..])
}

/// Length of a word starting with an upper-case letter: "Word", or a run of capitals
/// "HTTP" that leaves the capital starting the next word ("HTTPServer" → "HTTP").
fn upper_word_len(s: &str, first_len: usize, first: char) -> usize {
    if first_len == s.len() {
        return first_len;
    }
    let (second, size) = next_valid(&s[first_len..], first);
    if is_upper(second) {
        let mut len = first_len + size;
        let mut last_size = size;
        let mut prev = second;
        while len < s.len() {
            let (c, size) = next_valid(&s[len..], prev);
            if !is_upper(c) {
                if is_alphabet(c) {
                    len -= last_size;
                }
                return len;
            }
            len += size;
            last_size = size;
            prev = c;
        }
        len
    } else if is_alphabet(second) {
        extend(s, first_len + size, second, |c| is_alphabet(c) && !is_upper(c)).0
    } else {
        first_len
    }
}

/// xstrings' toLower: upper-case words are lower-cased and connector runs become the
/// connector; every other word is copied as is.
fn push_lower(out: &mut String, kind: Word, word: &str, connector: char) {
    if kind != Word::Upper && kind != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else if is_upper(c) {
            out.push(to_lower(c));
        } else {
            out.push(c);
        }
    }
}

/// A word stream with one word of look-ahead, as xstrings walks it.
struct Words<'s> {
    kind: Word,
    word: &'s str,
    rest: &'s str,
}

impl<'s> Words<'s> {
    fn new(s: &'s str) -> Self {
        let (kind, word, rest) = next_word(s);
        Words { kind, word, rest }
    }

    fn advance(&mut self) {
        (self.kind, self.word, self.rest) = next_word(self.rest);
    }

    /// Copies words while they are letters or numbers.
    fn copy_alnum(&mut self, out: &mut String, connector: char) {
        while matches!(self.kind, Word::Alphabet | Word::Number) {
            push_lower(out, self.kind, self.word, connector);
            self.advance();
        }
    }
}

/// xstrings' camelCaseToLowerCase: lower-cased words joined by `connector`. Numbers stick to
/// the word before them unless lower-case letters follow them ("Bld4Floor" → "bld4_floor",
/// "http2xx" → "http_2xx").
fn to_lower_words(s: &str, connector: char) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    if s.is_empty() {
        return out;
    }
    let mut w = Words::new(s);
    while !w.rest.is_empty() {
        if w.kind != Word::Connector {
            push_lower(&mut out, w.kind, w.word, connector);
        }
        let (prev, last) = (w.kind, w.word);
        w.advance();
        match prev {
            Word::Number => {
                w.copy_alnum(&mut out, connector);
                if w.kind != Word::Invalid && w.kind != Word::Punct {
                    out.push(connector);
                }
            }
            Word::Connector => push_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => after_word(&mut w, &mut out, connector),
        }
    }
    push_lower(&mut out, w.kind, w.word, connector);
    out
}

/// What follows a letter (or other) word: a connector, unless a number follows, which
/// joins this word or, when letters follow it, starts the next one.
fn after_word(w: &mut Words<'_>, out: &mut String, connector: char) {
    let separates = |k: Word| k != Word::Connector && k != Word::Punct;
    if w.kind != Word::Number {
        if separates(w.kind) {
            out.push(connector);
        }
        return;
    }
    if w.rest.is_empty() {
        return;
    }
    let number = w.word;
    w.advance();
    if w.kind != Word::Alphabet {
        push_lower(out, Word::Number, number, connector);
        if separates(w.kind) {
            out.push(connector);
        }
        return;
    }
    out.push(connector);
    push_lower(out, Word::Number, number, connector);
    w.copy_alnum(out, connector);
    if w.kind != Word::Invalid && separates(w.kind) {
        out.push(connector);
    }
}

#[cfg(test)]
mod tests {
    use super::{Word, next_word, to_lower_words};

    #[test]
    fn xstrings_samples() {
        let cases = [
            ("FirstName", "first_name"),
            ("HTTPServer", "http_server"),
            ("NoHTTPS", "no_https"),
            ("GO_PATH", "go_path"),
            ("GO PATH", "go_path"),
            ("GO-PATH", "go_path"),
            ("http2xx", "http_2xx"),
            ("HTTP20xOK", "http_20x_ok"),
            ("Duration2m3s", "duration_2m3s"),
            ("Bld4Floor3rd", "bld4_floor_3rd"),
        ];
        for (input, want) in cases {
            assert_eq!(to_lower_words(input, '_'), want, "{input}");
        }
    }

    #[test]
    fn words_split_capital_runs() {
        assert_eq!(next_word("HTTPServer"), (Word::Upper, "HTTP", "Server"));
        assert_eq!(next_word("Abc1"), (Word::Upper, "Abc", "1"));
        assert_eq!(next_word("__x"), (Word::Connector, "__", "x"));
    }
}
