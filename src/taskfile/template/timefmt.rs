//! Go reference-time layouts (`2006-01-02T15:04:05Z07:00`) rendered for UTC times.
//!
//! Templates only ever see UTC (the injected clock is UTC and Sprig's `date` uses the
//! daemon's zone, which we pin to UTC for reproducible renders).

use chrono::{DateTime, Datelike, Timelike, Utc};

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// One layout element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    /// Zone name (`MST`).
    Tz,
    /// Numeric offset; `Z` variants print `Z` for UTC. The text is the layout spelling.
    Offset(&'static str),
    /// Fractional seconds: separator, digit count, trim trailing zeros.
    Frac(u8, usize, bool),
}

fn starts_lower(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_lowercase)
}

/// Finds the next layout element: (literal prefix length, element, element length).
fn next_chunk(layout: &str) -> Option<(usize, Chunk, usize)> {
    let b = layout.as_bytes();
    for i in 0..b.len() {
        // Bytes, not str slices: `i` may fall inside a multi-byte character.
        let rest = &b[i..];
        let found = match b[i] {
            b'J' if rest.starts_with(b"January") => Some((Chunk::LongMonth, 7)),
            b'J' if rest.starts_with(b"Jan") && !starts_lower(&rest[3..]) => Some((Chunk::Month, 3)),
            b'M' if rest.starts_with(b"Monday") => Some((Chunk::LongWeekDay, 6)),
            b'M' if rest.starts_with(b"Mon") && !starts_lower(&rest[3..]) => Some((Chunk::WeekDay, 3)),
            b'M' if rest.starts_with(b"MST") => Some((Chunk::Tz, 3)),
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((Chunk::ZeroMonth, 2)),
                Some(b'2') => Some((Chunk::ZeroDay, 2)),
                Some(b'3') => Some((Chunk::ZeroHour12, 2)),
                Some(b'4') => Some((Chunk::ZeroMinute, 2)),
                Some(b'5') => Some((Chunk::ZeroSecond, 2)),
                Some(b'6') => Some((Chunk::Year, 2)),
                Some(b'0') if b.get(i + 2) == Some(&b'2') => Some((Chunk::ZeroYearDay, 3)),
                _ => None,
            },
            b'1' if b.get(i + 1) == Some(&b'5') => Some((Chunk::Hour, 2)),
            b'1' => Some((Chunk::NumMonth, 1)),
            b'2' if rest.starts_with(b"2006") => Some((Chunk::LongYear, 4)),
            b'2' => Some((Chunk::Day, 1)),
            b'_' if rest.starts_with(b"_2006") => {
                // A literal underscore followed by the long year.
                return Some((i + 1, Chunk::LongYear, 4));
            }
            b'_' if rest.starts_with(b"__2") => Some((Chunk::UnderYearDay, 3)),
            b'_' if rest.starts_with(b"_2") => Some((Chunk::UnderDay, 2)),
            b'3' => Some((Chunk::Hour12, 1)),
            b'4' => Some((Chunk::Minute, 1)),
            b'5' => Some((Chunk::Second, 1)),
            b'P' if b.get(i + 1) == Some(&b'M') => Some((Chunk::PM, 2)),
            b'p' if b.get(i + 1) == Some(&b'm') => Some((Chunk::Pm, 2)),
            b'-' | b'Z' => offset_chunk(rest),
            b'.' | b',' => frac_chunk(b, i),
            _ => None,
        };
        if let Some((chunk, len)) = found {
            return Some((i, chunk, len));
        }
    }
    None
}

fn offset_chunk(rest: &[u8]) -> Option<(Chunk, usize)> {
    const FORMS: [&str; 10] =
        ["-07:00:00", "-070000", "-07:00", "-0700", "-07", "Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07"];
    FORMS.iter().find(|f| rest.starts_with(f.as_bytes())).map(|f| (Chunk::Offset(f), f.len()))
}

fn frac_chunk(b: &[u8], i: usize) -> Option<(Chunk, usize)> {
    let digit = *b.get(i + 1)?;
    if digit != b'0' && digit != b'9' {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() && b[j] == digit {
        j += 1;
    }
    // Only a fractional second if the run of digits ends here.
    if b.get(j).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((Chunk::Frac(b[i], j - i - 1, digit == b'9'), j - i))
}

fn push_num(out: &mut String, v: i64, width: usize, pad: char) {
    let s = v.unsigned_abs().to_string();
    if v < 0 {
        out.push('-');
    }
    for _ in s.len()..width {
        out.push(pad);
    }
    out.push_str(&s);
}

/// Formats `t` with a Go layout string.
pub(super) fn format(t: &DateTime<Utc>, layout: &str) -> String {
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout;
    while let Some((prefix, chunk, len)) = next_chunk(rest) {
        out.push_str(&rest[..prefix]);
        push_chunk(&mut out, t, chunk);
        rest = &rest[prefix + len..];
    }
    out.push_str(rest);
    out
}

fn push_chunk(out: &mut String, t: &DateTime<Utc>, chunk: Chunk) {
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => i64::from(h),
    };
    match chunk {
        Chunk::LongMonth => out.push_str(LONG_MONTHS[t.month0() as usize]),
        Chunk::Month => out.push_str(&LONG_MONTHS[t.month0() as usize][..3]),
        Chunk::NumMonth => push_num(out, i64::from(t.month()), 0, '0'),
        Chunk::ZeroMonth => push_num(out, i64::from(t.month()), 2, '0'),
        Chunk::LongWeekDay => out.push_str(LONG_DAYS[t.weekday().num_days_from_sunday() as usize]),
        Chunk::WeekDay => out.push_str(&LONG_DAYS[t.weekday().num_days_from_sunday() as usize][..3]),
        Chunk::Day => push_num(out, i64::from(t.day()), 0, '0'),
        Chunk::UnderDay => push_num(out, i64::from(t.day()), 2, ' '),
        Chunk::ZeroDay => push_num(out, i64::from(t.day()), 2, '0'),
        Chunk::UnderYearDay => push_num(out, i64::from(t.ordinal()), 3, ' '),
        Chunk::ZeroYearDay => push_num(out, i64::from(t.ordinal()), 3, '0'),
        Chunk::Hour => push_num(out, i64::from(t.hour()), 2, '0'),
        Chunk::Hour12 => push_num(out, hour12, 0, '0'),
        Chunk::ZeroHour12 => push_num(out, hour12, 2, '0'),
        Chunk::Minute => push_num(out, i64::from(t.minute()), 0, '0'),
        Chunk::ZeroMinute => push_num(out, i64::from(t.minute()), 2, '0'),
        Chunk::Second => push_num(out, i64::from(t.second()), 0, '0'),
        Chunk::ZeroSecond => push_num(out, i64::from(t.second()), 2, '0'),
        Chunk::LongYear => push_num(out, i64::from(t.year()), 4, '0'),
        Chunk::Year => push_num(out, i64::from(t.year().rem_euclid(100)), 2, '0'),
        Chunk::PM => out.push_str(if t.hour() >= 12 { "PM" } else { "AM" }),
        Chunk::Pm => out.push_str(if t.hour() >= 12 { "pm" } else { "am" }),
        Chunk::Tz => out.push_str("UTC"),
        Chunk::Offset(form) => {
            if form.starts_with('Z') {
                out.push('Z');
            } else {
                // UTC offset zero, spelled in the layout's shape.
                out.push('+');
                out.push_str(&form[1..].replace('7', "0"));
            }
        }
        Chunk::Frac(sep, digits, trim) => {
            let nanos = t.nanosecond() % 1_000_000_000;
            let mut s = format!("{nanos:09}");
            s.truncate(digits.min(9));
            if trim {
                while s.ends_with('0') {
                    s.pop();
                }
                if s.is_empty() {
                    return;
                }
            } else {
                while s.len() < digits {
                    s.push('0');
                }
            }
            out.push(sep as char);
            out.push_str(&s);
        }
    }
}

/// Go's `time.Time.String()` layout.
pub(super) fn go_string(t: &DateTime<Utc>) -> String {
    format(t, "2006-01-02 15:04:05.999999999 -0700 MST")
}

/// RFC 3339 with nanoseconds, as `time.Time` marshals to JSON.
pub(super) fn rfc3339_nano(t: &DateTime<Utc>) -> String {
    format(t, "2006-01-02T15:04:05.999999999Z07:00")
}
