//! Go's `time` package as templates see it: instants with a fixed zone, reference-time
//! layouts (`2006-01-02T15:04:05Z07:00`) for formatting and parsing, and `time.Duration`.
//!
//! The calendar arithmetic follows Go's own (unsigned, wrapping) so that even absurd Unix
//! seconds such as `date "2006" 9223372036854775807` print what ACR prints. ACR's runner
//! runs in UTC, so Go's `Local` is UTC here.

use std::rc::Rc;

use chrono::{DateTime, Utc};

pub(super) const LONG_MONTHS: [&str; 12] = [
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

const SECS_PER_DAY: u64 = 86_400;
/// Go counts calendar days from March 1 of this (negative) year; a multiple of 400.
const ABSOLUTE_YEARS: u64 = 292_277_022_400;
/// Days from March 1 through December 31.
const MARCH_THRU_DECEMBER: u32 = 306;
/// Seconds from Go's absolute epoch to 0001-01-01.
const INTERNAL_TO_ABSOLUTE: i64 = ((ABSOLUTE_YEARS / 400 * 146_097) as i64 + MARCH_THRU_DECEMBER as i64) * 86_400;
/// Seconds from 0001-01-01 to 1970-01-01.
const UNIX_TO_INTERNAL: i64 = (1969 * 365 + 1969 / 4 - 1969 / 100 + 1969 / 400) * 86_400;
const UNIX_TO_ABSOLUTE: i64 = UNIX_TO_INTERNAL + INTERNAL_TO_ABSOLUTE;

/// A `time.Time` with the zone it is shown in: an instant (Unix seconds and nanoseconds)
/// plus the zone abbreviation and offset in effect (Go's fixed zones, UTC and our UTC
/// `Local` all reduce to this). An empty `zone` prints numerically, as Go's `FixedZone("", …)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct GoTime {
    pub unix: i64,
    pub nsec: u32,
    /// Seconds east of UTC.
    pub offset: i32,
    pub zone: Rc<str>,
}

impl GoTime {
    /// The instant in UTC.
    pub fn utc(unix: i64, nsec: u32) -> GoTime {
        GoTime { unix, nsec, offset: 0, zone: Rc::from("UTC") }
    }

    /// Go's zero `time.Time`, 0001-01-01 00:00:00 UTC.
    pub fn zero() -> GoTime {
        GoTime::utc(-UNIX_TO_INTERNAL, 0)
    }

    pub fn from_chrono(t: &DateTime<Utc>) -> GoTime {
        // chrono keeps a leap second as nanoseconds past 1e9; Go has no leap seconds.
        GoTime::utc(t.timestamp(), t.timestamp_subsec_nanos().min(999_999_999))
    }

    /// The instant as chrono's UTC time, `None` outside chrono's range (±262,000 years).
    pub fn to_chrono(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.unix, self.nsec)
    }

    /// `t.Add(d)`: the same zone, `d` nanoseconds later.
    pub fn add(&self, d: i64) -> GoTime {
        let mut secs = d / 1_000_000_000;
        let mut nsec = i64::from(self.nsec) + d % 1_000_000_000;
        if nsec >= 1_000_000_000 {
            secs += 1;
            nsec -= 1_000_000_000;
        } else if nsec < 0 {
            secs -= 1;
            nsec += 1_000_000_000;
        }
        GoTime { unix: self.unix.saturating_add(secs), nsec: nsec as u32, ..self.clone() }
    }

    /// `t.Sub(u)` in nanoseconds, saturating like Go's at the ends of `Duration`. Go keeps
    /// seconds since year 1 in an i64, so Unix seconds near the i64 limits wrap around there.
    pub fn sub(&self, u: &GoTime) -> i64 {
        let internal = |t: &GoTime| i128::from(t.unix.wrapping_add(UNIX_TO_INTERNAL));
        let d = (internal(self) - internal(u)) * 1_000_000_000 + i128::from(self.nsec) - i128::from(u.nsec);
        d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// Seconds since Go's absolute epoch of the wall clock in this zone (wrapping as Go's do).
    fn abs(&self) -> u64 {
        self.unix.wrapping_add(i64::from(self.offset)).wrapping_add(UNIX_TO_ABSOLUTE) as u64
    }
}

/// A calendar date split from absolute days, as Go computes it.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    yday: u32,
    weekday: usize,
}

fn civil(days: u64) -> Civil {
    // Neri–Schneider: centuries, years within the century, days within a March-based year.
    let d = days.wrapping_mul(4).wrapping_add(3);
    let century = d / 146_097;
    let cd = ((d % 146_097) as u32) | 3;
    let prod = 2_939_745u64 * u64::from(cd);
    let cyear = (prod >> 32) as u32;
    let ayday = (prod as u32) / 2_939_745 / 4;
    let m = 2141 * ayday + 197_913;
    let (amonth, day) = (m >> 16, 1 + (m & 0xFFFF) / 2141);
    let jan_feb = u32::from(ayday >= MARCH_THRU_DECEMBER);
    let leap = u32::from(cyear.is_multiple_of(4) && (cyear != 0 || century.is_multiple_of(4)));
    Civil {
        year: (century.wrapping_mul(100).wrapping_sub(ABSOLUTE_YEARS) as i64)
            .wrapping_add(i64::from(cyear) + i64::from(jan_feb)),
        month: amonth - jan_feb * 12,
        day,
        yday: ayday + 1 + 31 + 28 + (leap & !jan_feb & 1) - 365 * jan_feb,
        // The absolute epoch, a March 1, was a Wednesday.
        weekday: (days.wrapping_add(3) % 7) as usize,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (years 0..=9999 here).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days before the first of `month` in a common year (month 13 gives 365).
fn days_before(month: i64) -> i64 {
    (214 * month - 211) / 7 - if month >= 3 { 2 } else { 0 }
}

/// One layout element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Std {
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
    /// Zone abbreviation (`MST`).
    Tz,
    /// Numeric offset.
    Offset(OffsetStyle),
    /// Fractional seconds: separator, digit count (Go keeps 12 bits of it), trim zeros (`9`s).
    Frac(u8, usize, bool),
}

/// The shape of a numeric zone element: `Z` prefix (ISO 8601: `Z` for UTC), colons,
/// and whether minutes / seconds are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OffsetStyle {
    iso: bool,
    colon: bool,
    minutes: bool,
    seconds: bool,
}

const fn style(iso: bool, colon: bool, minutes: bool, seconds: bool) -> Std {
    Std::Offset(OffsetStyle { iso, colon, minutes, seconds })
}

/// Spellings of the numeric zone elements, in Go's matching order.
const OFFSETS: [(&str, Std); 10] = [
    ("-070000", style(false, false, true, true)),
    ("-07:00:00", style(false, true, true, true)),
    ("-0700", style(false, false, true, false)),
    ("-07:00", style(false, true, true, false)),
    ("-07", style(false, false, false, false)),
    ("Z070000", style(true, false, true, true)),
    ("Z07:00:00", style(true, true, true, true)),
    ("Z0700", style(true, false, true, false)),
    ("Z07:00", style(true, true, true, false)),
    ("Z07", style(true, false, false, false)),
];

fn starts_lower(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_lowercase)
}

/// Finds the next layout element: (literal prefix length, element, element length).
fn next_std(layout: &[u8]) -> Option<(usize, Std, usize)> {
    for i in 0..layout.len() {
        if let Some((prefix, std, len)) = std_at(layout, i) {
            return Some((prefix, std, len));
        }
    }
    None
}

/// The element starting at byte `i`, if any (`_2006` is a literal `_` then the year).
fn std_at(b: &[u8], i: usize) -> Option<(usize, Std, usize)> {
    let rest = &b[i..];
    let at = |std, len| Some((i, std, len));
    match b[i] {
        b'J' if rest.starts_with(b"January") => at(Std::LongMonth, 7),
        b'J' if rest.starts_with(b"Jan") && !starts_lower(&rest[3..]) => at(Std::Month, 3),
        b'M' if rest.starts_with(b"Monday") => at(Std::LongWeekDay, 6),
        b'M' if rest.starts_with(b"Mon") && !starts_lower(&rest[3..]) => at(Std::WeekDay, 3),
        b'M' if rest.starts_with(b"MST") => at(Std::Tz, 3),
        b'0' => match rest.get(1) {
            Some(b'1') => at(Std::ZeroMonth, 2),
            Some(b'2') => at(Std::ZeroDay, 2),
            Some(b'3') => at(Std::ZeroHour12, 2),
            Some(b'4') => at(Std::ZeroMinute, 2),
            Some(b'5') => at(Std::ZeroSecond, 2),
            Some(b'6') => at(Std::Year, 2),
            Some(b'0') if rest.get(2) == Some(&b'2') => at(Std::ZeroYearDay, 3),
            _ => None,
        },
        b'1' if rest.get(1) == Some(&b'5') => at(Std::Hour, 2),
        b'1' => at(Std::NumMonth, 1),
        b'2' if rest.starts_with(b"2006") => at(Std::LongYear, 4),
        b'2' => at(Std::Day, 1),
        b'_' if rest.starts_with(b"_2006") => Some((i + 1, Std::LongYear, 4)),
        b'_' if rest.starts_with(b"_2") => at(Std::UnderDay, 2),
        b'_' if rest.starts_with(b"__2") => at(Std::UnderYearDay, 3),
        b'3' => at(Std::Hour12, 1),
        b'4' => at(Std::Minute, 1),
        b'5' => at(Std::Second, 1),
        b'P' if rest.get(1) == Some(&b'M') => at(Std::PM, 2),
        b'p' if rest.get(1) == Some(&b'm') => at(Std::Pm, 2),
        b'-' | b'Z' => {
            OFFSETS.iter().find(|(s, _)| rest.starts_with(s.as_bytes())).and_then(|(s, std)| at(*std, s.len()))
        }
        b'.' | b',' => frac_at(rest).and_then(|(std, len)| at(std, len)),
        _ => None,
    }
}

fn frac_at(rest: &[u8]) -> Option<(Std, usize)> {
    let digit = *rest.get(1)?;
    if digit != b'0' && digit != b'9' {
        return None;
    }
    let run = rest[1..].iter().take_while(|&&c| c == digit).count();
    // Only a fractional second if the run of digits ends here.
    if rest.get(1 + run).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((Std::Frac(rest[0], run & 0xfff, digit == b'9'), 1 + run))
}

/// Go's `appendInt`: a sign, then at least `width` digits.
fn push_int(out: &mut String, v: i64, width: usize) {
    if v < 0 {
        out.push('-');
    }
    let s = v.unsigned_abs().to_string();
    for _ in s.len()..width {
        out.push('0');
    }
    out.push_str(&s);
}

/// Formats `t` with a Go layout string, as `t.Format(layout)`.
pub(super) fn format(t: &GoTime, layout: &str) -> String {
    let mut out = String::with_capacity(layout.len() + 10);
    let abs = t.abs();
    let cal = civil(abs / SECS_PER_DAY);
    let mut rest = layout;
    while let Some((prefix, std, len)) = next_std(rest.as_bytes()) {
        out.push_str(&rest[..prefix]);
        push_std(&mut out, t, &cal, abs % SECS_PER_DAY, std);
        rest = &rest[prefix + len..];
    }
    out.push_str(rest);
    out
}

fn push_std(out: &mut String, t: &GoTime, cal: &Civil, day_secs: u64, std: Std) {
    let hour = (day_secs / 3600) as i64;
    let (min, sec) = ((day_secs % 3600 / 60) as i64, (day_secs % 60) as i64);
    let hour12 = if hour % 12 == 0 { 12 } else { hour % 12 };
    let (month, day, yday) = (i64::from(cal.month), i64::from(cal.day), i64::from(cal.yday));
    let month_name = LONG_MONTHS.get(cal.month.wrapping_sub(1) as usize).copied().unwrap_or("%!Month");
    match std {
        Std::LongMonth => out.push_str(month_name),
        Std::Month => out.push_str(month_name.get(..3).unwrap_or(month_name)),
        Std::NumMonth => push_int(out, month, 0),
        Std::ZeroMonth => push_int(out, month, 2),
        Std::LongWeekDay => out.push_str(LONG_DAYS[cal.weekday]),
        Std::WeekDay => out.push_str(&LONG_DAYS[cal.weekday][..3]),
        Std::Day => push_int(out, day, 0),
        Std::UnderDay => {
            if day < 10 {
                out.push(' ');
            }
            push_int(out, day, 0);
        }
        Std::ZeroDay => push_int(out, day, 2),
        Std::UnderYearDay => {
            out.push_str(if yday < 10 {
                "  "
            } else if yday < 100 {
                " "
            } else {
                ""
            });
            push_int(out, yday, 0);
        }
        Std::ZeroYearDay => push_int(out, yday, 3),
        Std::Hour => push_int(out, hour, 2),
        Std::Hour12 => push_int(out, hour12, 0),
        Std::ZeroHour12 => push_int(out, hour12, 2),
        Std::Minute => push_int(out, min, 0),
        Std::ZeroMinute => push_int(out, min, 2),
        Std::Second => push_int(out, sec, 0),
        Std::ZeroSecond => push_int(out, sec, 2),
        Std::LongYear => push_int(out, cal.year, 4),
        Std::Year => push_int(out, (cal.year.unsigned_abs() % 100) as i64, 2),
        Std::PM => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
        Std::Pm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
        Std::Tz if !t.zone.is_empty() => out.push_str(&t.zone),
        // A zone without a name prints as -0700.
        Std::Tz => push_offset(out, t.offset, OffsetStyle { iso: false, colon: false, minutes: true, seconds: false }),
        Std::Offset(style) => push_offset(out, t.offset, style),
        Std::Frac(sep, digits, trim) => push_frac(out, t.nsec, sep, digits, trim),
    }
}

fn push_offset(out: &mut String, offset: i32, style: OffsetStyle) {
    if offset == 0 && style.iso {
        out.push('Z');
        return;
    }
    out.push(if offset < 0 { '-' } else { '+' });
    let abs = i64::from(offset).abs();
    let minutes = abs / 60;
    push_int(out, minutes / 60, 2);
    if style.minutes {
        if style.colon {
            out.push(':');
        }
        push_int(out, minutes % 60, 2);
    }
    if style.seconds {
        if style.colon {
            out.push(':');
        }
        push_int(out, abs % 60, 2);
    }
}

fn push_frac(out: &mut String, nsec: u32, sep: u8, digits: usize, trim: bool) {
    if trim && (digits == 0 || nsec == 0) {
        return;
    }
    // Nine digits at most: longer layouts still print nanoseconds.
    let all = format!("{nsec:09}");
    let mut s = &all[..digits.min(9)];
    if trim {
        s = s.trim_end_matches('0');
        if s.is_empty() {
            return;
        }
    }
    out.push(sep as char);
    out.push_str(s);
}

/// Go's `time.Time.String()` layout (without the monotonic clock reading).
pub(super) fn go_string(t: &GoTime) -> String {
    format(t, "2006-01-02 15:04:05.999999999 -0700 MST")
}

/// RFC 3339 with nanoseconds, as `time.Time` marshals to JSON.
pub(super) fn rfc3339_nano(t: &GoTime) -> String {
    format(t, "2006-01-02T15:04:05.999999999Z07:00")
}

/// Go's `atoi` in the time package: an optional sign, then digits only.
fn atoi(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (x, rem) = leading_int(digits)?;
    if !rem.is_empty() {
        return None;
    }
    let x = x as i64;
    Some(if neg { x.wrapping_neg() } else { x })
}

/// Leading decimal digits as an unsigned number, `None` past 2^63.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > (1 << 63) / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > 1 << 63 {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

fn digit_at(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

/// One or two digits (exactly two when `fixed`).
fn getnum(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    if !digit_at(s, 0) {
        return None;
    }
    if !digit_at(s, 1) {
        return if fixed { None } else { Some((i64::from(s[0] - b'0'), &s[1..])) };
    }
    Some((i64::from(s[0] - b'0') * 10 + i64::from(s[1] - b'0'), &s[2..]))
}

/// One to three digits (exactly three when `fixed`).
fn getnum3(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let n = s.iter().take(3).take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || (fixed && n != 3) {
        return None;
    }
    let v = s[..n].iter().fold(0, |acc, c| acc * 10 + i64::from(c - b'0'));
    Some((v, &s[n..]))
}

/// Matches a literal layout prefix; a space in the layout matches any run of spaces.
fn skip<'a>(mut value: &'a [u8], mut prefix: &[u8]) -> Option<&'a [u8]> {
    while let Some(&c) = prefix.first() {
        if c == b' ' {
            if value.first().is_some_and(|&v| v != b' ') {
                return None;
            }
            prefix = trim_spaces(prefix);
            value = trim_spaces(value);
            continue;
        }
        if value.first() != Some(&c) {
            return None;
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Some(value)
}

fn trim_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b' ').count();
    &s[n..]
}

/// Case-insensitive (ASCII letters only) prefix lookup in a name table.
fn lookup_name<'a>(names: impl Iterator<Item = &'a str>, value: &[u8]) -> Option<(i64, usize)> {
    for (i, name) in names.enumerate() {
        let n = name.as_bytes();
        if value.len() >= n.len() && n.iter().zip(value).all(|(&a, &b)| a == b || fold_eq(a, b)) {
            return Some((i as i64, n.len()));
        }
    }
    None
}

fn fold_eq(a: u8, b: u8) -> bool {
    let (a, b) = (a | 0x20, b | 0x20);
    a == b && a.is_ascii_lowercase()
}

/// Parsing failed; `toDate` turns any failure into the zero time.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ParseFailed;

/// Fields collected while parsing.
struct Fields {
    year: i64,
    month: i64,
    day: i64,
    yday: i64,
    hour: i64,
    min: i64,
    sec: i64,
    nsec: i64,
    am: bool,
    pm: bool,
    utc: bool,
    /// Go's sentinel -1 means "no numeric offset" (so an offset of -1 s is ignored, as in Go).
    offset: i64,
    zone: String,
}

/// `time.ParseInLocation(layout, value, time.Local)` with `Local` being UTC.
pub(super) fn parse(layout: &str, value: &str) -> Result<GoTime, ParseFailed> {
    let mut f = Fields {
        year: 0,
        month: -1,
        day: -1,
        yday: -1,
        hour: 0,
        min: 0,
        sec: 0,
        nsec: 0,
        am: false,
        pm: false,
        utc: false,
        offset: -1,
        zone: String::new(),
    };
    let mut layout = layout.as_bytes();
    let mut value = value.as_bytes();
    loop {
        let Some((prefix, std, len)) = next_std(layout) else {
            value = skip(value, layout).ok_or(ParseFailed)?;
            return if value.is_empty() { f.build() } else { Err(ParseFailed) };
        };
        value = skip(value, &layout[..prefix]).ok_or(ParseFailed)?;
        layout = &layout[prefix + len..];
        value = parse_std(&mut f, std, value, layout).ok_or(ParseFailed)?;
    }
}

/// Parses one element; `layout` is what follows it. `None` on a syntax or range error.
fn parse_std<'a>(f: &mut Fields, std: Std, value: &'a [u8], layout: &[u8]) -> Option<&'a [u8]> {
    let in_range = |v: i64, lo: i64, hi: i64| (lo..=hi).contains(&v).then_some(());
    Some(match std {
        Std::Year => {
            let p = value.get(..2)?;
            let y = atoi(p)?;
            f.year = if y >= 69 { y + 1900 } else { y + 2000 };
            &value[2..]
        }
        Std::LongYear => {
            if value.len() < 4 || !digit_at(value, 0) {
                return None;
            }
            f.year = atoi(&value[..4])?;
            &value[4..]
        }
        Std::Month | Std::LongMonth => {
            let names = LONG_MONTHS.iter().map(|m| if std == Std::Month { &m[..3] } else { m });
            let (i, n) = lookup_name(names, value)?;
            f.month = i + 1;
            &value[n..]
        }
        Std::NumMonth | Std::ZeroMonth => {
            let (m, rest) = getnum(value, std == Std::ZeroMonth)?;
            in_range(m, 1, 12)?;
            f.month = m;
            rest
        }
        Std::WeekDay | Std::LongWeekDay => {
            // Checked for syntax only.
            let names = LONG_DAYS.iter().map(|d| if std == Std::WeekDay { &d[..3] } else { d });
            let (_, n) = lookup_name(names, value)?;
            &value[n..]
        }
        Std::Day | Std::UnderDay | Std::ZeroDay => {
            let v = if std == Std::UnderDay && value.first() == Some(&b' ') { &value[1..] } else { value };
            // Any one- or two-digit day; validated against the month at the end.
            let (d, rest) = getnum(v, std == Std::ZeroDay)?;
            f.day = d;
            rest
        }
        Std::UnderYearDay | Std::ZeroYearDay => {
            let mut v = value;
            for _ in 0..2 {
                if std == Std::UnderYearDay && v.first() == Some(&b' ') {
                    v = &v[1..];
                }
            }
            let (d, rest) = getnum3(v, std == Std::ZeroYearDay)?;
            f.yday = d;
            rest
        }
        Std::Hour => {
            let (h, rest) = getnum(value, false)?;
            in_range(h, 0, 23)?;
            f.hour = h;
            rest
        }
        Std::Hour12 | Std::ZeroHour12 => {
            let (h, rest) = getnum(value, std == Std::ZeroHour12)?;
            in_range(h, 0, 12)?;
            f.hour = h;
            rest
        }
        Std::Minute | Std::ZeroMinute => {
            let (m, rest) = getnum(value, std == Std::ZeroMinute)?;
            in_range(m, 0, 59)?;
            f.min = m;
            rest
        }
        Std::Second | Std::ZeroSecond => parse_seconds(f, std == Std::ZeroSecond, value, layout)?,
        Std::PM | Std::Pm => {
            let p = value.get(..2)?;
            let (am, pm): (&[u8], &[u8]) = if std == Std::PM { (b"AM", b"PM") } else { (b"am", b"pm") };
            if p == pm {
                f.pm = true;
            } else if p == am {
                f.am = true;
            } else {
                return None;
            }
            &value[2..]
        }
        Std::Offset(style) => parse_offset(f, style, value)?,
        Std::Tz => {
            if value.starts_with(b"UTC") {
                f.utc = true;
                return Some(&value[3..]);
            }
            let n = zone_len(value)?;
            f.zone = String::from_utf8_lossy(&value[..n]).into_owned();
            &value[n..]
        }
        Std::Frac(_, digits, false) => {
            // `.000` needs exactly that many digits.
            let n = 1 + digits;
            if value.len() < n {
                return None;
            }
            f.nsec = parse_nanos(value, n)?;
            &value[n..]
        }
        Std::Frac(_, _, true) => {
            if value.len() < 2 || !matches!(value[0], b'.' | b',') || !value[1].is_ascii_digit() {
                // Omitted fraction.
                return Some(value);
            }
            let n = 1 + value[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            f.nsec = parse_nanos(value, n)?;
            &value[n..]
        }
    })
}

/// Seconds, plus a fraction in the value that the layout does not mention.
fn parse_seconds<'a>(f: &mut Fields, fixed: bool, value: &'a [u8], layout: &[u8]) -> Option<&'a [u8]> {
    let (s, rest) = getnum(value, fixed)?;
    if s >= 60 {
        return None;
    }
    f.sec = s;
    if rest.len() >= 2 && matches!(rest[0], b'.' | b',') && rest[1].is_ascii_digit() {
        if matches!(next_std(layout), Some((_, Std::Frac(..), _))) {
            // The layout's own fraction element reads it.
            return Some(rest);
        }
        let n = 1 + rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        f.nsec = parse_nanos(rest, n)?;
        return Some(&rest[n..]);
    }
    Some(rest)
}

/// A fraction `.ddd` of `n` bytes (separator included) as nanoseconds; digits past nine
/// are ignored.
fn parse_nanos(value: &[u8], n: usize) -> Option<i64> {
    if !matches!(value.first(), Some(b'.' | b',')) {
        return None;
    }
    let n = n.min(10);
    let ns = atoi(&value[1..n])?;
    if ns < 0 {
        return None;
    }
    Some(ns * 10i64.pow((10 - n) as u32))
}

fn parse_offset<'a>(f: &mut Fields, style: OffsetStyle, value: &'a [u8]) -> Option<&'a [u8]> {
    if style.iso && value.first() == Some(&b'Z') {
        f.utc = true;
        return Some(&value[1..]);
    }
    let (hh, mm, ss, len): (&[u8], &[u8], &[u8], usize) = match (style.colon, style.minutes, style.seconds) {
        (true, _, false) if value.len() >= 6 && value[3] == b':' => (&value[1..3], &value[4..6], b"00", 6),
        (_, false, _) if value.len() >= 3 => (&value[1..3], b"00", b"00", 3),
        (true, _, true) if value.len() >= 9 && value[3] == b':' && value[6] == b':' => {
            (&value[1..3], &value[4..6], &value[7..9], 9)
        }
        (false, true, true) if value.len() >= 7 => (&value[1..3], &value[3..5], &value[5..7], 7),
        (false, true, false) if value.len() >= 5 => (&value[1..3], &value[3..5], b"00", 5),
        _ => return None,
    };
    let (h, _) = getnum(hh, true)?;
    let (m, _) = getnum(mm, true)?;
    let (s, _) = getnum(ss, true)?;
    // Go accepts up to 24 hours, 60 minutes and 60 seconds.
    if h > 24 || m > 60 || s > 60 {
        return None;
    }
    let off = (h * 60 + m) * 60 + s;
    f.offset = match value[0] {
        b'+' => off,
        b'-' => -off,
        _ => return None,
    };
    Some(&value[len..])
}

/// Length of a zone abbreviation at the start of `value` (Go's heuristic).
fn zone_len(value: &[u8]) -> Option<usize> {
    if value.len() < 3 {
        return None;
    }
    if value.starts_with(b"ChST") || value.starts_with(b"MeST") {
        return Some(4);
    }
    if value.starts_with(b"GMT") {
        // GMT may carry an hour offset: GMT+3, GMT-11.
        let rest = &value[3..];
        return Some(3 + if rest.is_empty() { 0 } else { signed_offset_len(rest) });
    }
    if matches!(value[0], b'+' | b'-') {
        return Some(signed_offset_len(value)).filter(|&n| n > 0);
    }
    let upper = value.iter().take(6).take_while(|c| c.is_ascii_uppercase()).count();
    match upper {
        3 => Some(3),
        4 if value[3] == b'T' || value.starts_with(b"WITA") => Some(4),
        5 if value[4] == b'T' => Some(5),
        _ => None,
    }
}

/// Length of `+h`/`-hh` (hours 0..=23), or 0.
fn signed_offset_len(value: &[u8]) -> usize {
    if !matches!(value[0], b'+' | b'-') {
        return 0;
    }
    match leading_int(&value[1..]) {
        Some((x, rem)) if rem.len() < value.len() - 1 && x <= 23 => value.len() - rem.len(),
        _ => 0,
    }
}

impl Fields {
    /// Validates the date and resolves the zone, as the end of Go's `parse`.
    fn build(mut self) -> Result<GoTime, ParseFailed> {
        if self.pm && self.hour < 12 {
            self.hour += 12;
        } else if self.am && self.hour == 12 {
            self.hour = 0;
        }
        if self.yday >= 0 {
            self.resolve_yday()?;
        } else {
            if self.month < 0 {
                self.month = 1;
            }
            if self.day < 0 {
                self.day = 1;
            }
        }
        if self.day < 1 || self.day > days_in(self.month, self.year) {
            return Err(ParseFailed);
        }
        let days = days_from_civil(self.year, self.month as u32, self.day as u32);
        let unix = days * 86_400 + self.hour * 3600 + self.min * 60 + self.sec;
        let t = GoTime::utc(unix, self.nsec as u32);
        if self.utc {
            return Ok(t);
        }
        if self.offset != -1 {
            let off = self.offset as i32;
            let unix = unix - self.offset;
            // The local zone (UTC) is used when it matches; otherwise a fixed zone.
            if off == 0 && (self.zone.is_empty() || self.zone == "UTC") {
                return Ok(GoTime::utc(unix, t.nsec));
            }
            return Ok(GoTime { unix, nsec: t.nsec, offset: off, zone: Rc::from(self.zone) });
        }
        if !self.zone.is_empty() {
            // An unknown abbreviation: its instant is taken as UTC, except GMT±h.
            let offset = match self.zone.strip_prefix("GMT") {
                Some(h) if !h.is_empty() => atoi(h.as_bytes()).unwrap_or(0) as i32 * 3600,
                _ => 0,
            };
            return Ok(GoTime { unix, nsec: t.nsec, offset, zone: Rc::from(self.zone) });
        }
        Ok(t)
    }

    /// Turns a day of the year into month and day, checking them against any parsed ones.
    fn resolve_yday(&mut self) -> Result<(), ParseFailed> {
        let mut yday = self.yday;
        let mut found = None;
        if is_leap(self.year) {
            if yday == 31 + 29 {
                found = Some((2, 29));
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        if !(1..=365).contains(&yday) {
            return Err(ParseFailed);
        }
        let (m, d) = found.unwrap_or_else(|| {
            let mut m = (yday - 1) / 31 + 1;
            if days_before(m + 1) < yday {
                m += 1;
            }
            (m, yday - days_before(m))
        });
        if (self.month >= 0 && self.month != m) || (self.day >= 0 && self.day != d) {
            return Err(ParseFailed);
        }
        self.month = m;
        self.day = d;
        Ok(())
    }
}

const NANOS_PER_UNIT: [(&str, u64); 9] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("", 0),
];

/// `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-zµμ]+)+` in nanoseconds, or `None`.
pub(super) fn parse_duration(s: &str) -> Option<i64> {
    let mut s = s.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Some(0);
    }
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let (v, rest) = duration_term(s)?;
        s = rest;
        total = total.checked_add(v).filter(|&t| t <= 1 << 63)?;
    }
    if neg {
        return Some((total as i64).wrapping_neg());
    }
    i64::try_from(total).ok()
}

/// One `12.5ms` term: its nanoseconds and the rest of the input.
fn duration_term(s: &[u8]) -> Option<(u64, &[u8])> {
    if !(s[0] == b'.' || s[0].is_ascii_digit()) {
        return None;
    }
    let (mut v, rest) = leading_int(s)?;
    let pre = rest.len() != s.len();
    let mut s = rest;
    let (mut frac, mut scale, mut post) = (0u64, 1f64, false);
    if s.first() == Some(&b'.') {
        let (x, sc, rest) = leading_fraction(&s[1..]);
        post = rest.len() != s.len() - 1;
        (frac, scale, s) = (x, sc, rest);
    }
    if !pre && !post {
        return None;
    }
    let n = s.iter().take_while(|&&c| c != b'.' && !c.is_ascii_digit()).count();
    let (name, rest) = s.split_at(n);
    let unit = NANOS_PER_UNIT.iter().find(|(u, _)| !u.is_empty() && u.as_bytes() == name)?.1;
    if v > (1 << 63) / unit {
        return None;
    }
    v *= unit;
    if frac > 0 {
        // Go scales the fraction in floating point, to the nanosecond.
        v = v.checked_add((frac as f64 * (unit as f64 / scale)) as u64).filter(|&t| t <= 1 << 63)?;
    }
    Some((v, rest))
}

/// Fraction digits: their value while it fits, the power of ten consumed, the rest.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let (mut x, mut scale, mut overflow) = (0u64, 1f64, false);
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    for &c in &s[..n] {
        if overflow {
            continue;
        }
        if x > (i64::MAX as u64) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > 1 << 63 {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[n..])
}

/// `time.Duration.String()`: `72h3m0.5s`, `1.5ms`, `0s`.
pub(super) fn duration_string(d: i64) -> String {
    let u = d.unsigned_abs();
    let body = if u < 1_000_000_000 {
        // Under a second: the largest unit that keeps a non-zero leading digit.
        let (prec, unit) = match u {
            0 => return "0s".to_string(),
            1..=999 => (0, "ns"),
            1_000..=999_999 => (3, "\u{b5}s"),
            _ => (6, "ms"),
        };
        let (frac, int) = frac_digits(u, prec);
        format!("{int}{frac}{unit}")
    } else {
        let (frac, secs) = frac_digits(u, 9);
        let (mins, hours) = (secs / 60, secs / 3600);
        if hours > 0 {
            format!("{hours}h{}m{}{frac}s", mins % 60, secs % 60)
        } else if mins > 0 {
            format!("{mins}m{}{frac}s", secs % 60)
        } else {
            format!("{secs}{frac}s")
        }
    };
    if d < 0 { format!("-{body}") } else { body }
}

/// Splits off `prec` decimal digits: the fraction as `.ddd` without trailing zeros (empty
/// if zero) and the integer part.
fn frac_digits(v: u64, prec: u32) -> (String, u64) {
    let p = 10u64.pow(prec);
    let frac = v % p;
    if frac == 0 {
        return (String::new(), v / p);
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    (format!(".{}", digits.trim_end_matches('0')), v / p)
}

/// `d.Round(time.Second)`, saturating as Go does.
pub(super) fn round_to_second(d: i64) -> i64 {
    const M: i64 = 1_000_000_000;
    let r = d % M;
    let less_than_half = |x: i64| (x as u64).wrapping_add(x as u64) < M as u64;
    if d < 0 {
        let r = -r;
        if less_than_half(r) {
            return d + r;
        }
        return d.checked_sub(M - r).unwrap_or(i64::MIN);
    }
    if less_than_half(r) {
        return d - r;
    }
    d.checked_add(M - r).unwrap_or(i64::MAX)
}
