//! A validated task with ACR's defaults applied: what the plan and the engine work from.

use crate::buildargs::BuildSpec;
use serde::Serialize;
use std::collections::BTreeMap;

/// Name of the network created for a run when the task declares none, as ACR names it.
pub const DEFAULT_NETWORK: &str = "acb_default_network";
/// Where the run workspace is mounted in every step container.
pub const WORKSPACE: &str = "/workspace";
/// ACR's default step timeout, seconds.
pub const DEFAULT_STEP_TIMEOUT: u64 = 600;
/// ACR runner's default retry delay, seconds (its docs say 0; the runner uses 5 and turns 0 into 5).
pub const DEFAULT_RETRY_DELAY: u64 = 5;

/// The task-file format versions drydock accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Version {
    /// `1.0-preview-1`, the oldest accepted spelling.
    Preview1,
    /// `v1.0.0`, the default.
    V1_0_0,
    /// `v1.1.0`: aliases and image aliases.
    V1_1_0,
}

impl Version {
    /// Whether aliases (`$Registry`, `alias:`, image aliases) are processed.
    pub fn has_aliases(self) -> bool {
        self >= Version::V1_1_0
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Preview1 => "1.0-preview-1",
            Version::V1_0_0 => "v1.0.0",
            Version::V1_1_0 => "v1.1.0",
        }
    }
}

/// A validated task file: ACR's task with its defaults applied (the API's saved task is `api::Task`).
#[derive(Clone, Debug, Serialize)]
pub struct TaskFile {
    /// Format version.
    pub version: Version,
    /// Default step timeout, seconds.
    pub step_timeout: u64,
    /// Whole-run limit from the file, seconds, if given.
    pub total_timeout: Option<u64>,
    /// Task working directory, absolute.
    pub working_directory: String,
    /// Task environment, `KEY=value`.
    pub env: Vec<String>,
    /// Declared secrets.
    pub secrets: Vec<SecretDecl>,
    /// Networks to create or join.
    pub networks: Vec<NetworkDecl>,
    /// The network steps join when they name none; `None` means no `--network` at all.
    pub default_network: Option<String>,
    /// Volumes of secret files.
    pub volumes: Vec<VolumeDecl>,
    /// Steps in file order.
    pub steps: Vec<Step>,
}

/// A secret declaration.
#[derive(Clone, Debug, Serialize)]
pub struct SecretDecl {
    /// Id used as `.Secrets.<id>`.
    pub id: String,
    /// Key Vault URL, kept for reference.
    pub keyvault: Option<String>,
    /// Managed identity client id.
    pub client_id: Option<String>,
}

/// A network of the run.
#[derive(Clone, Debug, Serialize)]
pub struct NetworkDecl {
    /// Docker network name as written in the file.
    pub name: String,
    /// Driver, default `bridge`.
    pub driver: String,
    /// IPv6 enabled.
    pub ipv6: bool,
    /// Exists already: never created or removed.
    pub skip_creation: bool,
    /// Whether this is the default network.
    pub is_default: bool,
}

/// A volume of secret files; values are the decoded file contents.
#[derive(Clone, Debug, Serialize)]
pub struct VolumeDecl {
    /// Volume name as written.
    pub name: String,
    /// File name to content. Serialized as a count only: contents are secret.
    #[serde(serialize_with = "count_only")]
    pub files: BTreeMap<String, Vec<u8>>,
}

fn count_only<S: serde::Serializer>(files: &BTreeMap<String, Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(files.len() as u64)
}

/// What a step waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// No `when`: the previous step in the file (none for the first step).
    Previous,
    /// `when: ["-"]`: nothing.
    Immediately,
    /// `when: [ids]`: those steps.
    After(Vec<String>),
}

/// A validated step.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// 0-based position in the file.
    pub index: usize,
    /// Id (defaulted to `acb_step_<index>`).
    pub id: String,
    /// Line of the step in the original file.
    pub line: u32,
    /// What the step does.
    pub kind: StepKind,
    /// Dependencies as written.
    pub when: When,
    /// Timeout, seconds.
    pub timeout: u64,
    /// Delay before start, seconds.
    pub start_delay: u64,
    /// Retries after a failure.
    pub retries: u32,
    /// Seconds between retries.
    pub retry_delay: u64,
    /// Retry only if the output contains one of these.
    pub retry_on_errors: Vec<String>,
    /// Extra iterations after the first.
    pub repeat: u32,
    /// A failure counts as success.
    pub ignore_errors: bool,
    /// Run in the background until the end of the run.
    pub detach: bool,
    /// Keep the exited container until the end of the run.
    pub keep: bool,
    /// Entrypoint override.
    pub entry_point: Option<String>,
    /// Environment: the task env merged with the step env per key, `KEY=value`.
    pub env: Vec<String>,
    /// Working directory, absolute; `None` when `disableWorkingDirectoryOverride` is set.
    pub working_directory: Option<String>,
    /// Network override.
    pub network: Option<String>,
    /// `-p` mappings.
    pub ports: Vec<String>,
    /// `--expose` ports.
    pub expose: Vec<String>,
    /// Privileged container (refused unless allowed at run time).
    pub privileged: bool,
    /// User to run as.
    pub user: Option<String>,
    /// Windows isolation (ignored on Linux).
    pub isolation: Option<String>,
    /// CPU limit.
    pub cpus: Option<String>,
    /// Pull the image first.
    pub pull: bool,
    /// Retries of that pull.
    pub cmd_download_retries: u32,
    /// Seconds between those pull retries.
    pub cmd_download_retry_delay: u64,
    /// Volume mounts.
    pub volume_mounts: Vec<VolumeMount>,
    /// Registry build cache requested (`cache: enabled`).
    pub cache: bool,
}

/// A volume mounted into a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VolumeMount {
    /// Task volume name.
    pub name: String,
    /// Absolute container path.
    pub mount_path: String,
}

/// The three kinds of step.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// `build:` a `docker build` argument string.
    Build(Box<BuildStep>),
    /// `cmd:` an image and arguments.
    Cmd(CmdStep),
    /// `push:` images.
    Push(PushStep),
}

impl StepKind {
    /// `build`, `cmd` or `push`.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Build(_) => "build",
            StepKind::Cmd(_) => "cmd",
            StepKind::Push(_) => "push",
        }
    }
}

/// A build step.
#[derive(Clone, Debug, Serialize)]
pub struct BuildStep {
    /// The argument string as rendered.
    pub raw: String,
    /// Parsed arguments.
    pub spec: BuildSpec,
}

/// A cmd step.
#[derive(Clone, Debug, Serialize)]
pub struct CmdStep {
    /// The string as rendered.
    pub raw: String,
    /// The image, after image-alias expansion.
    pub image: String,
    /// Arguments after the image, split with shell rules.
    pub args: Vec<String>,
}

/// A push step.
#[derive(Clone, Debug, Serialize)]
pub struct PushStep {
    /// Images, normalised with `:latest` where untagged, duplicates removed.
    pub images: Vec<String>,
}
