//! Expression evaluation: pipelines, commands, operands, field chains and function calls.

use super::ast::{Command, Operand, Pipe, Pos};
use super::error::{ErrorKind, TemplateError};
use super::exec::{Exec, Var};
use super::funcs::{FuncCtx, FuncDef, Imp};
use super::value::Value;

type EResult<T> = Result<T, TemplateError>;

impl<'t> Exec<'t> {
    /// Evaluates a pipeline, feeding each command's result to the next as its last argument,
    /// then binds any declared variables.
    pub fn eval_pipeline(&mut self, pipe: &'t Pipe, dot: &Value) -> EResult<Value> {
        let mut val: Option<Value> = None;
        for cmd in &pipe.cmds {
            val = Some(self.eval_command(cmd, dot, val)?);
        }
        let v = val.unwrap_or(Value::Nil);
        for d in &pipe.decl {
            if pipe.is_assign {
                self.set_var(&d.name, v.clone(), pipe.pos)?;
            } else {
                self.vars.push(Var::new(&d.name, v.clone()));
            }
        }
        Ok(v)
    }

    fn eval_command(&mut self, cmd: &'t Command, dot: &Value, fin: Option<Value>) -> EResult<Value> {
        self.charge(1, cmd.pos)?;
        let first = &cmd.args[0];
        let has_args = cmd.args.len() > 1 || fin.is_some();
        match first {
            Operand::Func { pos, def } => self.call(def, *pos, &cmd.args[1..], dot, fin),
            Operand::Nil(pos) => Err(TemplateError::exec(*pos, "nil is not a command")),
            Operand::Field { pos, path } | Operand::Variable { pos, path, .. } | Operand::Chain { pos, path, .. }
                if has_args && path.end > path.start =>
            {
                if let Some(v) = self.field_with_args(first, dot)? {
                    return Ok(v);
                }
                let last = path.text(self.src).rsplit('.').next().unwrap_or("");
                Err(TemplateError::exec(*pos, format!("{last} is not a method but has arguments")))
            }
            _ if has_args => Err(TemplateError::exec(
                first.pos(),
                format!("can't give argument to non-function {}", first.describe(self.src)),
            )),
            _ => self.eval_arg(first, dot),
        }
    }

    /// Evaluates an operand used as a value.
    pub fn eval_arg(&mut self, op: &'t Operand, dot: &Value) -> EResult<Value> {
        Ok(match op {
            Operand::Dot(_) => dot.clone(),
            Operand::Nil(_) => Value::Nil,
            Operand::Bool(b, _) => Value::Bool(*b),
            Operand::Int(i, _) => Value::Int(*i),
            Operand::Float(f, _) => Value::Float(*f),
            Operand::Str(s, _) => Value::Str(s.clone()),
            Operand::Field { pos, path } => {
                let src = self.src;
                let void = self.void_dot;
                self.walk_fields(dot.clone(), path.text(src), "", *pos, void)?
            }
            Operand::Variable { pos, name, path } => {
                let src = self.src;
                let (v, void) = self.lookup_var(name.text(src), *pos)?;
                self.walk_fields(v, path.text(src), name.text(src), *pos, void)?
            }
            Operand::Chain { pos, base, text, path } => {
                let v = self.eval_arg(base, dot)?;
                let src = self.src;
                self.walk_fields(v, path.text(src), text.text(src), *pos, true)?
            }
            Operand::Func { pos, def } => self.call(def, *pos, &[], dot, None)?,
            Operand::Pipe(p) => {
                self.enter(p.pos)?;
                let v = self.eval_pipeline(p, dot)?;
                self.leave();
                v
            }
        })
    }

    /// A field chain given arguments, which only a field of "no value" survives (Go yields
    /// nothing for those before looking at arguments). Returns `Ok` when the caller should
    /// report the arguments; the chain's own failures (nil, scalar receivers) come first.
    fn field_with_args(&mut self, op: &'t Operand, dot: &Value) -> EResult<Option<Value>> {
        let src = self.src;
        let (recv, void, base, path, pos) = match op {
            Operand::Field { pos, path } => (dot.clone(), self.void_dot, "", path, *pos),
            Operand::Variable { pos, name, path } => {
                let (v, void) = self.lookup_var(name.text(src), *pos)?;
                (v, void, name.text(src), path, *pos)
            }
            Operand::Chain { pos, base, text, path } => {
                let v = self.eval_arg(base, dot)?;
                (v, true, text.text(src), path, *pos)
            }
            _ => return Ok(None),
        };
        if void && matches!(recv, Value::Nil) {
            return Ok(Some(Value::Nil));
        }
        self.walk_fields(recv, path.text(src), base, pos, false)?;
        Ok(None)
    }

    /// Follows the dotted `path` (e.g. `A.B`) from `recv`. A missing key yields nil (recorded as
    /// a missing key; ACR renders with `missingkey=zero`), but a field of nil is an error, as are
    /// fields of scalars and lists: `.Values.nope.x` fails in ACR. `from_pipeline` says `recv`
    /// is Go's "no value" when nil: Go unwraps a finished pipeline's nil into "no value", whose
    /// fields are quietly nil (`{{ $x := .nope }}{{ $x.y }}` renders "").
    fn walk_fields(&mut self, recv: Value, path: &str, base: &str, pos: Pos, from_pipeline: bool) -> EResult<Value> {
        if path.is_empty() || (from_pipeline && matches!(recv, Value::Nil)) {
            return Ok(if path.is_empty() { recv } else { Value::Nil });
        }
        let mut cur = recv;
        let mut end = 0;
        for name in path.split('.') {
            end += name.len();
            let next = match &cur {
                Value::Map(m) => m.0.borrow().get(name).cloned(),
                Value::Struct(st) => match st.get(name) {
                    Some(v) => Some(v),
                    None => {
                        return Err(TemplateError::exec(
                            pos,
                            format!("can't evaluate field {name} in type {}", st.type_name),
                        ));
                    }
                },
                Value::Nil => {
                    return Err(TemplateError::exec(pos, format!("nil pointer evaluating interface {{}}.{name}")));
                }
                other => {
                    return Err(TemplateError::exec(
                        pos,
                        format!("can't evaluate field {name} in type {}", other.type_name()),
                    ));
                }
            };
            match next {
                Some(v) => cur = v,
                None => {
                    self.record_missing(base, &path[..end], pos);
                    cur = Value::Nil;
                }
            }
            end += 1;
        }
        Ok(cur)
    }

    /// Calls a function with operand arguments plus the piped value, if any.
    fn call(
        &mut self,
        def: &'static FuncDef,
        pos: Pos,
        args: &'t [Operand],
        dot: &Value,
        fin: Option<Value>,
    ) -> EResult<Value> {
        let n = args.len() + usize::from(fin.is_some());
        if n < def.min || n > def.max {
            let want = if def.min == def.max {
                def.min.to_string()
            } else if n < def.min {
                format!("at least {}", def.min)
            } else {
                format!("at most {}", def.max)
            };
            return Err(TemplateError::exec(
                pos,
                format!("wrong number of args for {}: want {want} got {n}", def.name),
            ));
        }
        let f = match def.imp {
            Imp::And | Imp::Or => return self.and_or(matches!(def.imp, Imp::Or), args, dot, fin),
            Imp::Plain(f) => f,
        };
        let mut vals = Vec::with_capacity(n);
        let mut bare_nils = 0u64;
        let mut literals = 0u64;
        for (i, a) in args.iter().enumerate() {
            let v = self.eval_arg(a, dot)?;
            if matches!(v, Value::Nil) && is_bare(a) && i < 64 {
                bare_nils |= 1 << i;
            }
            if matches!(a, Operand::Int(..) | Operand::Float(..)) && i < 64 {
                literals |= 1 << i;
            }
            vals.push(v);
        }
        if let Some(v) = fin {
            // Go unwraps a finished pipeline's nil `interface{}` into "no value".
            if matches!(v, Value::Nil) && args.len() < 64 {
                bare_nils |= 1 << args.len();
            }
            vals.push(v);
        }
        let budget = self.max_steps.saturating_sub(self.steps);
        let mut ctx = FuncCtx::new(self.now, self.max_bytes, budget);
        ctx.bare_nils = bare_nils;
        ctx.literals = literals;
        let result = f(&mut ctx, &vals);
        self.charge(ctx.used(), pos)?;
        if let Some(key) = ctx.missed_key.take() {
            let base = args.first().map_or_else(|| "index".to_string(), |a| a.describe(self.src));
            self.record_missing(&base, &key, pos);
        }
        match result {
            Ok(v) => {
                self.charge(v.weight(), pos)?;
                Ok(v)
            }
            Err(e) => Err(match e.kind {
                ErrorKind::Exec | ErrorKind::Syntax => {
                    TemplateError::exec(pos, format!("error calling {}: {}", def.name, e.msg))
                }
                kind => TemplateError::new(kind, pos, e.msg),
            }),
        }
    }

    /// `and` / `or`: evaluate arguments left to right and return the deciding one.
    fn and_or(&mut self, is_or: bool, args: &'t [Operand], dot: &Value, fin: Option<Value>) -> EResult<Value> {
        let mut last = Value::Nil;
        for a in args {
            let v = self.eval_arg(a, dot)?;
            if v.truthy() == is_or {
                return Ok(v);
            }
            last = v;
        }
        Ok(fin.unwrap_or(last))
    }
}

/// Whether a nil from this operand is Go's "no value" (an invalid `reflect.Value`) rather than a
/// nil `interface{}`: Go unwraps pipeline results (so variables holding them too), and the `nil`
/// literal is untyped, while a field lookup yields the map's nil element.
fn is_bare(op: &Operand) -> bool {
    match op {
        Operand::Nil(_) | Operand::Pipe(_) => true,
        Operand::Variable { path, .. } => path.end == path.start,
        _ => false,
    }
}
