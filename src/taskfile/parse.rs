//! YAML parsing of the rendered text, with budgets against hostile input, and the mapping of
//! positions in the rendered text back to the file the user wrote.

use super::diag::{Diagnostic, Pos};
use super::model::TaskFileSpec;
use super::yaml::{self, YNode};
use serde_saphyr::options::AliasLimits;
use serde_saphyr::{Budget, Options};

/// YAML nesting deeper than this is refused in task files. Real task files nest 4–6 levels.
pub const MAX_YAML_DEPTH: usize = 32;

/// Nesting cap for values and alias files, parsed by serde-saphyr, whose recursion must stay within
/// a 2 MiB thread stack (Tokio workers, test threads) in debug builds.
const MAX_SERDE_YAML_DEPTH: usize = 32;

/// Parser options shared by task files, values files and alias files: budgets against YAML bombs
/// ("billion laughs") and deep nesting, and no snippet rendering (we render our own).
pub fn yaml_options() -> Options {
    let mut budget = Budget::default();
    budget.max_depth = MAX_SERDE_YAML_DEPTH;
    budget.flow_nesting_limit = MAX_SERDE_YAML_DEPTH;
    budget.max_aliases = 10_000;
    budget.max_anchors = 10_000;
    budget.max_events = 5_000_000;
    budget.max_nodes = 5_000_000;
    budget.max_documents = 1;
    let mut alias_limits = AliasLimits::default();
    // A task file that expands its anchors to more than this many events is an attack, not a task.
    alias_limits.max_total_replayed_events = 200_000;
    alias_limits.max_alias_expansions_per_anchor = 10_000;
    let mut opts = Options::default();
    opts.budget = Some(budget);
    opts.alias_limits = alias_limits;
    opts.with_snippet = false;
    opts
}

/// The message of a serde-saphyr error without its "line N column M:" prefix, and its position.
pub fn saphyr_message(e: &serde_saphyr::Error) -> (String, Option<Pos>) {
    let pos = e
        .location()
        .map(|l| Pos::new(u32::try_from(l.line()).unwrap_or(u32::MAX), u32::try_from(l.column()).unwrap_or(0)));
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "line 4 column 14: invalid i64" → "invalid i64"
    let msg = match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest,
        _ => first,
    };
    // Without snippets the location comes last: "invalid i64 at line 3, column 14".
    let msg = match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(", column ") => &msg[..i],
        _ => msg,
    };
    (humanize(msg), pos)
}

/// Rewords parser jargon (some of it aimed at Rust developers) into what a task-file author
/// understands.
fn humanize(msg: &str) -> String {
    let exact = [
        ("invalid i64", "expected a whole number"),
        ("invalid u64", "expected a whole number"),
        ("expected string scalar", "expected a string"),
        ("invalid bool", "expected true or false"),
    ];
    if let Some((_, to)) = exact.iter().find(|(from, _)| *from == msg) {
        return to.to_string();
    }
    if msg.starts_with("cannot deserialize null into string") {
        return "expected a string, found an empty value".into();
    }
    if let Some(rest) = msg.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(", set DuplicateKeyPolicy").next().unwrap_or(rest);
        return format!("duplicate key `{key}`");
    }
    msg.split("; use Option<").next().unwrap_or(msg).to_string()
}

/// Maps positions in rendered text to the original file, line by line.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    /// For each rendered line (0-based), the 1-based original line.
    pub origins: Vec<u32>,
    /// For each rendered line, how many leading characters it shares with its original line:
    /// columns up to there carry over (`u32::MAX` when the whole line came through unchanged).
    /// A template or `$alias` later in the line does not hide where an earlier error is.
    pub same_prefix: Vec<u32>,
}

impl SourceMap {
    /// The identity map of a text that was not transformed.
    pub fn identity(text: &str) -> Self {
        let n = text.lines().count().max(1);
        SourceMap { origins: (1..=n as u32).collect(), same_prefix: vec![u32::MAX; n] }
    }

    /// Builds the map from per-line origins and both texts.
    pub fn new(origins: Vec<u32>, original: &str, rendered: &str) -> Self {
        let orig: Vec<&str> = original.lines().collect();
        let same_prefix = rendered
            .lines()
            .enumerate()
            .map(|(i, line)| match origins.get(i).and_then(|o| orig.get((*o as usize).wrapping_sub(1))) {
                Some(o) if *o == line => u32::MAX,
                Some(o) => o.chars().zip(line.chars()).take_while(|(a, b)| a == b).count() as u32,
                None => 0,
            })
            .collect();
        SourceMap { origins, same_prefix }
    }

    /// Composes `self` (rendered → intermediate) with `earlier` (intermediate → original).
    pub fn then_through(&self, earlier: &SourceMap) -> SourceMap {
        let origins = self
            .origins
            .iter()
            .map(|l| earlier.origins.get((*l as usize).wrapping_sub(1)).copied().unwrap_or(*l))
            .collect();
        let same_prefix = self
            .origins
            .iter()
            .zip(&self.same_prefix)
            .map(|(l, same)| (*same).min(earlier.same_prefix.get((*l as usize).wrapping_sub(1)).copied().unwrap_or(0)))
            .collect();
        SourceMap { origins, same_prefix }
    }

    /// The original position of a rendered position. The column survives where the line is
    /// unchanged up to it; elsewhere only the line is reported.
    pub fn map(&self, pos: Pos) -> Pos {
        let i = (pos.line as usize).wrapping_sub(1);
        match self.origins.get(i) {
            Some(orig) => {
                let same = self.same_prefix.get(i).copied().unwrap_or(0);
                Pos::new(*orig, if pos.col >= 1 && pos.col <= same { pos.col } else { 0 })
            }
            None => pos,
        }
    }
}

/// The span tree of the rendered text, within the task file's budgets (nesting, and nodes and
/// bytes counting every alias expansion); a budget error has the code `limit`.
pub fn yaml_tree(rendered: &str, map: &SourceMap) -> Result<YNode, Diagnostic> {
    let limits = yaml::Limits { max_depth: MAX_YAML_DEPTH, ..yaml::Limits::default() };
    yaml::parse(rendered, &limits).map_err(|e| {
        let d = Diagnostic::error(if e.limit { "limit" } else { "yaml-syntax" }, e.message).at(map.map(e.pos));
        if e.limit {
            d.help("task files are untrusted input: nesting and alias expansion are capped; simplify the file")
        } else {
            d.help("check indentation and quoting; values containing `: ` or starting with `{`, `*` or `&` need quotes")
        }
    })
}

/// Parses the rendered text into the typed model and the span tree, in one YAML pass. Positions in
/// errors are already mapped to the original file.
pub fn parse_task_yaml(rendered: &str, map: &SourceMap) -> Result<(TaskFileSpec, YNode), Diagnostic> {
    let tree = yaml_tree(rendered, map)?;
    let spec: TaskFileSpec = yaml::de::from_node(&tree).map_err(|e| {
        let help = type_help(&e.message);
        Diagnostic::error("wrong-type", e.message).at_opt(e.pos.map(|p| map.map(p))).help(help)
    })?;
    Ok((spec, tree))
}

/// Advice for a value of the wrong type, from what was expected.
fn type_help(message: &str) -> &'static str {
    let expected = message.strip_prefix("expected ").unwrap_or(message);
    if expected.starts_with("a whole number") {
        "write a whole number without quotes, e.g. `timeout: 600`"
    } else if expected.starts_with("true or false") {
        "write `true` or `false`"
    } else if expected.starts_with("a list") {
        "write a list: `[a, b]`, or one `- item` per line"
    } else if expected.starts_with("a mapping") {
        "write `name: value` lines indented under the key"
    } else if expected.starts_with("a string") {
        "write a single value; quote it if it contains `: ` or starts with `[` or `{`"
    } else {
        "see task-schemas/acb.schema.json for the type of each property"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_survives_up_to_where_a_template_changed_the_line() {
        let original = "steps:\n  - push: [\"{{.Run.Registry}}/x\"]\n";
        let rendered = "steps:\n  - push: [\"/x\"]\n";
        let map = SourceMap::new(vec![1, 2], original, rendered);
        assert_eq!(map.map(Pos::new(2, 12)), Pos::new(2, 12), "the opening quote is where it was");
        assert_eq!(map.map(Pos::new(2, 14)), Pos::new(2, 0), "past the template, only the line");
        assert_eq!(map.map(Pos::new(1, 3)), Pos::new(1, 3), "an unchanged line keeps every column");
    }

    #[test]
    fn billion_laughs_is_refused_quickly() {
        let mut y = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            y.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        y.push_str("steps: []\n");
        let err = parse_task_yaml(&y, &SourceMap::identity(&y)).unwrap_err();
        assert_eq!(err.code, "limit", "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let flow = format!("steps: {}{}\n", "[".repeat(5000), "]".repeat(5000));
        let err = parse_task_yaml(&flow, &SourceMap::identity(&flow)).unwrap_err();
        assert_eq!(err.code, "limit", "{err}");
        let mut block = String::from("steps:\n");
        for depth in 1..300 {
            block.push_str(&format!("{}- \n", "  ".repeat(depth)));
        }
        let err = parse_task_yaml(&block, &SourceMap::identity(&block)).unwrap_err();
        assert!(err.is_error());
    }

    #[test]
    fn wrong_type_is_located() {
        let y = "steps:\n  - cmd: busybox\n    retries: abc\n";
        let err = parse_task_yaml(y, &SourceMap::identity(y)).unwrap_err();
        assert_eq!(err.pos, Some(Pos::new(3, 14)));
        assert_eq!(err.message, "expected a whole number, found `abc`");
    }

    #[test]
    fn source_map_composes_and_drops_columns_of_changed_lines() {
        let original = "a: {{.X}}\nb: 1\n";
        let rendered = "a: 1\nb: 1\n";
        let m = SourceMap::new(vec![1, 2], original, rendered);
        assert_eq!(m.map(Pos::new(1, 4)), Pos::new(1, 0));
        assert_eq!(m.map(Pos::new(2, 4)), Pos::new(2, 4));
    }
}
