//! `drydock hook deliveries|url`: the webhook inbox, and the URLs to configure on the git server.

use super::CliError;
use super::client::{Client, ServerArgs};
use super::output::{Format, print_json, print_table, timestamp};
use super::table::{Cell, Table};
use crate::api::{Delivery, DeliveryOutcome, Task};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::json;

/// The `hook` verbs.
#[derive(Subcommand, Debug)]
pub enum HookCommand {
    /// List received webhook deliveries, newest first: provider, id, repository, event, outcome, why, runs.
    Deliveries(DeliveriesArgs),
    /// Print the webhook URLs (and secret state) to configure on the git server for a task.
    Url(UrlArgs),
}

/// `hook deliveries`.
#[derive(Args, Debug)]
pub struct DeliveriesArgs {
    /// How many deliveries (1–1000).
    #[arg(long, default_value_t = 20)]
    pub top: u32,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `hook url`.
#[derive(Args, Debug)]
pub struct UrlArgs {
    /// Task name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// The daemon's address as the git server reaches it, when it differs from --server (a
    /// proxy or public host name).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// Runs a `hook` verb.
pub async fn run(command: HookCommand) -> Result<(), CliError> {
    match command {
        HookCommand::Deliveries(a) => {
            let client = Client::from_args(&a.server)?;
            let mut url = client.url(&["hooks", "deliveries"]);
            url.query_pairs_mut().append_pair("top", &a.top.to_string());
            let list: Vec<Delivery> = Client::json(client.send(client.call(Method::GET, url)).await?).await?;
            print_table(a.output, list.as_slice(), deliveries_table)
        }
        HookCommand::Url(a) => {
            let client = Client::from_args(&a.server)?;
            let task: Task =
                Client::json(client.send(client.call(Method::GET, client.url(&["tasks", &a.name]))).await?).await?;
            let base = a.public_url.clone().unwrap_or_else(|| client.base().to_string());
            let urls = hook_urls(&base, &task.name);
            let repository =
                crate::triggers::source::git_context(&task).map(|c| crate::context::error::redact_url(&c.url));
            let secret = task.triggers.source.webhook_secret.is_some();
            match a.output {
                Format::Json => print_json(&json!({
                    "task": task.name, "repository": repository, "webhook_secret_set": secret, "urls": urls,
                })),
                Format::Text => {
                    print!("{}", url_text(&task, repository.as_deref(), secret, &urls));
                    Ok(())
                }
            }
        }
    }
}

/// The receivers' URLs under `base`.
pub fn hook_urls(base: &str, task: &str) -> serde_json::Map<String, serde_json::Value> {
    let base = base.trim_end_matches('/');
    let mut m = serde_json::Map::new();
    for (k, path) in [
        ("github", "/hooks/github".to_string()),
        ("gitlab", "/hooks/gitlab".to_string()),
        ("gitea", "/hooks/gitea".to_string()),
        ("forgejo", "/hooks/forgejo".to_string()),
        ("generic", format!("/hooks/generic/{task}")),
    ] {
        m.insert(k.into(), json!(format!("{base}{path}")));
    }
    m
}

fn url_text(
    task: &Task,
    repository: Option<&str>,
    secret: bool,
    urls: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let u = |k: &str| urls.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let mut out = String::new();
    match repository {
        Some(r) => out.push_str(&format!("Task {} builds {r}.\n", task.name)),
        None => out.push_str(&format!(
            "Task {} has no git context: no webhook can start it until it has one (--context https://host/repo.git#branch).\n",
            task.name
        )),
    }
    if secret {
        out.push_str("Configure the webhook with the task's webhook secret (the value given to --webhook-secret).\n");
    } else {
        out.push_str(&format!(
            "The task has NO webhook secret, so every delivery is refused (401); set one with \
             `drydock task update -n {} --webhook-secret SECRET`.\n",
            task.name
        ));
    }
    out.push_str(&format!(
        "\n  GitHub          {}  (content type application/json; events: push, pull requests)\n",
        u("github")
    ));
    out.push_str(&format!("  GitLab          {}  (secret token; push, tag push, merge request events)\n", u("gitlab")));
    out.push_str(&format!("  Gitea           {}  (secret; push, pull request events)\n", u("gitea")));
    out.push_str(&format!("  Forgejo         {}\n", u("forgejo")));
    out.push_str(&format!("  Other / scripts {}  (X-Drydock-Signature: sha256=HMAC of the body)\n", u("generic")));
    out
}

/// RECEIVED, PROVIDER, DELIVERY, REPOSITORY, EVENT, OUTCOME, RUNS, REASON.
pub fn deliveries_table(list: &[Delivery]) -> Table {
    let mut table =
        Table::new(&["RECEIVED", "PROVIDER", "DELIVERY", "REPOSITORY", "EVENT", "OUTCOME", "RUNS", "REASON"]);
    for d in list {
        let e = &d.event["event"];
        let event = match e["kind"].as_str() {
            Some("pullrequest") => format!("pullrequest #{} {}", e["pull_request"], short(e["commit"].as_str())),
            Some("tag") => format!("tag {} {}", e["tag"].as_str().unwrap_or_default(), short(e["commit"].as_str())),
            Some(kind) => {
                format!("{kind} {} {}", e["branch"].as_str().unwrap_or_default(), short(e["commit"].as_str()))
            }
            None => "-".into(),
        };
        let outcome = match d.outcome {
            DeliveryOutcome::Queued => Cell::coloured("queued", "32"),
            DeliveryOutcome::Ignored => Cell::coloured("ignored", "33"),
            DeliveryOutcome::Failed => Cell::coloured("failed", "31"),
            DeliveryOutcome::Received => Cell::coloured("received", "36"),
            DeliveryOutcome::Refused => Cell::coloured("refused", "31"),
        };
        table.row(vec![
            timestamp(Some(d.received_at)).into(),
            d.provider.clone().into(),
            d.delivery_id.clone().into(),
            d.repository.clone().unwrap_or_default().into(),
            event.into(),
            outcome,
            d.runs.join(",").into(),
            d.reason.clone().unwrap_or_default().into(),
        ]);
    }
    table
}

fn short(commit: Option<&str>) -> String {
    commit.map(|c| c.chars().take(12).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_a_path_prefix() {
        let urls = hook_urls("https://ci.example.com/drydock/", "web-app");
        assert_eq!(urls["github"], "https://ci.example.com/drydock/hooks/github");
        assert_eq!(urls["generic"], "https://ci.example.com/drydock/hooks/generic/web-app");
    }
}
