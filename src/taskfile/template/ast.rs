//! Syntax tree produced by the parser and walked by the executor.

use std::collections::HashMap;
use std::rc::Rc;

use super::funcs::FuncDef;

/// A 1-based source position; the column counts characters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct Pos {
    pub line: u32,
    pub col: u32,
}

/// A statement of a template body.
pub(super) enum Node {
    /// Literal text: a byte range of the source, starting on source line `line`.
    Text {
        start: usize,
        end: usize,
        line: u32,
    },
    /// `{{pipeline}}`; `pos` is the opening delimiter.
    Action {
        pos: Pos,
        pipe: Pipe,
    },
    If(Box<Control>),
    With(Box<Control>),
    Range(Box<Control>),
    Break,
    Continue,
    /// `{{template "name" pipeline}}` (also what `block` leaves in place).
    Template {
        pos: Pos,
        name: String,
        pipe: Option<Pipe>,
    },
}

/// The shared shape of `if`, `with` and `range`.
pub(super) struct Control {
    pub pos: Pos,
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

/// A pipeline with its optional variable declarations.
pub(super) struct Pipe {
    pub pos: Pos,
    pub decl: Vec<Decl>,
    /// `=` rather than `:=`.
    pub is_assign: bool,
    pub cmds: Vec<Command>,
}

/// A variable named in a pipeline declaration.
pub(super) struct Decl {
    pub name: String,
}

/// One stage of a pipeline: a function (or value) and its arguments.
pub(super) struct Command {
    pub pos: Pos,
    pub args: Vec<Operand>,
}

/// A byte range of the template source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// The spanned source text.
    pub fn text<'s>(&self, src: &'s str) -> &'s str {
        &src[self.start..self.end]
    }
}

/// An argument or the first word of a command.
pub(super) enum Operand {
    Dot(Pos),
    Nil(Pos),
    Bool(bool, Pos),
    Int(i64, Pos),
    Float(f64, Pos),
    Str(Rc<str>, Pos),
    /// `.A.B`; `path` spans `A.B` (field names stay source spans to avoid copies).
    Field {
        pos: Pos,
        path: Span,
    },
    /// `$x.A.B`; `path` spans `A.B` and may be empty.
    Variable {
        pos: Pos,
        name: Span,
        path: Span,
    },
    /// A function name.
    Func {
        pos: Pos,
        def: &'static FuncDef,
    },
    /// `( pipeline )`
    Pipe(Box<Pipe>),
    /// `(expr).A.B`; `text` is the source of `base`, used to name missing keys.
    Chain {
        pos: Pos,
        base: Box<Operand>,
        text: Span,
        path: Span,
    },
}

impl Operand {
    /// Where the operand starts in the source.
    pub fn pos(&self) -> Pos {
        match self {
            Operand::Dot(p)
            | Operand::Nil(p)
            | Operand::Bool(_, p)
            | Operand::Int(_, p)
            | Operand::Float(_, p)
            | Operand::Str(_, p) => *p,
            Operand::Field { pos, .. }
            | Operand::Variable { pos, .. }
            | Operand::Func { pos, .. }
            | Operand::Chain { pos, .. } => *pos,
            Operand::Pipe(p) => p.pos,
        }
    }

    /// A short rendering used in error messages, like Go's node String().
    pub fn describe(&self, src: &str) -> String {
        match self {
            Operand::Dot(_) => ".".into(),
            Operand::Nil(_) => "nil".into(),
            Operand::Bool(b, _) => b.to_string(),
            Operand::Int(i, _) => i.to_string(),
            Operand::Float(f, _) => f.to_string(),
            Operand::Str(s, _) => super::gofmt::quote(s),
            Operand::Field { path, .. } => join_path("", path.text(src)),
            Operand::Variable { name, path, .. } => join_path(name.text(src), path.text(src)),
            Operand::Func { def, .. } => def.name.into(),
            Operand::Pipe(_) => "(pipeline)".into(),
            Operand::Chain { text, path, .. } => join_path(text.text(src), path.text(src)),
        }
    }
}

/// `base.path`, or just `base` when the path is empty.
pub(super) fn join_path(base: &str, path: &str) -> String {
    if path.is_empty() {
        return base.to_string();
    }
    format!("{base}.{path}")
}

/// All templates of one source: the main body under its name plus every `define`/`block`.
pub(super) struct Parsed {
    pub main: String,
    pub templates: HashMap<String, Vec<Node>>,
}
