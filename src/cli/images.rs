//! `drydock task deps` and `drydock image list`: which tasks build from which images, the
//! digests their last builds used, and what the base-image watcher sees.

use super::CliError;
use super::client::{Client, ClientError, ServerArgs};
use super::output::{Format, print_json, print_table, stdout_colour, timestamp};
use super::table::{Cell, Table};
use super::task_spec::check_name;
use crate::api::{ImageRole, PendingImageChange, TaskDependencies, WatchedImage};
use clap::{Args, Subcommand};
use reqwest::Method;

/// `task deps`.
#[derive(Args, Debug)]
pub struct DepsArgs {
    /// Task name.
    #[arg(value_name = "NAME", required_unless_present = "name_flag")]
    pub name: Option<String>,
    /// Task name (as the other task verbs take it).
    #[arg(short = 'n', long = "name", id = "name_flag", conflicts_with = "name")]
    pub name_flag: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// The `image` verbs.
#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// List the base images the watcher tracks and the tasks that build from them.
    List(ImageListArgs),
}

/// `image list`.
#[derive(Args, Debug)]
pub struct ImageListArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

async fn get<T: serde::de::DeserializeOwned>(client: &Client, path: &[&str]) -> Result<T, ClientError> {
    let rb = client.call(Method::GET, client.url(path));
    Client::json(client.send(rb).await?).await
}

/// `drydock task deps`.
pub async fn deps(a: DepsArgs) -> Result<(), CliError> {
    let name = a.name.or(a.name_flag).unwrap_or_default();
    check_name(&name)?;
    let client = Client::from_args(&a.server)?;
    let deps: TaskDependencies = get(&client, &["tasks", &name, "dependencies"]).await?;
    match a.output {
        Format::Json => print_json(&deps),
        Format::Text => {
            if deps.images.is_empty() {
                eprintln!("Task {name} has no recorded images yet: they are recorded when a run of it succeeds");
                return Ok(());
            }
            print!("{}", deps_table(&deps).render(stdout_colour()));
            if !deps.dependents.is_empty() {
                println!("\nTasks building from its outputs: {}", deps.dependents.join(", "));
            }
            Ok(())
        }
    }
}

/// `drydock image …`.
pub async fn run(command: ImageCommand) -> Result<(), CliError> {
    match command {
        ImageCommand::List(a) => {
            let client = Client::from_args(&a.server)?;
            let images: Vec<WatchedImage> = get(&client, &["images"]).await?;
            print_table(a.output, images.as_slice(), image_table)
        }
    }
}

fn short(digest: Option<&str>) -> String {
    match digest {
        Some(d) => {
            let (algorithm, hex) = d.split_once(':').unwrap_or(("", d));
            format!("{algorithm}:{}", hex.get(..12).unwrap_or(hex))
        }
        None => "-".into(),
    }
}

fn state_cell(error: Option<&str>, pending: Option<&PendingImageChange>) -> Cell {
    match (error, pending) {
        (Some(e), _) => Cell::coloured(format!("error: {e}"), "31"),
        (None, Some(p)) => {
            Cell::coloured(format!("changed to {}, fires {}", short(Some(&p.new_digest)), timestamp(Some(p.due))), "33")
        }
        (None, None) => "ok".into(),
    }
}

fn role(r: ImageRole) -> &'static str {
    r.as_str()
}

/// IMAGE, ROLE, USED, CURRENT, WATCHED, CHECKED, STATE.
pub fn deps_table(deps: &TaskDependencies) -> Table {
    let mut t = Table::new(&["IMAGE", "ROLE", "USED", "CURRENT", "WATCHED", "CHECKED", "STATE"]);
    for i in &deps.images {
        let output = i.role == ImageRole::Output;
        t.row(vec![
            i.image.clone().into(),
            role(i.role).into(),
            short(i.digest.as_deref()).into(),
            if output { "-".into() } else { short(i.current_digest.as_deref()).into() },
            if output {
                "-".into()
            } else if i.watched {
                "yes".into()
            } else {
                "no".into()
            },
            if output { "-".into() } else { timestamp(i.check.checked_at).into() },
            if output { "".into() } else { state_cell(i.check.error.as_deref(), i.check.pending.as_ref()) },
        ]);
    }
    t
}

/// IMAGE, BUILT BY, TASKS, DIGEST, CHECKED, STATE.
pub fn image_table(images: &[WatchedImage]) -> Table {
    let mut t = Table::new(&["IMAGE", "BUILT BY", "TASKS", "DIGEST", "CHECKED", "STATE"]);
    for i in images {
        let users: Vec<String> = i
            .users
            .iter()
            .map(|u| {
                let mark = if u.watched { "" } else { " (not watched)" };
                format!("{} ({}){mark}", u.task, role(u.role))
            })
            .collect();
        let producers = if i.producers.is_empty() { "-".to_string() } else { i.producers.join(", ") };
        t.row(vec![
            i.image.clone().into(),
            producers.into(),
            users.join(", ").into(),
            short(i.digest.as_deref()).into(),
            timestamp(i.check.checked_at).into(),
            state_cell(i.check.error.as_deref(), i.check.pending.as_ref()),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_shortened() {
        assert_eq!(short(Some("sha256:0123456789abcdef0123")), "sha256:0123456789ab");
        assert_eq!(short(None), "-");
        assert_eq!(short(Some("odd")), ":odd");
    }
}
