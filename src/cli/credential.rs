//! `drydock credential add|remove|list`: registry logins a saved task's runs use (ACR's
//! `az acr task credential`).

use super::CliError;
use super::client::{Client, ServerArgs};
use super::output::{Format, print_json, stdout_colour};
use super::table::Table;
use super::task_spec::check_name;
use crate::api::Credential;
use clap::{Args, Subcommand};
use std::io::Read;

/// The `credential` verbs.
#[derive(Subcommand, Debug)]
pub enum CredentialCommand {
    /// Add a registry login to a task (an existing login server is an error, as on ACR).
    Add(AddArgs),
    /// Remove a task's login for a registry.
    Remove(RemoveArgs),
    /// List a task's registry logins (passwords are never shown).
    List(ListArgs),
}

/// `credential add`.
#[derive(Args, Debug)]
pub struct AddArgs {
    /// Task name.
    #[arg(short = 'n', long = "name")]
    pub task: String,
    /// Registry host, e.g. myreg.example.com:5000.
    #[arg(long)]
    pub login_server: String,
    /// User name.
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// Password or token (prefer --password-stdin: command lines are visible to other users).
    #[arg(short = 'p', long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from stdin (one line, or all of it).
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `credential remove`.
#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// Task name.
    #[arg(short = 'n', long = "name")]
    pub task: String,
    /// Registry host.
    #[arg(long)]
    pub login_server: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `credential list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Task name.
    #[arg(short = 'n', long = "name")]
    pub task: String,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// Runs a `credential` verb.
pub async fn run(command: CredentialCommand) -> Result<(), CliError> {
    match command {
        CredentialCommand::Add(a) => {
            check_name(&a.task)?;
            let credential = Credential {
                login_server: check_login_server(&a.login_server)?,
                username: a
                    .username
                    .clone()
                    .filter(|u| !u.is_empty())
                    .ok_or_else(|| CliError::Invalid("give the registry user name with -u".into()))?,
                password: password(&a)?,
            };
            Client::from_args(&a.server)?.add_credential(&a.task, &credential).await?;
            eprintln!("Added a login for {} to task {}", credential.login_server, a.task);
            Ok(())
        }
        CredentialCommand::Remove(a) => {
            check_name(&a.task)?;
            let server = check_login_server(&a.login_server)?;
            Client::from_args(&a.server)?.remove_credential(&a.task, &server).await?;
            eprintln!("Removed the login for {server} from task {}", a.task);
            Ok(())
        }
        CredentialCommand::List(a) => {
            check_name(&a.task)?;
            let credentials = Client::from_args(&a.server)?.list_credentials(&a.task).await?;
            match a.output {
                Format::Json => print_json(&credentials),
                Format::Text => {
                    let mut table = Table::new(&["LOGIN SERVER", "USERNAME"]);
                    for c in &credentials {
                        table.row(vec![c.login_server.clone().into(), c.username.clone().into()]);
                    }
                    print!("{}", table.render(stdout_colour()));
                    Ok(())
                }
            }
        }
    }
}

/// A login server is a host with an optional port, no scheme or path.
fn check_login_server(s: &str) -> Result<String, CliError> {
    let host = s.trim();
    if host.is_empty() || host.contains("://") || host.contains('/') || host.contains(char::is_whitespace) {
        return Err(CliError::Invalid(format!(
            "--login-server `{s}` must be a registry host like myreg.example.com:5000"
        )));
    }
    Ok(host.to_string())
}

fn password(a: &AddArgs) -> Result<String, CliError> {
    let pw = if a.password_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::Invalid(format!("cannot read the password from stdin: {e}")))?;
        // `echo $TOKEN | …` adds a newline that is not part of the password.
        s.trim_end_matches(['\r', '\n']).to_string()
    } else {
        a.password.clone().unwrap_or_default()
    };
    if pw.is_empty() {
        return Err(CliError::Invalid("give the password with -p or --password-stdin".into()));
    }
    Ok(pw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_servers_are_hosts() {
        assert_eq!(check_login_server("reg.io:5000").unwrap(), "reg.io:5000");
        assert!(check_login_server("https://reg.io").is_err());
        assert!(check_login_server("reg.io/path").is_err());
    }
}
