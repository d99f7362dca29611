//! Tokenizer: splits literal text from `{{ }}` actions and lexes action contents the way Go's
//! `text/template/parse` lexer does (trim markers, comments, terminators, number syntax).

use super::ast::Pos;
use super::error::TemplateError;
use super::gofmt::quote;

/// Keywords recognised inside actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kw {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

/// Token categories; the token's text is its byte range in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokKind {
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Dot,
    Field,
    Variable,
    Ident,
    Keyword(Kw),
    Bool,
    Nil,
    Number,
    CharConst,
    Str,
    RawStr,
    /// Any other printable ASCII character, e.g. `,`.
    Char,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Eof,
    /// Lexing stopped here; the message is in [`Lexed::error`].
    Error,
}

/// One token with its source span and position.
#[derive(Clone, Copy, Debug)]
pub(super) struct Token {
    pub kind: TokKind,
    pub start: usize,
    pub end: usize,
    pub pos: Pos,
}

/// The token stream, ending in `Eof` or `Error`.
pub(super) struct Lexed {
    pub tokens: Vec<Token>,
    pub error: Option<TemplateError>,
}

/// Tokenizes the whole source.
pub(super) fn lex(src: &str) -> Lexed {
    let mut lx = Lexer {
        src,
        pos: 0,
        cursor: Cursor { pos: 0, line: 1, col: 1 },
        // Typical templates produce roughly one token per eight bytes.
        tokens: Vec::with_capacity(src.len() / 8 + 4),
        paren_depth: 0,
        action_start: 0,
        error: None,
    };
    while lx.lex_text() && lx.lex_action() {}
    Lexed { tokens: lx.tokens, error: lx.error }
}

/// Incremental byte offset → (line, column) conversion; tokens arrive in source order.
struct Cursor {
    pos: usize,
    line: u32,
    col: u32,
}

impl Cursor {
    fn at(&mut self, src: &str, target: usize) -> Pos {
        if target < self.pos {
            *self = Cursor { pos: 0, line: 1, col: 1 };
        }
        for &b in &src.as_bytes()[self.pos..target] {
            if b == b'\n' {
                self.line = self.line.saturating_add(1);
                self.col = 1;
            } else if b & 0xC0 != 0x80 {
                self.col = self.col.saturating_add(1);
            }
        }
        self.pos = target;
        Pos { line: self.line, col: self.col }
    }
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    cursor: Cursor,
    tokens: Vec<Token>,
    paren_depth: i64,
    action_start: usize,
    error: Option<TemplateError>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

/// Position of the first `{{`; searching for a single byte is much faster than a substring.
fn find_left_delim(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(i) = b[from..].iter().position(|&c| c == b'{') {
        let at = from + i;
        if b.get(at + 1) == Some(&b'{') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// `"- "` right after `{{`.
fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1])
}

/// Go's `%#U`, e.g. `U+0024 '$'`.
fn describe_char(c: char) -> String {
    format!("U+{:04X} '{}'", c as u32, c)
}

impl Lexer<'_> {
    fn emit(&mut self, kind: TokKind, start: usize, end: usize) {
        let pos = self.cursor.at(self.src, start);
        self.tokens.push(Token { kind, start, end, pos });
    }

    fn fail_at(&mut self, at: usize, msg: String) {
        let pos = self.cursor.at(self.src, at);
        self.tokens.push(Token { kind: TokKind::Error, start: at, end: at, pos });
        self.error = Some(TemplateError::syntax(pos, msg));
    }

    fn peek_char(&self, at: usize) -> Option<char> {
        self.src.get(at..).and_then(|s| s.chars().next())
    }

    /// If a right delimiter (optionally trim-marked) starts at `at`: its end and trim flag.
    fn right_delim_at(&self, at: usize) -> Option<(usize, bool)> {
        let s = &self.src.as_bytes()[at..];
        if s.len() >= 4 && is_space(s[0]) && s[1] == b'-' && &s[2..4] == b"}}" {
            return Some((at + 4, true));
        }
        if s.starts_with(b"}}") {
            return Some((at + 2, false));
        }
        None
    }

    fn skip_leading_space(&mut self) {
        let b = self.src.as_bytes();
        while self.pos < b.len() && is_space(b[self.pos]) {
            self.pos += 1;
        }
    }

    /// Lexes text up to the next action. Returns false at EOF or on error.
    fn lex_text(&mut self) -> bool {
        loop {
            let Some(off) = find_left_delim(&self.src[self.pos..]) else {
                if self.pos < self.src.len() {
                    self.emit(TokKind::Text, self.pos, self.src.len());
                }
                self.pos = self.src.len();
                self.emit(TokKind::Eof, self.pos, self.pos);
                return false;
            };
            let delim = self.pos + off;
            let trim = has_left_trim(&self.src[delim + 2..]);
            let mut text_end = delim;
            if trim {
                let b = self.src.as_bytes();
                while text_end > self.pos && is_space(b[text_end - 1]) {
                    text_end -= 1;
                }
            }
            if text_end > self.pos {
                self.emit(TokKind::Text, self.pos, text_end);
            }
            let inner = delim + if trim { 4 } else { 2 };
            if self.src[inner..].starts_with("/*") {
                if !self.lex_comment(delim, inner) {
                    return false;
                }
                continue;
            }
            self.emit(TokKind::LeftDelim, delim, inner);
            self.action_start = delim;
            self.pos = inner;
            self.paren_depth = 0;
            return true;
        }
    }

    fn lex_comment(&mut self, delim: usize, inner: usize) -> bool {
        let body = inner + 2;
        let Some(x) = self.src[body..].find("*/") else {
            self.fail_at(delim, "unclosed comment".into());
            return false;
        };
        match self.right_delim_at(body + x + 2) {
            Some((end, trim)) => {
                self.pos = end;
                if trim {
                    self.skip_leading_space();
                }
                true
            }
            None => {
                self.fail_at(delim, "comment ends before closing delimiter".into());
                false
            }
        }
    }

    /// Lexes the inside of an action through its right delimiter. Returns false on error.
    fn lex_action(&mut self) -> bool {
        while self.error.is_none() {
            if let Some((end, trim)) = self.right_delim_at(self.pos) {
                if self.paren_depth > 0 {
                    self.fail_at(self.pos, "unclosed left paren".into());
                    return false;
                }
                self.emit(TokKind::RightDelim, self.pos, end);
                self.pos = end;
                if trim {
                    self.skip_leading_space();
                }
                return true;
            }
            let start = self.pos;
            let Some(c) = self.peek_char(start) else {
                self.fail_at(self.action_start, "unclosed action".into());
                return false;
            };
            let next = self.src.as_bytes().get(start + 1).copied();
            match c {
                ' ' | '\t' | '\r' | '\n' => self.lex_space(),
                '=' => self.single(TokKind::Assign),
                ':' if next == Some(b'=') => {
                    self.pos += 2;
                    self.emit(TokKind::Declare, start, self.pos);
                }
                ':' => self.fail_at(start, "expected :=".into()),
                '|' => self.single(TokKind::Pipe),
                '"' => self.lex_quoted('"', TokKind::Str, "unterminated quoted string"),
                '\'' => self.lex_quoted('\'', TokKind::CharConst, "unterminated character constant"),
                '`' => self.lex_raw(),
                '$' => self.lex_field_or_var(TokKind::Variable),
                '.' if !next.is_some_and(|b| b.is_ascii_digit()) => self.lex_field_or_var(TokKind::Field),
                '.' | '+' | '-' | '0'..='9' => self.lex_number(),
                '(' => {
                    self.paren_depth += 1;
                    self.single(TokKind::LParen);
                }
                ')' => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        self.fail_at(start, "unexpected right paren".into());
                    } else {
                        self.single(TokKind::RParen);
                    }
                }
                c if is_alnum(c) => self.lex_identifier(),
                c if c.is_ascii() && !c.is_ascii_control() => self.single(TokKind::Char),
                c => self.fail_at(start, format!("unrecognized character in action: {}", describe_char(c))),
            }
        }
        false
    }

    fn single(&mut self, kind: TokKind) {
        let start = self.pos;
        self.pos += 1;
        self.emit(kind, start, self.pos);
    }

    fn lex_space(&mut self) {
        let start = self.pos;
        let b = self.src.as_bytes();
        let mut end = start;
        while end < b.len() && is_space(b[end]) {
            end += 1;
        }
        // A space followed by "-}}" belongs to the trim-marked delimiter.
        if self.right_delim_at(end - 1).is_some_and(|(_, trim)| trim) {
            end -= 1;
        }
        self.pos = end;
        if end > start {
            self.emit(TokKind::Space, start, end);
        }
    }

    /// Whether the character at `at` may end a word.
    fn at_terminator(&self, at: usize) -> bool {
        match self.src.as_bytes().get(at) {
            None => true,
            Some(&b) if is_space(b) => true,
            Some(b'.' | b',' | b'|' | b':' | b')' | b'(') => true,
            Some(_) => self.src[at..].starts_with("}}"),
        }
    }

    fn scan_alnum(&mut self) {
        while let Some(c) = self.peek_char(self.pos) {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn bad_char_here(&mut self) {
        let c = self.peek_char(self.pos).unwrap_or('\u{FFFD}');
        self.fail_at(self.pos, format!("bad character {}", describe_char(c)));
    }

    fn lex_field_or_var(&mut self, kind: TokKind) {
        let start = self.pos;
        self.pos += 1;
        if self.at_terminator(self.pos) {
            let k = if kind == TokKind::Field { TokKind::Dot } else { kind };
            self.emit(k, start, self.pos);
            return;
        }
        self.scan_alnum();
        if !self.at_terminator(self.pos) {
            self.bad_char_here();
            return;
        }
        self.emit(kind, start, self.pos);
    }

    fn lex_identifier(&mut self) {
        let start = self.pos;
        self.scan_alnum();
        if !self.at_terminator(self.pos) {
            self.bad_char_here();
            return;
        }
        let kind = match &self.src[start..self.pos] {
            "block" => TokKind::Keyword(Kw::Block),
            "break" => TokKind::Keyword(Kw::Break),
            "continue" => TokKind::Keyword(Kw::Continue),
            "define" => TokKind::Keyword(Kw::Define),
            "else" => TokKind::Keyword(Kw::Else),
            "end" => TokKind::Keyword(Kw::End),
            "if" => TokKind::Keyword(Kw::If),
            "range" => TokKind::Keyword(Kw::Range),
            "template" => TokKind::Keyword(Kw::Template),
            "with" => TokKind::Keyword(Kw::With),
            "nil" => TokKind::Nil,
            "true" | "false" => TokKind::Bool,
            _ => TokKind::Ident,
        };
        self.emit(kind, start, self.pos);
    }

    fn lex_quoted(&mut self, q: char, kind: TokKind, unterminated: &str) {
        let start = self.pos;
        let mut it = self.src[start + 1..].char_indices();
        loop {
            match it.next() {
                Some((_, '\\')) => match it.next() {
                    Some((_, c)) if c != '\n' => {}
                    _ => break,
                },
                Some((_, '\n')) | None => break,
                Some((i, c)) if c == q => {
                    self.pos = start + 1 + i + 1;
                    self.emit(kind, start, self.pos);
                    return;
                }
                Some(_) => {}
            }
        }
        self.fail_at(start, unterminated.to_string());
    }

    fn lex_raw(&mut self) {
        let start = self.pos;
        match self.src[start + 1..].find('`') {
            Some(i) => {
                self.pos = start + 1 + i + 1;
                self.emit(TokKind::RawStr, start, self.pos);
            }
            None => self.fail_at(start, "unterminated raw quoted string".into()),
        }
    }

    fn accept(&mut self, set: &[u8]) -> bool {
        match self.src.as_bytes().get(self.pos) {
            Some(b) if set.contains(b) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, set: &[u8]) {
        while self.accept(set) {}
    }

    /// Go's scanNumber: returns false when an alphanumeric character follows the number.
    fn scan_number(&mut self) -> bool {
        const DEC: &[u8] = b"0123456789_";
        const HEX: &[u8] = b"0123456789abcdefABCDEF_";
        self.accept(b"+-");
        let mut digits = DEC;
        if self.accept(b"0") {
            if self.accept(b"xX") {
                digits = HEX;
            } else if self.accept(b"oO") {
                digits = b"01234567_";
            } else if self.accept(b"bB") {
                digits = b"01_";
            }
        }
        self.accept_run(digits);
        if self.accept(b".") {
            self.accept_run(digits);
        }
        if digits == DEC && self.accept(b"eE") {
            self.accept(b"+-");
            self.accept_run(DEC);
        }
        if digits == HEX && self.accept(b"pP") {
            self.accept(b"+-");
            self.accept_run(DEC);
        }
        self.accept(b"i");
        match self.peek_char(self.pos) {
            Some(c) if is_alnum(c) => {
                self.pos += c.len_utf8();
                false
            }
            _ => true,
        }
    }

    fn lex_number(&mut self) {
        let start = self.pos;
        let mut ok = self.scan_number();
        if ok && matches!(self.src.as_bytes().get(self.pos), Some(b'+' | b'-')) {
            // Go reads "1+2i" as one complex constant; anything else glued on is an error.
            ok = self.scan_number() && self.src.as_bytes()[self.pos - 1] == b'i';
            if ok {
                let text = self.src[start..self.pos].to_string();
                self.fail_at(start, format!("complex number {} is not supported", quote(&text)));
                return;
            }
        }
        if !ok {
            let text = self.src[start..self.pos].to_string();
            self.fail_at(start, format!("bad number syntax: {}", quote(&text)));
            return;
        }
        self.emit(TokKind::Number, start, self.pos);
    }
}
