//! Command-line arguments shared by every verb that renders a task file, and the loading they drive.

use super::CliError;
use crate::context::alias_sources::ContextAliasSources;
use crate::taskfile::{self, ImageAliases, LoadOptions, LoadRequest, RunVars, values};
use clap::Args;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the task file comes from and what it is rendered with.
#[derive(Args, Debug, Clone, Default)]
pub struct TaskFileArgs {
    /// Task file, relative to CONTEXT (falling back to the current directory); `-` reads stdin.
    #[arg(short = 'f', long = "file", default_value = "acb.yaml")]
    pub file: String,
    /// Values file (YAML) for `.Values`; repeatable, later files win.
    #[arg(long = "values", value_name = "FILE")]
    pub values: Vec<String>,
    /// Set a value: `name=value`, `a.b=value` for nested keys, `name=null` to delete.
    #[arg(long = "set", value_name = "K=V")]
    pub set: Vec<String>,
    /// Like --set, but the value is a secret: masked in all output.
    #[arg(long = "set-secret", value_name = "K=V")]
    pub set_secret: Vec<String>,
    /// Value of a secret the file declares under `secrets:` (`.Secrets.<id>`).
    #[arg(long = "secret", value_name = "ID=VALUE")]
    pub secret: Vec<String>,
    /// Warn about every template key that renders empty because it is not defined.
    #[arg(long)]
    pub strict: bool,
    /// Treat unknown properties as warnings, as ACR does silently, instead of errors.
    #[arg(long)]
    pub allow_unknown_properties: bool,
    /// Image alias for `cmd` in v1.1.0 files, `name=image`; overrides ACR's defaults.
    #[arg(long = "image-alias", value_name = "NAME=IMAGE")]
    pub image_alias: Vec<String>,
    /// Allow alias `src` entries that are http(s) URLs, fetched with this timeout in seconds.
    #[arg(long = "alias-http", value_name = "SECONDS", num_args = 0..=1, default_missing_value = "2")]
    pub alias_http: Option<u64>,
    /// Build context directory; the default task file is `acb.yaml` in it.
    #[arg(value_name = "CONTEXT", default_value = ".")]
    pub context: PathBuf,
}

/// Run variables that verbs which render accept.
#[derive(Args, Debug, Clone, Default)]
pub struct RunVarArgs {
    /// Registry login server for `$Registry` / `{{.Run.Registry}}`.
    #[arg(long, env = "DRYDOCK_REGISTRY")]
    pub registry: Option<String>,
    /// Run id for `$ID` / `{{.Run.ID}}` (default: a new one).
    #[arg(long = "run-id")]
    pub run_id: Option<String>,
    /// Commit for `$Commit` (default: HEAD of CONTEXT when it is a git repository).
    #[arg(long)]
    pub commit: Option<String>,
    /// Branch for `$Branch` (default: the checked-out branch of CONTEXT).
    #[arg(long)]
    pub branch: Option<String>,
    /// Task name for `{{.Run.TaskName}}`.
    #[arg(long = "task-name")]
    pub task_name: Option<String>,
}

/// A task file read from disk or stdin, with what it needs to render.
pub struct TaskInput {
    /// The name used in diagnostics.
    pub file_name: String,
    /// The raw text.
    pub source: String,
    /// Merged values.
    pub values: Value,
    /// Secret values by id.
    pub secrets: BTreeMap<String, String>,
    /// Values given with --set-secret, to mask.
    pub secret_values: Vec<String>,
    /// Run variables.
    pub run: RunVars,
    /// Pipeline options.
    pub options: LoadOptions,
    /// Alias source loader.
    pub aliases: ContextAliasSources,
}

impl TaskInput {
    /// The pipeline request.
    pub fn request(&self, now: chrono::DateTime<chrono::Utc>) -> LoadRequest<'_> {
        LoadRequest {
            file_name: &self.file_name,
            source: &self.source,
            values: self.values.clone(),
            secrets: self.secrets.clone(),
            run: self.run.clone(),
            now,
            alias_loader: &self.aliases,
            options: self.options.clone(),
        }
    }
}

/// Resolves `path` as ACR does (relative to the context), falling back to the current directory.
pub fn resolve_in_context(context: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let in_context = context.join(p);
    if in_context.exists() || !p.exists() { in_context } else { p.to_path_buf() }
}

fn read_text(path: &Path, what: &str) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError::Invalid(format!("cannot read {what} {}: {e}", path.display())))
}

fn parse_pairs(args: &[String], flag: &str) -> Result<Vec<(String, String)>, CliError> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| CliError::Invalid(format!("`{flag} {a}` is not NAME=VALUE")))
        })
        .collect()
}

/// Reads the task file, values and flags into a [`TaskInput`].
/// The task file's text when it is a file (not stdin) that can be read; for hints only.
pub fn peek_source(args: &TaskFileArgs) -> Option<String> {
    (args.file != "-").then(|| std::fs::read_to_string(resolve_in_context(&args.context, &args.file)).ok()).flatten()
}

pub fn load_input(args: &TaskFileArgs, vars: &RunVarArgs, default_run_id: &str) -> Result<TaskInput, CliError> {
    let (file_name, source) = if args.file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::Invalid(format!("cannot read the task file from stdin: {e}")))?;
        ("<stdin>".to_string(), s)
    } else {
        let path = resolve_in_context(&args.context, &args.file);
        if !path.exists() {
            return Err(CliError::Invalid(format!(
                "task file {} not found; give one with -f, or put acb.yaml in the context",
                path.display()
            )));
        }
        (path.display().to_string(), read_text(&path, "task file")?)
    };

    let mut files = Vec::new();
    for vf in &args.values {
        let path = resolve_in_context(&args.context, vf);
        files.push((path.display().to_string(), read_text(&path, "values file")?));
    }
    let sets: Vec<String> = args.set.iter().chain(&args.set_secret).cloned().collect();
    let (merged, warnings) = values::merge(&files, &sets).map_err(|e| match e {
        values::ValuesError::File(d) => CliError::Diagnostics(taskfile::Diagnostics(vec![d])),
        values::ValuesError::Set(m) => CliError::Invalid(m),
    })?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let secret_values: Vec<String> =
        parse_pairs(&args.set_secret, "--set-secret")?.into_iter().map(|(_, v)| v).collect();
    let secrets: BTreeMap<String, String> = parse_pairs(&args.secret, "--secret")?.into_iter().collect();

    let image_aliases = ImageAliases::default()
        .with_overrides(args.image_alias.iter().map(String::as_str))
        .map_err(CliError::Invalid)?;
    let options = LoadOptions {
        strict: args.strict,
        allow_unknown_properties: args.allow_unknown_properties,
        image_aliases,
        ..LoadOptions::default()
    };
    let context_dir = args.context.is_dir().then_some(args.context.as_path());
    let aliases = ContextAliasSources::new(context_dir, args.alias_http.map(Duration::from_secs));
    let run = run_vars(vars, context_dir, default_run_id);
    Ok(TaskInput { file_name, source, values: merged, secrets, secret_values, run, options, aliases })
}

/// Run variables from flags, with commit and branch from the context's git HEAD by default.
pub fn run_vars(vars: &RunVarArgs, context: Option<&Path>, default_run_id: &str) -> RunVars {
    let head = context.and_then(crate::context::git_head::git_head);
    let (os, architecture) = taskfile::runvars::host_platform();
    let id = vars.run_id.clone().unwrap_or_else(|| default_run_id.to_string());
    RunVars {
        shared_volume: format!("drydock_ws_{id}"),
        id,
        registry: vars.registry.clone().unwrap_or_default(),
        date: Some(chrono::Utc::now()),
        os,
        architecture,
        commit: vars.commit.clone().or_else(|| head.as_ref().map(|h| h.0.clone())).unwrap_or_default(),
        branch: vars.branch.clone().or_else(|| head.and_then(|h| h.1)).unwrap_or_default(),
        task_name: vars.task_name.clone().unwrap_or_default(),
        ..RunVars::default()
    }
}
