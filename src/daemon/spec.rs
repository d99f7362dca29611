//! What a queued run will execute, frozen at queue time (its secret fields sealed by
//! `sealing` before it reaches the store).

use crate::api::{Credential, TaskStep};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A git checkout a trigger asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkout {
    /// Exact commit to check out.
    pub commit: String,
    /// Branch it was pushed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag that was pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_tag: Option<String>,
}

/// Everything a worker needs to run a queued run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSpec {
    /// `upload:<id>`, a git URL, or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// What to run.
    pub step: TaskStep,
    /// Values.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Secret values (sealed at rest).
    #[serde(default)]
    pub secret_values: BTreeMap<String, String>,
    /// Run timeout, seconds.
    pub timeout: u64,
    /// Token for a private git context (sealed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_token: Option<String>,
    /// Registry logins (passwords sealed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<Credential>,
    /// Task name, for task runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// A specific commit to check out (triggered runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<Checkout>,
    /// The trigger, described for `.Run.TriggeredBy`.
    #[serde(default)]
    pub triggered_by: String,
}
