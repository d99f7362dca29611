//! Sprig's date functions: `now`, `date`, `dateInZone`, `htmlDate`, `htmlDateInZone`,
//! `dateModify`, `toDate`, `ago`, `unixEpoch` (and the snake_case aliases).
//!
//! Go's `Local` is UTC on ACR's runner, so it is UTC here. Named zones come from the IANA
//! database bundled with jiff, so renders do not depend on the host's zoneinfo files.

use std::rc::Rc;
use std::sync::LazyLock;

use jiff::tz::TimeZoneDatabase;

use super::super::timefmt::{self, GoTime};
use super::super::value::Value;
use super::args::wrong_type;
use super::{FuncCtx, FuncError};

static ZONES: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// A Go `string` parameter. Unlike most functions' helper, nil is refused, as ACR does.
fn string_param(v: &Value) -> Result<&str, FuncError> {
    match v {
        Value::Str(s) => Ok(s),
        _ => Err(wrong_type("string", v)),
    }
}

/// A Go `time.Time` parameter.
fn time_param(v: &Value) -> Result<GoTime, FuncError> {
    match v {
        Value::Time(t) => Ok(GoTime::clone(t)),
        _ => Err(wrong_type("time.Time", v)),
    }
}

/// A time result, keeping its zone.
fn time_value(t: &GoTime) -> Result<Value, FuncError> {
    Ok(Value::Time(Rc::new(t.clone())))
}

/// Sprig's reading of its `interface{}` date argument: a time, or Unix seconds from an
/// int; anything else means the current time.
fn loose_time(ctx: &FuncCtx, v: &Value) -> GoTime {
    match v {
        Value::Time(t) => GoTime::clone(t),
        Value::Int(secs) | Value::Int64(secs) => GoTime::utc(*secs, 0),
        _ => GoTime::from_chrono(&ctx.now),
    }
}

/// `t.In(time.LoadLocation(zone))`, with UTC for an unknown zone as Sprig does.
fn in_zone(t: &GoTime, zone: &str) -> GoTime {
    let utc = GoTime::utc(t.unix, t.nsec);
    if matches!(zone, "" | "UTC" | "Local") || zone.contains("..") || zone.starts_with(['/', '\\']) {
        return utc;
    }
    // The database matches names case-insensitively; Go reads files, so case matters.
    let Ok(tz) = ZONES.get(zone) else { return utc };
    if tz.iana_name() != Some(zone) {
        return utc;
    }
    // jiff covers years -9999..=9999; beyond that the nearest end's rules apply.
    let secs = t.unix.clamp(jiff::Timestamp::MIN.as_second(), jiff::Timestamp::MAX.as_second());
    let Ok(ts) = jiff::Timestamp::from_second(secs) else { return utc };
    let info = tz.to_offset_info(ts);
    GoTime { offset: info.offset().seconds(), zone: info.abbreviation().into(), ..utc }
}

/// Formats with a layout, refusing results over the output limit (an element grows at
/// most fivefold: `.0` becomes `.000000000`).
fn format_checked(ctx: &mut FuncCtx, t: &GoTime, layout: &str) -> Result<Value, FuncError> {
    ctx.check_len(layout.len().saturating_mul(5).saturating_add(16))?;
    ctx.charge(layout.len() as u64 / 16)?;
    Ok(Value::string(timefmt::format(t, layout)))
}

/// `now`: the injected clock.
pub(super) fn now(ctx: &mut FuncCtx, _: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Time(Rc::new(GoTime::from_chrono(&ctx.now))))
}

/// `date layout t`: `dateInZone layout t "Local"`.
pub(super) fn date(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let layout = string_param(&a[0])?;
    let t = loose_time(ctx, &a[1]);
    format_checked(ctx, &in_zone(&t, "Local"), layout)
}

/// `dateInZone layout t zone` (also `date_in_zone`).
pub(super) fn date_in_zone(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let layout = string_param(&a[0])?;
    let zone = string_param(&a[2])?;
    let t = loose_time(ctx, &a[1]);
    format_checked(ctx, &in_zone(&t, zone), layout)
}

/// `htmlDate t`: `2006-01-02` in `Local`.
pub(super) fn html_date(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let t = loose_time(ctx, &a[0]);
    format_checked(ctx, &in_zone(&t, "Local"), "2006-01-02")
}

/// `htmlDateInZone t zone`
pub(super) fn html_date_in_zone(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let zone = string_param(&a[1])?;
    let t = loose_time(ctx, &a[0]);
    format_checked(ctx, &in_zone(&t, zone), "2006-01-02")
}

/// `dateModify duration t` (also `date_modify`): t moved by a Go duration; an invalid
/// duration leaves t unchanged.
pub(super) fn date_modify(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let spec = string_param(&a[0])?;
    let t = time_param(&a[1])?;
    match timefmt::parse_duration(spec) {
        Some(d) => time_value(&t.add(d)),
        None => Ok(a[1].clone()),
    }
}

/// `toDate layout s`: parses s in `Local`; a failure gives Go's zero time.
pub(super) fn to_date(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let layout = string_param(&a[0])?;
    let s = string_param(&a[1])?;
    ctx.charge((layout.len() + s.len()) as u64 / 16)?;
    let t = timefmt::parse(layout, s).unwrap_or_else(|_| GoTime::zero());
    time_value(&t)
}

/// `ago t`: time since t, rounded to the second, as a Go duration string.
pub(super) fn ago(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let now = GoTime::from_chrono(&ctx.now);
    let since = match &a[0] {
        Value::Time(t) => now.sub(t),
        Value::Int(secs) | Value::Int64(secs) => now.sub(&GoTime::utc(*secs, 0)),
        // Sprig measures from a fresh time.Now(): zero.
        _ => 0,
    };
    Ok(Value::string(timefmt::duration_string(timefmt::round_to_second(since))))
}

/// `unixEpoch t`: Unix seconds as a string.
pub(super) fn unix_epoch(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(time_param(&a[0])?.unix.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::super::timefmt::{GoTime, duration_string, format, parse, parse_duration};
    use super::in_zone;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(duration_string(0), "0s");
        assert_eq!(duration_string(1_500), "1.5\u{b5}s");
        assert_eq!(duration_string(-90_000_000_000), "-1m30s");
        assert_eq!(duration_string(i64::MIN), "-2562047h47m16.854775808s");
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("-.5s"), Some(-500_000_000));
        assert_eq!(parse_duration("1d"), None);
        assert_eq!(parse_duration("9223372036854775808ns"), None);
        assert_eq!(parse_duration("-9223372036854775808ns"), Some(i64::MIN));
    }

    #[test]
    fn layouts_round_trip() {
        let t = parse("2006-01-02T15:04:05.999999999Z07:00", "2021-12-31T23:59:58.25+05:30").unwrap();
        assert_eq!((t.offset, &*t.zone), (19_800, ""));
        assert_eq!(format(&t, "Mon Jan _2 3:04:05.000PM MST 2006 __2"), "Fri Dec 31 11:59:58.250PM +0530 2021 365");
        assert!(parse("2006-01-02", "2021-02-29").is_err());
        assert_eq!(format(&GoTime::utc(i64::MAX, 0), "2006-01-02 15:04:05"), "292277026596-12-04 15:30:07");
    }

    #[test]
    fn zones_follow_go() {
        let t = GoTime::utc(0, 0);
        assert_eq!(format(&in_zone(&t, "America/New_York"), "15:04 MST"), "19:00 EST");
        assert_eq!(format(&in_zone(&t, "america/new_york"), "15:04 MST"), "00:00 UTC");
        assert_eq!(format(&in_zone(&t, "../etc/passwd"), "MST"), "UTC");
    }
}
