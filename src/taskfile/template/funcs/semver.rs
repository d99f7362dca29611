//! Sprig's `semver` and `semverCompare`, with the semantics of Masterminds/semver v1.5
//! (the version Sprig v2.22 vendors): lenient versions (`v1`, `1.2`), comma for AND, `||`
//! for OR, hyphen ranges, x-ranges, `~` and `^`, and prereleases excluded unless asked for.
//! Parsing uses that library's own regular expressions, so odd inputs split the same way.

use std::cmp::Ordering;
use std::sync::OnceLock;

use regex::Regex;

use super::super::value::{Struct, Value};
use super::args::str_arg;
use super::{FuncCtx, FuncError};

/// A version part: digits, x-wildcards, and the pipe that the library's class lets through.
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
/// Go's `\s`, which unlike the crate's is ASCII-only and excludes `\v`.
const WS: &str = r"[\t\n\f\r ]";

struct Patterns {
    version: Regex,
    constraint: Regex,
    range: Regex,
}

fn patterns() -> Option<&'static Patterns> {
    static P: OnceLock<Option<Patterns>> = OnceLock::new();
    P.get_or_init(|| {
        let version = r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$";
        let ops = r"|=|!=|>|<|>=|=>|<=|=<|~|~>|\^";
        Some(Patterns {
            version: Regex::new(version).ok()?,
            constraint: Regex::new(&format!(r"^{WS}*({ops}){WS}*({CV}){WS}*$")).ok()?,
            range: Regex::new(&format!(r"{WS}*({CV}){WS}+-{WS}+({CV}){WS}*")).ok()?,
        })
    })
    .as_ref()
}

fn internal() -> String {
    "semver patterns failed to compile".into()
}

/// A parsed version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Version {
    major: i64,
    minor: i64,
    patch: i64,
    pre: String,
    metadata: String,
    original: String,
}

impl Version {
    /// The library's `NewVersion`; errors carry its messages.
    fn parse(v: &str) -> Result<Version, String> {
        let p = patterns().ok_or_else(internal)?;
        let m = p.version.captures(v).ok_or("Invalid Semantic Version")?;
        let part = |i: usize| m.get(i).map_or("", |g| g.as_str());
        let num = |s: &str| -> Result<i64, String> {
            if s.is_empty() {
                return Ok(0);
            }
            s.parse::<i64>().map_err(|_| {
                format!("Error parsing version segment: strconv.ParseInt: parsing {s:?}: value out of range")
            })
        };
        Ok(Version {
            major: num(part(1))?,
            minor: num(part(2).trim_start_matches('.'))?,
            patch: num(part(3).trim_start_matches('.'))?,
            pre: part(5).to_string(),
            metadata: part(8).to_string(),
            original: v.to_string(),
        })
    }

    /// `major.minor.patch[-pre][+metadata]`, without any `v`.
    fn canonical(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }

    /// Precedence: numbers, then a prerelease sorts before the release; metadata is ignored.
    fn compare(&self, o: &Version) -> Ordering {
        let nums = (self.major, self.minor, self.patch).cmp(&(o.major, o.minor, o.patch));
        if nums != Ordering::Equal {
            return nums;
        }
        match (self.pre.is_empty(), o.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_prerelease(&self.pre, &o.pre),
        }
    }

    /// What the template sees: a `*semver.Version`, printed through its `String` method, with its
    /// argument-less methods callable as fields (`.Major` is an `int64`). Its fields are unexported,
    /// so only `MarshalJSON` (the version as a JSON string) shows through `toJson`.
    fn to_value(&self) -> Value {
        let canonical = self.canonical();
        Value::structure(Struct {
            type_name: "*semver.Version",
            pointer: true,
            fields: vec![
                ("Major", Value::Int64(self.major)),
                ("Minor", Value::Int64(self.minor)),
                ("Patch", Value::Int64(self.patch)),
                ("Prerelease", Value::str(&self.pre)),
                ("Metadata", Value::str(&self.metadata)),
                ("Original", Value::str(&self.original)),
                ("String", Value::string(canonical.clone())),
            ],
            printed: 0,
            json: Some(format!("\"{}\"", canonical.replace('\\', "\\\\").replace('"', "\\\""))),
            display: Some(canonical),
        })
    }
}

/// Dot-separated prerelease comparison; a missing part sorts first.
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..pa.len().max(pb.len()) {
        let d = compare_pre_part(pa.get(i).copied().unwrap_or(""), pb.get(i).copied().unwrap_or(""));
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

/// Numeric parts compare as numbers and sort before alphanumeric ones.
fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (parse_uint(s), parse_uint(o)) {
        (None, None) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(x), Some(y)) => {
            if x > y {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

/// Go's `strconv.ParseUint(s, 10, 64)`: digits only, no sign.
fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

/// One comparison, with the wildcard state of its version.
struct Constraint {
    op: Op,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraint {
    fn parse(s: &str) -> Result<Constraint, String> {
        let p = patterns().ok_or_else(internal)?;
        let m = p.constraint.captures(s).ok_or_else(|| format!("improper constraint: {s}"))?;
        let g = |i: usize| m.get(i).map_or("", |x| x.as_str());
        let op = match g(1) {
            "" | "=" => Op::TildeOrEqual,
            "!=" => Op::NotEqual,
            ">" => Op::Greater,
            "<" => Op::Less,
            ">=" | "=>" => Op::GreaterEqual,
            "<=" | "=<" => Op::LessEqual,
            "~" | "~>" => Op::Tilde,
            _ => Op::Caret,
        };
        let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
        let ver = if is_x(g(3)) {
            dirty = true;
            "0.0.0".to_string()
        } else if is_x(g(4).trim_start_matches('.')) || g(4).is_empty() {
            (minor_dirty, dirty) = (true, true);
            format!("{}.0.0{}", g(3), g(6))
        } else if is_x(g(5).trim_start_matches('.')) {
            (patch_dirty, dirty) = (true, true);
            format!("{}{}.0{}", g(3), g(4), g(6))
        } else {
            g(2).to_string()
        };
        let con = Version::parse(&ver).map_err(|_| "constraint Parser Error".to_string())?;
        Ok(Constraint { op, con, minor_dirty, patch_dirty, dirty })
    }

    fn check(&self, v: &Version) -> bool {
        // A prerelease only satisfies constraints that mention prereleases (the library
        // forgets this rule for a plain `!=`).
        let plain_ne = self.op == Op::NotEqual && !self.dirty;
        if !v.pre.is_empty() && self.con.pre.is_empty() && !plain_ne {
            return false;
        }
        let c = &self.con;
        match self.op {
            Op::NotEqual if self.dirty => c.major != v.major || c.minor != v.minor && !self.minor_dirty,
            Op::NotEqual => v.compare(c) != Ordering::Equal,
            Op::Greater => v.compare(c) == Ordering::Greater,
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::Less | Op::LessEqual if self.dirty => !(v.major > c.major || v.minor > c.minor && !self.minor_dirty),
            Op::Less => v.compare(c) == Ordering::Less,
            Op::LessEqual => v.compare(c) != Ordering::Greater,
            Op::TildeOrEqual if self.dirty => self.tilde(v),
            Op::TildeOrEqual => v.compare(c) == Ordering::Equal,
            Op::Tilde => self.tilde(v),
            Op::Caret => v.compare(c) != Ordering::Less && v.major == c.major,
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        // `~0`, `~*`: anything.
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        v.major == c.major && (v.minor == c.minor || self.minor_dirty)
    }
}

/// The library's `NewConstraint`: hyphen ranges rewritten, then `||` of `,`-joined parts.
fn parse_constraints(c: &str) -> Result<Vec<Vec<Constraint>>, String> {
    let p = patterns().ok_or_else(internal)?;
    let mut text = c.to_string();
    for m in p.range.captures_iter(c) {
        let whole = m.get(0).map_or("", |x| x.as_str());
        let lo = m.get(1).map_or("", |x| x.as_str());
        let hi = m.get(11).map_or("", |x| x.as_str());
        text = text.replacen(whole, &format!(">= {lo}, <= {hi}"), 1);
    }
    text.split("||").map(|alt| alt.split(',').map(Constraint::parse).collect()).collect()
}

/// `semver version`: the parsed version (its fields as a dict).
pub(super) fn semver(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(&a[0])?;
    ctx.charge(s.len() as u64 / 16)?;
    Version::parse(s).map(|v| v.to_value()).map_err(FuncError::exec)
}

/// `semverCompare constraint version`: whether the version satisfies the constraint.
pub(super) fn semver_compare(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (c, v) = (str_arg(&a[0])?, str_arg(&a[1])?);
    ctx.charge((c.len() + v.len()) as u64 / 16)?;
    let cs = parse_constraints(c).map_err(FuncError::exec)?;
    let v = Version::parse(v).map_err(FuncError::exec)?;
    Ok(Value::Bool(cs.iter().any(|and| and.iter().all(|k| k.check(&v)))))
}

#[cfg(test)]
mod tests {
    use super::{Version, parse_constraints};

    fn check(c: &str, v: &str) -> bool {
        let v = Version::parse(v).unwrap();
        parse_constraints(c).unwrap().iter().any(|a| a.iter().all(|k| k.check(&v)))
    }

    #[test]
    fn constraints_follow_masterminds_v1() {
        assert!(check("^1.2", "1.9.0"));
        assert!(!check("^1.2", "2.0.0"));
        assert!(check("~1.2.3", "1.2.9"));
        assert!(check("1.2 - 1.4", "1.3.0"));
        assert!(!check(">1.0", "1.5.0-beta"));
        assert!(check("1.x", "1.7.0"));
        assert!(parse_constraints("> 1 < 2").is_err());
        assert_eq!(Version::parse("v1.2").unwrap().canonical(), "1.2.0");
    }
}
