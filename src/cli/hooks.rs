//! `drydock hook deliveries|url|outgoing`: the webhook inbox, the URLs to configure on the git
//! server, and the commit statuses and run events drydock sends.

use super::CliError;
use super::client::{Client, ServerArgs};
use super::output::{Format, print_json, print_table, timestamp};
use super::table::{Cell, Table};
use crate::api::{Delivery, DeliveryOutcome, OutgoingDelivery, OutgoingKind, OutgoingState, Task};
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
    /// Commit statuses and run events drydock sends, with the receivers' answers.
    Outgoing {
        /// What to do with outgoing deliveries.
        #[command(subcommand)]
        command: OutgoingCommand,
    },
}

/// The `hook outgoing` verbs.
#[derive(Subcommand, Debug)]
pub enum OutgoingCommand {
    /// List outgoing deliveries, newest first: id, run, kind, event, URL, state, attempts, answer.
    List(OutgoingArgs),
}

/// `hook outgoing list`.
#[derive(Args, Debug)]
pub struct OutgoingArgs {
    /// Only the deliveries about this run.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// How many deliveries (1–1000).
    #[arg(long, default_value_t = 20)]
    pub top: u32,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
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
        HookCommand::Outgoing { command: OutgoingCommand::List(a) } => {
            let client = Client::from_args(&a.server)?;
            let mut url = client.url(&["hooks", "outgoing"]);
            url.query_pairs_mut().append_pair("top", &a.top.to_string());
            if let Some(run) = &a.run {
                url.query_pairs_mut().append_pair("run", run);
            }
            let list: Vec<OutgoingDelivery> = Client::json(client.send(client.call(Method::GET, url)).await?).await?;
            print_table(a.output, list.as_slice(), outgoing_table)
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

/// CREATED, DELIVERY, RUN, KIND, EVENT, URL, STATE, ATTEMPTS, CODE, NEXT, ANSWER.
pub fn outgoing_table(list: &[OutgoingDelivery]) -> Table {
    let mut table = Table::new(&[
        "CREATED", "DELIVERY", "RUN", "KIND", "EVENT", "URL", "STATE", "ATTEMPTS", "CODE", "NEXT", "ANSWER",
    ]);
    for d in list {
        let state = match d.state {
            OutgoingState::Delivered => Cell::coloured("delivered", "32"),
            OutgoingState::Pending => Cell::coloured("pending", "36"),
            OutgoingState::Failed => Cell::coloured("failed", "31"),
            OutgoingState::Superseded => Cell::coloured("superseded", "33"),
        };
        let kind = match d.kind {
            OutgoingKind::Webhook => "webhook",
            OutgoingKind::CommitStatus => "commit status",
        };
        table.row(vec![
            timestamp(Some(d.created_at)).into(),
            d.id.clone().into(),
            d.run_id.clone().into(),
            kind.into(),
            d.event.clone().into(),
            d.url.clone().into(),
            state,
            d.attempts.to_string().into(),
            d.status_code.map(|c| c.to_string()).unwrap_or_default().into(),
            d.next_attempt_at.map(|t| timestamp(Some(t))).unwrap_or_default().into(),
            d.answer.clone().unwrap_or_default().into(),
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
