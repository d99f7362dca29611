//! The task file as written: serde types for the rendered YAML, and the source of the JSON Schema.
//!
//! These types accept what ACR's runner accepts and nothing is defaulted here: `validate` turns them
//! into a [`crate::taskfile::TaskFile`] with ACR's defaults applied. Unknown keys are not rejected by
//! serde (serde would stop at the first one); `validate` reports all of them, with locations and
//! suggestions, from the span tree in `yamltree`.

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// An ACR multi-step task file (`acb.yaml`), after alias substitution and template rendering.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields, title = "ACR task file (drydock)")]
pub struct TaskFileSpec {
    /// Task file format version: `v1.0.0` (default), `v1.1.0` (enables aliases) or `1.0-preview-1`;
    /// `1.0.0-preview` is accepted with a warning.
    pub version: Option<String>,
    /// Default timeout of every step, in seconds. Default 600; 0 means the default.
    pub step_timeout: Option<i64>,
    /// Limit for the whole run, in seconds. Removed from ACR's runner in 2019 but honoured by drydock;
    /// the run timeout (`--timeout`, default 3600) applies as well, whichever is smaller.
    pub total_timeout: Option<i64>,
    /// Default working directory of every step. Relative paths are under `/workspace`. Default `/workspace`.
    pub working_directory: Option<String>,
    /// Environment for every step, as `KEY=value`; a step's own `env` entry for the same key wins.
    pub env: Option<Vec<String>>,
    /// Secrets resolved before rendering and exposed as `{{.Secrets.<id>}}`.
    pub secrets: Option<Vec<SecretSpec>>,
    /// Docker networks for the run. Without this block every step joins one network created for the run.
    pub networks: Option<Vec<NetworkSpec>>,
    /// Named volumes filled with (base64-encoded) secret files, mounted into steps with `volumeMounts`.
    pub volumes: Option<Vec<VolumeSpec>>,
    /// Aliases (v1.1.0 and later): `$name` is replaced textually before rendering.
    pub alias: Option<AliasSpec>,
    /// The steps of the task, run as a dependency graph (see `when`).
    pub steps: Option<Vec<StepSpec>>,
}

/// One step: exactly one of `build`, `cmd` or `push`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct StepSpec {
    /// Step id: unique, no spaces, not `acb_root`. Default `acb_step_<index>` (0-based). It is also the
    /// step container's DNS name on the run network.
    pub id: Option<String>,
    /// `docker build` arguments: `-t`, `-f`, `--build-arg`, `--target`, `--platform`, ... and one context
    /// (a workspace path, a git URL `#ref:subdir`, or an http(s) tarball).
    pub build: Option<String>,
    /// An image and its arguments, run like `docker run IMAGE ARGS`.
    pub cmd: Option<String>,
    /// Images to push; a missing tag means `:latest`.
    pub push: Option<Vec<String>>,
    /// Dependencies: unset = the previous step in the file; `["-"]` = none (start at once); a list of ids.
    pub when: Option<Vec<String>>,
    /// Step timeout in seconds; default `stepTimeout`.
    pub timeout: Option<i64>,
    /// Seconds to wait before starting the step.
    pub start_delay: Option<i64>,
    /// How many times to re-run a failing build or cmd step.
    pub retries: Option<i64>,
    /// Seconds between retries. Default 5 (ACR's runner; its docs say 0, see the README).
    pub retry_delay: Option<i64>,
    /// Retry only when the step output contains one of these strings.
    pub retry_on_errors: Option<Vec<String>>,
    /// Run the step this many more times after the first; any failing iteration fails the step.
    pub repeat: Option<i64>,
    /// A failure is logged and the step counts as successful.
    pub ignore_errors: Option<bool>,
    /// Start the container and go on at once; it is stopped at the end of the run.
    pub detach: Option<bool>,
    /// Keep the exited container until the end of the run (for `docker logs` in later steps).
    pub keep: Option<bool>,
    /// Override the image entrypoint (cmd steps).
    pub entry_point: Option<String>,
    /// Step environment as `KEY=value`, merged over the task `env` per key.
    pub env: Option<Vec<String>>,
    /// Working directory; relative paths are under `/workspace`.
    pub working_directory: Option<String>,
    /// Use the image's own WORKDIR instead of the task or step working directory.
    pub disable_working_directory_override: Option<bool>,
    /// Network to join instead of the default one.
    pub network: Option<String>,
    /// Ports to publish on the host, `docker run -p` syntax.
    pub ports: Option<Vec<String>>,
    /// Ports to expose, `docker run --expose` syntax.
    pub expose: Option<Vec<String>>,
    /// Run privileged. drydock refuses this unless the run was started with `--allow-privileged`.
    pub privileged: Option<bool>,
    /// User (name or uid[:gid]) to run as.
    pub user: Option<String>,
    /// Windows isolation mode; ignored on Linux with a warning.
    pub isolation: Option<String>,
    /// CPU limit, e.g. `"1.5"`.
    pub cpus: Option<String>,
    /// Pull the image before running it, even if it is present.
    pub pull: Option<bool>,
    /// Retries of that pull.
    pub cmd_download_retries: Option<i64>,
    /// Seconds between those pull retries.
    pub cmd_download_retry_delay: Option<i64>,
    /// Task volumes to mount into this step.
    pub volume_mounts: Option<Vec<VolumeMountSpec>>,
    /// `enabled` or `disabled` (case-insensitive): use a registry build cache for this build step.
    pub cache: Option<String>,
    /// Reserved by ACR (documented, never implemented). Accepted with a warning.
    pub secret: Option<serde_json::Value>,
    /// Reserved by ACR (parsed, never acted on). Accepted with a warning.
    pub exited_with: Option<Vec<i64>>,
    /// Reserved by ACR (parsed, never acted on). Accepted with a warning.
    pub exited_without: Option<Vec<i64>>,
}

/// A secret made available to the template as `{{.Secrets.<id>}}`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SecretSpec {
    /// Unique id, no spaces.
    pub id: Option<String>,
    /// Azure Key Vault secret URL. drydock cannot reach Key Vault itself: give the value with
    /// `--secret <id>=<value>` (or a stored task secret) and the URL is kept for reference.
    pub keyvault: Option<String>,
    /// Client id of a user-assigned managed identity (a UUID).
    #[serde(rename = "clientID")]
    pub client_id: Option<String>,
}

/// A Docker network of the run.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Docker network name.
    pub name: Option<String>,
    /// Network driver; default `bridge`.
    pub driver: Option<String>,
    /// Enable IPv6.
    pub ipv6: Option<bool>,
    /// The network exists already: neither create nor remove it.
    pub skip_creation: Option<bool>,
    /// Steps without `network` join this one. With several, the last one listed wins.
    pub is_default: Option<bool>,
}

/// A named volume of secret files.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct VolumeSpec {
    /// Volume name, `[a-zA-Z0-9-_]+`, unique.
    pub name: Option<String>,
    /// File name to base64-encoded content. An empty value is an empty file (as in ACR).
    pub secret: Option<BTreeMap<String, Option<String>>>,
}

/// Mounts a task volume into a step.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct VolumeMountSpec {
    /// Name of a volume in the task `volumes`.
    pub name: Option<String>,
    /// Absolute path in the container.
    pub mount_path: Option<String>,
}

/// The alias block (v1.1.0 and later).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AliasSpec {
    /// One non-alphanumeric character that starts an alias; default `$`. Doubling it escapes it.
    pub directive: Option<String>,
    /// Alias name to value; these win over `src` files.
    pub values: Option<BTreeMap<String, String>>,
    /// Files of `name: value` maps: paths inside the build context (http(s) URLs only when allowed).
    pub src: Option<Vec<String>>,
}

/// Known keys per mapping kind, for unknown-key reports and suggestions. Kept next to the types so
/// that adding a field here and forgetting it there is caught by the schema drift test.
pub(crate) mod keys {
    /// Top-level task properties.
    pub const TASK: &[&str] = &[
        "version",
        "stepTimeout",
        "totalTimeout",
        "workingDirectory",
        "env",
        "secrets",
        "networks",
        "volumes",
        "alias",
        "steps",
    ];
    /// Step properties.
    pub const STEP: &[&str] = &[
        "id",
        "build",
        "cmd",
        "push",
        "when",
        "timeout",
        "startDelay",
        "retries",
        "retryDelay",
        "retryOnErrors",
        "repeat",
        "ignoreErrors",
        "detach",
        "keep",
        "entryPoint",
        "env",
        "workingDirectory",
        "disableWorkingDirectoryOverride",
        "network",
        "ports",
        "expose",
        "privileged",
        "user",
        "isolation",
        "cpus",
        "pull",
        "cmdDownloadRetries",
        "cmdDownloadRetryDelay",
        "volumeMounts",
        "cache",
        "secret",
        "exitedWith",
        "exitedWithout",
    ];
    /// Secret properties.
    pub const SECRET: &[&str] = &["id", "keyvault", "clientID"];
    /// Network properties.
    pub const NETWORK: &[&str] = &["name", "driver", "ipv6", "skipCreation", "isDefault"];
    /// Volume properties.
    pub const VOLUME: &[&str] = &["name", "secret"];
    /// Volume mount properties.
    pub const MOUNT: &[&str] = &["name", "mountPath"];
    /// Alias block properties.
    pub const ALIAS: &[&str] = &["directive", "values", "src"];
}

/// The JSON Schema of the task file.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(TaskFileSpec);
    serde_json::to_value(&schema).unwrap_or_default()
}

/// The schema as checked in under `task-schemas/acb.schema.json` (pretty, trailing newline).
pub fn json_schema_text() -> String {
    serde_json::to_string_pretty(&json_schema()).unwrap_or_default()
}
