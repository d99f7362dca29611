//! `drydock validate`, `drydock render` and `drydock plan`: the task-file pipeline without running.

use super::taskfile_args::{RunVarArgs, TaskFileArgs, load_input};
use super::{CliError, print_diagnostics};
use crate::runid;
use clap::{Args, ValueEnum};
use serde_json::json;

/// Arguments of `drydock validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub file: TaskFileArgs,
    #[command(flatten)]
    pub vars: RunVarArgs,
    /// `text` for people, `json` for editors and scripts.
    #[arg(long, short = 'o', value_enum, default_value_t = ReportFormat::Text)]
    pub output: ReportFormat,
}

/// Output of `validate`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReportFormat {
    /// Human-readable.
    Text,
    /// `{"valid", "steps", "diagnostics":[…]}`.
    Json,
}

/// Arguments of `drydock render`.
#[derive(Args, Debug)]
pub struct RenderArgs {
    #[command(flatten)]
    pub file: TaskFileArgs,
    #[command(flatten)]
    pub vars: RunVarArgs,
}

/// Arguments of `drydock plan`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub file: TaskFileArgs,
    #[command(flatten)]
    pub vars: RunVarArgs,
    /// Output form.
    #[arg(long, short = 'o', value_enum, default_value_t = PlanFormat::Text)]
    pub output: PlanFormat,
}

/// Output forms of `plan`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PlanFormat {
    /// Steps grouped in waves.
    Text,
    /// `{"steps":[{"id","kind","depends_on"}]}`.
    Json,
    /// Graphviz.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
}

/// Where `$Registry` is checked when no registry is given: a name that can never resolve.
const PLACEHOLDER_REGISTRY: &str = "registry.invalid";

/// `validate` and `plan` check a file, not a run: without `--registry`, a file that names
/// `$Registry` is checked with a placeholder (and says so) rather than failing on `/app:1`.
fn checking_vars(vars: &RunVarArgs, file: &TaskFileArgs) -> RunVarArgs {
    let mut vars = vars.clone();
    if vars.registry.is_none() {
        vars.registry = Some(PLACEHOLDER_REGISTRY.to_string());
        let named = super::taskfile_args::peek_source(file).is_some_and(|s| s.contains("Registry"));
        if named {
            eprintln!(
                "note: `$Registry` is not set; checked as `{PLACEHOLDER_REGISTRY}` (pass --registry or set DRYDOCK_REGISTRY)"
            );
        }
    }
    vars
}

/// `drydock validate`.
pub fn validate(args: ValidateArgs) -> Result<(), CliError> {
    let vars = checking_vars(&args.vars, &args.file);
    let input = load_input(&args.file, &vars, &runid::local_run_id())?;
    let result = crate::taskfile::load(&input.request(chrono::Utc::now()));
    match args.output {
        ReportFormat::Json => {
            let (valid, steps, diags) = match &result {
                Ok(l) => (true, l.task.steps.len(), &l.warnings),
                Err(d) => (false, 0, d),
            };
            let report = json!({"file": input.file_name, "valid": valid, "steps": steps, "diagnostics": diags});
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            if valid { Ok(()) } else { Err(CliError::Silent(2)) }
        }
        ReportFormat::Text => {
            let loaded = result.map_err(CliError::Diagnostics)?;
            print_diagnostics(&loaded.warnings);
            eprintln!(
                "{}: valid ({} steps in {} waves, version {})",
                input.file_name,
                loaded.task.steps.len(),
                loaded.plan.waves().len(),
                loaded.task.version.as_str()
            );
            Ok(())
        }
    }
}

/// `drydock render`.
pub fn render(args: RenderArgs) -> Result<(), CliError> {
    let input = load_input(&args.file, &args.vars, &runid::local_run_id())?;
    let rendered = crate::taskfile::render(&input.request(chrono::Utc::now())).map_err(CliError::Diagnostics)?;
    print_diagnostics(&rendered.warnings);
    let mut masker = crate::secrets::Masker::default();
    masker.add_all(rendered.secret_values.iter().chain(&input.secret_values));
    print!("{}", masker.mask(&rendered.text));
    Ok(())
}

/// `drydock plan`.
pub fn plan(args: PlanArgs) -> Result<(), CliError> {
    let vars = checking_vars(&args.vars, &args.file);
    let input = load_input(&args.file, &vars, &runid::local_run_id())?;
    let loaded = crate::taskfile::load(&input.request(chrono::Utc::now())).map_err(CliError::Diagnostics)?;
    print_diagnostics(&loaded.warnings);
    let out = match args.output {
        PlanFormat::Text => loaded.plan.to_text(),
        PlanFormat::Json => loaded.plan.to_json() + "\n",
        PlanFormat::Dot => loaded.plan.to_dot(),
        PlanFormat::Mermaid => loaded.plan.to_mermaid(),
    };
    print!("{out}");
    Ok(())
}
