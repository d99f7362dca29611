//! Parser: builds the syntax tree from tokens, following Go's `text/template/parse` grammar
//! and error messages, with a nesting limit so hostile input cannot exhaust the stack.

use std::collections::HashMap;

use super::Limits;
use super::ast::{Control, Node, Parsed, Pos};
use super::error::TemplateError;
use super::gofmt::quote;
use super::lexer::{Kw, TokKind, Token, lex};
use super::literal::unquote;

mod pipeline;

type PResult<T> = Result<T, TemplateError>;

/// Parses `src` into the main template `name` plus its `define`d templates.
pub(super) fn parse(name: &str, src: &str, limits: &Limits) -> PResult<Parsed> {
    let lexed = lex(src);
    let mut p = Parser {
        src,
        toks: lexed.tokens,
        lex_err: lexed.error,
        i: 0,
        vars: vec!["$".into()],
        depth: 0,
        max_depth: limits.max_depth,
        range_depth: 0,
        templates: HashMap::new(),
    };
    let main = p.parse_top()?;
    p.add_template(name, main, Pos { line: 1, col: 1 })?;
    Ok(Parsed { main: name.to_string(), templates: p.templates })
}

/// What ended a list of nodes.
enum Stop {
    End,
    Else(Pos),
}

/// A list element or a list terminator.
enum Item {
    Node(Node),
    Stop(Stop),
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    lex_err: Option<TemplateError>,
    i: usize,
    vars: Vec<String>,
    depth: usize,
    max_depth: usize,
    range_depth: usize,
    templates: HashMap<String, Vec<Node>>,
}

impl Parser<'_> {
    // ----- token access -----

    fn tok(&self, i: usize) -> Token {
        // The stream always ends in Eof or Error; stay on that last token.
        self.toks[i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.tok(self.i);
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn peek(&self) -> Token {
        self.tok(self.i)
    }

    fn backup(&mut self) {
        self.i = self.i.saturating_sub(1);
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.kind != TokKind::Space {
                return t;
            }
        }
    }

    /// Skips spaces and returns the next token without consuming it.
    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn text(&self, t: Token) -> &str {
        &self.src[t.start..t.end]
    }

    // ----- errors -----

    fn lex_error(&self) -> TemplateError {
        self.lex_err.clone().unwrap_or_else(|| TemplateError::syntax(Pos { line: 1, col: 1 }, "lexer error"))
    }

    /// Go's item String() for error messages.
    fn describe(&self, t: Token) -> String {
        match t.kind {
            TokKind::Eof => "EOF".into(),
            TokKind::Keyword(_) => format!("<{}>", self.text(t)),
            _ => {
                let s = self.text(t);
                if s.chars().count() > 10 {
                    let head: String = s.chars().take(10).collect();
                    format!("{}...", quote(&head))
                } else {
                    quote(s)
                }
            }
        }
    }

    fn unexpected(&self, t: Token, context: &str) -> TemplateError {
        if t.kind == TokKind::Error {
            return self.lex_error();
        }
        TemplateError::syntax(t.pos, format!("unexpected {} in {}", self.describe(t), context))
    }

    fn enter(&mut self, pos: Pos) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(TemplateError::limit(pos, format!("template nesting exceeds the limit of {}", self.max_depth)));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Go's IsEmptyTree: nothing but white space text.
    fn is_empty_tree(&self, nodes: &[Node]) -> bool {
        nodes.iter().all(|n| match n {
            Node::Text { start, end, .. } => self.src[*start..*end].trim().is_empty(),
            _ => false,
        })
    }

    fn add_template(&mut self, name: &str, body: Vec<Node>, pos: Pos) -> PResult<()> {
        match self.templates.get(name) {
            Some(old) if !self.is_empty_tree(old) => {
                if !self.is_empty_tree(&body) {
                    return Err(TemplateError::syntax(
                        pos,
                        format!("template: multiple definition of template {}", quote(name)),
                    ));
                }
            }
            _ => {
                self.templates.insert(name.to_string(), body);
            }
        }
        Ok(())
    }

    // ----- structure -----

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        loop {
            let t = self.peek();
            match t.kind {
                TokKind::Eof => return Ok(root),
                TokKind::LeftDelim => {
                    let save = self.i;
                    self.next();
                    if self.next_non_space().kind == TokKind::Keyword(Kw::Define) {
                        self.parse_definition(t.pos)?;
                        continue;
                    }
                    self.i = save;
                }
                _ => {}
            }
            match self.text_or_action()? {
                Item::Node(n) => root.push(n),
                Item::Stop(Stop::End) => {
                    return Err(TemplateError::syntax(t.pos, "unexpected {{end}}"));
                }
                Item::Stop(Stop::Else(_)) => {
                    return Err(TemplateError::syntax(t.pos, "unexpected {{else}}"));
                }
            }
        }
    }

    /// Parses a body up to its `{{end}}`/`{{else}}`; `opener` names the unclosed construct.
    fn item_list(&mut self, opener: Pos, what: &str) -> PResult<(Vec<Node>, Stop)> {
        let mut list = Vec::new();
        loop {
            if self.peek_non_space().kind == TokKind::Eof {
                return Err(TemplateError::syntax(
                    opener,
                    format!("unexpected EOF: {{{{{what}}}}} has no matching {{{{end}}}}"),
                ));
            }
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                Item::Stop(s) => return Ok((list, s)),
            }
        }
    }

    fn text_or_action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.kind {
            TokKind::Text => {
                let line = t.pos.line;
                Ok(Item::Node(Node::Text { start: t.start, end: t.end, line }))
            }
            TokKind::LeftDelim => self.action(t.pos),
            _ => Err(self.unexpected(t, "input")),
        }
    }

    fn action(&mut self, pos: Pos) -> PResult<Item> {
        let t = self.next_non_space();
        if let TokKind::Keyword(kw) = t.kind {
            match kw {
                Kw::Block => return self.block_control(pos).map(Item::Node),
                Kw::Break | Kw::Continue => return self.loop_control(kw, pos).map(Item::Node),
                Kw::Else => return self.else_control(),
                Kw::End => {
                    self.expect_right_delim("end")?;
                    return Ok(Item::Stop(Stop::End));
                }
                Kw::If => return self.control(pos, "if").map(|c| Item::Node(Node::If(c))),
                Kw::Range => {
                    return self.control(pos, "range").map(|c| Item::Node(Node::Range(c)));
                }
                Kw::Template => return self.template_control(pos).map(Item::Node),
                Kw::With => return self.control(pos, "with").map(|c| Item::Node(Node::With(c))),
                Kw::Define => {}
            }
        }
        self.backup();
        let pipe = self.pipeline("command", TokKind::RightDelim)?;
        Ok(Item::Node(Node::Action { pos, pipe }))
    }

    fn expect_right_delim(&mut self, context: &str) -> PResult<Token> {
        let t = self.next_non_space();
        if t.kind != TokKind::RightDelim {
            return Err(self.unexpected(t, context));
        }
        Ok(t)
    }

    fn else_control(&mut self) -> PResult<Item> {
        let t = self.peek_non_space();
        // "{{else if ...}}" / "{{else with ...}}": leave the keyword for the caller.
        if matches!(t.kind, TokKind::Keyword(Kw::If | Kw::With)) {
            return Ok(Item::Stop(Stop::Else(t.pos)));
        }
        let t = self.expect_right_delim("else")?;
        Ok(Item::Stop(Stop::Else(t.pos)))
    }

    fn loop_control(&mut self, kw: Kw, pos: Pos) -> PResult<Node> {
        let name = if kw == Kw::Break { "break" } else { "continue" };
        let t = self.next_non_space();
        if t.kind != TokKind::RightDelim {
            return Err(self.unexpected(t, &format!("{{{{{name}}}}}")));
        }
        if self.range_depth == 0 {
            return Err(TemplateError::syntax(pos, format!("{{{{{name}}}}} outside {{{{range}}}}")));
        }
        Ok(if kw == Kw::Break { Node::Break } else { Node::Continue })
    }

    /// `if`, `with` and `range`, including `else if` / `else with` chains.
    fn control(&mut self, pos: Pos, context: &'static str) -> PResult<Box<Control>> {
        self.enter(pos)?;
        let mark = self.vars.len();
        let pipe = self.pipeline(context, TokKind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let body = self.item_list(pos, context);
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, stop) = body?;
        let else_list = match stop {
            Stop::End => None,
            Stop::Else(_) => {
                let next = self.peek().kind;
                if context == "if" && next == TokKind::Keyword(Kw::If) {
                    let kw = self.next();
                    Some(vec![Node::If(self.control(kw.pos, "if")?)])
                } else if context == "with" && next == TokKind::Keyword(Kw::With) {
                    let kw = self.next();
                    Some(vec![Node::With(self.control(kw.pos, "with")?)])
                } else {
                    let (list, stop) = self.item_list(pos, context)?;
                    if let Stop::Else(p) = stop {
                        return Err(TemplateError::syntax(p, "expected end; found {{else}}"));
                    }
                    Some(list)
                }
            }
        };
        self.vars.truncate(mark);
        self.leave();
        Ok(Box::new(Control { pos, pipe, list, else_list }))
    }

    fn template_name(&mut self, context: &str) -> PResult<(String, Pos)> {
        let t = self.next_non_space();
        match t.kind {
            TokKind::Str | TokKind::RawStr => {
                let name = unquote(self.text(t)).map_err(|m| TemplateError::syntax(t.pos, m))?;
                Ok((name, t.pos))
            }
            _ => Err(self.unexpected(t, context)),
        }
    }

    fn template_control(&mut self, pos: Pos) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let (name, _) = self.template_name(CONTEXT)?;
        let pipe = if self.next_non_space().kind == TokKind::RightDelim {
            None
        } else {
            self.backup();
            Some(self.pipeline(CONTEXT, TokKind::RightDelim)?)
        };
        Ok(Node::Template { pos, name, pipe })
    }

    /// Parses a body with a fresh variable scope (`define` and `block` bodies).
    fn definition_body(&mut self, pos: Pos, what: &str) -> PResult<Vec<Node>> {
        self.enter(pos)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let body = self.item_list(pos, what);
        self.vars = saved_vars;
        self.range_depth = saved_range;
        let (list, stop) = body?;
        if let Stop::Else(p) = stop {
            return Err(TemplateError::syntax(p, format!("unexpected {{{{else}}}} in {what} clause")));
        }
        self.leave();
        Ok(list)
    }

    fn block_control(&mut self, pos: Pos) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let (name, _) = self.template_name(CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, TokKind::RightDelim)?;
        let body = self.definition_body(pos, "block")?;
        self.add_template(&name, body, pos)?;
        Ok(Node::Template { pos, name, pipe: Some(pipe) })
    }

    fn parse_definition(&mut self, pos: Pos) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let (name, _) = self.template_name(CONTEXT)?;
        self.expect_right_delim(CONTEXT)?;
        let body = self.definition_body(pos, "define")?;
        self.add_template(&name, body, pos)
    }
}
