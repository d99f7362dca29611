//! Claims: never-started helper containers whose names say who holds something. Container names
//! are unique on an engine, so creating one is an atomic test-and-set that every process using
//! the engine sees, on any machine; labelled as a run's object, a claim goes with the run's
//! teardown, or with the janitor's sweep of a run whose process died.

use std::collections::HashMap;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptionsBuilder, ListContainersOptionsBuilder};

use super::error::{DockerError, Result, status_of};
use super::seed::{NEVER_RUN_CMD, SEED_IMAGE};
use super::{DockerHost, Labels};

impl DockerHost {
    /// Creates the claim `name`, labelled with `labels` and `key=value`; `false` when someone
    /// holds it already.
    pub async fn create_claim(&self, name: &str, labels: &Labels, key: &str, value: &str) -> Result<bool> {
        self.ensure_seed_image().await?;
        let mut all = labels.to_hash_map();
        all.insert(key.to_string(), value.to_string());
        let body = ContainerCreateBody {
            image: Some(SEED_IMAGE.to_string()),
            cmd: Some(vec![NEVER_RUN_CMD.to_string()]),
            labels: Some(all),
            network_disabled: Some(true),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(name).build();
        match self.api.create_container(Some(opts), body).await {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(409) => Ok(false),
            Err(e) => Err(DockerError::api(format!("creating the claim `{name}`"), e)),
        }
    }

    /// The values of label `key` on the claims (any container) that carry it.
    pub async fn claimed(&self, key: &str) -> Result<Vec<String>> {
        let filters = HashMap::from([("label".to_string(), vec![key.to_string()])]);
        let list = self
            .api
            .list_containers(Some(ListContainersOptionsBuilder::default().all(true).filters(&filters).build()))
            .await
            .map_err(|e| DockerError::api(format!("listing containers labelled {key}"), e))?;
        Ok(list.into_iter().filter_map(|c| c.labels.and_then(|mut l| l.remove(key))).collect())
    }
}
