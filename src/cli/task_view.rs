//! How tasks look to people: the `task list` table and the `task show` details.

use super::output::timestamp;
use super::table::{Cell, Table};
use crate::api::{Task, TaskStatus, TaskStep};

/// `task list`: NAME, STATUS, CONTEXT, STEP, TIMEOUT, TRIGGERS.
pub fn task_table(tasks: &[Task]) -> Table {
    let mut table = Table::new(&["NAME", "STATUS", "CONTEXT", "STEP", "TIMEOUT", "TRIGGERS"]);
    for t in tasks {
        table.row(vec![
            t.name.clone().into(),
            status_cell(t.status),
            t.context.clone().unwrap_or_else(|| "/dev/null".into()).into(),
            step_summary(&t.step).into(),
            t.timeout.to_string().into(),
            triggers(t).into(),
        ]);
    }
    table
}

/// `task show`: one aligned `KEY  value` line per property that is set.
pub fn task_details(t: &Task, colour: bool) -> String {
    let mut rows: Vec<(&str, Cell)> = vec![
        ("NAME", t.name.clone().into()),
        ("STATUS", status_cell(t.status)),
        ("CONTEXT", t.context.clone().unwrap_or_else(|| "/dev/null".into()).into()),
        ("STEP", step_summary(&t.step).into()),
    ];
    if let TaskStep::Docker(d) = &t.step {
        if !d.images.is_empty() {
            rows.push(("IMAGES", d.images.join(", ").into()));
        }
        if !d.build_args.is_empty() || !d.secret_build_args.is_empty() {
            rows.push(("BUILD ARGS", pairs(d.build_args.iter().chain(&d.secret_build_args)).into()));
        }
        if let Some(target) = &d.target {
            rows.push(("TARGET", target.clone().into()));
        }
        let flags: Vec<&str> = [(d.no_push, "no push"), (d.no_cache, "no cache")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
        if !flags.is_empty() {
            rows.push(("BUILD FLAGS", flags.join(", ").into()));
        }
    }
    rows.push(("TIMEOUT", format!("{}s", t.timeout).into()));
    let optional = [
        ("PLATFORM", t.platform.clone().unwrap_or_default()),
        ("VALUES", pairs(t.values.iter().chain(&t.secret_values))),
        ("AGENT LABELS", pairs(t.agent_labels.iter())),
        ("GIT TOKEN", t.git_token.clone().unwrap_or_default()),
        ("TIMERS", t.timers.iter().map(timer_text).collect::<Vec<_>>().join(", ")),
        (
            "CREDENTIALS",
            t.credentials.iter().map(|c| format!("{} ({})", c.login_server, c.username)).collect::<Vec<_>>().join(", "),
        ),
        ("TRIGGERS", triggers(t)),
        ("CREATED", timestamp(t.created_at)),
        ("UPDATED", timestamp(t.updated_at)),
    ];
    rows.extend(optional.into_iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k, v.into())));
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, cell) in rows {
        out.push_str(&format!("{key:<width$}  {}\n", cell.paint(colour)));
    }
    out
}

/// A short description of the step: `file acb.yaml`, `file (inline)`, `cmd …`, `docker Dockerfile`.
pub fn step_summary(step: &TaskStep) -> String {
    match step {
        TaskStep::File { path: _, content: Some(_), .. } => "file (inline)".into(),
        TaskStep::File { path, .. } => format!("file {}", path.as_deref().unwrap_or("acb.yaml")),
        TaskStep::Cmd { cmd } => format!("cmd {cmd}"),
        TaskStep::Docker(d) => format!("docker {}", d.dockerfile.as_deref().unwrap_or("Dockerfile")),
    }
}

/// The TRIGGERS column: `Timer(2)` and the names of the trigger service's settings.
fn triggers(t: &Task) -> String {
    let mut names = Vec::new();
    if !t.timers.is_empty() {
        names.push(format!("Timer({})", t.timers.len()));
    }
    // Owned by the trigger service and opaque here: show which kinds are configured.
    if let Some(obj) = t.triggers.as_object() {
        names.extend(obj.iter().filter(|(_, v)| !v.is_null() && **v != false).map(|(k, _)| k.clone()));
    }
    names.join(", ")
}

fn timer_text(t: &crate::api::Timer) -> String {
    let off = if t.enabled { "" } else { " (disabled)" };
    format!("{} \"{}\"{off}", t.name, t.schedule)
}

fn pairs<'a>(it: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    it.map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

/// A task status, green when enabled, yellow when disabled.
pub fn status_cell(status: TaskStatus) -> Cell {
    match status {
        TaskStatus::Enabled => Cell::coloured("Enabled", "32"),
        TaskStatus::Disabled => Cell::coloured("Disabled", "33"),
    }
}
