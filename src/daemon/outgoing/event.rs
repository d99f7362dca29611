//! The body of a run event (`run.started`, `run.finished`): the run's id, task, status, trigger,
//! commit, output images with digests and duration, and a link to its dashboard page.

use crate::api::{Run, Trigger};
use serde_json::json;

/// The JSON text sent, and signed, as `event` about `run`.
pub(super) fn body(event: &str, delivery: &str, run: &Run, link: Option<&str>) -> String {
    let commit = match &run.trigger {
        Trigger::Source { commit, .. } => Some(commit.as_str()),
        _ => None,
    };
    let images: Vec<_> = run
        .output_images
        .iter()
        .map(|i| {
            let image = format!("{}/{}:{}", i.registry, i.repository, i.tag);
            json!({"image": image.trim_start_matches('/'), "digest": i.digest})
        })
        .collect();
    let ended = run.finished_at.filter(|_| run.status.is_terminal());
    let duration = ended.map(|end| (end - run.started_at.unwrap_or(run.queued_at)).num_milliseconds() as f64 / 1000.0);
    json!({
        "event": event,
        "delivery": delivery,
        "run": {
            "id": run.id,
            "task": run.task,
            "status": run.status,
            "trigger": run.trigger,
            "commit": commit,
            "output_images": images,
            "queued_at": run.queued_at,
            "started_at": run.started_at,
            "finished_at": ended,
            "duration_seconds": duration,
            "error": run.error,
            "url": link,
        }
    })
    .to_string()
}
