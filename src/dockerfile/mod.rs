//! Dockerfile base-image scanner: the equivalent of ACR's `acb scan`, which records the
//! runtime and build-time base images of a build for base-image update triggers.
//!
//! Unlike ACR's scanner it understands line continuations, heredocs, `# escape=`,
//! `FROM --platform=…` (Azure/acr#697), `${VAR:-default}`, stage references, `--target`,
//! and `COPY --from=image` / `RUN --mount=from=image`. It only reads text it is given, so
//! a Dockerfile path with spaces (Azure/acr#871) is never split here.

mod expand;
mod json;
mod lexer;
mod stages;
mod words;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::reference::{ImageRef, ReferenceError};

pub use json::dependency_json;

/// Inputs that change what a Dockerfile builds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanOptions {
    /// `--build-arg` values. They only apply to ARGs the Dockerfile declares, as in Docker.
    /// Platform ARGs (`TARGETARCH`, …) that a FROM image uses may be passed here too.
    pub build_args: BTreeMap<String, String>,
    /// `--target` stage name (case-insensitive).
    pub target: Option<String>,
}

/// What a stage is built on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageBase {
    /// A registry image.
    Image(ImageRef),
    /// An earlier stage, by index into [`Dependencies::stages`].
    Stage(usize),
    /// `FROM scratch`: nothing.
    Scratch,
}

/// One `FROM` of the scanned part of the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// `AS` name, lower-cased as Docker does.
    pub name: Option<String>,
    /// What the stage starts from.
    pub base: StageBase,
    /// 1-based line of the `FROM`.
    pub line: u32,
    /// `--platform` value as written (not expanded: `$BUILDPLATFORM` is only known at build time).
    pub platform: Option<String>,
}

/// The base images of a build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    /// Base image of the built stage, following stage references; `None` for `scratch`.
    pub runtime: Option<ImageRef>,
    /// Other images the relevant stages use (stage bases, `COPY --from`, `RUN --mount=from`),
    /// distinct, in file order, without the runtime image.
    pub buildtime: Vec<ImageRef>,
    /// Stages up to and including the target (all stages without a target).
    pub stages: Vec<Stage>,
}

/// Why a Dockerfile cannot be scanned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// No `FROM` at all.
    #[error(
        "the Dockerfile has no FROM instruction; a Dockerfile must start its first stage with FROM (e.g. `FROM alpine:3.20`)"
    )]
    NoFrom,
    /// `--target` names no stage.
    #[error("target stage `{target}` is not defined in the Dockerfile; {}", describe_stages(.available))]
    UnknownTarget {
        /// The requested target.
        target: String,
        /// The stage names that exist.
        available: Vec<String>,
    },
    /// A `FROM` whose image is empty after ARG expansion.
    #[error("line {line}: `FROM {text}` gives an empty image name{}", because(.missing))]
    EmptyImage {
        /// 1-based line of the FROM.
        line: u32,
        /// The image text before expansion.
        text: String,
        /// ARGs that had no value.
        missing: Vec<String>,
    },
    /// A `FROM` whose image (after expansion) is not a valid reference.
    #[error("line {line}: `FROM {text}` does not name a valid image: {source}{}", also(.missing))]
    InvalidImage {
        /// 1-based line of the FROM.
        line: u32,
        /// The image text after expansion.
        text: String,
        /// ARGs that had no value (often the reason for a malformed name like `/app`).
        missing: Vec<String>,
        /// Why the reference is invalid.
        source: ReferenceError,
    },
    /// A heredoc whose terminator line never comes.
    #[error("line {line}: heredoc `<<{delimiter}` is never closed; end it with a line containing only `{delimiter}`")]
    UnterminatedHeredoc {
        /// 1-based line of the instruction that opens it.
        line: u32,
        /// The terminator that was expected.
        delimiter: String,
    },
}

fn describe_stages(available: &[String]) -> String {
    if available.is_empty() {
        "it has no named stages; name one with `FROM <image> AS <name>`".to_string()
    } else {
        format!("its named stages are: {}", available.join(", "))
    }
}

/// " because ARG X has no value; pass …" for [`ScanError::EmptyImage`].
fn because(missing: &[String]) -> String {
    missing_hint(missing).map(|h| format!(" because {h}")).unwrap_or_default()
}

/// "; ARG X has no value, pass …" for [`ScanError::InvalidImage`].
fn also(missing: &[String]) -> String {
    missing_hint(missing).map(|h| format!("; {h}")).unwrap_or_default()
}

fn missing_hint(missing: &[String]) -> Option<String> {
    let first = missing.first()?;
    let list = missing.iter().map(|n| format!("ARG {n}")).collect::<Vec<_>>().join(", ");
    let verb = if missing.len() == 1 { "has" } else { "have" };
    Some(format!(
        "{list} {verb} no value; pass `--build-arg {first}=<value>` or give it a default before the first FROM (`ARG {first}=<value>`)"
    ))
}

/// Scans a Dockerfile for its stages and base images.
pub fn scan(text: &str, opts: &ScanOptions) -> Result<Dependencies, ScanError> {
    let lexed = lexer::lex(text)?;
    stages::analyse(&lexed, opts)
}
