//! YAML for task files: one parse into a span tree that keeps every key, value and position, and a
//! serde deserializer over that tree (`de`).
//!
//! One pass matters: task files can be large (10,000 steps) and serde-based YAML parsing twice, once
//! for values and once for positions, cost most of the pipeline's time. The tree is built from
//! granit-parser's events (the parser under serde-saphyr) without recursion, with budgets on depth,
//! node count and alias expansion, because task files are untrusted.

pub mod de;

use super::diag::Pos;
use serde_saphyr::granit_parser::{self, Event, Parser, ScalarStyle};
use std::collections::HashMap;

/// Caps on what a YAML document may expand to.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Nodes in the tree, counting every alias expansion.
    pub max_nodes: usize,
    /// Bytes of scalar text in the tree, counting every alias expansion: a small file can alias
    /// one long string many times (a few nodes, gigabytes of copies).
    pub max_bytes: usize,
    /// Read mappings and documents as go-yaml v2 does (ACR's values files): a repeated key
    /// replaces the earlier one, `<<` merges in the order written (a later merge overrides earlier
    /// keys), and anything after the first document is ignored. Task files keep the stricter
    /// reading, where a repeated key is an error.
    pub go_yaml_v2: bool,
}

/// The default budget of scalar bytes: 8 times the largest task file, room for any real file
/// and its anchors while a bomb stops at tens of megabytes.
pub const DEFAULT_MAX_BYTES: usize = 32 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 64, max_nodes: 1_000_000, max_bytes: DEFAULT_MAX_BYTES, go_yaml_v2: false }
    }
}

/// A node with the position where its value starts.
#[derive(Clone, Debug)]
pub struct YNode {
    /// Position in the parsed text.
    pub pos: Pos,
    /// What it is.
    pub kind: YKind,
}

/// Structure of a node.
#[derive(Clone, Debug)]
pub enum YKind {
    /// A mapping: key, key position, value.
    Map(Vec<(String, Pos, YNode)>),
    /// A sequence.
    Seq(Vec<YNode>),
    /// A scalar, null included.
    Scalar(Scalar),
}

/// A scalar as written: its text, and whether it was plain (unquoted), which is what decides
/// whether `true`, `600` or `~` mean a boolean, a number or null.
#[derive(Clone, Debug, Default)]
pub struct Scalar {
    /// The value.
    pub text: String,
    /// Plain style (not quoted, not a block scalar).
    pub plain: bool,
    /// An explicit core-schema tag (`!!int` is `int`), which go-yaml resolves the text by.
    pub tag: Option<String>,
}

impl Scalar {
    /// Whether this is YAML's null (`~`, `null`, or nothing at all).
    pub fn is_null(&self) -> bool {
        self.plain && matches!(self.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }
}

/// Why a YAML text was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub pos: Pos,
    /// Whether a budget (depth, size) was exceeded, rather than the syntax being wrong.
    pub limit: bool,
}

impl YNode {
    /// An empty (null) node at `pos`.
    pub fn null(pos: Pos) -> Self {
        YNode { pos, kind: YKind::Scalar(Scalar { text: String::new(), plain: true, tag: None }) }
    }

    /// The value of mapping key `key`.
    pub fn get(&self, key: &str) -> Option<&YNode> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key position and value of mapping key `key`.
    pub fn entry(&self, key: &str) -> Option<(Pos, &YNode)> {
        self.entries().iter().find(|(k, _, _)| k == key).map(|(_, p, v)| (*p, v))
    }

    /// Position of the value under `key`, falling back to this node's own position.
    pub fn pos_of(&self, key: &str) -> Pos {
        self.get(key).map_or(self.pos, |v| v.pos)
    }

    /// Element `i` of a sequence.
    pub fn at(&self, i: usize) -> Option<&YNode> {
        self.items().get(i)
    }

    /// The mapping entries, or nothing.
    pub fn entries(&self) -> &[(String, Pos, YNode)] {
        match &self.kind {
            YKind::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The sequence items, or nothing.
    pub fn items(&self) -> &[YNode] {
        match &self.kind {
            YKind::Seq(items) => items,
            _ => &[],
        }
    }

    /// A word for error messages: "a mapping", "a list", "`text`".
    pub fn describe(&self) -> String {
        match &self.kind {
            YKind::Map(_) => "a mapping".into(),
            YKind::Seq(_) => "a list".into(),
            YKind::Scalar(s) if s.is_null() => "an empty value".into(),
            YKind::Scalar(s) if !s.plain => format!("the quoted string \"{}\"", s.text),
            YKind::Scalar(s) => format!("`{}`", s.text),
        }
    }

    /// Nodes and scalar bytes (keys included) of this subtree.
    fn size(&self) -> (usize, usize) {
        match &self.kind {
            YKind::Map(e) => e.iter().fold((1, 0), |(n, b), (k, _, v)| {
                let (vn, vb) = v.size();
                (n + vn, b + k.len() + vb)
            }),
            YKind::Seq(items) => items.iter().fold((1, 0), |(n, b), v| {
                let (vn, vb) = v.size();
                (n + vn, b + vb)
            }),
            YKind::Scalar(s) => (1, s.text.len()),
        }
    }
}

/// A collection being built.
enum Frame {
    Map { pos: Pos, anchor: usize, entries: Vec<(String, Pos, YNode)>, key: Option<(String, Pos)> },
    Seq { pos: Pos, anchor: usize, items: Vec<YNode> },
}

fn pos_of(marker: &granit_parser::Marker) -> Pos {
    Pos::new(u32::try_from(marker.line()).unwrap_or(u32::MAX), u32::try_from(marker.col() + 1).unwrap_or(u32::MAX))
}

/// Parses one YAML document into a span tree. An empty document is a null node.
pub fn parse(text: &str, limits: &Limits) -> Result<YNode, YamlError> {
    let mut stack: Vec<Frame> = Vec::new();
    // Each anchored node with its size (nodes, scalar bytes), measured once.
    let mut anchors: HashMap<usize, (YNode, (usize, usize))> = HashMap::new();
    let mut root: Option<YNode> = None;
    let mut nodes = 0usize;
    let mut bytes = 0usize;
    let mut documents = 0;
    let limit = |message: String, pos: Pos| YamlError { message, pos, limit: true };
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| {
            let message = e.info();
            // The scanner caps flow nesting itself; that is a budget, not a syntax error.
            let limit = message.contains("recursion limit");
            YamlError { message, pos: pos_of(e.marker()), limit }
        })?;
        let pos = pos_of(&span.start);
        let (node, anchor) = match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 && limits.go_yaml_v2 {
                    break;
                }
                if documents > 1 {
                    return Err(YamlError {
                        message: "a task file is one YAML document; found a second one (`---`)".into(),
                        pos,
                        limit: false,
                    });
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                bytes = bytes.saturating_add(value.len());
                if bytes > limits.max_bytes {
                    return Err(limit(format!("the YAML holds more than {} MiB of text", limits.max_bytes >> 20), pos));
                }
                // An explicit `!!str` makes a plain scalar a string, as quoting does.
                let tagged_str = tag.as_ref().is_some_and(|t| t.suffix() == "str" && t.handle().ends_with("2002:"));
                let plain = matches!(style, ScalarStyle::Plain) && !tagged_str;
                let tag = tag.filter(|t| t.handle().ends_with("2002:")).map(|t| t.suffix().to_string());
                let scalar = Scalar { text: value.into_owned(), plain, tag };
                (YNode { pos, kind: YKind::Scalar(scalar) }, anchor)
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return Err(limit(format!("the YAML nests deeper than {} levels", limits.max_depth), pos));
                }
                stack.push(match event {
                    Event::SequenceStart(..) => Frame::Seq { pos, anchor, items: Vec::new() },
                    _ => Frame::Map { pos, anchor, entries: Vec::new(), key: None },
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { pos, anchor, items }) => (YNode { pos, kind: YKind::Seq(items) }, anchor),
                Some(Frame::Map { pos, anchor, entries, .. }) => {
                    (YNode { pos, kind: YKind::Map(apply_merge_keys(entries, limits.go_yaml_v2)?) }, anchor)
                }
                None => continue,
            },
            Event::Alias(id) => {
                let Some((target, (size, text))) = anchors.get(&id) else {
                    return Err(YamlError { message: "alias to an unknown anchor".into(), pos, limit: false });
                };
                if nodes.saturating_add(*size) > limits.max_nodes {
                    return Err(limit(format!("aliases expand the YAML beyond {} nodes", limits.max_nodes), pos));
                }
                if bytes.saturating_add(*text) > limits.max_bytes {
                    return Err(limit(
                        format!("aliases expand the YAML beyond {} MiB of text", limits.max_bytes >> 20),
                        pos,
                    ));
                }
                nodes += size;
                bytes += text;
                let mut copy = target.clone();
                copy.pos = pos;
                (copy, 0)
            }
            Event::UnresolvedAlias(name) => {
                return Err(YamlError {
                    message: format!("alias `*{name}` has no anchor `&{name}`"),
                    pos,
                    limit: false,
                });
            }
            _ => continue,
        };
        nodes += 1;
        if nodes > limits.max_nodes {
            return Err(limit(format!("the YAML has more than {} nodes", limits.max_nodes), pos));
        }
        if anchor != 0 {
            anchors.insert(anchor, (node.clone(), node.size()));
        }
        attach(&mut stack, &mut root, node, limits.go_yaml_v2)?;
    }
    Ok(root.unwrap_or_else(|| YNode::null(Pos::new(1, 1))))
}

/// Puts a finished node into its parent (or makes it the root).
fn attach(stack: &mut [Frame], root: &mut Option<YNode>, node: YNode, go_yaml_v2: bool) -> Result<(), YamlError> {
    match stack.last_mut() {
        None => *root = Some(node),
        Some(Frame::Seq { items, .. }) => items.push(node),
        Some(Frame::Map { entries, key, .. }) => match key.take() {
            None => match node.kind {
                YKind::Scalar(s) => *key = Some((s.text, node.pos)),
                _ => {
                    return Err(YamlError {
                        message: "a mapping key must be a plain value, not a list or mapping".into(),
                        pos: node.pos,
                        limit: false,
                    });
                }
            },
            Some((k, kpos)) => {
                if go_yaml_v2 && k != "<<" {
                    entries.retain(|(e, _, _)| *e != k);
                }
                if k != "<<" && entries.iter().any(|(e, _, _)| *e == k) {
                    return Err(YamlError { message: format!("duplicate key `{k}`"), pos: kpos, limit: false });
                }
                entries.push((k, kpos, node));
            }
        },
    }
    Ok(())
}

/// YAML 1.1 merge keys (`<<: *defaults`, which ACR's YAML library honours): merged keys never
/// override the mapping's own keys, and among several merged mappings the first wins.
fn apply_merge_keys(
    entries: Vec<(String, Pos, YNode)>,
    go_yaml_v2: bool,
) -> Result<Vec<(String, Pos, YNode)>, YamlError> {
    if !entries.iter().any(|(k, _, _)| k == "<<") {
        return Ok(entries);
    }
    if go_yaml_v2 {
        return merge_in_order(entries);
    }
    let (merges, mut own): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(k, _, _)| k == "<<");
    for (_, pos, value) in merges {
        for src_entries in merge_sources(value, pos)? {
            for (k, kp, v) in src_entries {
                if !own.iter().any(|(o, _, _)| *o == k) {
                    own.push((k, kp, v));
                }
            }
        }
    }
    Ok(own)
}

/// A mapping's entries: key, key position, value.
type Entries = Vec<(String, Pos, YNode)>;

/// The mappings a `<<` value names: one mapping, or a list of them in the order written.
fn merge_sources(value: YNode, pos: Pos) -> Result<Vec<Entries>, YamlError> {
    let sources: Vec<YNode> = match value.kind {
        YKind::Map(_) => vec![value],
        YKind::Seq(items) => items,
        _ => {
            return Err(YamlError {
                message: "a merge key `<<` needs a mapping or a list of mappings".into(),
                pos,
                limit: false,
            });
        }
    };
    sources
        .into_iter()
        .map(|source| match source.kind {
            YKind::Map(entries) => Ok(entries),
            _ => Err(YamlError { message: "a merge key `<<` needs mappings".into(), pos, limit: false }),
        })
        .collect()
}

/// go-yaml v2's merge: entries apply in the order written, each `<<` setting every key of its
/// mappings (of a list of mappings, the first wins), so it overrides the keys before it.
fn merge_in_order(entries: Vec<(String, Pos, YNode)>) -> Result<Vec<(String, Pos, YNode)>, YamlError> {
    let mut out: Vec<(String, Pos, YNode)> = Vec::new();
    let set = |out: &mut Vec<(String, Pos, YNode)>, k: String, kp: Pos, v: YNode| {
        out.retain(|(o, _, _)| *o != k);
        out.push((k, kp, v));
    };
    for (k, pos, value) in entries {
        if k != "<<" {
            set(&mut out, k, pos, value);
            continue;
        }
        // Of a list of mappings the first wins, so they are applied last to first.
        for src_entries in merge_sources(value, pos)?.into_iter().rev() {
            for (k, kp, v) in src_entries {
                set(&mut out, k, kp, v);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_scalars_and_merge_keys() {
        let t = parse("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nq: \"600\"\n", &Limits::default()).unwrap();
        let m = t.get("m").unwrap();
        let keys: Vec<&str> = m.entries().iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(keys, ["y", "x"]);
        assert_eq!(t.entry("m").unwrap().0, Pos::new(2, 1));
        match &t.get("q").unwrap().kind {
            YKind::Scalar(s) => assert!(!s.plain && s.text == "600"),
            _ => panic!(),
        }
    }

    #[test]
    fn a_long_string_aliased_many_times_is_a_bomb_too() {
        // Few nodes, but every alias copies 100 KB: 400 copies would be 40 MB.
        let text = format!("big: &big \"{}\"\nlist: [{}]\n", "x".repeat(100_000), ["*big"; 400].join(", "));
        let err = parse(&text, &Limits::default()).unwrap_err();
        assert!(err.limit && err.message.contains("MiB of text"), "{}", err.message);
        assert_eq!(err.pos.line, 2, "the alias that crossed the budget");
        // The same file with few copies is fine.
        let text = format!("big: &big \"{}\"\nlist: [{}]\n", "x".repeat(100_000), ["*big"; 10].join(", "));
        assert!(parse(&text, &Limits::default()).is_ok());
    }

    #[test]
    fn refuses_duplicates_bombs_and_depth() {
        assert_eq!(parse("a: 1\na: 2\n", &Limits::default()).unwrap_err().message, "duplicate key `a`");
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse(&bomb, &Limits::default()).unwrap_err().limit);
        let deep = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep, &Limits::default()).unwrap_err().limit);
        assert!(parse("a: 1\n---\nb: 2\n", &Limits::default()).is_err());
    }
}
