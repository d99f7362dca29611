//! A Go `text/template` compatible engine with the commonly used Sprig functions.
//!
//! ACR task files are Go templates rendered before YAML parsing; this module renders them
//! without Go. It is pure and synchronous, and every input is bounded by [`Limits`] so a
//! hostile task file can neither crash nor stall the daemon.

mod ast;
mod error;
mod eval;
mod exec;
mod floatfmt;
mod funcs;
mod gofmt;
mod lexer;
mod literal;
mod output;
mod parse;
mod quote;
mod suggest;
mod timefmt;
mod value;

#[cfg(test)]
mod tests;

pub use error::{ErrorKind, TemplateError};

/// Resource bounds applied to one render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted template source, in bytes.
    pub max_source_bytes: usize,
    /// Largest output (and largest string any function may build), in bytes.
    pub max_output_bytes: usize,
    /// Deepest nesting of control structures, parentheses and template calls.
    pub max_depth: usize,
    /// Total evaluation steps, including range iterations and work done inside functions.
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_source_bytes: 1 << 20, max_output_bytes: 8 << 20, max_depth: 100, max_steps: 10_000_000 }
    }
}

/// Settings for [`render`].
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Resource bounds.
    pub limits: Limits,
    /// What `now` returns; injected so renders are reproducible.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Whether the caller treats missing keys as problems; rendering itself is unaffected.
    pub strict: bool,
    /// The data is ACR's template context (`.Values`, `.Run`, ...): its maps take the Go types
    /// ACR's runner gives them (see [`value::MapKind`]), which decide what Sprig accepts.
    pub acr_data: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { limits: Limits::default(), now: chrono::DateTime::UNIX_EPOCH, strict: false, acr_data: false }
    }
}

/// The result of a successful render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The rendered text.
    pub text: String,
    /// For each line of `text` (0-based index), the 1-based line in the *source* where that
    /// output line's first byte came from.
    pub line_origins: Vec<u32>,
    /// Every evaluation of a missing map key / field on nil, with where it happened
    /// (deduplicated by (path,line,col)).
    pub missing_keys: Vec<MissingKey>,
}

/// One evaluation of a missing map key, or of a field on a nil value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MissingKey {
    /// The expression up to the missing element, e.g. ".Values.tag".
    pub path: String,
    /// 1-based source line of the expression.
    pub line: u32,
    /// 1-based source column (in characters) of the expression.
    pub col: u32,
}

/// Go's `strconv` number parsing (`ParseInt`/`ParseUint` with base 0, `ParseFloat`), which template
/// literals use and go-yaml's resolution of values files shares.
pub mod strconv {
    /// `strconv.ParseInt(s, 0, 64)`.
    pub fn parse_int(s: &str) -> Option<i64> {
        super::literal::parse_go_int(s)
    }

    /// `strconv.ParseUint(s, 0, 64)`.
    pub fn parse_uint(s: &str) -> Option<u64> {
        super::literal::parse_go_uint(s)
    }

    /// `strconv.ParseFloat(s, 64)`; out of range is `None`, as Go's is an error.
    pub fn parse_float(s: &str) -> Option<f64> {
        super::literal::parse_go_float(s)
    }
}

/// The JSON object key that stands for the integer map key `i` in data (go-yaml decodes `2: b` to an
/// integer key): a private-use prefix and an order-preserving encoding, so that in a sorted map the
/// integers follow the strings in numeric order, as Go's template `range` visits them.
pub fn int_map_key(i: i64) -> String {
    value::encode_int_key(i)
}

/// Go's `json.Marshal` of data (sorted keys, HTML-safe escapes, Go's float layout), or `None`
/// where Go fails (NaN, infinities) or the text would pass `max` bytes.
pub fn go_json(data: &serde_json::Value, max: usize) -> Option<String> {
    funcs::marshal_data(data, max)
}

/// Renders `source` (a template named `name`) against `data`.
pub fn render(name: &str, source: &str, data: &serde_json::Value, opts: &Options) -> Result<Rendered, TemplateError> {
    if source.len() > opts.limits.max_source_bytes {
        return Err(TemplateError::limit(
            ast::Pos { line: 1, col: 1 },
            format!(
                "template source is {} bytes, over the limit of {} bytes",
                source.len(),
                opts.limits.max_source_bytes
            ),
        ));
    }
    let parsed = parse::parse(name, source, &opts.limits)?;
    let root = if opts.acr_data { value::Value::from_acr_context(data) } else { value::Value::from_json(data) };
    let root =
        root.ok_or_else(|| TemplateError::limit(ast::Pos { line: 1, col: 1 }, "template data is nested too deeply"))?;
    exec::execute(&parsed, source, root, opts)
}
