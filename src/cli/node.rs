//! `drydock node list|drain`: the nodes sharing the daemon's database.

use super::CliError;
use super::client::{Client, ServerArgs};
use super::output::{Format, print_json, print_table, timestamp};
use super::table::{Cell, Table};
use crate::api::{NodeInfo, NodeState};
use clap::{Args, Subcommand};
use reqwest::Method;
use std::time::Duration;

/// The `node` verbs.
#[derive(Subcommand, Debug)]
pub enum NodeCommand {
    /// List the nodes: state, labels, slots in use, runs and leases held, roles, last report.
    List(ListArgs),
    /// Drain a node: it takes no new runs, lets its runs finish within its shutdown grace period,
    /// then leaves (the process exits, as on SIGTERM). Asked through any node of the database.
    Drain(DrainArgs),
}

/// `node list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `node drain`.
#[derive(Args, Debug)]
pub struct DrainArgs {
    /// The node's id, as `drydock node list` shows it.
    pub node: String,
    /// Wait until the node has left (its runs ended), printing its state as it changes.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// Runs a `node` verb.
pub async fn run(command: NodeCommand) -> Result<(), CliError> {
    match command {
        NodeCommand::List(a) => {
            let client = Client::from_args(&a.server)?;
            print_table(a.output, list(&client).await?.as_slice(), nodes_table)
        }
        NodeCommand::Drain(a) => {
            let client = Client::from_args(&a.server)?;
            let url = client.url(&["nodes", &a.node, "drain"]);
            let mut node: NodeInfo = Client::json(client.send(client.call(Method::POST, url)).await?).await?;
            if a.output == Format::Text {
                eprintln!(
                    "Asked node {} to drain: it takes no new runs and leaves once its {} run(s) end",
                    node.id, node.runs
                );
            }
            if a.wait {
                let mut said = None;
                while !matches!(node.state, NodeState::Left | NodeState::Lost) {
                    if a.output == Format::Text && said != Some((node.state, node.runs)) {
                        eprintln!("{}: {}, {} run(s)", node.id, node.state.as_str(), node.runs);
                        said = Some((node.state, node.runs));
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    node = list(&client).await?.into_iter().find(|n| n.id == node.id).unwrap_or(node);
                }
            }
            match a.output {
                Format::Json => print_json(&node),
                Format::Text => {
                    println!("{}: {}", node.id, node.state.as_str());
                    Ok(())
                }
            }
        }
    }
}

async fn list(client: &Client) -> Result<Vec<NodeInfo>, CliError> {
    Ok(Client::json(client.send(client.call(Method::GET, client.url(&["nodes"]))).await?).await?)
}

/// NODE, STATE, SLOTS, RUNS, LEASE UNTIL, ROLES, LABELS, SEEN, URL, VERSION.
pub fn nodes_table(list: &[NodeInfo]) -> Table {
    let mut table =
        Table::new(&["NODE", "STATE", "SLOTS", "RUNS", "LEASE UNTIL", "ROLES", "LABELS", "SEEN", "URL", "VERSION"]);
    for n in list {
        let state = match n.state {
            NodeState::Active => Cell::coloured("active", "32"),
            NodeState::Draining => Cell::coloured("draining", "33"),
            NodeState::Left => Cell::from("left"),
            NodeState::Lost => Cell::coloured("lost", "31"),
        };
        let labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        table.row(vec![
            n.id.clone().into(),
            state,
            format!("{}/{}", n.busy, n.slots).into(),
            n.runs.to_string().into(),
            timestamp(n.lease_until).into(),
            n.roles.join(",").into(),
            labels.join(",").into(),
            timestamp(Some(n.seen_at)).into(),
            n.url.clone().into(),
            n.version.clone().into(),
        ]);
    }
    table
}
