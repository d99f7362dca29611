//! `drydock purge`: ACR's `acr purge` against any registry: delete old tags (and with
//! `--untagged` the manifests they leave behind), or list them with `--dry-run`.

use super::CliError;
use super::output::{Format, print_table, timestamp};
use super::registry_args::{RegistryLoginArgs, login_for, registry_client};
use super::table::Table;
use crate::registry::purge::{self, PurgeArgs, PurgeReport};
use clap::Args;

/// `drydock purge`.
#[derive(Args, Debug)]
pub struct RegistryPurgeArgs {
    /// The registry, `host[:port]`.
    #[arg(long, env = "DRYDOCK_REGISTRY")]
    pub registry: String,
    #[command(flatten)]
    pub purge: PurgeArgs,
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
    let report = purge::purge(&registry_client()?, &a.registry, login, &a.purge, chrono::Utc::now())
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    print_table(a.output, &report, purge_table)?;
    if a.output == Format::Text {
        eprintln!("{}", summary(&report));
    }
    Ok(())
}

/// One line for people: how many manifests went (or would go), and what it cost.
pub fn summary(report: &PurgeReport) -> String {
    let verb = if report.dry_run { "Would delete" } else { "Deleted" };
    let tags: usize = report.deleted.iter().map(|d| d.tags.len()).sum();
    format!(
        "{verb} {} manifests ({tags} tags); {} kept for a reason; {} registry requests in {} ms.",
        report.deleted.len(),
        report.kept.len(),
        report.requests,
        report.millis
    )
}

/// REPOSITORY, TAGS, DIGEST, CREATED, ACTION: what was (or would be) deleted, and what stayed.
pub fn purge_table(report: &PurgeReport) -> Table {
    let mut table = Table::new(&["REPOSITORY", "TAGS", "DIGEST", "CREATED", "ACTION"]);
    let action = if report.dry_run { "would delete" } else { "deleted" };
    for d in &report.deleted {
        let tags = if d.tags.is_empty() { "<untagged>".to_owned() } else { d.tags.join(",") };
        table.row(vec![
            d.repository.clone().into(),
            tags.into(),
            d.digest.clone().into(),
            timestamp(d.created).into(),
            action.into(),
        ]);
    }
    for k in &report.kept {
        table.row(vec![
            k.repository.clone().into(),
            k.tags.join(",").into(),
            k.digest.clone().into(),
            String::new().into(),
            format!("kept: {}", k.reason).into(),
        ]);
    }
    table
}
