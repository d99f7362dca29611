//! TEMPORARY STUB: pass-through until the Go template engine lands. Not for release.
#![allow(missing_docs)]
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_source_bytes: usize,
    pub max_output_bytes: usize,
    pub max_depth: usize,
    pub max_steps: u64,
}
impl Default for Limits {
    fn default() -> Self {
        Limits { max_source_bytes: 1 << 20, max_output_bytes: 8 << 20, max_depth: 100, max_steps: 10_000_000 }
    }
}
pub struct Options {
    pub limits: Limits,
    pub now: chrono::DateTime<chrono::Utc>,
    pub strict: bool,
}
pub struct Rendered {
    pub text: String,
    pub line_origins: Vec<u32>,
    pub missing_keys: Vec<MissingKey>,
}
pub struct MissingKey {
    pub path: String,
    pub line: u32,
    pub col: u32,
}
#[derive(Debug, Clone, Copy)]
pub enum ErrorKind {
    Syntax,
    Exec,
    Limit,
    Required,
}
#[derive(Debug, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct TemplateError {
    pub kind: ErrorKind,
    pub message: String,
    pub line: u32,
    pub col: u32,
}
pub fn render(
    _name: &str,
    source: &str,
    _data: &serde_json::Value,
    _opts: &Options,
) -> Result<Rendered, TemplateError> {
    Ok(Rendered {
        text: source.to_string(),
        line_origins: (1..=source.lines().count() as u32).collect(),
        missing_keys: vec![],
    })
}
