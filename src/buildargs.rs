//! Parses the `docker build` argument string of an ACR `build:` step (or `az acr build`)
//! into a [`BuildSpec`], accepting the subset of flags drydock implements.

mod context;
mod flags;

#[cfg(test)]
mod tests;

pub use context::{ContextSource, classify};
use flags::{Flag, FlagKind, lookup, suggest, supported_list};

use crate::shellwords::{self, ShellWordsError};

/// Everything drydock needs from a `docker build` argument string.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BuildSpec {
    /// `-t`/`--tag` values, in order.
    pub tags: Vec<String>,
    /// `-f`/`--file`: the Dockerfile path (relative to the context unless absolute).
    pub dockerfile: Option<String>,
    /// `--build-arg NAME[=VALUE]`; `None` means "take the value from the environment".
    pub build_args: Vec<(String, Option<String>)>,
    /// ACR's `--secret-build-arg NAME[=VALUE]`, whose values are masked in logs.
    /// Serialized as names only: the values are secrets.
    #[serde(serialize_with = "names_only")]
    pub secret_build_args: Vec<(String, Option<String>)>,
    /// `--target`: the stage to build.
    pub target: Option<String>,
    /// `--platform`, e.g. `linux/arm64`.
    pub platform: Option<String>,
    /// `--label KEY[=VALUE]` (a missing value is empty, as in Docker).
    pub labels: Vec<(String, String)>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`: always try to pull newer base images.
    pub pull: bool,
    /// `--isolation` (Windows containers).
    pub isolation: Option<String>,
    /// `--cache-from` images, in order.
    pub cache_from: Vec<String>,
    /// `--network` mode for RUN instructions.
    pub network: Option<String>,
    /// The one positional argument: the build context (see [`classify`]).
    pub context: String,
}

fn names_only<S: serde::Serializer>(args: &[(String, Option<String>)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(args.iter().map(|(name, _)| name))
}

/// Why a `docker build` argument string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildArgsError {
    /// The string itself is not valid shell quoting.
    #[error("build arguments: {0}")]
    Quoting(#[from] ShellWordsError),
    /// A flag drydock does not implement.
    #[error("unknown flag `{flag}` in build arguments{}; supported flags: {}", suggestion_text(.suggestion), supported_list())]
    UnknownFlag {
        /// The flag as written (without any `=value`).
        flag: String,
        /// The closest supported flag, if one is close.
        suggestion: Option<String>,
    },
    /// A flag that needs a value came last.
    #[error("flag `{flag}` needs a value, e.g. `{flag} <value>` or `{flag}=<value>`")]
    MissingValue {
        /// The flag as written.
        flag: String,
    },
    /// A flag was given an empty value.
    #[error("flag `{flag}` was given an empty value; remove the flag or give it a value")]
    EmptyValue {
        /// The flag as written.
        flag: String,
    },
    /// A boolean flag was given something other than true/false.
    #[error("flag `{flag}` takes true or false, not `{value}`")]
    InvalidBool {
        /// The flag as written.
        flag: String,
        /// The value given.
        value: String,
    },
    /// `--build-arg`, `--secret-build-arg` or `--label` without a name before `=`.
    #[error("flag `{flag}` value `{value}` has no name; write `{flag} NAME=value`")]
    MissingName {
        /// The flag as written.
        flag: String,
        /// The value given.
        value: String,
    },
    /// No positional context.
    #[error("no build context given; add one as the last argument, e.g. `.` for the working directory or a Git URL")]
    MissingContext,
    /// More than one positional argument.
    #[error(
        "expected exactly one build context but found {}: {}; quote values that contain spaces \
         and check that every flag that takes a value has one",
        .found.len(),
        .found.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
    )]
    ExtraPositional {
        /// Every positional argument found.
        found: Vec<String>,
    },
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
}

/// Parses a `docker build` argument string such as `-t app:1 -f Dockerfile --build-arg A=1 .`.
pub fn parse(s: &str) -> Result<BuildSpec, BuildArgsError> {
    let words = shellwords::split(s)?;
    let mut spec = BuildSpec::default();
    let mut positionals = Vec::new();
    let mut only_positionals = false;
    let mut rest = words.into_iter();
    while let Some(word) = rest.next() {
        if only_positionals || word == "-" || !word.starts_with('-') {
            positionals.push(word);
            continue;
        }
        if word == "--" {
            only_positionals = true;
            continue;
        }
        let (written, inline) = split_flag(&word);
        let flag = lookup(&written)
            .ok_or_else(|| BuildArgsError::UnknownFlag { suggestion: suggest(&written), flag: written.clone() })?;
        match flag.kind {
            FlagKind::Bool => {
                let on = match inline.as_deref() {
                    None => true,
                    Some(v) => parse_bool(v)
                        .ok_or_else(|| BuildArgsError::InvalidBool { flag: written.clone(), value: v.to_string() })?,
                };
                apply_bool(&mut spec, flag, on);
            }
            FlagKind::Value => {
                // Like Docker's flag parser, the next word is the value even if it starts with `-`.
                let value = match inline {
                    Some(v) => v,
                    None => rest.next().ok_or_else(|| BuildArgsError::MissingValue { flag: written.clone() })?,
                };
                if value.is_empty() {
                    return Err(BuildArgsError::EmptyValue { flag: written });
                }
                apply_value(&mut spec, flag, &written, value)?;
            }
        }
    }
    match positionals.len() {
        0 => Err(BuildArgsError::MissingContext),
        1 => {
            spec.context = positionals.remove(0);
            Ok(spec)
        }
        _ => Err(BuildArgsError::ExtraPositional { found: positionals }),
    }
}

/// Splits `--name=value`, `-t=value` and `-tvalue` into the flag as written and its value.
fn split_flag(word: &str) -> (String, Option<String>) {
    if word.starts_with("--") {
        return match word.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (word.to_string(), None),
        };
    }
    let mut chars = word.chars();
    chars.next(); // the `-`
    let short: String = chars.next().map(|c| format!("-{c}")).unwrap_or_default();
    let tail = chars.as_str();
    let value = match tail.strip_prefix('=') {
        Some(v) => Some(v.to_string()),
        None if tail.is_empty() => None,
        None => Some(tail.to_string()),
    };
    (short, value)
}

/// Go's `strconv.ParseBool`, which Docker's flag parser uses.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn apply_bool(spec: &mut BuildSpec, flag: &Flag, on: bool) {
    match flag.long {
        "no-cache" => spec.no_cache = on,
        _ => spec.pull = on,
    }
}

fn apply_value(spec: &mut BuildSpec, flag: &Flag, written: &str, value: String) -> Result<(), BuildArgsError> {
    match flag.long {
        "tag" => spec.tags.push(value),
        "file" => spec.dockerfile = Some(value),
        "build-arg" => spec.build_args.push(name_value(written, value)?),
        "secret-build-arg" => spec.secret_build_args.push(name_value(written, value)?),
        "target" => spec.target = Some(value),
        "platform" => spec.platform = Some(value),
        "label" => {
            let (k, v) = name_value(written, value)?;
            spec.labels.push((k, v.unwrap_or_default()));
        }
        "isolation" => spec.isolation = Some(value),
        "cache-from" => spec.cache_from.push(value),
        _ => spec.network = Some(value),
    }
    Ok(())
}

/// `NAME=value` → (NAME, Some(value)); `NAME` → (NAME, None).
fn name_value(flag: &str, value: String) -> Result<(String, Option<String>), BuildArgsError> {
    let (name, val) = match value.split_once('=') {
        Some((n, v)) => (n.to_string(), Some(v.to_string())),
        None => (value.clone(), None),
    };
    if name.is_empty() {
        return Err(BuildArgsError::MissingName { flag: flag.to_string(), value });
    }
    Ok((name, val))
}
