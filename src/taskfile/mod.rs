//! The task-file language, exactly as ACR Tasks processes it: pure and synchronous.
//!
//! Order (ACR's `acb exec`): find the version on the raw text → (v1.1.0) cut out, render and apply the
//! alias block → render the Go template (a first pass with empty `.Secrets` to learn which secrets the
//! file declares, then a second pass with their values) → parse YAML → validate and apply defaults →
//! build the plan → expand image aliases in `cmd`. Every error points at the file the user wrote.

pub mod alias;
pub mod diag;
pub mod image_alias;
pub mod model;
pub mod parse;
pub mod plan;
pub mod runvars;
pub mod synth;
pub mod task;
pub mod template;
pub mod validate;
mod validate_step;
pub mod values;
pub mod version;
pub mod yaml;

#[cfg(test)]
mod conformance_tests;

pub use diag::{Diagnostic, Diagnostics, Pos, Severity};
pub use image_alias::ImageAliases;
pub use plan::{Plan, PlanStep};
pub use runvars::RunVars;
pub use task::{Step, StepKind, TaskFile, When};

use alias::AliasSourceLoader;
use chrono::{DateTime, Utc};
use parse::SourceMap;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Task files larger than this are refused before anything else happens.
pub const DEFAULT_MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// Knobs of the pipeline.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Report every template key that renders empty because it is missing, as a warning.
    pub strict: bool,
    /// Unknown properties are warnings instead of errors (ACR ignores them silently).
    pub allow_unknown_properties: bool,
    /// Image aliases for `cmd` in v1.1.0 files.
    pub image_aliases: ImageAliases,
    /// Size cap of the task file.
    pub max_file_bytes: usize,
    /// Caps of the template engine.
    pub template_limits: template::Limits,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            strict: false,
            allow_unknown_properties: false,
            image_aliases: ImageAliases::default(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            // Aliases can grow the text before rendering, so the template gets more room than the file.
            template_limits: template::Limits {
                max_source_bytes: 4 * DEFAULT_MAX_FILE_BYTES,
                max_output_bytes: 4 * DEFAULT_MAX_FILE_BYTES,
                ..template::Limits::default()
            },
        }
    }
}

/// Everything the pipeline reads. Nothing here touches the network, Docker or the clock.
pub struct LoadRequest<'a> {
    /// The file name used in diagnostics.
    pub file_name: &'a str,
    /// The raw task file.
    pub source: &'a str,
    /// `.Values`: values files merged with `--set`.
    pub values: Value,
    /// Secret values by id, for the file's `secrets:` declarations.
    pub secrets: BTreeMap<String, String>,
    /// `.Run`.
    pub run: RunVars,
    /// What `now` returns in templates.
    pub now: DateTime<Utc>,
    /// Reads alias `src` entries.
    pub alias_loader: &'a dyn AliasSourceLoader,
    /// Knobs.
    pub options: LoadOptions,
}

/// The rendered text of a task file with its map back to the original.
#[derive(Debug)]
pub struct Rendered {
    /// The YAML after aliases and templates.
    pub text: String,
    /// Rendered line → original line.
    pub map: SourceMap,
    /// The secret values the render used, so that callers can mask them.
    pub secret_values: Vec<String>,
    /// Warnings so far.
    pub warnings: Diagnostics,
}

/// A task file that passed every stage.
#[derive(Debug)]
pub struct Loaded {
    /// The validated task.
    pub task: TaskFile,
    /// Its dependency graph.
    pub plan: Plan,
    /// The rendered YAML.
    pub rendered: String,
    /// The secret values the render used.
    pub secret_values: Vec<String>,
    /// Warnings from every stage.
    pub warnings: Diagnostics,
}

/// Runs the whole pipeline: render, parse, validate, plan.
pub fn load(req: &LoadRequest<'_>) -> Result<Loaded, Diagnostics> {
    let rendered = render(req)?;
    let mut diags = rendered.warnings;
    let finish = |mut d: Diagnostics| {
        d.attach_source(req.file_name, req.source);
        d.sort();
        d
    };
    // A file with nothing but comments renders to nothing, which ACR runs as a task with no steps.
    let yaml_text = if rendered.text.is_empty() { "{}" } else { rendered.text.as_str() };
    let (spec, tree) = match parse::parse_task_yaml(yaml_text, &rendered.map) {
        Ok(x) => x,
        Err(d) => {
            diags.push(d);
            return Err(finish(diags));
        }
    };
    let cx = validate::ValidateContext {
        map: &rendered.map,
        image_aliases: &req.options.image_aliases,
        allow_unknown_properties: req.options.allow_unknown_properties,
        empty_file: rendered.text.is_empty(),
    };
    let Some(task) = validate::validate(spec, &tree, &cx, &mut diags) else {
        return Err(finish(diags));
    };
    let plan = Plan::build(&task);
    for w in plan.lint(&task) {
        diags.push(w);
    }
    Ok(Loaded { task, plan, rendered: rendered.text, secret_values: rendered.secret_values, warnings: finish(diags) })
}

/// Renders a task file: aliases, then the template (two passes when it declares secrets).
pub fn render(req: &LoadRequest<'_>) -> Result<Rendered, Diagnostics> {
    let mut diags = Diagnostics::default();
    let fail = |mut d: Diagnostics| {
        d.attach_source(req.file_name, req.source);
        Err(d)
    };
    if req.source.len() > req.options.max_file_bytes {
        diags.push(
            Diagnostic::error(
                "limit",
                format!("the task file is {} bytes; the limit is {}", req.source.len(), req.options.max_file_bytes),
            )
            .help("split the task, or raise the limit if the file is trusted"),
        );
        return fail(diags);
    }
    // A byte-order mark stays: ACR's runner keeps it, and then does not see `version:` on the
    // first line (so a v1.1.0 file with a mark gets no alias pass).
    let raw = req.source;

    // 0. ACR's runner drops every line whose first non-blank character is `#` before anything
    // else, even inside a block scalar, so template actions on such lines never run. A file with
    // nothing else is a task with no steps.
    let (stripped, strip_map) = strip_comment_lines(raw);
    if stripped.is_empty() {
        return Ok(Rendered { text: String::new(), map: strip_map, secret_values: Vec::new(), warnings: diags });
    }
    let source = stripped.as_str();

    // 1. Aliases, on the raw text, only for v1.1.0 files.
    let has_aliases = version::acr_alias_pass(source);
    let (text, alias_map) = if has_aliases {
        match apply_aliases(req, source, &strip_map, &mut diags) {
            Some(x) => x,
            None => return fail(diags),
        }
    } else {
        (source.to_string(), strip_map)
    };

    // 2. Template, first pass with empty secrets.
    let empty = Map::new();
    let first = match render_template(req, &text, &alias_map, &empty, &mut diags) {
        Some(r) => r,
        None => return fail(diags),
    };
    let declared = declared_secrets(&first.text);
    if declared.is_empty() {
        if diags.has_errors() {
            return fail(diags);
        }
        return Ok(Rendered { text: first.text, map: first.map, secret_values: Vec::new(), warnings: diags });
    }

    // 3. Second pass with the declared secrets resolved.
    let mut secrets = Map::new();
    let mut secret_values = Vec::new();
    for (id, pos) in declared {
        match req.secrets.get(&id) {
            Some(v) => {
                secret_values.push(v.clone());
                secrets.insert(id, Value::String(v.clone()));
            }
            None => diags.push(
                Diagnostic::error("missing-secret", format!("secret `{id}` has no value"))
                    .at_opt(pos.map(|p| first.map.map(p)))
                    .help(format!("give it with `--secret {id}=VALUE` (or store it on the task with set-secret)")),
            ),
        }
    }
    if diags.has_errors() {
        return fail(diags);
    }
    let mut pass2_diags = Diagnostics::default();
    let second = match render_template(req, &text, &alias_map, &secrets, &mut pass2_diags) {
        Some(r) => r,
        None => {
            diags.extend(pass2_diags);
            return fail(diags);
        }
    };
    // Warnings of pass 2 repeat those of pass 1 except for keys that secrets now fill.
    diags.0.retain(|d| d.code != "missing-key");
    diags.extend(pass2_diags);
    Ok(Rendered { text: second.text, map: second.map, secret_values, warnings: diags })
}

struct TemplateOutput {
    text: String,
    map: SourceMap,
}

fn render_template(
    req: &LoadRequest<'_>,
    text: &str,
    alias_map: &SourceMap,
    secrets: &Map<String, Value>,
    diags: &mut Diagnostics,
) -> Option<TemplateOutput> {
    let context = match runvars::template_context(&req.run, &req.values, secrets) {
        Ok(c) => c,
        Err(why) => {
            diags.push(Diagnostic::error("values", why).help("quote the value in the values file to keep it a string"));
            return None;
        }
    };
    let opts = template::Options {
        limits: req.options.template_limits.clone(),
        now: req.now,
        strict: req.options.strict,
        acr_data: true,
    };
    match template::render(req.file_name, text, &context, &opts) {
        Ok(out) => {
            let map = SourceMap::new(out.line_origins, text, &out.text).then_through(alias_map);
            if req.options.strict {
                for m in &out.missing_keys {
                    diags.push(
                        Diagnostic::warning("missing-key", format!("`{}` is not defined and renders empty", m.path))
                            .at(alias_map.map(Pos::new(m.line, m.col)))
                            .help("set it in the values file or with --set, or give a default: `| default \"x\"`"),
                    );
                }
            }
            // Only a render of no bytes at all: ACR accepts whitespace, and an empty file never
            // gets here (it is a task with no steps).
            if out.text.is_empty() {
                diags.push(
                    Diagnostic::error("empty-render", "the task file rendered to nothing")
                        .help("check the template conditions; ACR rejects a template that renders to nothing"),
                );
                return None;
            }
            Some(TemplateOutput { text: out.text, map })
        }
        Err(e) => {
            let help = match e.kind {
                template::ErrorKind::Required => "set the value with --set or in the values file",
                template::ErrorKind::Limit => {
                    "task files are untrusted input, so rendering caps size, loops and recursion; simplify the template"
                }
                _ => "task files are Go templates: check the `{{ }}` action at this position",
            };
            diags.push(
                Diagnostic::error("template", e.message.clone()).at(alias_map.map(Pos::new(e.line, e.col))).help(help),
            );
            None
        }
    }
}

/// ACR's `NewTemplate`: the text without the lines whose first non-blank character is `#`, and
/// the map from its lines back to the file's.
fn strip_comment_lines(raw: &str) -> (String, SourceMap) {
    let mut kept = Vec::new();
    let mut origins = Vec::new();
    for (i, line) in raw.split('\n').enumerate() {
        if !line.trim_start().starts_with('#') {
            kept.push(line);
            origins.push(i as u32 + 1);
        }
    }
    let text = kept.join("\n");
    let map = SourceMap::new(origins, raw, &text);
    (text, map)
}

/// How ACR's runner hands a v1.1.0 file to the template engine: line by line, each line ending in
/// `\n` (a missing final newline is added) and without a trailing `\r`.
fn scan_lines(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(text.len() + 1);
    let body = text.strip_suffix('\n').unwrap_or(text);
    for line in body.split('\n') {
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    out
}

fn apply_aliases(
    req: &LoadRequest<'_>,
    source: &str,
    strip_map: &SourceMap,
    diags: &mut Diagnostics,
) -> Option<(String, SourceMap)> {
    let (rest, rest_lines, directive, table) = match alias::extract_block(source) {
        // No block: the predefined aliases still apply.
        None => {
            let table = req.run.predefined_aliases().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            (source.to_string(), (1..=source.split('\n').count() as u32).collect::<Vec<_>>(), '$', table)
        }
        Some(block) => {
            let block_map = SourceMap::new(block.lines.clone(), source, &block.text).then_through(strip_map);
            let rendered_block = render_template(req, &block.text, &block_map, &Map::new(), diags)?;
            let (directive, table) = alias::build_table(
                &rendered_block.text,
                &rendered_block.map,
                req.run.predefined_aliases(),
                req.alias_loader,
                diags,
            )?;
            if diags.has_errors() {
                return None;
            }
            (block.rest, block.rest_lines, directive, table)
        }
    };
    let rest = scan_lines(&rest);
    let (text, origins, unknown) = alias::substitute_reporting(&rest, directive, &table);
    let rest_lines: Vec<u32> = rest_lines.iter().map(|l| strip_map.map(Pos::new(*l, 1)).line).collect();
    warn_unknown_aliases(&unknown, &rest_lines, directive, &table, diags);
    let map = alias::rest_map(&origins, &rest_lines, req.source, &text);
    Some((text, map))
}

/// ACR leaves `$name` as written when `name` is not an alias (so a shell's `$HOME` survives); a
/// token one typo away from a real alias is almost certainly a mistake, so it gets a warning.
fn warn_unknown_aliases(
    unknown: &[alias::UnknownAlias],
    rest_lines: &[u32],
    directive: char,
    table: &BTreeMap<String, String>,
    diags: &mut Diagnostics,
) {
    for u in unknown {
        let Some(suggestion) = diag::did_you_mean(&u.name, table.keys().map(String::as_str)) else { continue };
        let line = rest_lines.get(u.line as usize).copied().unwrap_or(1);
        diags.push(
            Diagnostic::warning(
                "undefined-alias",
                format!("`{directive}{}` is not a defined alias and is left as written", u.name),
            )
            .at(Pos::new(line, u.col))
            .help(format!(
                "did you mean `{directive}{suggestion}`? (write `{directive}{directive}` for a literal `{directive}`)"
            )),
        );
    }
}

/// Ids and positions of the `secrets:` entries of a first-pass render. A file that does not parse
/// yet declares nothing here; the real parse reports its errors later.
fn declared_secrets(text: &str) -> Vec<(String, Option<Pos>)> {
    if !text.contains("secrets") {
        return Vec::new();
    }
    let Ok(tree) = yaml::parse(text, &yaml::Limits::default()) else { return Vec::new() };
    tree.get("secrets")
        .map(yaml::YNode::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|item| {
            let id = item.get("id")?;
            match &id.kind {
                yaml::YKind::Scalar(s) if !s.is_null() => Some((s.text.clone(), Some(id.pos))),
                _ => None,
            }
        })
        .collect()
}
