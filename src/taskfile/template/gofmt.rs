//! Go `fmt`: `Sprint`, `Sprintln`, `Sprintf` and `%v` of one value, with Go's verbs, flags,
//! widths, precisions and `%!verb(type=value)` annotations.
//!
//! Output is bounded: formatting refuses to grow past its byte budget and to descend past
//! [`MAX_VALUE_DEPTH`], so printing a huge or deeply nested value fails cleanly.

use super::floatfmt::format_float;
pub(super) use super::quote::{is_print, quote};
use super::quote::{quote_ascii, quote_rune};
use super::timefmt;
use super::value::{MAX_VALUE_DEPTH, Struct, Value};

/// Why formatting stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FmtError {
    TooLarge,
    TooDeep,
}

/// Go's `tooLarge` guard for widths and precisions.
const MAX_WIDTH: usize = 1_000_000;

/// The address `%p` shows for a list or map: Go prints a heap address, never reproducible.
const FAKE_POINTER: u64 = 0xc000010000;

/// Flags, width and precision of one verb. `plus_v`/`sharp_v` are `%+v`/`%#v`, which Go keeps
/// apart from `+`/`#` because they select other layouts rather than signs and prefixes.
#[derive(Clone, Copy, Default)]
struct Spec {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

/// A bounded output buffer implementing Go's `fmt` and `pp` printing rules.
struct Printer {
    buf: String,
    max: usize,
    overflow: bool,
    /// Inside a `%!verb(...)` annotation (Go then skips `String` methods).
    erroring: bool,
}

impl Printer {
    fn new(max: usize) -> Self {
        Printer { buf: String::new(), max, overflow: false, erroring: false }
    }

    fn finish(self) -> Result<String, FmtError> {
        if self.overflow { Err(FmtError::TooLarge) } else { Ok(self.buf) }
    }

    fn fits(&mut self, n: usize) -> bool {
        if self.overflow || self.buf.len().saturating_add(n) > self.max {
            self.overflow = true;
            return false;
        }
        true
    }

    fn put(&mut self, s: &str) {
        if self.fits(s.len()) {
            self.buf.push_str(s);
        }
    }

    fn put_char(&mut self, c: char) {
        if self.fits(c.len_utf8()) {
            self.buf.push(c);
        }
    }

    /// Go's writePadding: zeros only when padding on the left.
    fn padding(&mut self, n: usize, s: &Spec) {
        let fill = if s.zero && !s.minus { '0' } else { ' ' };
        if self.fits(n) {
            self.buf.extend(std::iter::repeat_n(fill, n));
        }
    }

    /// Go's pad/padString: the width counts runes.
    fn pad(&mut self, text: &str, s: &Spec) {
        let width = match s.wid {
            Some(w) if w > 0 => w.saturating_sub(text.chars().count()),
            _ => 0,
        };
        if s.minus {
            self.put(text);
            self.padding(width, s);
        } else {
            self.padding(width, s);
            self.put(text);
        }
    }

    /// Pads with spaces even when the zero flag is set.
    fn pad_spaces(&mut self, text: &str, s: &Spec) {
        self.pad(text, &Spec { zero: false, ..*s });
    }

    /// Go's printArg (depth 0) and printValue (nested values).
    fn print(&mut self, v: &Value, verb: char, s: &Spec, depth: usize) -> Result<(), FmtError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(FmtError::TooDeep);
        }
        if self.overflow {
            return Ok(());
        }
        if depth == 0 {
            match (v, verb) {
                (Value::Nil, 'T' | 'v') => {
                    self.pad("<nil>", s);
                    return Ok(());
                }
                (Value::Nil, _) => return self.bad_verb(v, verb, s),
                (_, 'T') => {
                    self.fmt_s(v.type_name(), s);
                    return Ok(());
                }
                (_, 'p') => return self.fmt_pointer(v, s),
                _ => {}
            }
        }
        match v {
            // A nil inside a container is an empty interface.
            Value::Nil => self.put(if s.sharp_v { "interface {}(nil)" } else { "<nil>" }),
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }, s),
                _ => self.bad_verb(v, verb, s)?,
            },
            Value::Int(i) | Value::Int64(i) => self.fmt_int_verb(*i as u64, true, v, verb, s)?,
            Value::Struct(st) => self.fmt_struct(st, verb, s, depth)?,
            Value::Uint(u) => self.fmt_int_verb(*u, false, v, verb, s)?,
            Value::Float(x) => self.fmt_float_verb(*x, v, verb, s)?,
            Value::Str(text) => self.fmt_string(text, v, verb, s)?,
            Value::Time(t) => self.fmt_time(t, v, verb, s)?,
            Value::List(_) | Value::Map(_) if verb == 'w' => self.bad_verb(v, verb, s)?,
            Value::List(l) => {
                let (open, sep) = if s.sharp_v { ("{", ", ") } else { ("[", " ") };
                if s.sharp_v {
                    self.put(v.type_name());
                }
                self.put(open);
                for (i, e) in l.0.iter().enumerate() {
                    if i > 0 {
                        self.put(sep);
                    }
                    self.print(e, verb, s, depth + 1)?;
                }
                self.put(if s.sharp_v { "}" } else { "]" });
            }
            Value::Map(m) => {
                if s.sharp_v {
                    self.put(v.type_name());
                    self.put("{");
                } else {
                    self.put("map[");
                }
                for (i, (k, e)) in m.0.borrow().iter().enumerate() {
                    if i > 0 {
                        self.put(if s.sharp_v { ", " } else { " " });
                    }
                    match super::value::decode_int_key(k) {
                        Some(i) => self.print(&Value::Int(i), verb, s, depth + 1)?,
                        None => self.fmt_string(k, &Value::str(k), verb, s)?,
                    }
                    self.put(":");
                    self.print(e, verb, s, depth + 1)?;
                }
                self.put(if s.sharp_v { "}" } else { "]" });
            }
        }
        Ok(())
    }

    /// A struct: its `String` method for `%v`/`%s` when it has one, else `{f1 f2}` (`%+v` names
    /// the fields, `%#v` the type as well).
    fn fmt_struct(&mut self, st: &Struct, verb: char, s: &Spec, depth: usize) -> Result<(), FmtError> {
        if let Some(text) = &st.display
            && !s.sharp_v
            && !self.erroring
            && matches!(verb, 'v' | 's' | 'q' | 'x' | 'X')
        {
            return self.fmt_string(text, &Value::str(text), verb, s);
        }
        if st.pointer {
            self.put("&");
        }
        if s.sharp_v {
            self.put(st.type_name.trim_start_matches('*'));
        }
        self.put("{");
        for (i, (name, field)) in st.fields[..st.printed].iter().enumerate() {
            if i > 0 {
                self.put(if s.sharp_v { ", " } else { " " });
            }
            if s.plus_v || s.sharp_v {
                self.put(name);
                self.put(":");
            }
            self.print(field, verb, s, depth + 1)?;
        }
        self.put("}");
        Ok(())
    }

    /// Go's `%!verb(type=value)` annotation for a verb that does not fit the operand.
    fn bad_verb(&mut self, v: &Value, verb: char, s: &Spec) -> Result<(), FmtError> {
        self.erroring = true;
        self.put("%!");
        self.put_char(verb);
        self.put("(");
        let result = if let Value::Nil = v {
            self.put("<nil>");
            Ok(())
        } else {
            self.put(v.type_name());
            self.put("=");
            self.print(v, 'v', s, 0)
        };
        self.put(")");
        self.erroring = false;
        result
    }

    /// `%p`: only reference types have an address.
    fn fmt_pointer(&mut self, v: &Value, s: &Spec) -> Result<(), FmtError> {
        match v {
            Value::List(_) | Value::Map(_) => {
                // Go prints the address as an unsigned hex integer, `#` dropping the 0x.
                self.fmt_integer(FAKE_POINTER, 16, false, 'v', &Spec { sharp: !s.sharp, ..*s });
                Ok(())
            }
            _ => self.bad_verb(v, 'p', s),
        }
    }

    /// `time.Time` has `String` and `GoString` methods; other verbs would print its private
    /// fields, which are not reproducible, so they are reported as bad verbs instead.
    fn fmt_time(&mut self, t: &timefmt::GoTime, v: &Value, verb: char, s: &Spec) -> Result<(), FmtError> {
        if s.sharp_v && !self.erroring {
            let utc = t.to_chrono().unwrap_or_default();
            self.fmt_s(&go_syntax_time(&utc), s);
            return Ok(());
        }
        match verb {
            'v' | 's' | 'x' | 'X' | 'q' => self.fmt_string(&timefmt::go_string(t), v, verb, s),
            _ => self.bad_verb(v, verb, s),
        }
    }

    fn fmt_string(&mut self, text: &str, v: &Value, verb: char, s: &Spec) -> Result<(), FmtError> {
        match verb {
            'v' if s.sharp_v => self.fmt_q(text, s),
            'v' | 's' => self.fmt_s(text, s),
            'x' => self.fmt_sx(text, false, s),
            'X' => self.fmt_sx(text, true, s),
            'q' => self.fmt_q(text, s),
            _ => self.bad_verb(v, verb, s)?,
        }
        Ok(())
    }

    /// Go's truncateString: the precision counts runes.
    fn truncate<'a>(text: &'a str, s: &Spec) -> &'a str {
        match s.prec {
            Some(p) => text.char_indices().nth(p).map_or(text, |(i, _)| &text[..i]),
            None => text,
        }
    }

    fn fmt_s(&mut self, text: &str, s: &Spec) {
        self.pad(Self::truncate(text, s), s);
    }

    /// Hex of the string's bytes; `space` separates bytes and `#` adds 0x prefixes.
    fn fmt_sx(&mut self, text: &str, upper: bool, s: &Spec) {
        let bytes = text.as_bytes();
        let n = s.prec.map_or(bytes.len(), |p| p.min(bytes.len()));
        if n == 0 {
            if let Some(w) = s.wid {
                self.padding(w, s);
            }
            return;
        }
        let mut width = 2 * n;
        if s.space {
            if s.sharp {
                width *= 2;
            }
            width += n - 1;
        } else if s.sharp {
            width += 2;
        }
        let fill = s.wid.map_or(0, |w| w.saturating_sub(width));
        if !s.minus {
            self.padding(fill, s);
        }
        if !self.fits(width) {
            return;
        }
        let prefix = if upper { "0X" } else { "0x" };
        if s.sharp {
            self.buf.push_str(prefix);
        }
        for (i, b) in bytes[..n].iter().enumerate() {
            if s.space && i > 0 {
                self.buf.push(' ');
                if s.sharp {
                    self.buf.push_str(prefix);
                }
            }
            self.buf.push_str(&if upper { format!("{b:02X}") } else { format!("{b:02x}") });
        }
        if s.minus {
            self.padding(fill, s);
        }
    }

    /// `%q`: a Go string literal; `#` prefers a raw string, `+` escapes non-ASCII.
    fn fmt_q(&mut self, text: &str, s: &Spec) {
        let text = Self::truncate(text, s);
        if s.sharp && can_backquote(text) {
            self.pad(&format!("`{text}`"), s);
        } else if s.plus {
            self.pad(&quote_ascii(text, '"'), s);
        } else {
            self.pad(&quote(text), s);
        }
    }

    /// Go's pp.fmtInteger: picks the base or character layout for a verb.
    fn fmt_int_verb(&mut self, u: u64, signed: bool, v: &Value, verb: char, s: &Spec) -> Result<(), FmtError> {
        match verb {
            'v' if s.sharp_v && !signed => self.fmt_integer(u, 16, false, 'v', &Spec { sharp: true, ..*s }),
            'v' | 'd' => self.fmt_integer(u, 10, signed, verb, s),
            'b' => self.fmt_integer(u, 2, signed, verb, s),
            'o' | 'O' => self.fmt_integer(u, 8, signed, verb, s),
            'x' | 'X' => self.fmt_integer(u, 16, signed, verb, s),
            'c' => self.pad(rune_of(u).encode_utf8(&mut [0u8; 4]), s),
            'q' => {
                let r = rune_of(u);
                let text = if s.plus { quote_ascii(&r.to_string(), '\'') } else { quote_rune(r) };
                self.pad(&text, s);
            }
            'U' => self.fmt_unicode(u, s),
            _ => self.bad_verb(v, verb, s)?,
        }
        Ok(())
    }

    /// Go's fmt.fmtInteger: precision or the zero flag give leading zeros, then the base
    /// prefix and sign; the zero flag never pads further.
    fn fmt_integer(&mut self, u: u64, base: u32, signed: bool, verb: char, s: &Spec) {
        let negative = signed && (u as i64) < 0;
        let mag = if negative { (u as i64).unsigned_abs() } else { u };
        let mut prec = 0usize;
        if let Some(p) = s.prec {
            if p == 0 && mag == 0 {
                self.padding(s.wid.unwrap_or(0), &Spec { zero: false, ..*s });
                return;
            }
            prec = p;
        } else if let (true, false, Some(w)) = (s.zero, s.minus, s.wid) {
            prec = w;
            if negative || s.plus || s.space {
                prec = prec.saturating_sub(1);
            }
        }
        if !self.fits(prec) {
            return;
        }
        let digits = match (base, verb) {
            (2, _) => format!("{mag:b}"),
            (8, _) => format!("{mag:o}"),
            (16, 'X') => format!("{mag:X}"),
            (16, _) => format!("{mag:x}"),
            _ => mag.to_string(),
        };
        let mut out = String::with_capacity(prec.max(digits.len()) + 4);
        if negative {
            out.push('-');
        } else if s.plus {
            out.push('+');
        } else if s.space {
            out.push(' ');
        }
        if verb == 'O' {
            out.push_str("0o");
        }
        let zeros = prec.saturating_sub(digits.len());
        if s.sharp {
            match base {
                2 => out.push_str("0b"),
                8 if zeros == 0 && !digits.starts_with('0') => out.push('0'),
                16 => out.push_str(if verb == 'X' { "0X" } else { "0x" }),
                _ => {}
            }
        }
        out.extend(std::iter::repeat_n('0', zeros));
        out.push_str(&digits);
        self.pad_spaces(&out, s);
    }

    /// Go's fmtUnicode: `U+0078`, with `#` also the quoted character when printable.
    fn fmt_unicode(&mut self, u: u64, s: &Spec) {
        let prec = s.prec.filter(|&p| p > 4).unwrap_or(4);
        if !self.fits(prec) {
            return;
        }
        let mut text = format!("U+{u:0prec$X}");
        if s.sharp
            && let Some(c) = u32::try_from(u).ok().and_then(char::from_u32)
            && is_print(c)
        {
            text.push_str(&format!(" '{c}'"));
        }
        self.pad_spaces(&text, s);
    }

    /// Go's pp.fmtFloat: default precisions per verb.
    fn fmt_float_verb(&mut self, x: f64, v: &Value, verb: char, s: &Spec) -> Result<(), FmtError> {
        match verb {
            'v' => self.fmt_float(x, b'g', -1, s),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float(x, verb as u8, -1, s),
            'f' | 'e' | 'E' => self.fmt_float(x, verb as u8, 6, s),
            'F' => self.fmt_float(x, b'f', 6, s),
            _ => self.bad_verb(v, verb, s)?,
        }
        Ok(())
    }

    /// Go's fmt.fmtFloat: sign and space flags, `#` decimal points and trailing zeros, zero
    /// padding after the sign, and no zero padding for infinities and NaN.
    fn fmt_float(&mut self, x: f64, verb: u8, default_prec: i64, s: &Spec) {
        let prec = s.prec.map_or(default_prec, |p| p as i64);
        if !self.fits(usize::try_from(prec).unwrap_or(0)) {
            return;
        }
        let digits = format_float(x, verb, prec);
        // Go formats with a sign slot in front and fills it with '+' for non-negative values.
        let mut num = if digits.starts_with(['+', '-']) { digits } else { format!("+{digits}") };
        if s.space && num.starts_with('+') && !s.plus {
            num.replace_range(..1, " ");
        }
        if num[1..].starts_with(['I', 'N']) {
            if num[1..].starts_with('N') && !s.space && !s.plus {
                num.remove(0);
            }
            self.pad_spaces(&num, s);
            return;
        }
        if s.sharp && verb != b'b' {
            num = sharp_float(&num, verb, prec);
        }
        if s.plus || !num.starts_with('+') {
            if let (true, false, Some(w)) = (s.zero, s.minus, s.wid)
                && w > num.len()
            {
                let (sign, rest) = num.split_at(1);
                self.put(sign);
                self.padding(w - num.len(), s);
                self.put(rest);
                return;
            }
            self.pad(&num, s);
            return;
        }
        self.pad(&num[1..], s);
    }
}

/// The `#` flag on floats: always a decimal point and, for `%g`/`%x`, trailing zeros up to
/// the precision (6 by default). `num` starts with its sign.
fn sharp_float(num: &str, verb: u8, prec: i64) -> String {
    let mut digits: i64 = match verb {
        b'v' | b'g' | b'G' | b'x' => {
            if prec == -1 {
                6
            } else {
                prec
            }
        }
        _ => 0,
    };
    let hex = matches!(verb, b'x' | b'X');
    let bytes = num.as_bytes();
    let mut body_end = num.len();
    let mut has_point = false;
    let mut saw_nonzero = false;
    for (i, &c) in bytes.iter().enumerate().skip(1) {
        match c {
            b'.' => has_point = true,
            b'p' | b'P' => {
                body_end = i;
                break;
            }
            b'e' | b'E' if !hex => {
                body_end = i;
                break;
            }
            _ => {
                // Go counts every character after the first non-zero one, the 'x' of "0x"
                // included.
                if c != b'0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
            }
        }
    }
    let (body, tail) = num.split_at(body_end);
    let mut out = String::with_capacity(num.len() + usize::try_from(digits).unwrap_or(0) + 1);
    out.push_str(body);
    if !has_point {
        if body.len() == 2 && body.ends_with('0') {
            digits -= 1;
        }
        out.push('.');
    }
    for _ in 0..digits.max(0) {
        out.push('0');
    }
    out.push_str(tail);
    out
}

/// Go's `%c` operand: out-of-range values and surrogates become U+FFFD.
fn rune_of(u: u64) -> char {
    u32::try_from(u).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}')
}

/// Go's `strconv.CanBackquote` for valid UTF-8.
fn can_backquote(s: &str) -> bool {
    s.chars().all(
        |c| {
            if c.len_utf8() > 1 { c != '\u{FEFF}' } else { !((c < ' ' && c != '\t') || c == '`' || c == '\x7f') }
        },
    )
}

/// Go's `time.Time.GoString`; task-file times carry the local zone.
fn go_syntax_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let month = timefmt::LONG_MONTHS[t.month0() as usize];
    format!(
        "time.Date({}, time.{month}, {}, {}, {}, {}, {}, time.Local)",
        t.year(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

/// Go's `%v` of a value, as a string.
pub(super) fn sprint_value(v: &Value, max: usize) -> Result<String, FmtError> {
    let mut p = Printer::new(max);
    p.print(v, 'v', &Spec::default(), 0)?;
    p.finish()
}

/// `fmt.Sprint`: spaces only between operands when neither is a string.
pub(super) fn sprint(args: &[Value], max: usize) -> Result<String, FmtError> {
    let mut p = Printer::new(max);
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            p.put(" ");
        }
        p.print(a, 'v', &Spec::default(), 0)?;
        prev_string = is_string;
    }
    p.finish()
}

/// `fmt.Sprintln`: spaces between all operands and a trailing newline.
pub(super) fn sprintln(args: &[Value], max: usize) -> Result<String, FmtError> {
    let mut p = Printer::new(max);
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.put(" ");
        }
        p.print(a, 'v', &Spec::default(), 0)?;
    }
    p.put("\n");
    p.finish()
}

/// Go's parsenum: a decimal run in `b[start..end]` as (number, found, new index); an absurdly
/// long run gives up and skips to `end`.
fn parse_num(b: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    let mut n: usize = 0;
    let mut found = false;
    let mut i = start;
    while i < end && b[i].is_ascii_digit() {
        if n > MAX_WIDTH {
            return (0, false, end);
        }
        n = n * 10 + usize::from(b[i] - b'0');
        found = true;
        i += 1;
    }
    (n, found, i)
}

/// Go's parseArgNumber on `b` starting at a `[`: (zero-based index, bytes consumed, ok).
fn parse_arg_number(b: &[u8]) -> (i64, usize, bool) {
    if b.len() < 3 {
        return (0, 1, false);
    }
    match b.iter().skip(1).position(|&c| c == b']') {
        Some(rel) => {
            let close = rel + 1;
            let (n, ok, ni) = parse_num(b, 1, close);
            if !ok || ni != close {
                return (0, close + 1, false);
            }
            (n as i64 - 1, close + 1, true)
        }
        None => (0, 1, false),
    }
}

/// State of one `Sprintf` call.
struct FormatState<'a> {
    args: &'a [Value],
    arg_num: usize,
    reordered: bool,
    good_arg_num: bool,
}

impl FormatState<'_> {
    /// Go's argNumber: an explicit `[n]` at `i` selects the next operand.
    /// Returns (new index, found).
    fn arg_number(&mut self, b: &[u8], i: usize) -> (usize, bool) {
        if b.get(i) != Some(&b'[') {
            return (i, false);
        }
        self.reordered = true;
        let (index, wid, ok) = parse_arg_number(&b[i..]);
        if ok && (0..self.args.len() as i64).contains(&index) {
            self.arg_num = index as usize;
            return (i + wid, true);
        }
        self.good_arg_num = false;
        (i + wid, ok)
    }

    /// Go's intFromArg for `*` widths and precisions.
    fn int_from_arg(&mut self) -> Option<i64> {
        let v = self.args.get(self.arg_num)?;
        self.arg_num += 1;
        match v {
            Value::Int(i) | Value::Int64(i) if i.unsigned_abs() <= MAX_WIDTH as u64 => Some(*i),
            Value::Uint(u) if *u <= MAX_WIDTH as u64 => Some(*u as i64),
            _ => None,
        }
    }
}

/// Parses the flag characters after `%`.
fn parse_flags(b: &[u8], mut i: usize, s: &mut Spec) -> usize {
    while let Some(&c) = b.get(i) {
        match c {
            b'#' => s.sharp = true,
            b'0' => s.zero = true,
            b'+' => s.plus = true,
            b'-' => s.minus = true,
            b' ' => s.space = true,
            _ => break,
        }
        i += 1;
    }
    i
}

/// `fmt.Sprintf` with Go's verbs, flags, widths, precisions, argument indexes and error
/// annotations.
pub(super) fn sprintf(format: &str, args: &[Value], max: usize) -> Result<String, FmtError> {
    let mut p = Printer::new(max);
    let b = format.as_bytes();
    let end = b.len();
    let mut st = FormatState { args, arg_num: 0, reordered: false, good_arg_num: true };
    let mut i = 0;
    while i < end {
        st.good_arg_num = true;
        let lit = i;
        while i < end && b[i] != b'%' {
            i += 1;
        }
        p.put(&format[lit..i]);
        if i >= end {
            break;
        }
        let mut s = Spec::default();
        i = parse_flags(b, i + 1, &mut s);
        let (ni, mut after_index) = st.arg_number(b, i);
        i = ni;
        if b.get(i) == Some(&b'*') {
            i += 1;
            match st.int_from_arg() {
                Some(w) => {
                    s.wid = Some(w.unsigned_abs() as usize);
                    if w < 0 {
                        s.minus = true;
                        s.zero = false;
                    }
                }
                None => p.put("%!(BADWIDTH)"),
            }
            after_index = false;
        } else {
            let (w, found, ni) = parse_num(b, i, end);
            i = ni;
            if found {
                s.wid = Some(w);
                if after_index {
                    st.good_arg_num = false;
                }
            }
        }
        if i + 1 < end && b[i] == b'.' {
            i += 1;
            if after_index {
                st.good_arg_num = false;
            }
            let (ni, ai) = st.arg_number(b, i);
            i = ni;
            after_index = ai;
            if b.get(i) == Some(&b'*') {
                i += 1;
                // A negative precision is as bad as a missing one.
                s.prec = st.int_from_arg().and_then(|pr| usize::try_from(pr).ok());
                if s.prec.is_none() {
                    p.put("%!(BADPREC)");
                }
                after_index = false;
            } else {
                let (pr, found, ni) = parse_num(b, i, end);
                i = ni;
                s.prec = Some(if found { pr } else { 0 });
            }
        }
        if !after_index {
            let (ni, _) = st.arg_number(b, i);
            i = ni;
        }
        let Some(verb) = format.get(i..).and_then(|r| r.chars().next()) else {
            p.put("%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            p.put("%");
            continue;
        }
        if !st.good_arg_num {
            p.put("%!");
            p.put_char(verb);
            p.put("(BADINDEX)");
            continue;
        }
        let Some(arg) = args.get(st.arg_num) else {
            p.put("%!");
            p.put_char(verb);
            p.put("(MISSING)");
            continue;
        };
        st.arg_num += 1;
        if matches!(verb, 'v' | 'w') {
            s.sharp_v = s.sharp;
            s.sharp = false;
            s.plus_v = s.plus;
            s.plus = false;
        }
        p.print(arg, verb, &s, 0)?;
    }
    if !st.reordered && st.arg_num < args.len() {
        p.put("%!(EXTRA ");
        for (k, a) in args[st.arg_num..].iter().enumerate() {
            if k > 0 {
                p.put(", ");
            }
            if let Value::Nil = a {
                p.put("<nil>");
            } else {
                p.put(a.type_name());
                p.put("=");
                p.print(a, 'v', &Spec::default(), 0)?;
            }
        }
        p.put(")");
    }
    p.finish()
}

#[cfg(test)]
mod tests {
    use super::{Value, sprintf};

    fn f(format: &str, args: &[Value]) -> String {
        sprintf(format, args, 1 << 20).unwrap()
    }

    #[test]
    fn verbs_flags_and_errors() {
        let (i, x, s) = (Value::Int(255), Value::Float(-2.5), Value::str("héllo"));
        assert_eq!(f("%#o|%#O|%08.3d|%+x", &[i.clone(), i.clone(), i.clone(), i.clone()]), "0377|0o0377|     255|+ff");
        assert_eq!(
            f("%#g|%#.0f|%08.2f|%x", &[x.clone(), x.clone(), x.clone(), x.clone()]),
            "-2.50000|-2.|-0002.50|-0x1.4p+01"
        );
        assert_eq!(
            f("%#q|%+q|%#v|% x", &[s.clone(), s.clone(), s.clone(), Value::str("ab")]),
            "`héllo`|\"h\\u00e9llo\"|\"héllo\"|61 62"
        );
        assert_eq!(
            f("%d|%!|%[3]d|%.*d", &[s, Value::Int(1)]),
            "%!d(string=héllo)|%!!(int=1)|%!d(BADINDEX)|%!(BADPREC)%!d(MISSING)"
        );
        assert_eq!(f("%.*d", &[Value::Int(-1), Value::Int(7)]), "%!(BADPREC)7");
        assert_eq!(f("%d", &[Value::Int(1), Value::Nil]), "1%!(EXTRA <nil>)");
    }

    #[test]
    fn composites() {
        let l = Value::list(vec![Value::Int(1), Value::Nil, Value::str("a")]);
        assert_eq!(
            f("%v|%d|%#v", &[l.clone(), l.clone(), l]),
            "[1 <nil> a]|[1 <nil> %!d(string=a)]|[]interface {}{1, interface {}(nil), \"a\"}"
        );
        assert_eq!(f("%w", &[Value::list(vec![])]), "%!w([]interface {}=[])");
        assert_eq!(f("%#v", &[Value::Uint(5)]), "0x5");
    }
}
