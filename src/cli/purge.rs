//! `drydock purge`: ACR's `acr purge` against any registry: delete old tags (and with
//! `--untagged` the manifests they leave behind), or list them with `--dry-run`.

use super::CliError;
use super::output::{Format, print_json};
use super::registry_args::{RegistryLoginArgs, login_for};
use crate::registry::purge::{self, PurgeArgs};
use crate::registry::{ClientConfig, RegistryClient};
use clap::Args;

/// `drydock purge`.
#[derive(Args, Debug)]
pub struct RegistryPurgeArgs {
    /// The registry, `host[:port]`.
    #[arg(long, env = "DRYDOCK_REGISTRY")]
    pub registry: String,
    #[command(flatten)]
    pub purge: PurgeArgs,
    /// Requests per second to the registry at most (0: no limit). The default is the one every
    /// drydock registry client keeps, gentle on shared registries; a purge of thousands of tags on
    /// a registry of your own may raise it.
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    pub requests_per_second: f64,
    #[command(flatten)]
    pub login: RegistryLoginArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// Runs `drydock purge`.
pub async fn run(a: RegistryPurgeArgs) -> Result<(), CliError> {
    let credentials = a.login.credentials()?;
    let login = login_for(&credentials, &a.registry)?;
    let config = ClientConfig { per_registry_rps: a.requests_per_second.max(0.0), ..ClientConfig::default() };
    let client = RegistryClient::new(config).map_err(|e| CliError::Failed(e.to_string()))?;
    let report = purge::purge(&client, &a.registry, login, &a.purge, chrono::Utc::now())
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    match a.output {
        Format::Json => print_json(&report),
        Format::Text => {
            let mut lines = report.table_lines();
            let summary = lines.pop().unwrap_or_default();
            for line in lines {
                println!("{line}");
            }
            eprintln!("{summary}");
            Ok(())
        }
    }
}
