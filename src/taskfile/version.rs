//! The `version:` of a task file: found on the raw text (before templating, as ACR does) and validated.

use super::diag::{Diagnostic, Pos};
use super::task::Version;

/// Versions ACR's runner accepts, for error messages.
pub const ACCEPTED: &str = "v1.0.0, v1.1.0, 1.0-preview-1";

/// A `version:` line found in the raw text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundVersion {
    /// The value as written, unquoted.
    pub text: String,
    /// Where the value starts.
    pub pos: Pos,
}

/// Scans raw lines for a top-level `version:` key, as ACR's `FindVersion` does. The alias
/// pre-processor has to know the version before the file can be rendered or parsed.
pub fn find(raw: &str) -> Option<FoundVersion> {
    for (i, line) in raw.lines().enumerate() {
        let Some(rest) = line.strip_prefix("version:") else { continue };
        let value = rest.split(" #").next().unwrap_or_default().trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        let col = line.len() - rest.trim_start().len() + 1;
        return Some(FoundVersion { text: value.to_string(), pos: Pos::new(i as u32 + 1, col as u32) });
    }
    None
}

/// Whether ACR's runner gives the file its v1.1.0 pass (aliases, and lines rewritten with `\n`
/// endings): its `FindVersion` takes the first non-comment line that starts with `version` (quotes
/// around the key allowed), keeps everything after the colon with quotes trimmed, and compares the
/// text with `"v1.1.0"` as a string, so `v1.2.0` and `v2` get the pass and `V1.1.0` does not.
pub fn acr_alias_pass(raw: &str) -> bool {
    for line in raw.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if !line.trim_start_matches(['\'', '"']).starts_with("version") {
            continue;
        }
        if let Some((key, value)) = line.split_once(':')
            && key.trim().trim_matches(['\'', '"']) == "version"
        {
            return value.trim().trim_matches(['\'', '"']) >= "v1.1.0";
        }
    }
    false
}

/// Validates a version string. `1.0.0-preview` (used by old samples) is accepted with a warning.
pub fn parse(text: &str, pos: Option<Pos>) -> Result<(Version, Option<Diagnostic>), Diagnostic> {
    match text.to_ascii_lowercase().as_str() {
        "" | "v1.0.0" => Ok((Version::V1_0_0, None)),
        "v1.1.0" => Ok((Version::V1_1_0, None)),
        "1.0-preview-1" => Ok((Version::Preview1, None)),
        "1.0.0-preview" => Ok((
            Version::Preview1,
            Some(
                Diagnostic::warning(
                    "deprecated-version",
                    "version `1.0.0-preview` is not accepted by ACR's current runner; drydock treats it as `1.0-preview-1`",
                )
                .at_opt(pos)
                .help("write `version: v1.0.0`, or `v1.1.0` to use aliases"),
            ),
        )),
        _ => Err(Diagnostic::error("invalid-version", format!("invalid version `{text}`"))
            .at_opt(pos)
            .help(format!("accepted versions are {ACCEPTED} (v1.1.0 enables aliases)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_version_only() {
        let raw = "steps:\n  - version: x\nversion: \"V1.1.0\" # comment\n";
        let v = find(raw).unwrap();
        assert_eq!(v.text, "V1.1.0");
        assert_eq!(v.pos, Pos::new(3, 10));
        assert_eq!(parse(&v.text, None).unwrap().0, Version::V1_1_0);
    }

    #[test]
    fn preview_is_lenient_and_others_fail_listing_accepted() {
        let (v, warn) = parse("1.0.0-preview", None).unwrap();
        assert_eq!(v, Version::Preview1);
        assert!(warn.is_some());
        let e = parse("v2", Some(Pos::new(1, 10))).unwrap_err();
        assert!(e.help.unwrap().contains("v1.0.0, v1.1.0, 1.0-preview-1"));
    }
}
