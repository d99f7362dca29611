//! `drydock token list|create|revoke`: the daemon's API tokens.

use super::CliError;
use super::client::{Client, ServerArgs};
use super::output::{Format, print_json, print_table, timestamp};
use super::table::{Cell, Table};
use crate::api::TokenInfo;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// The `token` verbs.
#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// List tokens (never their secrets).
    List(ListArgs),
    /// Create a token; its secret is printed once, on stdout.
    Create(CreateArgs),
    /// Revoke a token by id.
    Revoke(RevokeArgs),
}

/// `token list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `token create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// A name to recognise the token by (who or what uses it).
    pub name: String,
    /// Create the token directly in the daemon's data directory, without the API (for the
    /// very first token, on the daemon's machine).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// With --data-dir: the daemon's database URL, when it is not SQLite in the data directory.
    #[arg(long, env = "DRYDOCK_DATABASE", requires = "data_dir")]
    pub database: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format (`json`: id, name, created_at, token).
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `token revoke`.
#[derive(Args, Debug)]
pub struct RevokeArgs {
    /// Token id (from `drydock token list`).
    pub id: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Runs a `token` verb.
pub async fn run(command: TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::List(a) => {
            let tokens = Client::from_args(&a.server)?.list_tokens().await?;
            print_table(a.output, tokens.as_slice(), token_table)
        }
        TokenCommand::Create(a) => {
            let created = match &a.data_dir {
                Some(dir) => {
                    let store = super::serve::StoreArgs { data_dir: Some(dir.clone()), database: a.database.clone() };
                    super::serve::create_token_offline(&store, &a.name).await?
                }
                None => Client::from_args(&a.server)?.create_token(&a.name).await?,
            };
            match a.output {
                Format::Json => print_json(&created),
                Format::Text => {
                    // The secret alone on stdout, so `export DRYDOCK_TOKEN=$(drydock token create ci)` works.
                    println!("{}", created.token);
                    eprintln!(
                        "Created token {} (id {}). It is shown only this once: store it now.",
                        created.info.name, created.info.id
                    );
                    Ok(())
                }
            }
        }
        TokenCommand::Revoke(a) => {
            Client::from_args(&a.server)?.revoke_token(&a.id).await?;
            eprintln!("Revoked token {}", a.id);
            Ok(())
        }
    }
}

/// ID, NAME, CREATED, LAST USED, STATUS.
pub fn token_table(tokens: &[TokenInfo]) -> Table {
    let mut table = Table::new(&["ID", "NAME", "CREATED", "LAST USED", "STATUS"]);
    for t in tokens {
        let status = if t.revoked { Cell::coloured("revoked", "31") } else { Cell::coloured("active", "32") };
        table.row(vec![
            t.id.clone().into(),
            t.name.clone().into(),
            timestamp(Some(t.created_at)).into(),
            timestamp(t.last_used_at).into(),
            status,
        ]);
    }
    table
}
