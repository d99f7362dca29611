//! `drydock completion SHELL` and `drydock man`: shell completions and manual pages generated
//! from the same clap definitions the parser uses, so they never drift from the flags.

use super::{Cli, CliError};
use clap::{Args, CommandFactory, ValueEnum};
use std::path::PathBuf;

/// Shells `completion` writes for.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Shell {
    /// Bash (`source <(drydock completion bash)`, or a file in /usr/share/bash-completion/completions).
    Bash,
    /// Zsh (a file named `_drydock` on `$fpath`).
    Zsh,
    /// Fish (a file in ~/.config/fish/completions).
    Fish,
}

/// `drydock completion`.
#[derive(Args, Debug)]
pub struct CompletionArgs {
    /// The shell.
    pub shell: Shell,
}

/// `drydock man`.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write one page per command (`drydock.1`, `drydock-task-create.1`, …) into this directory,
    /// instead of `drydock.1` alone on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Prints the completion script for `args.shell`.
pub fn completion(args: CompletionArgs) -> Result<(), CliError> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // Into memory first: clap_complete panics on a write error, and `| head` closes the pipe.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "drydock", &mut script);
    print_quietly(&script)
}

/// Writes to stdout; a reader that stopped reading (a closed pipe) is not an error.
fn print_quietly(bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Failed(format!("writing to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// Prints `drydock.1`, or writes every command's page into a directory.
pub fn man(args: ManArgs) -> Result<(), CliError> {
    let failed = |e: std::io::Error| CliError::Failed(format!("writing the manual pages: {e}"));
    match args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page).map_err(failed)?;
            print_quietly(&page)
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(failed)?;
            clap_mangen::generate_to(Cli::command(), &dir).map_err(failed)
        }
    }
}
