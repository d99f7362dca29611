//! Sprig's path functions (Go's slash-only `path` package) and URL functions (`net/url`).

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use super::super::value::Value;
use super::args::str_arg;
use super::runes::from_go_bytes;
use super::{FuncCtx, FuncError};

/// `base path`: the last element, ignoring trailing slashes.
pub(super) fn base(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::str(path_base(str_arg(&a[0])?)))
}

/// `dir path`: everything but the last element, cleaned.
pub(super) fn dir(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let p = str_arg(&a[0])?;
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    Ok(Value::string(path_clean(&p[..cut])))
}

/// `clean path`: the shortest equivalent path.
pub(super) fn clean(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(path_clean(str_arg(&a[0])?)))
}

/// `ext path`: the suffix from the final dot of the last element.
pub(super) fn ext(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let p = str_arg(&a[0])?;
    let last = &p[p.rfind('/').map_or(0, |i| i + 1)..];
    Ok(Value::str(last.rfind('.').map_or("", |i| &last[i..])))
}

/// `isAbs path`: starts with a slash.
pub(super) fn is_abs(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(str_arg(&a[0])?.starts_with('/')))
}

fn path_base(p: &str) -> &str {
    if p.is_empty() {
        return ".";
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    &trimmed[trimmed.rfind('/').map_or(0, |i| i + 1)..]
}

/// Go's `path.Clean`: drops empty and `.` elements, resolves `..` lexically.
fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    // Leading `..` elements of a relative path cannot be resolved and are kept.
    let mut fixed = 0;
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." if parts.len() > fixed => {
                parts.pop();
            }
            ".." if !rooted => {
                parts.push("..");
                fixed += 1;
            }
            ".." => {}
            e => parts.push(e),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

/// The parts of a URL Sprig exposes (Go's `url.URL` fields it reads).
#[derive(Default)]
struct Url {
    scheme: String,
    opaque: String,
    /// Username and, if one was given, password.
    user: Option<(String, Option<String>)>,
    host: String,
    path: String,
    raw_query: String,
    fragment: String,
}

/// How a URL component is escaped (Go's `encoding` modes).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

/// Go's `shouldEscape`.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => c == b'?',
            Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => false,
            Mode::Host | Mode::Zone => true,
        },
        b'!' | b'(' | b')' | b'*' if mode == Mode::Fragment => false,
        _ => true,
    }
}

/// Go's `escape` for a mode (percent-encodes byte by byte).
fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if should_escape(b, mode) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// Go's `unescape`; the error is Go's message.
fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                    let bad = &s[i..s.len().min(i + 3)];
                    return Err(format!("invalid URL escape {bad:?}"));
                }
                let v = hex(b[i + 1]) << 4 | hex(b[i + 2]);
                let seq = &s[i..i + 3];
                let bad_host = mode == Mode::Host && hex(b[i + 1]) < 8 && seq != "%25";
                let bad_zone = mode == Mode::Zone && seq != "%25" && v != b' ' && should_escape(v, Mode::Host);
                if bad_host || bad_zone {
                    return Err(format!("invalid URL escape {seq:?}"));
                }
                out.push(v);
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return Err(format!("invalid character {:?} in host name", char::from(c).to_string()));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(from_go_bytes(&out))
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

/// Go's `getScheme`: `Ok(None)` when there is no valid scheme.
fn split_scheme(raw: &str) -> Result<Option<(&str, &str)>, String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok(Some((&raw[..i], &raw[i + 1..]))),
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Go's `url.Parse`.
fn parse_url(raw: &str) -> Result<Url, String> {
    let (u, frag) = raw.split_once('#').unwrap_or((raw, ""));
    let mut url = parse_no_fragment(u).map_err(|e| format!("parse {u:?}: {e}"))?;
    if !frag.is_empty() {
        url.fragment = unescape(frag, Mode::Fragment).map_err(|e| format!("parse {raw:?}: {e}"))?;
    }
    Ok(url)
}

fn parse_no_fragment(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut url = Url::default();
    if raw == "*" {
        url.path = "*".into();
        return Ok(url);
    }
    let mut rest = raw;
    if let Some((scheme, r)) = split_scheme(raw)? {
        url.scheme = scheme.to_ascii_lowercase();
        rest = r;
    }
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, q)) = rest.split_once('?') {
        rest = r;
        url.raw_query = q.to_string();
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_string();
            return Ok(url);
        }
        if rest.split('/').next().unwrap_or("").contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority = &rest[2..];
        let (authority, path) = match authority.find('/') {
            Some(i) => (&authority[..i], &authority[i..]),
            None => (authority, ""),
        };
        parse_authority(&mut url, authority)?;
        rest = path;
    }
    url.path = unescape(rest, Mode::Path)?;
    Ok(url)
}

fn parse_authority(url: &mut Url, authority: &str) -> Result<(), String> {
    let at = authority.rfind('@');
    url.host = parse_host(&url.scheme, at.map_or(authority, |i| &authority[i + 1..]))?;
    let Some(i) = at else { return Ok(()) };
    let userinfo = &authority[..i];
    let valid = userinfo.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b));
    if !valid {
        return Err("net/url: invalid userinfo".into());
    }
    url.user = Some(match userinfo.split_once(':') {
        None => (unescape(userinfo, Mode::UserPassword)?, None),
        Some((name, pass)) => (unescape(name, Mode::UserPassword)?, Some(unescape(pass, Mode::UserPassword)?)),
    });
    Ok(())
}

/// Go's `parseHost` (with Go 1.26's strict colons for http and https).
fn parse_host(scheme: &str, host: &str) -> Result<String, String> {
    match host.rfind('[') {
        Some(i) if i > 0 => return Err("invalid IP-literal".into()),
        Some(_) => return parse_ip_literal(host),
        None => {}
    }
    if let Some(first) = host.find(':') {
        let last = host.rfind(':').unwrap_or(first);
        let i = if scheme == "http" || scheme == "https" { first } else { last };
        if !valid_optional_port(&host[i..]) {
            return Err(format!("invalid port {:?} after host", &host[i..]));
        }
    }
    unescape(host, Mode::Host)
}

/// A bracketed IPv6 literal with optional zone and port.
fn parse_ip_literal(host: &str) -> Result<String, String> {
    let Some(close) = host.rfind(']') else {
        return Err("missing ']' in host".into());
    };
    let port = &host[close + 1..];
    if !valid_optional_port(port) {
        return Err(format!("invalid port {port:?} after host"));
    }
    let inner = &host[1..close];
    let unescaped = match inner.find("%25") {
        Some(z) => unescape(&inner[..z], Mode::Host)? + &unescape(&inner[z..], Mode::Zone)?,
        None => unescape(inner, Mode::Host)?,
    };
    let (addr, zone) = match unescaped.split_once('%') {
        Some((a, z)) => (a, Some(z)),
        None => (unescaped.as_str(), None),
    };
    if addr.parse::<Ipv6Addr>().is_err() || zone.is_some_and(str::is_empty) {
        return Err(format!("invalid host: ParseAddr({unescaped:?}): unable to parse IP"));
    }
    Ok(format!("[{unescaped}]{port}"))
}

/// Empty, or `:` followed by digits.
fn valid_optional_port(port: &str) -> bool {
    port.is_empty() || port.strip_prefix(':').is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// Go's `Userinfo.String`.
fn user_string(user: &Option<(String, Option<String>)>) -> String {
    match user {
        None => String::new(),
        Some((name, None)) => escape(name, Mode::UserPassword),
        Some((name, Some(pass))) => {
            format!("{}:{}", escape(name, Mode::UserPassword), escape(pass, Mode::UserPassword))
        }
    }
}

/// Go's `URL.Hostname`: the host without port and brackets.
fn hostname(host: &str) -> &str {
    let mut h = host;
    if let Some(c) = h.rfind(':')
        && valid_optional_port(&h[c..])
    {
        h = &h[..c];
    }
    if h.len() >= 2 && h.starts_with('[') && h.ends_with(']') {
        h = &h[1..h.len() - 1];
    }
    h
}

/// `urlParse url`: a dict of the URL's parts; an invalid URL fails.
pub(super) fn url_parse(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let raw = str_arg(&a[0])?;
    ctx.charge(raw.len() as u64 / 16)?;
    let u = parse_url(raw).map_err(|e| FuncError::exec(format!("unable to parse url: {e}")))?;
    let mut m = BTreeMap::new();
    let s = |v: &str| Value::str(v);
    m.insert("scheme".to_string(), s(&u.scheme));
    m.insert("host".to_string(), s(&u.host));
    m.insert("hostname".to_string(), s(hostname(&u.host)));
    m.insert("path".to_string(), s(&u.path));
    m.insert("query".to_string(), s(&u.raw_query));
    m.insert("opaque".to_string(), s(&u.opaque));
    m.insert("fragment".to_string(), s(&u.fragment));
    m.insert("userinfo".to_string(), Value::string(user_string(&u.user)));
    Ok(Value::map(m))
}

/// `urlJoin dict`: builds a URL string from urlParse-style parts.
pub(super) fn url_join(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    // nil is an empty (nil) map to Go.
    let m = match &a[0] {
        Value::Map(m) if m.is_string_keyed() => Some(m),
        Value::Nil => None,
        other => {
            return Err(FuncError::exec(format!(
                "wrong type for value; expected map[string]interface {{}}; got {}",
                other.type_name()
            )));
        }
    };
    let get = |key: &str| -> Result<String, FuncError> {
        match m.and_then(|m| m.get(key)) {
            None => Ok(String::new()),
            Some(Value::Str(s)) => Ok(s.to_string()),
            Some(Value::Nil) => {
                Err(FuncError::exec("runtime error: invalid memory address or nil pointer dereference"))
            }
            Some(v) => Err(FuncError::exec(format!(
                "unable to parse {key} key, must be of type string, but {} found",
                v.kind_name()
            ))),
        }
    };
    let mut u = Url {
        scheme: get("scheme")?,
        host: get("host")?,
        path: get("path")?,
        raw_query: get("query")?,
        opaque: get("opaque")?,
        fragment: get("fragment")?,
        user: None,
    };
    let userinfo = get("userinfo")?;
    if !userinfo.is_empty() {
        let tmp = parse_url(&format!("proto://{userinfo}@host"))
            .map_err(|e| FuncError::exec(format!("unable to parse userinfo in dict: {e}")))?;
        u.user = tmp.user;
    }
    let out = url_string(&u);
    ctx.check_len(out.len())?;
    ctx.charge(out.len() as u64 / 16)?;
    Ok(Value::string(out))
}

/// Go's `URL.String` for a URL built from fields (no raw path hints, no forced query).
fn url_string(u: &Url) -> String {
    let mut out = String::new();
    if !u.scheme.is_empty() {
        out.push_str(&u.scheme);
        out.push(':');
    }
    if !u.opaque.is_empty() {
        out.push_str(&u.opaque);
    } else {
        if !u.scheme.is_empty() || !u.host.is_empty() || u.user.is_some() {
            if !u.host.is_empty() || !u.path.is_empty() || u.user.is_some() {
                out.push_str("//");
            }
            if u.user.is_some() {
                out.push_str(&user_string(&u.user));
                out.push('@');
            }
            out.push_str(&escape(&u.host, Mode::Host));
        }
        let path = if u.path == "*" { "*".to_string() } else { escape(&u.path, Mode::Path) };
        if !path.is_empty() && !path.starts_with('/') && !u.host.is_empty() {
            out.push('/');
        }
        // A colon in the first segment of a relative path would read as a scheme.
        if out.is_empty() && path.split('/').next().unwrap_or("").contains(':') {
            out.push_str("./");
        }
        out.push_str(&path);
    }
    if !u.raw_query.is_empty() {
        out.push('?');
        out.push_str(&u.raw_query);
    }
    if !u.fragment.is_empty() {
        out.push('#');
        out.push_str(&escape(&u.fragment, Mode::Fragment));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{path_base, path_clean};

    #[test]
    fn clean_matches_go() {
        for (i, o) in [("", "."), ("a/../..", ".."), ("/../a", "/a"), ("a//b/./c/", "a/b/c"), ("../../x/..", "../..")] {
            assert_eq!(path_clean(i), o, "{i}");
        }
        assert_eq!(path_base("a/b//"), "b");
        assert_eq!(path_base("///"), "/");
    }
}
