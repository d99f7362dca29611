//! `drydock task create|update|show|list|delete|run`: saved tasks on the daemon, with ACR's
//! `az acr task` flags where they make sense.

use super::CliError;
use super::client::{Client, ServerArgs};
use super::context_arg::{ContextArg, upload_dir};
use super::output::{Format, print_json, print_table, stdout_colour};
use super::pairs::parse_map;
use super::progress::ProgressMode;
use super::task_spec::{
    ResolvedSource, StepChoice, TaskSpecArgs, check_name, parse_schedules, task_for_create, task_patch,
};
use super::task_view::{task_details, task_table};
use super::watch::{WaitArgs, watch};
use crate::api::TaskRunRequest;
use clap::{Args, Subcommand};
use std::path::Path;

/// The `task` verbs.
#[derive(Subcommand, Debug)]
pub enum TaskCommand {
    /// Create a task (ACR's `az acr task create`).
    Create(CreateArgs),
    /// Change a task: only the flags given are sent (a JSON merge patch).
    Update(UpdateArgs),
    /// Show a task (secrets as `***` unless --with-secure-properties).
    Show(ShowArgs),
    /// List tasks.
    List(ListArgs),
    /// Delete a task.
    Delete(NameArgs),
    /// Run a task now, with per-run values, and stream its log.
    Run(TaskRunArgs),
    /// The images a task's last successful build used and pushed, with the digests, and what
    /// the base-image watcher sees of them.
    Deps(super::images::DepsArgs),
}

/// `task create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Task name: 5–50 letters, digits, `-`, `_`.
    #[arg(short = 'n', long)]
    pub name: String,
    #[command(flatten)]
    pub spec: TaskSpecArgs,
    /// Cron timer `[NAME:]CRON` (5 fields, UTC); repeatable; unnamed ones are t1, t2, …
    #[arg(long = "schedule", value_name = "[NAME:]CRON")]
    pub schedule: Vec<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `task update`.
#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Task name.
    #[arg(short = 'n', long)]
    pub name: String,
    #[command(flatten)]
    pub spec: TaskSpecArgs,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `task show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Task name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// Reveal secret values, secret build arguments, passwords and the git token.
    #[arg(long)]
    pub with_secure_properties: bool,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `task list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// Commands that only need a task name.
#[derive(Args, Debug)]
pub struct NameArgs {
    /// Task name.
    #[arg(short = 'n', long)]
    pub name: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `task run`.
#[derive(Args, Debug)]
pub struct TaskRunArgs {
    /// Task name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// Value for this run `NAME=VALUE`, over the task's; repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Secret value for this run; repeatable.
    #[arg(long = "set-secret", value_name = "NAME=VALUE")]
    pub set_secret: Vec<String>,
    /// Build this branch (or tag) of the task's git context.
    #[arg(long, conflicts_with = "commit")]
    pub branch: Option<String>,
    /// Build this commit of the task's git context.
    #[arg(long)]
    pub commit: Option<String>,
    /// Run this task file (a path in the context) instead of the task's.
    #[arg(short = 'f', long)]
    pub file: Option<String>,
    /// A values file (YAML, on this machine) merged over the task's own; `--set` wins.
    #[arg(long = "values", value_name = "FILE")]
    pub values: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub server: ServerArgs,
    /// `json` prints the final run (or the queued one with --no-wait) on stdout.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// Runs a `task` verb.
pub async fn run(command: TaskCommand) -> Result<(), CliError> {
    match command {
        TaskCommand::Create(a) => create(a).await,
        TaskCommand::Update(a) => update(a).await,
        TaskCommand::Show(a) => {
            check_name(&a.name)?;
            let task = Client::from_args(&a.server)?.get_task(&a.name, a.with_secure_properties).await?;
            match a.output {
                Format::Json => print_json(&task),
                Format::Text => {
                    print!("{}", task_details(&task, stdout_colour()));
                    Ok(())
                }
            }
        }
        TaskCommand::List(a) => {
            let tasks = Client::from_args(&a.server)?.list_tasks().await?;
            print_table(a.output, tasks.as_slice(), task_table)
        }
        TaskCommand::Delete(a) => {
            check_name(&a.name)?;
            Client::from_args(&a.server)?.delete_task(&a.name).await?;
            eprintln!("Deleted task {}", a.name);
            Ok(())
        }
        TaskCommand::Deps(a) => super::images::deps(a).await,
        TaskCommand::Run(a) => {
            check_name(&a.name)?;
            let request = TaskRunRequest {
                values: parse_map(&a.set, "--set")?,
                secret_values: parse_map(&a.set_secret, "--set-secret")?,
                git_ref: a.commit.clone().or(a.branch.clone()),
                file: a.file.clone(),
                values_file: super::runs::values_file(a.values.as_deref())?,
            };
            let client = Client::from_args(&a.server)?;
            let queued = client.run_task(&a.name, &request).await?;
            watch(&client, queued, &a.wait, a.output).await
        }
    }
}

async fn create(a: CreateArgs) -> Result<(), CliError> {
    // Everything that can be checked without the daemon is, before anything is uploaded.
    check_name(&a.name)?;
    let choice = StepChoice::from_args(&a.spec)?;
    let timers = parse_schedules(&a.schedule)?;
    if a.spec.context.is_none() {
        return Err(CliError::Invalid(
            "give the context with -c: a git URL, a local directory, or /dev/null for none".into(),
        ));
    }
    task_for_create(&a.name, &a.spec, &choice, &ResolvedSource::default(), Vec::new())?;
    let client = Client::from_args(&a.server)?;
    // A task file at hand (in a local context directory) is checked now, not at its first run.
    let local_dir = a.spec.context.as_deref().map(std::path::Path::new).filter(|p| p.is_dir());
    if let (Some(dir), StepChoice::Unchanged | StepChoice::File(_)) = (local_dir, &choice) {
        let file = super::taskfile_args::TaskFileArgs {
            context: dir.to_path_buf(),
            file: match &choice {
                StepChoice::File(Some(f)) => f.clone(),
                _ => "acb.yaml".into(),
            },
            values: a.spec.values.iter().cloned().collect(),
            set: a.spec.set.clone(),
            set_secret: a.spec.set_secret.clone(),
            ..Default::default()
        };
        let vars = super::taskfile_args::RunVarArgs { task_name: Some(a.name.clone()), ..Default::default() };
        super::remote_run::check_local_task_file(&file, &vars, &client).await?;
    }
    let source = resolve_source(&client, &a.spec, &choice, true, a.output).await?;
    let task = task_for_create(&a.name, &a.spec, &choice, &source, timers)?;
    let created = client.create_task(&task).await?;
    match a.output {
        Format::Json => print_json(&created),
        Format::Text => {
            eprintln!("Created task {}", created.name);
            print!("{}", task_details(&created, stdout_colour()));
            Ok(())
        }
    }
}

async fn update(a: UpdateArgs) -> Result<(), CliError> {
    check_name(&a.name)?;
    let choice = StepChoice::from_args(&a.spec)?;
    // A dry run of the mapping catches bad flags before a context is uploaded.
    let placeholder = ResolvedSource { context: a.spec.context.as_ref().map(|_| None), ..ResolvedSource::default() };
    task_patch(&a.spec, &choice, &placeholder, &[])?;
    let client = Client::from_args(&a.server)?;
    let events = if a.spec.triggers.changes_events() {
        client.get_task(&a.name, false).await?.triggers.source.events
    } else {
        Vec::new()
    };
    let source = resolve_source(&client, &a.spec, &choice, false, a.output).await?;
    let patch = task_patch(&a.spec, &choice, &source, &events)?;
    let updated = client.patch_task(&a.name, &patch).await?;
    match a.output {
        Format::Json => print_json(&updated),
        Format::Text => {
            eprintln!("Updated task {}", updated.name);
            print!("{}", task_details(&updated, stdout_colour()));
            Ok(())
        }
    }
}

/// Turns `-c` into what the API takes: uploads a local directory, reads a local task file
/// when there is no context.
async fn resolve_source(
    client: &Client,
    spec: &TaskSpecArgs,
    choice: &StepChoice,
    creating: bool,
    output: Format,
) -> Result<ResolvedSource, CliError> {
    let Some(context) = &spec.context else {
        return Ok(ResolvedSource::default());
    };
    let mut source = ResolvedSource::default();
    match ContextArg::parse(context)? {
        ContextArg::None => {
            source.context = Some(None);
            match choice {
                StepChoice::File(Some(path)) => source.content = Some(read_task_file(path)?),
                StepChoice::Docker(_) => {
                    return Err(CliError::Invalid("a Dockerfile build needs a context, not /dev/null".into()));
                }
                StepChoice::Unchanged | StepChoice::File(None) if creating => {
                    return Err(CliError::Invalid(
                        "with -c /dev/null give a local task file with -f (its content is stored) or --cmd".into(),
                    ));
                }
                _ => {}
            }
        }
        ContextArg::Remote(url) => source.context = Some(Some(url)),
        ContextArg::Dir(dir) => {
            let dockerfile = match choice {
                StepChoice::Docker(df) => Some(dir.join(df.as_deref().unwrap_or("Dockerfile"))),
                StepChoice::File(path) => {
                    let file = path.as_deref().unwrap_or("acb.yaml");
                    if !dir.join(file).is_file() {
                        return Err(CliError::Invalid(format!(
                            "task file {file} is not in the context {}; -f is a path inside the context",
                            dir.display()
                        )));
                    }
                    None
                }
                _ => None,
            };
            let is_build = dockerfile.is_some();
            let uploaded = upload_dir(client, &dir, dockerfile, ProgressMode::detect(output == Format::Json)).await?;
            source.context = Some(Some(uploaded.context()));
            if is_build {
                source.dockerfile = Some(uploaded.dockerfile);
            }
        }
    }
    Ok(source)
}

/// A local task file for a task without context (`-` reads stdin).
fn read_task_file(path: &str) -> Result<String, CliError> {
    let read =
        if path == "-" { std::io::read_to_string(std::io::stdin()) } else { std::fs::read_to_string(Path::new(path)) };
    read.map_err(|e| CliError::Invalid(format!("cannot read task file {path}: {e}")))
}
