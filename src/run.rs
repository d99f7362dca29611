//! The run model: what a run is and produces (statuses, step records, output images, the run
//! record), shared by the engine that makes it, the store that keeps it and the API that shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Status of a run. `Error` means drydock or its infrastructure failed (Docker gone, daemon
/// restarted); `Failed` means a step failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum RunStatus {
    /// Waiting for a person to approve it (a fork's pull request): nothing is fetched or run
    /// until then, and no worker slot is held.
    AwaitingApproval,
    /// Waiting for a worker.
    Queued,
    /// Executing.
    Running,
    /// Every step succeeded (or failed with `ignoreErrors`).
    Succeeded,
    /// A step failed.
    Failed,
    /// Cancelled by a user.
    Canceled,
    /// The run timeout expired.
    Timeout,
    /// An infrastructure error.
    Error,
}

impl RunStatus {
    /// Whether the run has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, RunStatus::AwaitingApproval | RunStatus::Queued | RunStatus::Running)
    }

    /// The name as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::AwaitingApproval => "AwaitingApproval",
            RunStatus::Queued => "Queued",
            RunStatus::Running => "Running",
            RunStatus::Succeeded => "Succeeded",
            RunStatus::Failed => "Failed",
            RunStatus::Canceled => "Canceled",
            RunStatus::Timeout => "Timeout",
            RunStatus::Error => "Error",
        }
    }

    /// Parses a stored name (case-insensitive).
    pub fn parse(s: &str) -> Option<RunStatus> {
        [
            RunStatus::AwaitingApproval,
            RunStatus::Queued,
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::Canceled,
            RunStatus::Timeout,
            RunStatus::Error,
        ]
        .into_iter()
        .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

/// Status of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum StepStatus {
    /// Not started yet.
    Pending,
    /// Executing.
    Running,
    /// Done.
    Succeeded,
    /// Failed (after its retries).
    Failed,
    /// Never started because the run failed or a dependency did not succeed.
    Skipped,
    /// Stopped by a cancel.
    Canceled,
    /// Its timeout expired.
    Timeout,
    /// Not run: it succeeded in the run this one resumes, whose record and outputs it shows.
    Reused,
}

impl StepStatus {
    /// Whether the step has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, StepStatus::Pending | StepStatus::Running)
    }

    /// The name as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "Pending",
            StepStatus::Running => "Running",
            StepStatus::Succeeded => "Succeeded",
            StepStatus::Failed => "Failed",
            StepStatus::Skipped => "Skipped",
            StepStatus::Canceled => "Canceled",
            StepStatus::Timeout => "Timeout",
            StepStatus::Reused => "Reused",
        }
    }
}

/// The result of one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StepRecord {
    /// Step id.
    pub id: String,
    /// Status.
    pub status: StepStatus,
    /// Exit code of the last container, when there was one.
    pub exit_code: Option<i64>,
    /// Attempts made (1 + retries used; repeat iterations count too).
    pub attempts: u32,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Ids of the steps it waited for (the plan's edges, so that a run can be drawn as its graph).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
}

impl StepRecord {
    /// A step that has not started.
    pub fn pending(id: &str) -> Self {
        StepRecord {
            id: id.to_string(),
            status: StepStatus::Pending,
            exit_code: None,
            attempts: 0,
            started_at: None,
            finished_at: None,
            error: None,
            needs: Vec::new(),
        }
    }
}

/// Settles the steps of a run that ended without its engine (its node died or restarted): a step
/// still running failed at `at` because of `why`, and one still pending never ran. Returns whether
/// anything changed. A finished run then shows no step as running forever.
pub fn settle_steps(steps: &mut [StepRecord], at: DateTime<Utc>, why: &str) -> bool {
    let mut changed = false;
    for step in steps {
        match step.status {
            StepStatus::Running => {
                step.status = StepStatus::Failed;
                step.finished_at = Some(at);
                step.error = Some(format!("interrupted: {why}"));
            }
            StepStatus::Pending => step.status = StepStatus::Skipped,
            _ => continue,
        }
        changed = true;
    }
    changed
}

/// An image a run pushed (or built, with no digest when it was not pushed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutputImage {
    /// Registry host.
    pub registry: String,
    /// Repository path.
    pub repository: String,
    /// Tag.
    pub tag: String,
    /// Manifest digest as the registry reports it.
    pub digest: Option<String>,
    /// The digest of its signature manifest (`sha256-<hex>.sig`), when the run signed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// For a multi-platform image, each platform's manifest; `digest` is then the index's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformDigest>,
}

/// One platform's manifest under a multi-platform image's index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlatformDigest {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// Its manifest digest.
    pub digest: String,
}

/// A signature a run wrote for an image it pushed, stored as cosign stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ImageSignature {
    /// `registry/repository`.
    pub image: String,
    /// The signed manifest digest.
    pub digest: String,
    /// The signature manifest's tag (`sha256-<hex>.sig`).
    pub signature_tag: String,
    /// The signature manifest's digest.
    pub signature_digest: String,
}

impl RunRecord {
    /// Notes on each pushed image the digest of the signature the run wrote for it, so that a
    /// daemon's run record (which keeps the images, not a list of signatures) shows it too.
    pub fn attach_signatures(&mut self) {
        for image in &mut self.output_images {
            let name = format!("{}/{}", image.registry, image.repository);
            image.signature = self
                .signatures
                .iter()
                .rev()
                .find(|s| s.image == name && image.digest.as_deref() == Some(s.digest.as_str()))
                .map(|s| s.signature_digest.clone());
        }
    }
}

/// The final record of a run, as `--output json` prints it and the store keeps it.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunRecord {
    /// Run id.
    pub id: String,
    /// Final status.
    pub status: RunStatus,
    /// One entry per step, in file order.
    pub steps: Vec<StepRecord>,
    /// Pushed images with digests.
    pub output_images: Vec<OutputImage>,
    /// The signature written for each pushed image, when the run signs (`--sign-key`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<ImageSignature>,
    /// ACR's dependency JSON: one element per built image tag.
    pub dependencies: Vec<serde_json::Value>,
    /// Why the run did not succeed, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The platform(s) it was asked to run as (`--platform`, or its task's), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// What a later resume needs (a run that did not succeed and kept its workspace). Kept by the
    /// store beside the record, never shown.
    #[serde(skip)]
    #[schemars(skip)]
    pub resume: Option<ResumePoint>,
}

/// Where a run that did not succeed can be resumed from: the workspace volume it kept, and each
/// step that succeeded with what it produced. `drydock runs resume` reuses those steps instead of
/// running them again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResumePoint {
    /// The workspace volume, kept as the last step left it (`None`: it is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Steps that succeeded (or were reused), by id.
    #[serde(default)]
    pub steps: std::collections::BTreeMap<String, StepMemo>,
    /// SHA-256 of the task file's text before rendering (empty for a single-step run).
    #[serde(default)]
    pub task_hash: String,
    /// The commit the context was, when it was a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The `.Run.ID` the task was rendered with (a resume keeps its original's).
    #[serde(default)]
    pub run_id: String,
    /// The `.Run.Date` it was rendered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<DateTime<Utc>>,
}

/// One step that succeeded, as a resume reuses it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepMemo {
    /// SHA-256 of the rendered step (secrets masked): a resume that renders the step differently
    /// cannot reuse its result.
    pub fingerprint: String,
    /// Its record in the run that ran it.
    pub record: StepRecord,
    /// Images it built, tag and image id, so that a resume can put the tags back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<BuiltImage>,
    /// Images it pushed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pushed: Vec<OutputImage>,
    /// Its entries of ACR's dependency JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<serde_json::Value>,
}

/// A tag a build step produced and the image id it pointed at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltImage {
    /// The tag as the step wrote it.
    pub tag: String,
    /// The engine's image id (`sha256:…`).
    pub id: String,
}
