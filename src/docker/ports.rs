//! `docker run -p` and `--expose` syntax, parsed into bindings.
//!
//! Accepted forms (as the docker CLI): `80`, `8080:80`, `127.0.0.1:8080:80`, `127.0.0.1::80`,
//! `[::1]:8080:80`, ranges `8000-8002:80-82`, a host range for one container port
//! `8000-8010:80` (the engine picks a free one), and a `/tcp`, `/udp` or `/sctp` suffix.

use std::net::IpAddr;

use super::error::{DockerError, Result};

/// One container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    /// Port inside the container.
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// Host address to bind; `None` means all addresses.
    pub host_ip: Option<String>,
    /// Host port or host port range (`8000-8010`); `None` or `"0"` lets the engine choose.
    pub host_port: Option<String>,
}

impl PortBinding {
    /// The engine's key for the container side, e.g. `80/tcp`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.container_port, self.protocol)
    }
}

/// Parses one `-p` value into its bindings (several when it contains ranges).
pub fn parse_port_spec(spec: &str) -> Result<Vec<PortBinding>> {
    let err = |reason: &str| DockerError::InvalidPort { spec: spec.to_string(), reason: reason.to_string() };
    let (body, protocol) = split_protocol(spec).map_err(|r| err(&r))?;
    let parts: Vec<&str> = body.split(':').collect();
    let n = parts.len();
    // Like the CLI: the last two fields are host and container port, anything before is the IP
    // (which lets an unbracketed IPv6 address through).
    let (ip, host, container) = match n {
        1 => ("", "", parts[0]),
        2 => ("", parts[0], parts[1]),
        3 => (parts[0], parts[1], parts[2]),
        _ => (&body[..body.len() - parts[n - 1].len() - parts[n - 2].len() - 2], parts[n - 2], parts[n - 1]),
    };
    let host_ip = parse_ip(ip).map_err(|r| err(&r))?;
    if container.is_empty() {
        return Err(err("no container port given"));
    }
    let (c_start, c_end) = parse_range(container).map_err(|r| err(&format!("container port: {r}")))?;
    if c_start == 0 {
        return Err(err("container port 0 is not a port"));
    }
    let host_range =
        if host.is_empty() { None } else { Some(parse_range(host).map_err(|r| err(&format!("host port: {r}")))?) };
    let c_len = c_end - c_start;
    let binding = |container_port: u16, host_port: Option<String>| PortBinding {
        container_port,
        protocol: protocol.clone(),
        host_ip: host_ip.clone(),
        host_port,
    };
    match host_range {
        None => Ok((c_start..=c_end).map(|p| binding(p, None)).collect()),
        Some((h_start, h_end)) if h_end - h_start == c_len => {
            Ok((0..=c_len).map(|i| binding(c_start + i, Some((h_start + i).to_string()))).collect())
        }
        // A host range for a single container port: the engine allocates one port from it.
        Some((h_start, h_end)) if c_len == 0 => Ok(vec![binding(c_start, Some(format!("{h_start}-{h_end}")))]),
        Some(_) => Err(err("host and container port ranges must have the same length")),
    }
}

/// Parses one `--expose` value (`80`, `80/udp`, `8000-8010`) into engine keys like `80/tcp`.
pub fn parse_expose(spec: &str) -> Result<Vec<String>> {
    let err = |reason: String| DockerError::InvalidPort { spec: spec.to_string(), reason };
    let (body, protocol) = split_protocol(spec).map_err(err)?;
    let (start, end) = parse_range(body).map_err(err)?;
    if start == 0 {
        return Err(err("port 0 is not a port".into()));
    }
    Ok((start..=end).map(|p| format!("{p}/{protocol}")).collect())
}

fn split_protocol(spec: &str) -> std::result::Result<(&str, String), String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("empty".into());
    }
    match spec.rsplit_once('/') {
        None => Ok((spec, "tcp".into())),
        Some((body, proto)) => {
            let proto = proto.to_ascii_lowercase();
            match proto.as_str() {
                "tcp" | "udp" | "sctp" => Ok((body, proto)),
                _ => Err(format!("unknown protocol `{proto}` (expected tcp, udp or sctp)")),
            }
        }
    }
}

fn parse_ip(ip: &str) -> std::result::Result<Option<String>, String> {
    if ip.is_empty() {
        return Ok(None);
    }
    let bare = ip.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(ip);
    bare.parse::<IpAddr>().map(|a| Some(a.to_string())).map_err(|_| format!("`{ip}` is not an IP address"))
}

fn parse_range(s: &str) -> std::result::Result<(u16, u16), String> {
    let port = |p: &str| p.parse::<u16>().map_err(|_| format!("`{p}` is not a port number (0-65535)"));
    match s.split_once('-') {
        None => port(s).map(|p| (p, p)),
        Some((a, b)) => {
            let (a, b) = (port(a)?, port(b)?);
            if b < a {
                return Err(format!("range `{s}` ends before it starts"));
            }
            Ok((a, b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> PortBinding {
        let mut v = parse_port_spec(spec).unwrap();
        assert_eq!(v.len(), 1, "{spec}");
        v.remove(0)
    }

    #[test]
    fn container_port_only() {
        let b = one("80");
        assert_eq!((b.key(), b.host_ip, b.host_port), ("80/tcp".into(), None, None));
    }

    #[test]
    fn host_and_container() {
        let b = one("8080:80");
        assert_eq!(b.host_port.as_deref(), Some("8080"));
        assert_eq!(b.host_ip, None);
    }

    #[test]
    fn ip_host_container_proto() {
        let b = one("127.0.0.1:8080:80/udp");
        assert_eq!(b.key(), "80/udp");
        assert_eq!(b.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(b.host_port.as_deref(), Some("8080"));
    }

    #[test]
    fn ip_with_empty_or_zero_host_port() {
        assert_eq!(one("127.0.0.1::80").host_port, None);
        assert_eq!(one("127.0.0.1:0:80").host_port.as_deref(), Some("0"));
    }

    #[test]
    fn ipv6_bracketed_and_bare() {
        assert_eq!(one("[::1]:8080:80").host_ip.as_deref(), Some("::1"));
        assert_eq!(one("::1:8080:80").host_ip.as_deref(), Some("::1"));
    }

    #[test]
    fn ranges() {
        let v = parse_port_spec("8000-8002:80-82").unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[2].container_port, 82);
        assert_eq!(v[2].host_port.as_deref(), Some("8002"));
        let v = parse_port_spec("8000-8010:80").unwrap();
        assert_eq!(v[0].host_port.as_deref(), Some("8000-8010"));
        assert_eq!(parse_port_spec("80-81").unwrap().len(), 2);
    }

    #[test]
    fn errors_name_the_problem() {
        for (spec, needle) in [
            ("", "empty"),
            ("80/xyz", "unknown protocol"),
            ("abc", "not a port number"),
            ("70000", "not a port number"),
            ("1.2.3:80:80", "not an IP address"),
            ("8000-8001:80-83", "same length"),
            ("90-80", "ends before"),
            ("8080:", "no container port"),
            ("0", "port 0"),
        ] {
            let e = parse_port_spec(spec).unwrap_err().to_string();
            assert!(e.contains(needle), "{spec}: {e}");
        }
    }

    #[test]
    fn expose() {
        assert_eq!(parse_expose("80").unwrap(), vec!["80/tcp"]);
        assert_eq!(parse_expose("53/udp").unwrap(), vec!["53/udp"]);
        assert_eq!(parse_expose("8000-8001").unwrap(), vec!["8000/tcp", "8001/tcp"]);
        assert!(parse_expose("x").is_err());
    }
}
