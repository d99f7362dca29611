//! Webhook payloads of every provider through the public `Provider` trait
//! (`drydock::triggers::source::provider::{GitHub, GitLab, Gitea, Generic}`), then what the
//! receiver does with a parsed event before queueing runs: repository matching, the
//! idempotency key, the JSON round trip of the stored event, and the task's trigger filters.
//!
//! Input: byte 0 picks the provider (bits 0-1) and the event header (the rest);
//! bytes 1.. are the body. The signature check runs on the body too, with the body's last
//! line as the signature header.
#![no_main]

use std::sync::LazyLock;

use drydock::api::Task;
use drydock::repository::normalize;
use drydock::triggers::source::event::{GitEvent, Parsed};
use drydock::triggers::source::provider::{Generic, GitHub, GitLab, Gitea, Provider};
use drydock::triggers::source::{decide, git_context};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const PROVIDERS: [&dyn Provider; 4] = [&GitHub, &GitLab, &Gitea, &Generic];
const EVENTS: [&str; 10] = [
    "push",
    "pull_request",
    "ping",
    "Push Hook",
    "Tag Push Hook",
    "Merge Request Hook",
    "issues",
    "",
    "create",
    "Issue Hook",
];

/// Tasks with and without filters, as `decide` sees them.
static TASKS: LazyLock<Vec<Task>> = LazyLock::new(|| {
    let file = json!({"kind": "file", "content": "steps:\n  - cmd: busybox echo hi\n"});
    [
        json!({"name": "plain-task", "context": "https://github.com/o/r.git#main", "step": file,
               "triggers": {"source": {"webhook_secret": "s"}}}),
        json!({"name": "filtered", "context": "https://gitlab.example.com/g/p.git",
               "step": file, "triggers": {"source": {"webhook_secret": "s",
               "events": ["commit", "pullrequest", "tag"], "branches": ["main", "release/*", "!release/old"],
               "tags": ["v*"], "paths": ["src/**", "!**/*.md", "docs/[a-c]?/*"]}}}),
    ]
    .into_iter()
    .map(|v| serde_json::from_value(v).expect("task fixture"))
    .collect()
});

fn event_checks(e: &GitEvent) {
    let _ = (e.run_ref(), e.dedup_key("plain-task"), e.run_branch());
    for t in TASKS.iter() {
        if let Some(ctx) = git_context(t) {
            let _ = e.is_repository(&ctx.key);
        }
        let _ = decide(t, e);
    }
    // Stored in the inbox as JSON and read back after a crash: it must come back the same.
    let text = serde_json::to_string(e).expect("GitEvent serializes");
    let back: GitEvent =
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("stored event does not load: {err}: {text}"));
    assert_eq!(&back, e, "stored event changes on the JSON round trip");
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let provider = PROVIDERS[(sel & 3) as usize];
    let event = EVENTS[((sel >> 2) as usize) % EVENTS.len()];
    let sig_line = body.rsplit(|&b| b == b'\n').next().unwrap_or_default();
    let _ = provider.verify("s3cret", body, &String::from_utf8_lossy(sig_line));

    let parsed = match provider.parse(event, body, "https://git.example.com/o/r.git") {
        Ok(p) => p,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    for url in parsed.repository_urls() {
        let _ = normalize(&url);
    }
    if let Parsed::Event(e) = &parsed {
        event_checks(e);
    }
});
