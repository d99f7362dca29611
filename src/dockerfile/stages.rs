//! The semantic pass over lexed instructions: global ARGs, stages, stage references,
//! `--target`, and the images used by `COPY --from` and `RUN --mount=from=`.

use std::collections::HashMap;

use super::expand::expand;
use super::lexer::{Instruction, Lexed};
use super::words::split_raw;
use super::{Dependencies, ScanError, ScanOptions, Stage, StageBase};
use crate::reference::ImageRef;

/// ARGs in scope: name → value, `None` when declared without one.
type Vars = HashMap<String, Option<String>>;

/// ARGs BuildKit defines by itself; usable in FROM only when the caller supplies them.
const PLATFORM_ARGS: &[&str] = &[
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

/// Builds the dependency record from the instructions.
pub(super) fn analyse(lexed: &Lexed, opts: &ScanOptions) -> Result<Dependencies, ScanError> {
    let escape = lexed.escape;
    let instructions = &lexed.instructions;
    let first_from = instructions.iter().position(|i| i.keyword == "FROM").ok_or(ScanError::NoFrom)?;
    let globals = global_args(&instructions[..first_from], opts, escape);
    let groups = stage_groups(&instructions[first_from..]);
    let froms: Vec<FromParts> = groups.iter().map(|g| FromParts::parse(&g[0], escape)).collect();
    let last = match &opts.target {
        None => groups.len() - 1,
        Some(target) => froms
            .iter()
            .position(|f| f.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(target)))
            .ok_or_else(|| ScanError::UnknownTarget {
                target: target.clone(),
                available: froms.iter().filter_map(|f| f.name.clone()).collect(),
            })?,
    };

    let lookup_global = |name: &str| {
        globals
            .get(name)
            .cloned()
            .flatten()
            .or_else(|| PLATFORM_ARGS.contains(&name).then(|| opts.build_args.get(name).cloned()).flatten())
    };
    let mut stages: Vec<Stage> = Vec::new();
    let mut used: Vec<Vec<ImageRef>> = Vec::new();
    for (group, from) in groups.iter().zip(froms).take(last + 1) {
        let line = group[0].line;
        let base = resolve_base(&from, line, &stages, escape, &lookup_global)?;
        stages.push(Stage { name: from.name, base, line, platform: from.platform });
        used.push(images_used_in_stage(&group[1..], &stages, &globals, opts, escape));
    }

    let runtime = runtime_of(&stages, last);
    let mut buildtime: Vec<ImageRef> = Vec::new();
    for (stage, extra) in stages.iter().zip(&used) {
        let base = match &stage.base {
            StageBase::Image(r) => Some(r),
            _ => None,
        };
        for image in base.into_iter().chain(extra) {
            if runtime.as_ref() != Some(image) && !buildtime.contains(image) {
                buildtime.push(image.clone());
            }
        }
    }
    Ok(Dependencies { runtime, buildtime, stages })
}

/// ARGs before the first FROM. Build args override defaults; a later declaration
/// replaces an earlier one (Docker's behaviour, verified with the classic builder; ACR's
/// scanner keeps the first instead); defaults may use earlier ARGs.
fn global_args(before_from: &[Instruction], opts: &ScanOptions, escape: char) -> Vars {
    let mut vars = Vars::new();
    for instr in before_from.iter().filter(|i| i.keyword == "ARG") {
        declare_args(&instr.args, &mut vars, None, opts, escape);
    }
    vars
}

/// Declares every `NAME[=default]` of one ARG instruction into `vars`. Inside a stage,
/// `outer` holds the global ARGs, whose values a bare `ARG NAME` inherits.
fn declare_args(args: &str, vars: &mut Vars, outer: Option<&Vars>, opts: &ScanOptions, escape: char) {
    for word in split_raw(args, escape) {
        let (name, default) = match word.split_once('=') {
            Some((n, d)) => (n.to_string(), Some(d.to_string())),
            None => (word.clone(), None),
        };
        if name.is_empty() {
            continue;
        }
        let default = default.map(|d| {
            let scope = &*vars;
            expand(&d, escape, &|n| scope.get(n).cloned().flatten()).value
        });
        let inherited = || outer.and_then(|o| o.get(&name).cloned().flatten());
        let value = opts.build_args.get(&name).cloned().or(default).or_else(inherited);
        vars.insert(name, value);
    }
}

/// Splits instructions (starting with a FROM) into one slice per stage.
fn stage_groups(from_first: &[Instruction]) -> Vec<&[Instruction]> {
    let mut groups = Vec::new();
    let mut start = 0;
    for (i, instr) in from_first.iter().enumerate().skip(1) {
        if instr.keyword == "FROM" {
            groups.push(&from_first[start..i]);
            start = i;
        }
    }
    groups.push(&from_first[start..]);
    groups
}

/// The words of a FROM: `[--platform=…] [other flags] image [AS name]`.
struct FromParts {
    platform: Option<String>,
    image: Option<String>,
    name: Option<String>,
}

impl FromParts {
    fn parse(instr: &Instruction, escape: char) -> FromParts {
        let mut platform = None;
        let mut rest = Vec::new();
        let mut words = split_raw(&instr.args, escape).into_iter();
        while let Some(word) = words.next() {
            if !rest.is_empty() || !word.starts_with("--") {
                rest.push(word);
                continue;
            }
            let (flag, value) = match word[2..].split_once('=') {
                Some((f, v)) => (f.to_string(), Some(v.to_string())),
                None => (word[2..].to_string(), None),
            };
            if flag.eq_ignore_ascii_case("platform") {
                // Docker requires `--platform=value`; accept a separate word too.
                platform = value.or_else(|| words.next());
            }
        }
        let name = match rest.as_slice() {
            [_, as_kw, name, ..] if as_kw.eq_ignore_ascii_case("as") => Some(name.to_lowercase()),
            _ => None,
        };
        FromParts { platform, image: rest.into_iter().next(), name }
    }
}

/// Turns a FROM's image word into scratch, a reference to an earlier stage, or an image.
fn resolve_base(
    from: &FromParts,
    line: u32,
    earlier: &[Stage],
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<StageBase, ScanError> {
    let raw = from.image.clone().unwrap_or_default();
    let expanded = expand(&raw, escape, lookup);
    let value = expanded.value.trim().to_string();
    if value.is_empty() {
        return Err(ScanError::EmptyImage { line, text: raw, missing: expanded.missing });
    }
    if value.eq_ignore_ascii_case("scratch") {
        return Ok(StageBase::Scratch);
    }
    if let Some(index) = find_stage(earlier, &value) {
        return Ok(StageBase::Stage(index));
    }
    ImageRef::parse(&value).map(StageBase::Image).map_err(|source| ScanError::InvalidImage {
        line,
        text: value,
        missing: expanded.missing,
        source,
    })
}

/// Latest stage named `name` (stage names are case-insensitive).
fn find_stage(stages: &[Stage], name: &str) -> Option<usize> {
    stages.iter().rposition(|s| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

/// Images named by `COPY --from=` and `RUN --mount=…,from=…` in one stage's instructions
/// (`stages` ends with the stage itself). Values that name a stage or a stage index are
/// not images; values that are not valid references are ignored.
fn images_used_in_stage(
    body: &[Instruction],
    stages: &[Stage],
    globals: &Vars,
    opts: &ScanOptions,
    escape: char,
) -> Vec<ImageRef> {
    let mut vars = Vars::new();
    let mut images = Vec::new();
    for instr in body {
        let sources: Vec<String> = match instr.keyword.as_str() {
            "ARG" => {
                declare_args(&instr.args, &mut vars, Some(globals), opts, escape);
                continue;
            }
            "COPY" => leading_flags(&instr.args, escape)
                .filter_map(|(flag, value)| (flag == "from").then_some(value))
                .collect(),
            "RUN" => leading_flags(&instr.args, escape)
                .filter(|(flag, _)| flag == "mount")
                .filter_map(|(_, value)| mount_from(&value))
                .collect(),
            _ => continue,
        };
        for source in sources {
            let value = expand(&source, escape, &|n| vars.get(n).cloned().flatten()).value;
            let is_stage = value.is_empty() || value.parse::<usize>().is_ok() || find_stage(stages, &value).is_some();
            if !is_stage && let Ok(image) = ImageRef::parse(&value) {
                images.push(image);
            }
        }
    }
    images
}

/// `--name=value` words at the start of an instruction's arguments.
fn leading_flags(args: &str, escape: char) -> impl Iterator<Item = (String, String)> {
    split_raw(args, escape)
        .into_iter()
        .map_while(|w| w.strip_prefix("--").map(str::to_string))
        .filter_map(|w| w.split_once('=').map(|(f, v)| (f.to_string(), v.to_string())))
}

/// The `from=` field of a `--mount` value (comma-separated `key=value` fields).
fn mount_from(spec: &str) -> Option<String> {
    spec.split(',')
        .map(|field| field.trim().trim_matches('"'))
        .filter_map(|field| field.split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("from"))
        .map(|(_, v)| v.to_string())
}

/// Follows stage references from stage `index` back to an image (`None` for scratch).
fn runtime_of(stages: &[Stage], index: usize) -> Option<ImageRef> {
    let mut current = index;
    // Each reference points to an earlier stage, so this ends; the bound is a safety net.
    for _ in 0..=stages.len() {
        match &stages.get(current)?.base {
            StageBase::Image(image) => return Some(image.clone()),
            StageBase::Scratch => return None,
            StageBase::Stage(earlier) => current = *earlier,
        }
    }
    None
}
