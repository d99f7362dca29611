//! Go `fmt` entry points: `Sprint`, `Sprintln`, `Sprintf` and `%v` of one value.

pub(super) use super::printer::FmtError;
use super::printer::{Flags, Printer};
pub(super) use super::quote::{is_print, quote};
use super::value::Value;

/// Go's `%v` of a value, as a string.
pub(super) fn sprint_value(v: &Value, max: usize) -> Result<String, FmtError> {
    let mut p = Printer::new(max);
    p.print_value(v, 'v', &Flags::default(), 0)?;
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
        p.print_value(a, 'v', &Flags::default(), 0)?;
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
        p.print_value(a, 'v', &Flags::default(), 0)?;
    }
    p.put("\n");
    p.finish()
}

/// Go's `tooLarge` guard for widths and precisions.
const MAX_WIDTH: usize = 1_000_000;

/// Parses a decimal run at `i`; returns (number, found, new index).
fn parse_num(b: &[u8], mut i: usize, end: usize) -> (usize, bool, usize) {
    let mut n: usize = 0;
    let mut found = false;
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

/// State of one `Sprintf` call.
struct FormatState<'a> {
    args: &'a [Value],
    arg_num: usize,
    reordered: bool,
    good_arg_num: bool,
}

impl FormatState<'_> {
    /// Handles an explicit `[n]` argument index at `i`.
    fn arg_number(&mut self, b: &[u8], i: usize) -> (usize, bool) {
        if b.get(i) != Some(&b'[') {
            return (i, false);
        }
        self.reordered = true;
        let close = b[i..].iter().position(|&c| c == b']');
        match close {
            Some(rel) if rel >= 2 => {
                let (n, ok, ni) = parse_num(b, i + 1, i + rel);
                if ok && ni == i + rel && n >= 1 && n <= self.args.len() {
                    self.arg_num = n - 1;
                    return (i + rel + 1, true);
                }
                self.good_arg_num = false;
                (i + rel + 1, ok && ni == i + rel)
            }
            Some(rel) => {
                self.good_arg_num = false;
                (i + rel + 1, false)
            }
            None => {
                self.good_arg_num = false;
                (i + 1, false)
            }
        }
    }

    /// Takes an int argument for `*` width or precision.
    fn int_from_arg(&mut self) -> (i64, bool) {
        let Some(v) = self.args.get(self.arg_num) else {
            return (0, false);
        };
        self.arg_num += 1;
        match v {
            Value::Int(i) if i.unsigned_abs() <= MAX_WIDTH as u64 => (*i, true),
            _ => (0, false),
        }
    }
}

/// `fmt.Sprintf` with Go's verbs, flags, widths, precisions and error annotations.
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
        i += 1;
        let mut f = Flags::default();
        while i < end {
            match b[i] {
                b'#' => f.sharp = true,
                b'0' => f.zero = !f.minus,
                b'+' => f.plus = true,
                b'-' => {
                    f.minus = true;
                    f.zero = false;
                }
                b' ' => f.space = true,
                _ => break,
            }
            i += 1;
        }
        let (ni, mut after_index) = st.arg_number(b, i);
        i = ni;
        if i < end && b[i] == b'*' {
            i += 1;
            let (w, ok) = st.int_from_arg();
            if !ok {
                p.put("%!(BADWIDTH)");
            } else if w < 0 {
                f.minus = true;
                f.zero = false;
                f.wid = Some(w.unsigned_abs() as usize);
            } else {
                f.wid = Some(w as usize);
            }
            after_index = false;
        } else {
            let (w, found, ni) = parse_num(b, i, end);
            i = ni;
            if found {
                f.wid = Some(w);
                if after_index {
                    st.good_arg_num = false;
                }
            }
        }
        if i < end && b[i] == b'.' {
            i += 1;
            if after_index {
                st.good_arg_num = false;
            }
            let (ni, ai) = st.arg_number(b, i);
            i = ni;
            after_index = ai;
            if i < end && b[i] == b'*' {
                i += 1;
                let (pr, ok) = st.int_from_arg();
                f.prec = usize::try_from(pr).ok();
                if !ok {
                    p.put("%!(BADPREC)");
                }
                after_index = false;
            } else {
                let (pr, found, ni) = parse_num(b, i, end);
                i = ni;
                f.prec = Some(if found { pr } else { 0 });
            }
        }
        if !after_index {
            let (ni, ai) = st.arg_number(b, i);
            i = ni;
            after_index = ai;
        }
        let _ = after_index;
        let Some(verb) = format[i..].chars().next() else {
            p.put("%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            p.put("%");
            continue;
        }
        if !st.good_arg_num {
            p.put(&format!("%!{verb}(BADINDEX)"));
            continue;
        }
        let Some(arg) = args.get(st.arg_num) else {
            p.put(&format!("%!{verb}(MISSING)"));
            continue;
        };
        st.arg_num += 1;
        if verb == 'v' {
            // %+v and %#v only change how structs print; plain values print as %v.
            f.plus = false;
            f.sharp = false;
        }
        p.print_value(arg, verb, &f, 0)?;
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
                p.print_value(a, 'v', &Flags::default(), 0)?;
            }
        }
        p.put(")");
    }
    p.finish()
}
