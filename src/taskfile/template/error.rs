//! The error type returned by [`render`](super::render).

use super::ast::Pos;

/// What went wrong, so callers can tell a broken template from a hostile or failing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The source does not parse (bad action, unknown function, undefined variable...).
    Syntax,
    /// Evaluation failed (type errors, index out of range, division by zero...).
    Exec,
    /// A resource limit (size, depth, steps, output) was exceeded.
    Limit,
    /// The template asked to fail: `required` on an empty value, or `fail`.
    Required,
}

/// A rendering failure with the 1-based source position (column in characters) at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct TemplateError {
    /// Category of the failure.
    pub kind: ErrorKind,
    /// Human readable description, without the position prefix.
    pub message: String,
    /// 1-based source line.
    pub line: u32,
    /// 1-based source column, counted in characters.
    pub col: u32,
}

impl TemplateError {
    /// Builds an error of `kind` at `pos`.
    pub(super) fn new(kind: ErrorKind, pos: Pos, message: impl Into<String>) -> Self {
        TemplateError { kind, message: message.into(), line: pos.line, col: pos.col }
    }

    /// A syntax error at `pos`.
    pub(super) fn syntax(pos: Pos, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Syntax, pos, message)
    }

    /// An execution error at `pos`.
    pub(super) fn exec(pos: Pos, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Exec, pos, message)
    }

    /// A limit error at `pos`.
    pub(super) fn limit(pos: Pos, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Limit, pos, message)
    }
}
