//! The `drydock` binary: parse the command line and hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    drydock::cli::run(drydock::cli::Cli::parse())
}
