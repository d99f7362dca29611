//! Between Rust values and the portable column types: times as unix milliseconds, JSON as TEXT,
//! enums by name, booleans as 0/1; and the decoding of a whole run row.

use crate::api::{RunType, Trigger};
use crate::run::RunStatus;
use crate::store::trigger_record::TriggerRecord;
use crate::store::{RunRow, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::time::Duration;

/// The columns of `runs` that make a [`RunRow`], in the order [`run_from_row`] reads them by name.
/// A macro so that queries can `concat!` it into `&'static str` SQL.
macro_rules! run_columns {
    () => {
        "seq, id, status, run_type, task, trigger, request, required_labels, queued_ms, started_ms, \
         finished_ms, platform, steps, output_images, dependencies, error, node, lease_until_ms, \
         cancel_requested, approval, waiting_step, rerun_of, resumed_from, workspace, \
         workspace_until_ms, resume_state, claim_epoch"
    };
}
pub(super) use run_columns;

/// The current time in unix milliseconds.
pub(super) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `from` plus `lease`, saturating rather than overflowing on absurd leases.
pub(super) fn plus(from_ms: i64, lease: Duration) -> i64 {
    from_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
}

/// A stored unix-millisecond time.
pub(super) fn time(what: &str, ms: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("{what}: time {ms} is out of range")))
}

/// An optional stored time.
pub(super) fn opt_time(what: &str, ms: Option<i64>) -> StoreResult<Option<DateTime<Utc>>> {
    ms.map(|ms| time(what, ms)).transpose()
}

/// A value as JSON text.
pub(super) fn json<T: Serialize + ?Sized>(what: &str, value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Database(format!("cannot encode {what}: {e}")))
}

/// A value back from JSON text.
pub(super) fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// The stored name of a run type (its serde name, e.g. `QuickBuild`).
pub(super) fn run_type_name(run_type: RunType) -> StoreResult<String> {
    match serde_json::to_value(run_type) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(StoreError::Database(format!("cannot encode run type {run_type:?}"))),
    }
}

/// The trigger's `kind` as its stored form tags it (`manual`, `source`, `timer`, `base_image`),
/// which is what the `trigger` list filter names.
pub(super) fn trigger_kind(trigger: &Trigger) -> StoreResult<String> {
    Ok(TriggerRecord::from(trigger).kind().to_string())
}

/// The `trigger` column: the trigger's stored form as JSON.
pub(super) fn trigger_json(trigger: &Trigger) -> StoreResult<String> {
    json("trigger", &TriggerRecord::from(trigger))
}

/// One column of a row, with a decode failure reported as unreadable data in that column.
pub(super) fn col<'r, T>(row: &'r AnyRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(name).map_err(|_| StoreError::Corrupt(format!("column {name} holds a value of an unexpected type")))
}

/// A [`RunRow`] from a row selected with [`run_columns!`].
pub(super) fn run_from_row(row: &AnyRow) -> StoreResult<RunRow> {
    let seq: i64 = col(row, "seq")?;
    let id: Option<String> = col(row, "id")?;
    let id = id.ok_or_else(|| StoreError::Corrupt(format!("run #{seq} has no id")))?;
    let what = |field: &str| format!("run {id}: {field}");
    let status: String = col(row, "status")?;
    let run_type: String = col(row, "run_type")?;
    Ok(RunRow {
        seq,
        status: RunStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("{}: unknown status `{status}`", what("status"))))?,
        run_type: from_json(&what("run type"), &format!("\"{run_type}\""))?,
        task: col(row, "task")?,
        trigger: from_json::<TriggerRecord>(&what("trigger"), &col::<String>(row, "trigger")?)?.into(),
        request: from_json(&what("request"), &col::<String>(row, "request")?)?,
        required_labels: from_json(&what("required labels"), &col::<String>(row, "required_labels")?)?,
        queued_at: time(&what("queued time"), col(row, "queued_ms")?)?,
        started_at: opt_time(&what("start time"), col(row, "started_ms")?)?,
        finished_at: opt_time(&what("finish time"), col(row, "finished_ms")?)?,
        platform: col(row, "platform")?,
        steps: from_json(&what("steps"), &col::<String>(row, "steps")?)?,
        output_images: from_json(&what("output images"), &col::<String>(row, "output_images")?)?,
        dependencies: from_json(&what("dependencies"), &col::<String>(row, "dependencies")?)?,
        error: col(row, "error")?,
        node: col(row, "node")?,
        lease_until: opt_time(&what("lease"), col(row, "lease_until_ms")?)?,
        cancel_requested: col::<i64>(row, "cancel_requested")? != 0,
        approval: col::<Option<String>>(row, "approval")?
            .map(|text| from_json(&what("approval"), &text))
            .transpose()?,
        waiting_step: col(row, "waiting_step")?,
        rerun_of: col(row, "rerun_of")?,
        resumed_from: col(row, "resumed_from")?,
        workspace: col(row, "workspace")?,
        workspace_until: opt_time(&what("workspace time"), col(row, "workspace_until_ms")?)?,
        resume_state: col::<Option<String>>(row, "resume_state")?
            .map(|text| from_json(&what("resume state"), &text))
            .transpose()?,
        epoch: col(row, "claim_epoch")?,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_serde() {
        assert_eq!(run_type_name(RunType::QuickBuild).unwrap(), "QuickBuild");
        assert_eq!(trigger_kind(&Trigger::Manual).unwrap(), "manual");
        let base =
            Trigger::BaseImage { image: "a".into(), old_digest: None, new_digest: "d".into(), cascade_from: None };
        assert_eq!(trigger_kind(&base).unwrap(), "base_image");
    }

    #[test]
    fn leases_saturate() {
        assert_eq!(plus(1_000, Duration::from_secs(2)), 3_000);
        assert_eq!(plus(1, Duration::MAX), i64::MAX);
    }
}
