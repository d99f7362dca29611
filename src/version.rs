//! Which build this is: the crate version and the git commit `build.rs` found, as
//! `drydock --version` prints them and the `drydock_build_info` metric labels them.

/// The crate version (`0.1.0`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The short git commit the binary was built from, or `unknown` outside a git checkout.
pub const COMMIT: &str = env!("DRYDOCK_GIT_COMMIT");

/// The commit's date (`2026-12-07`), empty when the commit is unknown.
pub const COMMIT_DATE: &str = env!("DRYDOCK_GIT_DATE");

/// `0.1.0 (abc1234 2026-12-07)`, or `0.1.0 (unknown)`: what `--version` prints after the name.
pub const LONG: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("DRYDOCK_BUILD"), ")");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_version_names_the_commit_and_its_date() {
        assert!(LONG.starts_with(&format!("{VERSION} ({COMMIT}")), "{LONG}");
        assert!(LONG.ends_with(&format!("{COMMIT_DATE})")), "{LONG}");
        assert!(!COMMIT.is_empty());
    }
}
