//! `NAME=VALUE` flags (`--set`, `--set-secret`, `--label`, `--arg`) as the API's string maps.

use super::CliError;
use std::collections::BTreeMap;

/// Parses repeated `NAME=VALUE` flags; the value may contain `=`; a later name wins.
pub fn parse_map(args: &[String], flag: &str) -> Result<BTreeMap<String, String>, CliError> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| CliError::Invalid(format!("`{flag} {a}` is not NAME=VALUE")))
        })
        .collect()
}

/// Parses `--arg NAME[=VALUE]` like `docker build --build-arg`: a bare name takes its value
/// from this shell's environment (the daemon's environment is not the user's).
pub fn parse_build_args(
    args: &[String],
    flag: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, CliError> {
    let mut out = BTreeMap::new();
    for a in args {
        let (k, v) = match a.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.to_string()),
            None => {
                let v = env(a.trim()).ok_or_else(|| {
                    CliError::Invalid(format!("`{flag} {a}` has no value and ${} is not set; give {a}=VALUE", a.trim()))
                })?;
                (a.trim().to_string(), v)
            }
        };
        if k.is_empty() {
            return Err(CliError::Invalid(format!("`{flag} {a}` has no name")));
        }
        out.insert(k, v);
    }
    Ok(out)
}

/// Parses `--label KEY=VALUE` agent labels; keys are label names, so no spaces.
pub fn parse_labels(args: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    let map = parse_map(args, "--label")?;
    if let Some(k) = map.keys().find(|k| k.chars().any(char::is_whitespace)) {
        return Err(CliError::Invalid(format!("label name `{k}` contains whitespace")));
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn set_keeps_equals_in_values_and_later_wins() {
        let m = parse_map(&strings(&["a=1", "url=http://x?y=z", "a=2", "empty="]), "--set").unwrap();
        assert_eq!(m["a"], "2");
        assert_eq!(m["url"], "http://x?y=z");
        assert_eq!(m["empty"], "");
        assert_eq!(parse_map(&strings(&["novalue"]), "--set").unwrap_err().exit_code(), 2);
        assert!(parse_map(&strings(&["=v"]), "--set").is_err());
    }

    #[test]
    fn bare_build_args_come_from_the_environment() {
        let env = |k: &str| (k == "HOME").then(|| "/home/me".to_string());
        let m = parse_build_args(&strings(&["HOME", "A=b"]), "--arg", env).unwrap();
        assert_eq!(m["HOME"], "/home/me");
        assert_eq!(m["A"], "b");
        let e = parse_build_args(&strings(&["NOPE"]), "--arg", env).unwrap_err();
        assert!(e.to_string().contains("$NOPE is not set"), "{e}");
    }

    #[test]
    fn labels_are_key_value() {
        let m = parse_labels(&strings(&["os=linux", "gpu=true"])).unwrap();
        assert_eq!(m.len(), 2);
        assert!(parse_labels(&strings(&["has space=1"])).is_err());
        assert!(parse_labels(&strings(&["os"])).is_err());
    }
}
