//! How tasks look to people: the `task list` table and the `task show` details.

use super::output::timestamp;
use super::table::{Cell, Table};
use crate::api::{SourceEvent, Task, TaskStatus, TaskStep};

/// `task list`: NAME, STATUS, CONTEXT, STEP, TIMEOUT, TRIGGERS, LAST RUN.
pub fn task_table(tasks: &[Task]) -> Table {
    let mut table = Table::new(&["NAME", "STATUS", "CONTEXT", "STEP", "TIMEOUT", "TRIGGERS", "LAST RUN"]);
    for t in tasks {
        table.row(vec![
            t.name.clone().into(),
            status_cell(t.status),
            t.context.clone().unwrap_or_else(|| "/dev/null".into()).into(),
            step_summary(&t.step).into(),
            t.timeout.to_string().into(),
            triggers(t).into(),
            last_run(t).unwrap_or_else(|| "-".into()).into(),
        ]);
    }
    table
}

/// `0042 Succeeded`.
fn last_run(t: &Task) -> Option<String> {
    t.last_run.as_ref().map(|r| format!("{} {}", r.id, r.status.as_str()))
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
        (
            "APPROVE BEFORE",
            if t.approve_before.is_empty() {
                String::new()
            } else {
                let timeout = t.approval_timeout.map(|s| format!(" (waits {s} s)")).unwrap_or_default();
                format!("{}{timeout}", t.approve_before.join(", "))
            },
        ),
        ("TIMERS", t.timers.iter().map(timer_text).collect::<Vec<_>>().join(", ")),
        (
            "CREDENTIALS",
            t.credentials.iter().map(|c| format!("{} ({})", c.login_server, c.username)).collect::<Vec<_>>().join(", "),
        ),
        ("TRIGGERS", triggers(t)),
        ("SOURCE TRIGGER", source_text(t)),
        ("BASE IMAGE TRIGGER", base_image_text(t)),
        ("CREATED", timestamp(t.created_at)),
        ("UPDATED", timestamp(t.updated_at)),
        ("LAST RUN", last_run(t).unwrap_or_default()),
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

/// The TRIGGERS column: which kinds of trigger can start the task's runs.
fn triggers(t: &Task) -> String {
    let mut names = Vec::new();
    let source = &t.triggers.source;
    let has_git = t.context.as_deref().is_some_and(|c| !c.starts_with("upload:"));
    if has_git && source.enabled {
        names.extend(source.events.iter().map(|e| match e {
            SourceEvent::Commit => "Commit",
            SourceEvent::Pullrequest => "Pull Request",
            SourceEvent::Tag => "Tag",
        }));
    }
    if t.triggers.base_image.enabled && matches!(t.step, TaskStep::Docker(_) | TaskStep::File { .. }) {
        names.push("Image Update");
    }
    let mut out: Vec<String> = names.into_iter().map(str::to_string).collect();
    let enabled = t.timers.iter().filter(|t| t.enabled).count();
    if enabled > 0 {
        out.push(format!("Timer({enabled})"));
    }
    out.join(", ")
}

/// `task show`'s SOURCE TRIGGER line: events, filters, polling and whether a secret is set.
fn source_text(t: &Task) -> String {
    let s = &t.triggers.source;
    if t.context.as_deref().is_none_or(|c| c.starts_with("upload:")) {
        return String::new();
    }
    if !s.enabled {
        return "disabled".into();
    }
    let mut parts = vec![s.events.iter().map(SourceEvent::as_str).collect::<Vec<_>>().join("+")];
    if !s.branches.is_empty() {
        parts.push(format!("branches {}", s.branches.join(" ")));
    }
    if !s.tags.is_empty() {
        parts.push(format!("tags {}", s.tags.join(" ")));
    }
    if !s.paths.is_empty() {
        parts.push(format!("paths {}", s.paths.join(" ")));
    }
    parts.push(if s.webhook_secret.is_some() { "webhook secret set".into() } else { "no webhook secret".into() });
    if let Some(p) = s.poll_interval {
        parts.push(format!("polled every {p}s"));
    }
    if let Some(c) = &s.commit_status {
        parts.push(format!("commit statuses to {}", c.provider.as_deref().unwrap_or("the git server")));
    }
    if s.events.contains(&SourceEvent::Pullrequest) {
        let trust = if s.trust_collaborators { ", collaborators trusted" } else { "" };
        parts.push(format!("fork pull requests: {}{trust}", s.fork_pull_requests.as_str()));
    }
    if let Some(e) = &s.last_poll_error {
        parts.push(format!("last poll FAILED at {e}"));
    }
    parts.join(", ")
}

/// `task show`'s BASE IMAGE TRIGGER line.
fn base_image_text(t: &Task) -> String {
    let b = &t.triggers.base_image;
    if !b.enabled {
        return "disabled".into();
    }
    format!("{:?}, quiet period {}s", b.trigger_type, b.quiet_period)
}

fn timer_text(t: &crate::api::Timer) -> String {
    let off = if t.enabled { "" } else { " (disabled)" };
    let missed = if t.missed == crate::api::MissedPolicy::RunOnce { " run-once" } else { "" };
    format!("{} \"{}\"{missed}{off}", t.name, t.schedule)
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
