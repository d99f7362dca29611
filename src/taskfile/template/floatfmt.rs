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

/// Shortest digits that round-trip. When the value lies exactly halfway between the two
/// closest shortest candidates, Rust rounds up but Go picks the even one.
fn shortest(x: f64) -> Digits {
    let mut d = parse_exp(&format!("{:e}", x.abs()));
    let n = d.d.len();
    if n > 0 && d.d[n - 1] % 2 == 1 && exact_tie_below(x, &d) {
        d.d[n - 1] -= 1;
    }
    d
}

/// Whether |x| is exactly half a unit (in the last place of `d`) below `d`.
fn exact_tie_below(x: f64, d: &Digits) -> bool {
    let n = d.d.len();
    // A quick look at a few more digits rules out nearly every value.
    let probe = parse_exp(&format!("{:.*e}", n + 3, x.abs()));
    if probe.d.len() != n + 1 || probe.d[n] != b'5' || probe.dp != d.dp {
        return false;
    }
    // Confirm with the exact expansion (a double has at most 767 significant digits).
    let exact = parse_exp(&format!("{:.*e}", 800, x.abs()));
    exact.d.len() == n + 1 && exact.d[n] == b'5' && exact.d[..n - 1] == d.d[..n - 1] && exact.d[n - 1] + 1 == d.d[n - 1]
}

/// Digits rounded to `n` (≥ 1) significant places.
fn significant(x: f64, n: usize) -> Digits {
    parse_exp(&format!("{:.*e}", n.saturating_sub(1), x.abs()))
}

/// Formats like `strconv.FormatFloat(x, verb, prec, 64)`; `prec < 0` means shortest.
/// `verb` is one of `e E f g G x X b`.
pub(super) fn format_float(x: f64, verb: u8, prec: i64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    match verb {
        b'b' => return format_binary(x),
        b'x' | b'X' => return format_hex(x, verb, prec),
        _ => {}
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

/// Mantissa bits of an f64 (without the implicit leading one).
const MANT_BITS: u32 = 52;

/// Splits a finite f64 into (negative, integer mantissa, binary exponent of the mantissa's
/// lowest bit), with the implicit one restored for normal numbers.
fn decompose(x: f64) -> (bool, u64, i32) {
    let bits = x.to_bits();
    let neg = bits >> 63 != 0;
    let biased = ((bits >> MANT_BITS) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << MANT_BITS) - 1);
    let exp = if biased == 0 {
        1 - 1023
    } else {
        mant |= 1u64 << MANT_BITS;
        biased - 1023
    };
    (neg, mant, exp - MANT_BITS as i32)
}

/// `%b`: decimal mantissa and binary exponent, e.g. `4503599627370496p-52`.
fn format_binary(x: f64) -> String {
    let (neg, mant, exp) = decompose(x);
    let sign = if neg { "-" } else { "" };
    let esign = if exp >= 0 { "+" } else { "" };
    format!("{sign}{mant}p{esign}{exp}")
}

/// `%x`/`%X`: `-0x1.hhhhp±dd`; `prec < 0` prints as many hex digits as needed.
fn format_hex(x: f64, verb: u8, prec: i64) -> String {
    let (neg, mut mant, exp) = decompose(x);
    // Exponent of the leading bit once the mantissa is normalised to 1.xxx.
    let mut exp = exp + MANT_BITS as i32;
    if mant == 0 {
        exp = 0;
    }
    // Put the leading one at bit 60 so the fraction is 15 whole hex digits below it.
    mant <<= 60 - MANT_BITS;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1u64 << 60) - 1);
        mant >>= 60 - shift;
        // Round half to even on the dropped bits.
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let upper = verb == b'X';
    let digit = |d: u64| {
        let c = char::from_digit((d & 15) as u32, 16).unwrap_or('0');
        if upper { c.to_ascii_uppercase() } else { c }
    };
    let mut out = String::with_capacity(24);
    if neg {
        out.push('-');
    }
    out.push('0');
    out.push(verb as char);
    out.push(if mant >> 60 & 1 == 1 { '1' } else { '0' });
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(digit(mant >> 60));
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(digit(mant >> 60));
            mant <<= 4;
        }
    }
    out.push(if upper { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.unsigned_abs()));
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

#[cfg(test)]
mod tests {
    use super::format_float;

    #[test]
    fn hex_and_binary_layouts() {
        assert_eq!(format_float(3.25, b'x', -1), "0x1.ap+01");
        assert_eq!(format_float(-0.5, b'X', -1), "-0X1P-01");
        assert_eq!(format_float(1.0, b'x', 3), "0x1.000p+00");
        assert_eq!(format_float(5e-324, b'x', -1), "0x1p-1074");
        assert_eq!(format_float(1e300, b'x', 3), "0x1.7e4p+996");
        assert_eq!(format_float(-0.0, b'x', -1), "-0x0p+00");
        assert_eq!(format_float(3.25, b'b', -1), "7318349394477056p-51");
        assert_eq!(format_float(0.0, b'b', -1), "0p-1074");
    }

    #[test]
    fn shortest_ties_go_to_even() {
        // 14.3081817626953125 (0x1.c9dcap+3) lies exactly halfway between two 17-digit candidates.
        assert_eq!(format_float(f64::from_bits(0x402c_9dca_0000_0000), b'g', -1), "14.308181762695312");
        assert_eq!(format_float(0.1, b'g', -1), "0.1");
        assert_eq!(format_float(1e21, b'g', -1), "1e+21");
    }
}
