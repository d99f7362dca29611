//! Go `strconv.FormatFloat` layouts ('e', 'f', 'g', shortest or fixed precision).
//!
//! Rust already produces correctly rounded and shortest round-trip digits; this module only
//! re-lays them out the way Go does (exponent style `e+06`, `%g` switch-over rules).

/// Decimal digits of |x| without trailing zeros: value = 0.d1d2d3... × 10^dp.
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

/// Parses Rust's `{:e}` output ("1.2345e-7") into digits and decimal point position.
fn parse_exp(s: &str) -> Digits {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    if d.is_empty() {
        return Digits { d, dp: 0 };
    }
    Digits { d, dp: exp + 1 }
}

/// Shortest digits that round-trip.
fn shortest(x: f64) -> Digits {
    parse_exp(&format!("{:e}", x.abs()))
}

/// Digits rounded to `n` (≥ 1) significant places.
fn significant(x: f64, n: usize) -> Digits {
    parse_exp(&format!("{:.*e}", n.saturating_sub(1), x.abs()))
}

/// Formats like `strconv.FormatFloat(x, verb, prec, 64)`; `prec < 0` means shortest.
/// `verb` is one of `e E f g G`.
pub(super) fn format_float(x: f64, verb: u8, prec: i64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    let shortest_mode = prec < 0;
    let prec = usize::try_from(prec).unwrap_or(0);
    match verb {
        b'f' | b'F' if !shortest_mode => {
            out.push_str(&format!("{:.*}", prec, x.abs()));
        }
        b'f' | b'F' => {
            let d = shortest(x);
            let p = (d.d.len() as i64 - i64::from(d.dp)).max(0) as usize;
            fmt_f(&mut out, &d, p);
        }
        b'e' | b'E' => {
            let (d, p) = if shortest_mode {
                let d = shortest(x);
                let p = d.d.len().saturating_sub(1);
                (d, p)
            } else {
                (significant(x, prec + 1), prec)
            };
            fmt_e(&mut out, &d, p, verb);
        }
        _ => {
            let upper = verb == b'G';
            let (d, p) = if shortest_mode {
                let d = shortest(x);
                let p = d.d.len();
                (d, p)
            } else {
                let p = prec.max(1);
                (significant(x, p), p)
            };
            fmt_g(&mut out, &d, p, shortest_mode, if upper { b'E' } else { b'e' });
        }
    }
    out
}

/// Go's `%g` decision between exponent and plain notation.
fn fmt_g(out: &mut String, d: &Digits, prec: usize, shortest: bool, exp_char: u8) {
    let nd = d.d.len() as i64;
    let dp = i64::from(d.dp);
    let mut prec = prec as i64;
    let mut eprec = prec;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    if shortest {
        eprec = 6;
    }
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        if prec > nd {
            prec = nd;
        }
        fmt_e(out, d, (prec - 1).max(0) as usize, exp_char);
        return;
    }
    if prec > dp {
        prec = nd;
    }
    fmt_f(out, d, (prec - dp).max(0) as usize);
}

/// `d.ddddde±dd`
fn fmt_e(out: &mut String, d: &Digits, prec: usize, exp_char: u8) {
    out.push(d.d.first().map_or('0', |&c| c as char));
    if prec > 0 {
        out.push('.');
        let end = d.d.len().min(prec + 1);
        for &c in d.d.get(1..end).unwrap_or(&[]) {
            out.push(c as char);
        }
        for _ in end.max(1)..=prec {
            out.push('0');
        }
    }
    out.push(exp_char as char);
    let exp = if d.d.is_empty() { 0 } else { d.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
}

/// `ddd.ddd` with exactly `prec` fraction digits taken from `d`.
fn fmt_f(out: &mut String, d: &Digits, prec: usize) {
    if d.dp > 0 {
        let dp = d.dp as usize;
        for i in 0..dp {
            out.push(d.d.get(i).map_or('0', |&c| c as char));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as i64 {
            let j = i64::from(d.dp) + i - 1;
            let c = usize::try_from(j).ok().and_then(|j| d.d.get(j)).map_or('0', |&c| c as char);
            out.push(c);
        }
    }
}

/// encoding/json's float layout: plain notation unless tiny or ≥ 1e21, `e-7` not `e-07`.
pub(super) fn format_json(x: f64) -> String {
    let abs = x.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format_float(x, b'e', -1);
        // Go trims the leading zero of a one-digit negative exponent only.
        if let Some(idx) = s.find("e-0")
            && s.len() == idx + 4
        {
            return format!("{}e-{}", &s[..idx], &s[idx + 3..]);
        }
        return s;
    }
    format_float(x, b'f', -1)
}
