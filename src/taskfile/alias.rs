//! Alias pre-processing (v1.1.0 and later), in ACR's order: cut the top-level `alias:` block out of
//! the raw text, render it as a template, load its `src` files, then replace `$name` tokens in the
//! rest of the text before it is rendered.

use super::diag::{Diagnostic, Diagnostics, Pos};
use super::parse::{SourceMap, saphyr_message, yaml_options};
use std::collections::BTreeMap;

/// Where alias `src` entries are read from. Task files are untrusted, so the loader decides what is
/// reachable: drydock's own loader reads files inside the build context only, and http(s) only
/// when allowed.
pub trait AliasSourceLoader {
    /// The text of `src` (a YAML map of alias name to value), or why it cannot be read.
    fn load(&self, src: &str) -> Result<String, String>;
}

/// A loader that refuses everything: for files whose aliases come only from inline `values`.
pub struct NoAliasSources;

impl AliasSourceLoader for NoAliasSources {
    fn load(&self, src: &str) -> Result<String, String> {
        Err(format!("alias source `{src}` cannot be read: no context directory was given"))
    }
}

/// The outcome of pre-processing.
#[derive(Debug)]
pub struct Preprocessed {
    /// The raw text without the alias block, aliases substituted.
    pub text: String,
    /// Maps lines of `text` back to the raw file.
    pub map: SourceMap,
}

/// The top-level `alias:` block cut out of the raw text.
#[derive(Debug, PartialEq, Eq)]
pub struct AliasBlock {
    /// The block's lines, comment lines dropped, as text.
    pub text: String,
    /// For each line of `text`, its 1-based line in the raw file.
    pub lines: Vec<u32>,
    /// The raw text without the block, and its line origins.
    pub rest: String,
    /// For each line of `rest`, its 1-based line in the raw file.
    pub rest_lines: Vec<u32>,
}

/// Cuts the top-level `alias:` block out of `raw`: from the `alias:` line to the next line that
/// starts a top-level key. Whole-line comments inside the block are dropped, as ACR does.
pub fn extract_block(raw: &str) -> Option<AliasBlock> {
    let lines: Vec<&str> = raw.split('\n').collect();
    let start = lines.iter().position(|l| l.trim_end() == "alias:" || l.starts_with("alias:"))?;
    let mut end = start + 1;
    while end < lines.len() {
        let l = lines[end];
        let top_level = !l.is_empty() && !l.starts_with([' ', '\t', '#', '\r']);
        if top_level {
            break;
        }
        end += 1;
    }
    let mut text = String::new();
    let mut block_lines = Vec::new();
    for (i, l) in lines.iter().enumerate().take(end).skip(start) {
        if l.trim_start().starts_with('#') {
            continue;
        }
        text.push_str(l);
        text.push('\n');
        block_lines.push(i as u32 + 1);
    }
    // `split('\n')` yields a trailing "" after a final newline, so joining restores it exactly.
    let kept: Vec<(usize, &str)> =
        lines.iter().copied().enumerate().filter(|(i, _)| !(start..end).contains(i)).collect();
    let rest = kept.iter().map(|(_, l)| *l).collect::<Vec<_>>().join("\n");
    let rest_lines = kept.iter().map(|(i, _)| *i as u32 + 1).collect();
    Some(AliasBlock { text, lines: block_lines, rest, rest_lines })
}

/// Builds the alias table: predefined run aliases, then `src` files in order, then inline values.
/// `rendered_block` is the block after template rendering; `block_map` maps its lines to the raw file.
pub fn build_table(
    rendered_block: &str,
    block_map: &SourceMap,
    predefined: Vec<(&'static str, String)>,
    loader: &dyn AliasSourceLoader,
    diags: &mut Diagnostics,
) -> Option<(char, BTreeMap<String, String>)> {
    /// `AliasSpec` as ACR's runner reads it: its alias values are a `map[string]string`, where a
    /// null value (`k:`) is "".
    #[derive(serde::Deserialize, Default)]
    struct Block {
        directive: Option<String>,
        values: Option<BTreeMap<String, Option<String>>>,
        src: Option<Vec<String>>,
    }
    #[derive(serde::Deserialize)]
    struct Wrapper {
        alias: Option<Block>,
    }
    let wrapper: Wrapper = match serde_saphyr::from_str_with_options(rendered_block, yaml_options()) {
        Ok(w) => w,
        Err(e) => {
            let (msg, pos) = saphyr_message(&e);
            diags.push(
                Diagnostic::error("alias", format!("invalid alias block: {msg}"))
                    .at_opt(pos.map(|p| block_map.map(p)))
                    .help("the alias block takes `directive`, `values` (name: value) and `src` (a list of files)"),
            );
            return None;
        }
    };
    let spec = wrapper.alias.unwrap_or_default();
    let block_pos = block_map.map(Pos::new(1, 1));
    let directive = match spec.directive.as_deref() {
        // ACR keeps `$` unless a directive is given; an empty one is not given.
        None | Some("") => '$',
        Some(d) => {
            let mut chars = d.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_alphanumeric() && !c.is_whitespace() => c,
                _ => {
                    diags.push(
                        Diagnostic::error("alias", format!("invalid alias directive `{d}`"))
                            .at(block_pos)
                            .help("the directive is one character that is not a letter, digit or space, e.g. `#`"),
                    );
                    return None;
                }
            }
        }
    };
    let mut table: BTreeMap<String, String> = predefined.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    for src in spec.src.unwrap_or_default() {
        match loader.load(&src).and_then(|text| parse_source(&src, &text)) {
            Ok(entries) => {
                for (k, v) in entries {
                    if check_name(&k, block_pos, diags) {
                        table.insert(k, v);
                    }
                }
            }
            Err(msg) => diags.push(
                Diagnostic::error("alias", msg)
                    .at(block_pos)
                    .help("alias `src` entries are YAML files of `name: value` inside the build context"),
            ),
        }
    }
    for (k, v) in spec.values.unwrap_or_default() {
        if check_name(&k, block_pos, diags) {
            table.insert(k, v.unwrap_or_default());
        }
    }
    Some((directive, table))
}

fn check_name(name: &str, pos: Pos, diags: &mut Diagnostics) -> bool {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric());
    if !ok {
        diags.push(
            Diagnostic::error("alias", format!("invalid alias name `{name}`"))
                .at(pos)
                .help("alias names are letters and digits only"),
        );
    }
    ok
}

/// Parses an alias source file: a YAML map of names to scalar values.
fn parse_source(src: &str, text: &str) -> Result<Vec<(String, String)>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let map: BTreeMap<String, serde_json::Value> = serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|e| format!("alias source `{src}` is not a YAML map of name: value: {}", saphyr_message(&e).0))?;
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            serde_json::Value::Number(n) => Ok((k, n.to_string())),
            serde_json::Value::Bool(b) => Ok((k, b.to_string())),
            other => Err(format!("alias `{k}` in `{src}` must be a string, found {other}")),
        })
        .collect()
}

/// Replaces `<directive>name` with the alias value wherever `name` (the longest run of ASCII
/// letters and digits after the directive) is a known alias; a doubled directive is a literal one;
/// anything else is left as written (so a shell `$HOME` survives unless an alias `HOME` exists).
/// Returns the text and, for each output line, the input line (0-based) it came from.
pub fn substitute(text: &str, directive: char, table: &BTreeMap<String, String>) -> (String, Vec<u32>) {
    let (out, origins, _) = substitute_reporting(text, directive, table);
    (out, origins)
}

/// A `<directive>name` token left as written because `name` is not an alias.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownAlias {
    /// The name after the directive.
    pub name: String,
    /// 0-based line in the input.
    pub line: u32,
    /// 1-based column (characters) of the directive.
    pub col: u32,
}

/// [`substitute`], also reporting every token that named no alias.
pub fn substitute_reporting(
    text: &str,
    directive: char,
    table: &BTreeMap<String, String>,
) -> (String, Vec<u32>, Vec<UnknownAlias>) {
    let mut unknown = Vec::new();
    let mut line_start = 0usize;
    let mut out = String::with_capacity(text.len());
    let mut origins = vec![0u32];
    let mut line = 0u32;
    let mut chars = text.char_indices().peekable();
    let push = |out: &mut String, origins: &mut Vec<u32>, s: &str, line: u32| {
        for c in s.chars() {
            out.push(c);
            if c == '\n' {
                origins.push(line);
            }
        }
    };
    while let Some((i, c)) = chars.next() {
        if c == '\n' {
            line += 1;
            line_start = i + 1;
            out.push('\n');
            origins.push(line);
            continue;
        }
        if c != directive {
            out.push(c);
            continue;
        }
        if chars.peek().is_some_and(|(_, n)| *n == directive) {
            chars.next();
            out.push(directive);
            continue;
        }
        let start = i + c.len_utf8();
        let mut end = start;
        while let Some((j, n)) = chars.peek().copied() {
            if n.is_ascii_alphanumeric() {
                end = j + n.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let name = &text[start..end];
        match table.get(name) {
            Some(value) if !name.is_empty() => push(&mut out, &mut origins, value, line),
            _ => {
                out.push(directive);
                out.push_str(name);
                if !name.is_empty() {
                    let col = text[line_start..i].chars().count() as u32 + 1;
                    unknown.push(UnknownAlias { name: name.to_string(), line, col });
                }
            }
        }
    }
    if text.ends_with('\n') {
        origins.pop();
    }
    (out, origins, unknown)
}

/// Turns the per-line origins of `substitute` (0-based lines of `rest`) into a map to the raw file.
pub fn rest_map(origins: &[u32], rest_lines: &[u32], raw: &str, text: &str) -> SourceMap {
    let raw_origins = origins.iter().map(|o| rest_lines.get(*o as usize).copied().unwrap_or(1)).collect();
    SourceMap::new(raw_origins, raw, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn substitutes_known_names_and_escapes() {
        let t = table(&[("Registry", "r.io"), ("ID", "a1")]);
        let (out, _) = substitute("cmd: $Registry/x:$ID-amd64 $$ID $HOME $IDx\n", '$', &t);
        assert_eq!(out, "cmd: r.io/x:a1-amd64 $ID $HOME $IDx\n");
    }

    #[test]
    fn unicode_directive_chains() {
        let t = table(&[("i", "i"), ("d", "d"), ("0", "0")]);
        let (out, _) = substitute("- 🐳i🐳d: x\n  p: 8🐳0🐳0\n", '🐳', &t);
        assert_eq!(out, "- id: x\n  p: 800\n");
    }

    #[test]
    fn multi_line_values_keep_line_origins() {
        let t = table(&[("S", "id: a\n    cmd: b")]);
        let (out, origins) = substitute("steps:\n  - $S\nx: 1\n", '$', &t);
        assert_eq!(out, "steps:\n  - id: a\n    cmd: b\nx: 1\n");
        assert_eq!(origins, vec![0, 1, 1, 2]);
    }

    #[test]
    fn extracts_block_until_next_top_level_key() {
        let raw = "version: v1.1.0\nalias:\n  # note\n  values:\n    a: b\nsteps:\n  - cmd: $a\n";
        let b = extract_block(raw).unwrap();
        assert_eq!(b.text, "alias:\n  values:\n    a: b\n");
        assert_eq!(b.lines, vec![2, 4, 5]);
        assert_eq!(b.rest, "version: v1.1.0\nsteps:\n  - cmd: $a\n");
        assert_eq!(b.rest_lines, vec![1, 6, 7, 8]);
    }

    #[test]
    fn bad_directive_and_names_are_errors() {
        let mut d = Diagnostics::default();
        let block = "alias:\n  directive: ab\n";
        assert!(build_table(block, &SourceMap::identity(block), vec![], &NoAliasSources, &mut d).is_none());
        assert!(d.has_errors());
        let mut d = Diagnostics::default();
        let block = "alias:\n  values:\n    bad-name: x\n";
        build_table(block, &SourceMap::identity(block), vec![], &NoAliasSources, &mut d);
        assert!(d.0[0].message.contains("bad-name"));
    }

    #[test]
    fn inline_values_win_over_sources_and_predefined() {
        struct One;
        impl AliasSourceLoader for One {
            fn load(&self, _: &str) -> Result<String, String> {
                Ok("a: from-src\nb: src-only\n".into())
            }
        }
        let mut d = Diagnostics::default();
        let block = "alias:\n  src: [x.yaml]\n  values:\n    a: inline\n";
        let (dir, t) = build_table(block, &SourceMap::identity(block), vec![("ID", "1".into())], &One, &mut d).unwrap();
        assert_eq!(dir, '$');
        assert_eq!(t["a"], "inline");
        assert_eq!(t["b"], "src-only");
        assert_eq!(t["ID"], "1");
    }
}
