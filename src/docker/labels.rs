//! Labels carried by every object drydock creates.

use std::collections::{BTreeMap, HashMap};

/// Label whose value is the id of the run that created the object; the janitor groups by it.
pub const RUN_LABEL: &str = "drydock.run";

/// The labels for one object: always the run id, plus any extra ones (e.g. `drydock.node`).
///
/// Making the run id a required field (rather than "a map that should contain it") means no
/// code path can create an object the janitor cannot find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    run_id: String,
    extra: BTreeMap<String, String>,
}

impl Labels {
    /// Labels for an object belonging to `run_id`.
    pub fn for_run(run_id: impl Into<String>) -> Self {
        Labels { run_id: run_id.into(), extra: BTreeMap::new() }
    }

    /// Adds one more label. A key equal to [`RUN_LABEL`] is ignored: the run id is fixed.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        if key != RUN_LABEL {
            self.extra.insert(key, value.into());
        }
        self
    }

    /// The run id these labels carry.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// All labels, the run label included.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut map = self.extra.clone();
        map.insert(RUN_LABEL.to_string(), self.run_id.clone());
        map
    }

    /// Rebuilds labels from an object's label map, if it carries a run id.
    pub(crate) fn from_map(map: &HashMap<String, String>) -> Option<Self> {
        let run_id = map.get(RUN_LABEL)?;
        let mut labels = Labels::for_run(run_id.clone());
        for (k, v) in map {
            labels = labels.with(k.clone(), v.clone());
        }
        Some(labels)
    }

    pub(crate) fn to_hash_map(&self) -> HashMap<String, String> {
        self.to_map().into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_label_always_present_and_not_overridable() {
        let l = Labels::for_run("r1").with(RUN_LABEL, "other").with("drydock.node", "n1");
        let m = l.to_map();
        assert_eq!(m[RUN_LABEL], "r1");
        assert_eq!(m["drydock.node"], "n1");
        assert_eq!(m.len(), 2);
    }
}
