//! Options shared by the commands that talk to a registry directly (`artifact`, `verify`,
//! `purge`): the logins to use, and the client to use them with.

use super::CliError;
use crate::reference::ImageRef;
use crate::registry::{ClientConfig, Credentials, Login, RegistryClient, RepoAccess};
use clap::Args;
use std::path::PathBuf;

/// Registry logins: `--registry-login` values over the Docker config.json.
#[derive(Args, Debug, Clone)]
pub struct RegistryLoginArgs {
    /// Registry login `host=user:password`; repeatable. Also read: the Docker config.json.
    #[arg(long = "registry-login", value_name = "HOST=USER:PASSWORD")]
    pub registry_login: Vec<String>,
    /// Docker config.json with registry logins (default $DOCKER_CONFIG/config.json or ~/.docker/config.json).
    #[arg(long)]
    pub docker_config: Option<PathBuf>,
}

impl RegistryLoginArgs {
    /// The logins, or a usage error naming the broken file or value.
    pub fn credentials(&self) -> Result<Credentials, CliError> {
        load_credentials(self.docker_config.as_deref(), &self.registry_login)
    }
}

/// Docker's config.json (the given one or the default) with `host=user:password` logins on top.
pub fn load_credentials(docker_config: Option<&std::path::Path>, logins: &[String]) -> Result<Credentials, CliError> {
    match docker_config {
        Some(p) => Credentials::from_docker_config(p),
        None => Credentials::from_default_docker_config(),
    }
    .and_then(|c| c.with_logins(logins))
    .map_err(|e| CliError::Invalid(e.to_string()))
}

/// A registry client with the default settings.
pub fn registry_client() -> Result<RegistryClient, CliError> {
    RegistryClient::new(ClientConfig::default()).map_err(|e| CliError::Failed(e.to_string()))
}

/// Parses an image reference given on the command line.
pub fn image_ref(text: &str) -> Result<ImageRef, CliError> {
    ImageRef::parse(text).map_err(|e| CliError::Invalid(e.to_string()))
}

/// The login for `registry`, if any.
pub fn login_for<'a>(credentials: &'a Credentials, registry: &str) -> Result<Option<&'a Login>, CliError> {
    credentials.get(registry).map_err(|e| CliError::Invalid(e.to_string()))
}

/// The repository `image` names, with its login from `credentials`.
pub fn repo_access<'a>(image: &'a ImageRef, credentials: &'a Credentials) -> Result<RepoAccess<'a>, CliError> {
    Ok(RepoAccess {
        registry: &image.registry,
        repository: &image.repository,
        login: login_for(credentials, &image.registry)?,
    })
}

/// What to ask the registry for: the digest when the reference has one, else the tag.
pub fn manifest_reference(image: &ImageRef) -> String {
    image.digest.clone().or_else(|| image.tag.clone()).unwrap_or_default()
}
