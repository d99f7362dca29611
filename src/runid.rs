//! Run ids: short, lowercase base36, tag-safe (usable as `{{.Run.ID}}` in an image tag).

/// Base36 of `n` in lowercase.
pub fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The id of the `seq`-th run of a daemon: base36, at least 4 characters so ids sort by length
/// then text for the first 1.6 million runs, and read like ACR's (`00cf`, `0cax`).
pub fn daemon_run_id(seq: u64) -> String {
    format!("{:0>4}", base36(seq))
}

/// An id for a local run with no daemon: `l` + base36 of the current time in milliseconds, so that
/// concurrent local runs on one engine do not collide and later runs sort later.
pub fn local_run_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    format!("l{}", base36(ms))
}

/// Whether `id` is usable as a run id: 1–32 characters of `[a-z0-9]`, starting alphanumeric
/// (so it is a valid image tag and Docker object name suffix).
pub fn is_valid(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_tag_safe_and_increasing() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        assert_eq!(daemon_run_id(1), "0001");
        assert!(daemon_run_id(1000) < daemon_run_id(1001));
        assert!(is_valid(&local_run_id()));
        assert!(!is_valid("Bad-Id"));
    }
}
