//! The `drydock` command line: clap definitions and what each verb prints. Only this module prints
//! for people; everything else returns values and errors.

pub mod artifact;
pub mod check;
pub mod client;
pub mod context_arg;
pub mod credential;
pub mod endpoints;
pub mod follow;
pub mod hooks;
pub mod images;
pub mod node;
pub mod output;
pub mod packaging;
pub mod pairs;
pub mod progress;
pub mod prune;
pub mod purge;
pub mod registry_args;
pub mod remote_run;
pub mod run;
pub mod runs;
pub mod scan;
pub mod serve;
pub mod signing;
pub mod sse;
pub mod table;
pub mod task;
pub mod task_spec;
pub mod task_view;
pub mod taskfile_args;
pub mod timer;
pub mod token;
pub mod transfer;
pub mod trigger_args;
pub mod watch;

use crate::taskfile::Diagnostics;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;

/// drydock: ACR Tasks-compatible container build tasks on your own Docker hosts.
#[derive(Parser, Debug)]
#[command(name = "drydock", version = crate::version::LONG, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a task file: render it, parse it, validate every step and the `when` graph.
    Validate(check::ValidateArgs),
    /// Print a task file after aliases and templates, as it would run.
    Render(check::RenderArgs),
    /// Show the steps of a task file as a dependency graph (text, json, dot or mermaid).
    Plan(check::PlanArgs),
    /// Print the base images a Dockerfile depends on, as ACR's dependency JSON (no digests).
    Scan(scan::ScanArgs),
    /// Print the JSON Schema of task files (for editor completion with the YAML language server).
    Schema,
    /// Run a task file (or `--cmd "IMAGE ARGS"`) on a Docker engine (ACR's quick run).
    Run(run::RunArgs),
    /// Build a Dockerfile and push the images (ACR's quick build).
    Build(run::BuildArgs),
    /// Run the daemon: API, run queue, logs (SQLite and local Docker by default).
    Serve(serve::ServeArgs),
    /// Bring the daemon's database schema up to date.
    Migrate(serve::StoreArgs),
    /// Write the database's tasks, runs and run logs to an archive (to move to another database).
    Export(transfer::ExportArgs),
    /// Load an archive from `drydock export` into an empty database (e.g. SQLite → PostgreSQL).
    Import(transfer::ImportArgs),
    /// Saved tasks on the daemon: create, update, show, list, delete, run.
    Task {
        /// What to do with tasks (boxed: the task flags outweigh every other command's).
        #[command(subcommand)]
        command: Box<task::TaskCommand>,
    },
    /// Cron timers of a saved task.
    Timer {
        /// What to do with timers.
        #[command(subcommand)]
        command: timer::TimerCommand,
    },
    /// Base images the daemon watches, and the tasks building from them.
    Image {
        /// What to do with images.
        #[command(subcommand)]
        command: images::ImageCommand,
    },
    /// Registry logins of a saved task.
    Credential {
        /// What to do with credentials.
        #[command(subcommand)]
        command: credential::CredentialCommand,
    },
    /// Runs on the daemon: list and show.
    Runs {
        /// What to do with runs.
        #[command(subcommand)]
        command: runs::RunsCommand,
    },
    /// Print the log of a run on the daemon (`--follow` streams it until the run ends).
    Logs(runs::LogsArgs),
    /// Cancel a queued or running run on the daemon.
    Cancel(runs::CancelArgs),
    /// Webhooks: received deliveries, and the URLs to configure on the git server.
    Hook {
        /// What to do with webhooks.
        #[command(subcommand)]
        command: hooks::HookCommand,
    },
    /// Delete finished runs and their logs now (`--dry-run` lists them), by the daemon's
    /// retention policy or by `--keep-runs` / `--keep-days`.
    Prune(prune::PruneArgs),
    /// The nodes sharing the daemon's database: list them, drain one.
    Node {
        /// What to do with nodes.
        #[command(subcommand)]
        command: node::NodeCommand,
    },
    /// Delete old tags from a registry, as ACR's `acr purge` (`--dry-run` lists them). A tag's age is
    /// its image config's `created` time, since registries keep no tag dates.
    Purge(purge::RegistryPurgeArgs),
    /// API tokens of the daemon.
    Token {
        /// What to do with tokens.
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// OCI artifacts (and Helm charts) in a registry: push files, pull them back.
    Artifact {
        /// What to do with artifacts.
        #[command(subcommand)]
        command: artifact::ArtifactCommand,
    },
    /// Image signing keys (cosign-compatible).
    Key {
        /// What to do with keys.
        #[command(subcommand)]
        command: signing::KeyCommand,
    },
    /// Check an image's cosign-style signatures against public keys: exit 0 when one verifies, 1 when none does.
    Verify(signing::VerifyArgs),
    /// Print a shell completion script (bash, zsh or fish).
    Completion(packaging::CompletionArgs),
    /// Print the manual page (`--dir` writes one per command).
    Man(packaging::ManArgs),
}

/// Why a command did not succeed, and with which exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input from the user: exit code 2.
    #[error("{0}")]
    Invalid(String),
    /// Task-file diagnostics: exit code 2.
    #[error("{0}")]
    Diagnostics(Diagnostics),
    /// The work itself failed (a run failed, timed out, was cancelled): exit code 1.
    #[error("{0}")]
    Failed(String),
    /// An error answer from the daemon, with the task-file diagnostics it carried (already
    /// rendered by the daemon): exit code 2 when the daemon found the input invalid, else 1.
    #[error("{message}")]
    Remote {
        /// What the daemon said.
        message: String,
        /// Rendered diagnostics, printed after the message.
        diagnostics: Vec<String>,
        /// Whether the daemon rejected the input (HTTP 400).
        invalid: bool,
    },
    /// Already reported; exit with this code.
    #[error("")]
    Silent(u8),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Invalid(_) | CliError::Diagnostics(_) => 2,
            CliError::Failed(_) => 1,
            CliError::Remote { invalid, .. } => {
                if *invalid {
                    2
                } else {
                    1
                }
            }
            CliError::Silent(code) => *code,
        }
    }
}

/// Runs the parsed command line and maps the outcome to an exit code.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Validate(a) => check::validate(a),
        Command::Render(a) => check::render(a),
        Command::Plan(a) => check::plan(a),
        Command::Scan(a) => scan::scan(a),
        Command::Schema => {
            println!("{}", crate::taskfile::model::json_schema_text());
            Ok(())
        }
        Command::Run(a) => block_on(run::run(a)),
        Command::Build(a) => block_on(run::build(a)),
        Command::Serve(a) => {
            serve::init_log(a.log_format, "drydock=info");
            block_on(serve::serve(a))
        }
        Command::Migrate(a) => block_on(serve::migrate(a)),
        Command::Export(a) => block_on(transfer::export(a)),
        Command::Import(a) => block_on(transfer::import(a)),
        Command::Task { command } => block_on(task::run(*command)),
        Command::Timer { command } => block_on(timer::run(command)),
        Command::Credential { command } => block_on(credential::run(command)),
        Command::Image { command } => block_on(images::run(command)),
        Command::Runs { command } => block_on(runs::run(command)),
        Command::Logs(a) => block_on(runs::logs(a)),
        Command::Cancel(a) => block_on(runs::cancel(a)),
        Command::Token { command } => block_on(token::run(command)),
        Command::Node { command } => block_on(node::run(command)),
        Command::Prune(a) => block_on(prune::run(a)),
        Command::Purge(a) => block_on(purge::run(a)),
        Command::Hook { command } => block_on(hooks::run(command)),
        Command::Artifact { command } => block_on(artifact::run(command)),
        Command::Key { command } => signing::key(command),
        Command::Verify(a) => block_on(signing::verify(a)),
        Command::Completion(a) => packaging::completion(a),
        Command::Man(a) => packaging::man(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match &e {
                CliError::Diagnostics(d) => print_diagnostics(d),
                CliError::Silent(_) => {}
                CliError::Remote { message, diagnostics, .. } => {
                    eprintln!("{} {message}", paint("error:", "31"));
                    for d in diagnostics {
                        eprintln!("{d}");
                    }
                }
                other => eprintln!("{} {other}", paint("error:", "31")),
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs an async command on a multi-threaded runtime.
fn block_on<F: std::future::Future<Output = Result<(), CliError>>>(f: F) -> Result<(), CliError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(f)
}

/// Prints diagnostics to stderr, coloured when stderr is a terminal.
pub fn print_diagnostics(d: &Diagnostics) {
    for diag in &d.0 {
        let text = diag.to_string();
        let text = match diag.severity {
            crate::taskfile::Severity::Error => text.replacen("error[", &format!("{}[", paint("error", "31")), 1),
            crate::taskfile::Severity::Warning => text.replacen("warning[", &format!("{}[", paint("warning", "33")), 1),
        };
        eprintln!("{text}");
    }
}

/// Wraps `s` in an ANSI colour when stderr is a terminal and NO_COLOR is unset.
pub fn paint(s: &str, code: &str) -> String {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}
