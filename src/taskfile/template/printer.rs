//! Go `fmt` value printing: verbs, flags, widths and `%!verb(type=value)` annotations.
//!
//! Output is bounded: a printer refuses to grow past its byte budget and to descend past
//! [`MAX_VALUE_DEPTH`], so printing a huge or deeply nested value fails cleanly.

use super::floatfmt::format_float;
use super::quote::{is_print, quote, quote_rune};
use super::timefmt;
use super::value::{MAX_VALUE_DEPTH, Value};

/// Why printing stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FmtError {
    TooLarge,
    TooDeep,
}

/// Per-verb formatting flags.
#[derive(Clone, Copy, Default)]
pub(super) struct Flags {
    pub plus: bool,
    pub minus: bool,
    pub sharp: bool,
    pub space: bool,
    pub zero: bool,
    pub wid: Option<usize>,
    pub prec: Option<usize>,
}

/// A bounded output buffer with Go's formatting rules.
pub(super) struct Printer {
    buf: String,
    max: usize,
    overflow: bool,
}

impl Printer {
    pub(super) fn new(max: usize) -> Self {
        Printer { buf: String::new(), max, overflow: false }
    }

    pub(super) fn finish(self) -> Result<String, FmtError> {
        if self.overflow { Err(FmtError::TooLarge) } else { Ok(self.buf) }
    }

    fn fits(&mut self, n: usize) -> bool {
        if self.overflow || self.buf.len().saturating_add(n) > self.max {
            self.overflow = true;
            return false;
        }
        true
    }

    pub(super) fn put(&mut self, s: &str) {
        if self.fits(s.len()) {
            self.buf.push_str(s);
        }
    }

    fn put_repeat(&mut self, c: char, n: usize) {
        if self.fits(n.saturating_mul(c.len_utf8())) {
            self.buf.extend(std::iter::repeat_n(c, n));
        }
    }

    /// Writes `s` padded to the width, counting characters as Go counts runes.
    fn pad(&mut self, s: &str, f: &Flags) {
        let Some(w) = f.wid else {
            self.put(s);
            return;
        };
        let n = s.chars().count();
        if n >= w {
            self.put(s);
            return;
        }
        let fill = if f.zero { '0' } else { ' ' };
        if f.minus {
            self.put(s);
            self.put_repeat(' ', w - n);
        } else {
            self.put_repeat(fill, w - n);
            self.put(s);
        }
    }

    pub(super) fn print_value(&mut self, v: &Value, verb: char, f: &Flags, depth: usize) -> Result<(), FmtError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(FmtError::TooDeep);
        }
        if self.overflow {
            return Ok(());
        }
        if verb == 'T' {
            self.pad(v.type_name(), f);
            return Ok(());
        }
        match v {
            Value::Nil if depth == 0 && verb != 'v' => self.bad_verb(verb, v, f, depth)?,
            Value::Nil => self.pad("<nil>", f),
            Value::Bool(b) if verb == 't' || verb == 'v' => self.pad(if *b { "true" } else { "false" }, f),
            Value::Int(i) => {
                if !self.fmt_int(*i, verb, f) {
                    self.bad_verb(verb, v, f, depth)?;
                }
            }
            Value::Float(x) => {
                if !self.fmt_float(*x, verb, f) {
                    self.bad_verb(verb, v, f, depth)?;
                }
            }
            Value::Str(s) => {
                if !self.fmt_str(s, verb, f) {
                    self.bad_verb(verb, v, f, depth)?;
                }
            }
            Value::Time(t) if matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') => {
                let s = timefmt::go_string(t);
                self.fmt_str(&s, verb, f);
            }
            Value::List(l) => {
                self.put("[");
                for (i, e) in l.0.iter().enumerate() {
                    if i > 0 {
                        self.put(" ");
                    }
                    self.print_value(e, verb, f, depth + 1)?;
                }
                self.put("]");
            }
            Value::Map(m) => {
                self.put("map[");
                let m = m.0.borrow();
                for (i, (k, e)) in m.iter().enumerate() {
                    if i > 0 {
                        self.put(" ");
                    }
                    if !self.fmt_str(k, verb, f) {
                        self.bad_verb(verb, &Value::str(k), f, depth + 1)?;
                    }
                    self.put(":");
                    self.print_value(e, verb, f, depth + 1)?;
                }
                self.put("]");
            }
            _ => self.bad_verb(verb, v, f, depth)?,
        }
        Ok(())
    }

    /// Go's `%!verb(type=value)` annotation for a verb that does not fit the operand.
    fn bad_verb(&mut self, verb: char, v: &Value, f: &Flags, depth: usize) -> Result<(), FmtError> {
        self.put("%!");
        let mut tmp = [0u8; 4];
        self.put(verb.encode_utf8(&mut tmp));
        self.put("(");
        if let Value::Nil = v {
            self.put("<nil>");
        } else {
            self.put(v.type_name());
            self.put("=");
            self.print_value(v, 'v', f, depth + 1)?;
        }
        self.put(")");
        Ok(())
    }

    fn fmt_str(&mut self, s: &str, verb: char, f: &Flags) -> bool {
        let truncated = match f.prec {
            Some(p) => s.char_indices().nth(p).map_or(s, |(i, _)| &s[..i]),
            None => s,
        };
        match verb {
            'v' | 's' => self.pad(truncated, f),
            'q' => self.pad(&quote(truncated), f),
            'x' | 'X' => {
                let bytes = match f.prec {
                    Some(p) => &s.as_bytes()[..p.min(s.len())],
                    None => s.as_bytes(),
                };
                let mut out = String::with_capacity(bytes.len() * 2);
                for (i, byte) in bytes.iter().enumerate() {
                    if i > 0 && f.space {
                        out.push(' ');
                    }
                    if f.sharp && (f.space || i == 0) {
                        out.push_str(if verb == 'x' { "0x" } else { "0X" });
                    }
                    if verb == 'x' {
                        out.push_str(&format!("{byte:02x}"));
                    } else {
                        out.push_str(&format!("{byte:02X}"));
                    }
                }
                self.pad(&out, f);
            }
            _ => return false,
        }
        true
    }

    fn fmt_int(&mut self, v: i64, verb: char, f: &Flags) -> bool {
        match verb {
            'v' | 'd' => self.fmt_integer(v, 10, verb, f),
            'b' => self.fmt_integer(v, 2, verb, f),
            'o' | 'O' => self.fmt_integer(v, 8, verb, f),
            'x' | 'X' => self.fmt_integer(v, 16, verb, f),
            'c' => {
                let c = u32::try_from(v).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}');
                self.pad(c.encode_utf8(&mut [0u8; 4]), f);
            }
            'q' => {
                let c = u32::try_from(v).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}');
                self.pad(&quote_rune(c), f);
            }
            'U' => {
                let mut s = format!("U+{:04X}", v);
                if f.sharp
                    && let Some(c) = u32::try_from(v).ok().and_then(char::from_u32)
                    && is_print(c)
                {
                    s.push_str(&format!(" '{c}'"));
                }
                self.pad(&s, f);
            }
            _ => return false,
        }
        true
    }

    /// Go's fmtInteger: precision or zero flag give leading zeros, then prefix and sign.
    fn fmt_integer(&mut self, v: i64, base: u32, verb: char, f: &Flags) {
        let neg = v < 0;
        let u = v.unsigned_abs();
        let mut prec = 0usize;
        if let Some(p) = f.prec {
            prec = p;
            if p == 0 && u == 0 {
                self.put_repeat(' ', f.wid.unwrap_or(0));
                return;
            }
        } else if let (true, false, Some(w)) = (f.zero, f.minus, f.wid) {
            prec = w;
            if neg || f.plus || f.space {
                prec = prec.saturating_sub(1);
            }
        }
        if !self.fits(prec) {
            return;
        }
        let digits = match (base, verb) {
            (2, _) => format!("{u:b}"),
            (8, _) => format!("{u:o}"),
            (16, 'X') => format!("{u:X}"),
            (16, _) => format!("{u:x}"),
            _ => u.to_string(),
        };
        let mut s = String::with_capacity(prec.max(digits.len()) + 4);
        if digits.len() < prec {
            s.extend(std::iter::repeat_n('0', prec - digits.len()));
        }
        s.push_str(&digits);
        let mut prefix = String::new();
        if neg {
            prefix.push('-');
        } else if f.plus {
            prefix.push('+');
        } else if f.space {
            prefix.push(' ');
        }
        if f.sharp {
            match base {
                2 => prefix.push_str("0b"),
                8 if !s.starts_with('0') => prefix.push('0'),
                16 => prefix.push_str(if verb == 'X' { "0X" } else { "0x" }),
                _ => {}
            }
        }
        if verb == 'O' {
            prefix.push_str("0o");
        }
        prefix.push_str(&s);
        let no_zero = Flags { zero: false, ..*f };
        self.pad(&prefix, &no_zero);
    }

    fn fmt_float(&mut self, x: f64, verb: char, f: &Flags) -> bool {
        let (fv, prec) = match verb {
            'v' => (b'g', f.prec.map_or(-1, |p| p as i64)),
            'g' | 'G' => (verb as u8, f.prec.map_or(-1, |p| p as i64)),
            'e' | 'E' | 'f' | 'F' => (verb as u8, f.prec.map_or(6, |p| p as i64)),
            _ => return false,
        };
        if !self.fits(usize::try_from(prec).unwrap_or(0)) {
            return true;
        }
        let mut num = format_float(x, fv, prec);
        if x.is_finite() && !num.starts_with('-') {
            if f.plus {
                num.insert(0, '+');
            } else if f.space {
                num.insert(0, ' ');
            }
        }
        // Zero padding goes between the sign and the digits.
        if f.zero
            && !f.minus
            && x.is_finite()
            && let Some(w) = f.wid
            && num.starts_with(['+', '-', ' '])
            && w > num.len()
        {
            let (sign, rest) = num.split_at(1);
            let rest = rest.to_string();
            self.put(sign);
            let flags = Flags { wid: Some(w - 1), ..*f };
            self.pad(&rest, &flags);
            return true;
        }
        let flags = if x.is_finite() { *f } else { Flags { zero: false, ..*f } };
        self.pad(&num, &flags);
        true
    }
}
