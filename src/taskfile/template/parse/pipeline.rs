//! Pipelines, commands and operands: the expression half of the grammar.

use std::rc::Rc;

use super::super::ast::{Command, Decl, Operand, Pipe, Span};
use super::super::error::TemplateError;
use super::super::funcs;
use super::super::gofmt::quote;
use super::super::lexer::{TokKind, Token};
use super::super::literal::{Number, parse_number, unquote};
use super::super::suggest::closest;
use super::{PResult, Parser};

impl Parser<'_> {
    /// Parses a pipeline up to the `end` token (`}}` or `)`).
    pub(super) fn pipeline(&mut self, context: &str, end: TokKind) -> PResult<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe { pos: start.pos, decl: Vec::new(), is_assign: false, cmds: Vec::new() };
        self.declarations(&mut pipe, context)?;
        loop {
            let t = self.next_non_space();
            // Go accepts a dangling `|` before the end (`{{ print 1 | }}` prints 1).
            if t.kind == end {
                self.check_pipeline(&pipe, context, t)?;
                return Ok(pipe);
            }
            match t.kind {
                TokKind::Bool
                | TokKind::CharConst
                | TokKind::Dot
                | TokKind::Field
                | TokKind::Ident
                | TokKind::Number
                | TokKind::Nil
                | TokKind::RawStr
                | TokKind::Str
                | TokKind::Variable
                | TokKind::LParen => {
                    self.backup();
                    pipe.cmds.push(self.command()?);
                }
                _ => return Err(self.unexpected(t, context)),
            }
        }
    }

    /// `$x :=`, `$x =`, and range's `$i, $v :=` prefixes.
    fn declarations(&mut self, pipe: &mut Pipe, context: &str) -> PResult<()> {
        loop {
            let v = self.peek_non_space();
            if v.kind != TokKind::Variable {
                return Ok(());
            }
            let save = self.i;
            self.next();
            let next = self.peek_non_space();
            let name = self.text(v).to_string();
            match next.kind {
                TokKind::Assign | TokKind::Declare => {
                    self.next();
                    pipe.is_assign = next.kind == TokKind::Assign;
                    if pipe.is_assign && !self.vars.contains(&name) {
                        return Err(TemplateError::syntax(v.pos, format!("undefined variable {}", quote(&name))));
                    }
                    pipe.decl.push(Decl { name: name.clone() });
                    self.vars.push(name);
                    return Ok(());
                }
                TokKind::Char if self.text(next) == "," => {
                    self.next();
                    pipe.decl.push(Decl { name: name.clone() });
                    self.vars.push(name);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            TokKind::Variable | TokKind::RightDelim | TokKind::RParen => continue,
                            _ => {
                                return Err(TemplateError::syntax(next.pos, "range can only initialize variables"));
                            }
                        }
                    }
                    return Err(TemplateError::syntax(next.pos, format!("too many declarations in {context}")));
                }
                _ => {
                    self.i = save;
                    return Ok(());
                }
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str, end: Token) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(TemplateError::syntax(end.pos, format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Operand::Bool(..)
                    | Operand::Dot(_)
                    | Operand::Nil(_)
                    | Operand::Int(..)
                    | Operand::Float(..)
                    | Operand::Str(..)
            ) {
                return Err(TemplateError::syntax(
                    c.pos,
                    format!("non executable command in pipeline stage {}", i + 1),
                ));
            }
        }
        Ok(())
    }

    /// One command, through the `|` that ends it, if any.
    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            let t = self.next();
            match t.kind {
                TokKind::Space => continue,
                TokKind::RightDelim | TokKind::RParen => self.backup(),
                TokKind::Pipe => {}
                _ => return Err(self.unexpected(t, "operand")),
            }
            break;
        }
        if args.is_empty() {
            return Err(TemplateError::syntax(pos, "empty command"));
        }
        Ok(Command { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Operand>> {
        let start = self.peek().start;
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != TokKind::Field {
            return Ok(Some(node));
        }
        let base_end = self.tok(self.i.saturating_sub(1)).end;
        // Chained fields are adjacent tokens, so their names form one source span.
        let first = self.peek();
        let mut more = Span { start: first.start + 1, end: first.end };
        while self.peek().kind == TokKind::Field {
            more.end = self.next().end;
        }
        Ok(Some(match node {
            Operand::Field { pos, path } => Operand::Field { pos, path: Span { start: path.start, end: more.end } },
            Operand::Variable { pos, name, .. } => Operand::Variable { pos, name, path: more },
            Operand::Bool(..)
            | Operand::Str(..)
            | Operand::Int(..)
            | Operand::Float(..)
            | Operand::Nil(_)
            | Operand::Dot(_) => {
                return Err(TemplateError::syntax(
                    node.pos(),
                    format!("unexpected . after term {}", quote(&node.describe(self.src))),
                ));
            }
            base => Operand::Chain {
                pos: base.pos(),
                text: Span { start, end: base_end },
                base: Box::new(base),
                path: more,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Operand>> {
        let t = self.next_non_space();
        let pos = t.pos;
        Ok(Some(match t.kind {
            TokKind::Ident => {
                let name = self.text(t);
                match funcs::lookup(name) {
                    Some(def) => Operand::Func { pos, def },
                    None => return Err(self.undefined_function(t)),
                }
            }
            TokKind::Dot => Operand::Dot(pos),
            TokKind::Nil => Operand::Nil(pos),
            TokKind::Variable => {
                let name = self.text(t).to_string();
                if !self.vars.contains(&name) {
                    return Err(TemplateError::syntax(pos, format!("undefined variable {}", quote(&name))));
                }
                Operand::Variable { pos, name: Span { start: t.start, end: t.end }, path: Span::default() }
            }
            TokKind::Field => Operand::Field { pos, path: Span { start: t.start + 1, end: t.end } },
            TokKind::Bool => Operand::Bool(self.text(t) == "true", pos),
            TokKind::Number | TokKind::CharConst => match parse_number(self.text(t), t.kind == TokKind::CharConst) {
                Ok(Number::Int(i)) => Operand::Int(i, pos),
                Ok(Number::Float(f)) => Operand::Float(f, pos),
                Err(m) => return Err(TemplateError::syntax(pos, m)),
            },
            TokKind::LParen => {
                self.enter(pos)?;
                let pipe = self.pipeline("parenthesized pipeline", TokKind::RParen)?;
                self.leave();
                Operand::Pipe(Box::new(pipe))
            }
            TokKind::Str | TokKind::RawStr => {
                let s = unquote(self.text(t)).map_err(|m| TemplateError::syntax(pos, m))?;
                Operand::Str(Rc::from(s), pos)
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }

    fn undefined_function(&self, t: Token) -> TemplateError {
        let name = self.text(t);
        let mut msg = format!("function {} not defined", quote(name));
        if let Some(reason) = funcs::disabled_reason(name) {
            msg.push_str(&format!(" ({reason})"));
        } else if let Some(s) = closest(name, funcs::names()) {
            msg.push_str(&format!(" (did you mean {}?)", quote(s)));
        }
        TemplateError::syntax(t.pos, msg)
    }
}
