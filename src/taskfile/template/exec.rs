//! Executor: walks the syntax tree, writing output and enforcing step, depth and size limits.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::ast::{Control, Node, Parsed, Pipe, Pos, join_path};
use super::error::TemplateError;
use super::gofmt;
use super::output::Output;
use super::value::{self, Value};
use super::{MissingKey, Options, Rendered};

type EResult<T> = Result<T, TemplateError>;

/// How a list of nodes finished: normally, or by `{{break}}` / `{{continue}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flow {
    Normal,
    Break,
    Continue,
}

/// A template variable. `void` marks Go's "no value": what a pipeline yields when its result
/// is nil, as opposed to a nil element bound by `range` (fields of the former are quietly
/// empty, fields of the latter fail).
pub(super) struct Var<'t> {
    pub name: &'t str,
    pub value: Value,
    pub void: bool,
}

impl<'t> Var<'t> {
    /// A variable bound to a pipeline's result.
    pub fn new(name: &'t str, value: Value) -> Self {
        let void = matches!(value, Value::Nil);
        Var { name, value, void }
    }

    /// A variable bound to a range element (a nil element stays a nil interface).
    fn element(&mut self, value: Value) {
        self.value = value;
        self.void = false;
    }
}

/// Evaluation state of one render.
pub(super) struct Exec<'t> {
    pub src: &'t str,
    pub templates: &'t HashMap<String, Vec<Node>>,
    pub out: Output,
    /// Variable stack; `$` is always at the bottom of the current template's frame.
    pub vars: Vec<Var<'t>>,
    /// Whether `.` is Go's "no value" (a template called without data or with a nil pipeline)
    /// rather than a nil element: fields of "no value" are quietly empty, fields of nil fail.
    pub void_dot: bool,
    pub steps: u64,
    pub max_steps: u64,
    pub depth: usize,
    pub max_depth: usize,
    pub max_bytes: usize,
    pub now: DateTime<Utc>,
    missing: Vec<MissingKey>,
    seen: HashSet<MissingKey>,
}

/// Runs the main template of `parsed` with `root` as both `.` and `$`.
pub(super) fn execute(parsed: &Parsed, src: &str, root: Value, opts: &Options) -> EResult<Rendered> {
    let mut ex = Exec {
        src,
        templates: &parsed.templates,
        out: Output::new(opts.limits.max_output_bytes),
        vars: vec![Var::new("$", root.clone())],
        void_dot: matches!(root, Value::Nil),
        steps: 0,
        max_steps: opts.limits.max_steps,
        depth: 0,
        max_depth: opts.limits.max_depth,
        max_bytes: opts.limits.max_output_bytes,
        now: opts.now,
        missing: Vec::new(),
        seen: HashSet::new(),
    };
    if let Some(body) = parsed.templates.get(&parsed.main) {
        ex.walk(body, &root)?;
    }
    Ok(Rendered { text: ex.out.text, line_origins: ex.out.origins, missing_keys: ex.missing })
}

impl<'t> Exec<'t> {
    /// Counts `n` evaluation steps.
    pub fn charge(&mut self, n: u64, pos: Pos) -> EResult<()> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > self.max_steps {
            return Err(TemplateError::limit(
                pos,
                format!("evaluation exceeded the limit of {} steps", self.max_steps),
            ));
        }
        Ok(())
    }

    /// Enters one nesting level (control body, template call, parenthesised pipeline).
    pub fn enter(&mut self, pos: Pos) -> EResult<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(TemplateError::limit(pos, format!("exceeded maximum template depth ({})", self.max_depth)));
        }
        Ok(())
    }

    /// Leaves a nesting level entered with [`Exec::enter`].
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Records a missing key once per (path, position).
    pub fn record_missing(&mut self, base: &str, path: &str, pos: Pos) {
        let key = MissingKey { path: join_path(base, path), line: pos.line, col: pos.col };
        if self.seen.insert(key.clone()) {
            self.missing.push(key);
        }
    }

    fn write(&mut self, s: &str, line: u32, advance: bool, pos: Pos) -> EResult<()> {
        self.out
            .write(s, line, advance)
            .map_err(|_| TemplateError::limit(pos, format!("output exceeds the limit of {} bytes", self.max_bytes)))
    }

    /// Prints an action's value; nil prints nothing (ACR strips Go's "<no value>").
    fn print(&mut self, v: &Value, pos: Pos) -> EResult<()> {
        match v {
            Value::Nil => Ok(()),
            Value::Str(s) => self.write(s, pos.line, false, pos),
            Value::Int(i) | Value::Int64(i) => self.write(&i.to_string(), pos.line, false, pos),
            _ => {
                let s = gofmt::sprint_value(v, self.max_bytes)
                    .map_err(|_| TemplateError::limit(pos, "value is too large or too deeply nested to print"))?;
                self.write(&s, pos.line, false, pos)
            }
        }
    }

    /// Executes a list of nodes with `dot` as `.`.
    pub fn walk(&mut self, nodes: &'t [Node], dot: &Value) -> EResult<Flow> {
        for node in nodes {
            match node {
                Node::Text { start, end, line } => {
                    let pos = Pos { line: *line, col: 1 };
                    self.charge(1, pos)?;
                    let src = self.src;
                    self.write(&src[*start..*end], *line, true, pos)?;
                }
                Node::Action { pos, pipe } => {
                    self.charge(1, *pos)?;
                    let v = self.eval_pipeline(pipe, dot)?;
                    if pipe.decl.is_empty() {
                        self.print(&v, *pos)?;
                    }
                }
                Node::If(c) | Node::With(c) => {
                    let flow = self.walk_if_with(c, dot, matches!(node, Node::With(_)))?;
                    if flow != Flow::Normal {
                        return Ok(flow);
                    }
                }
                Node::Range(c) => {
                    let flow = self.walk_range(c, dot)?;
                    if flow != Flow::Normal {
                        return Ok(flow);
                    }
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
                Node::Template { pos, name, pipe } => {
                    self.walk_template(*pos, name, pipe.as_ref(), dot)?;
                }
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_if_with(&mut self, c: &'t Control, dot: &Value, with: bool) -> EResult<Flow> {
        self.charge(1, c.pos)?;
        self.enter(c.pos)?;
        let mark = self.vars.len();
        let val = self.eval_pipeline(&c.pipe, dot)?;
        let flow = if val.truthy() {
            self.walk(&c.list, if with { &val } else { dot })?
        } else if let Some(else_list) = &c.else_list {
            self.walk(else_list, dot)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        self.leave();
        Ok(flow)
    }

    /// Sets a range iteration's variables and runs the body once.
    fn iteration(&mut self, c: &'t Control, index: Value, elem: Value, mark: usize) -> EResult<Flow> {
        self.charge(1, c.pos)?;
        let decl = &c.pipe.decl;
        let top = self.vars.len();
        match (decl.len(), c.pipe.is_assign) {
            (0, _) => {}
            (1, true) => self.set_element(&decl[0].name, elem.clone(), c.pos)?,
            (_, true) => {
                self.set_element(&decl[0].name, index, c.pos)?;
                self.set_element(&decl[1].name, elem.clone(), c.pos)?;
            }
            (1, false) => self.vars[top - 1].element(elem.clone()),
            (_, false) => {
                self.vars[top - 1].element(elem.clone());
                self.vars[top - 2].element(index);
            }
        }
        let void = std::mem::replace(&mut self.void_dot, false);
        let flow = self.walk(&c.list, &elem);
        self.void_dot = void;
        self.vars.truncate(mark);
        flow
    }

    fn walk_range(&mut self, c: &'t Control, dot: &Value) -> EResult<Flow> {
        self.charge(1, c.pos)?;
        self.enter(c.pos)?;
        let mark = self.vars.len();
        let val = self.eval_pipeline(&c.pipe, dot)?;
        let iter_mark = self.vars.len();
        let mut ran = false;
        // Go blames the command that produced the value.
        let at = c.pipe.cmds.last().map_or(c.pos, |cmd| cmd.pos);
        match &val {
            Value::List(l) => {
                for (i, e) in l.0.iter().enumerate() {
                    ran = true;
                    let index = Value::Int(i64::try_from(i).unwrap_or(i64::MAX));
                    if self.iteration(c, index, e.clone(), iter_mark)? == Flow::Break {
                        break;
                    }
                }
            }
            Value::Map(m) => {
                // Go ranges over a sorted snapshot of the keys; the body may modify the map.
                let entries: Vec<(Value, Value)> =
                    m.0.borrow().iter().map(|(k, v)| (value::key_value(k), v.clone())).collect();
                self.charge(entries.len() as u64, c.pos)?;
                for (k, v) in entries {
                    ran = true;
                    if self.iteration(c, k, v, iter_mark)? == Flow::Break {
                        break;
                    }
                }
            }
            Value::Int(n) | Value::Int64(n) => {
                if c.pipe.decl.len() > 1 {
                    return Err(TemplateError::exec(
                        at,
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                for i in 0..*n {
                    ran = true;
                    if self.iteration(c, Value::Int(i), Value::Int(i), iter_mark)? == Flow::Break {
                        break;
                    }
                }
            }
            Value::Nil => {}
            other => {
                let shown = gofmt::sprint_value(other, 200).unwrap_or_default();
                return Err(TemplateError::exec(at, format!("range can't iterate over {shown}")));
            }
        }
        let mut flow = Flow::Normal;
        if !ran && let Some(else_list) = &c.else_list {
            flow = self.walk(else_list, dot)?;
        }
        self.vars.truncate(mark);
        self.leave();
        Ok(flow)
    }

    fn walk_template(&mut self, pos: Pos, name: &str, pipe: Option<&'t Pipe>, dot: &Value) -> EResult<()> {
        self.charge(1, pos)?;
        let templates = self.templates;
        let Some(body) = templates.get(name) else {
            return Err(TemplateError::exec(pos, format!("template: no template {} defined", gofmt::quote(name))));
        };
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(p, dot)?,
            None => Value::Nil,
        };
        self.enter(pos)?;
        let saved = std::mem::replace(&mut self.vars, vec![Var::new("$", new_dot.clone())]);
        // A nil pipeline result (or no pipeline) makes `.` Go's "no value".
        let void = std::mem::replace(&mut self.void_dot, matches!(new_dot, Value::Nil));
        let result = self.walk(body, &new_dot);
        self.void_dot = void;
        self.vars = saved;
        self.leave();
        result.map(|_| ())
    }

    /// Looks a variable up, innermost first: its value and whether it is "no value".
    pub fn lookup_var(&self, name: &str, pos: Pos) -> EResult<(Value, bool)> {
        self.vars
            .iter()
            .rev()
            .find(|v| v.name == name)
            .map(|v| (v.value.clone(), v.void))
            .ok_or_else(|| TemplateError::exec(pos, format!("undefined variable: {name}")))
    }

    fn slot(&mut self, name: &str, pos: Pos) -> EResult<&mut Var<'t>> {
        self.vars
            .iter_mut()
            .rev()
            .find(|v| v.name == name)
            .ok_or_else(|| TemplateError::exec(pos, format!("undefined variable: {name}")))
    }

    /// Assigns a pipeline's result to an existing variable (`$x = value`).
    pub fn set_var(&mut self, name: &str, value: Value, pos: Pos) -> EResult<()> {
        let slot = self.slot(name, pos)?;
        slot.void = matches!(value, Value::Nil);
        slot.value = value;
        Ok(())
    }

    /// Assigns a range element to an existing variable (`range $x = list`).
    fn set_element(&mut self, name: &str, value: Value, pos: Pos) -> EResult<()> {
        self.slot(name, pos)?.element(value);
        Ok(())
    }
}
