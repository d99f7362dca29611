//! BuildKit builds with secrets (`RUN --mount=type=secret,id=…`).
//!
//! The session bollard opens for `POST /build?version=2` serves registry auth only, so the
//! engine cannot fetch secrets through it. bollard's gRPC "moby" driver does serve secrets, at
//! two costs that this module accepts for secret builds only:
//! * the context travels as one in-memory upload (bollard's upload provider takes `Bytes`);
//! * there is no progress stream, so the log shows a start line and the outcome.
//!
//! Secrets are written to private (0600) files in a private temporary directory for the
//! duration of the build, because the driver's secret sources are files or environment
//! variables, and changing the process environment is not safe in a multi-threaded program.

use std::collections::HashMap;
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use bollard::auth::DockerCredentials;
use bollard::grpc::build::{
    ImageBuildFrontendOptions, ImageBuildLoadInput, ImageBuildNetworkMode, ImageBuildPlatform, SecretSource,
};
use bollard::grpc::driver::Build as _;
use bollard::grpc::driver::moby::Moby;

use super::DockerHost;
use super::build::{BuildLog, BuildOutcome, BuildRequest};
use super::error::{DockerError, Result, chain};
use super::seed::unique_suffix;

impl DockerHost {
    /// Builds through BuildKit's gRPC API so that secrets can be served.
    pub(crate) async fn build_with_secrets<S>(
        &self,
        req: BuildRequest,
        context_tar: S,
        mut on_log: impl FnMut(BuildLog),
    ) -> Result<BuildOutcome>
    where
        S: Stream<Item = std::result::Result<Bytes, io::Error>> + Send + 'static,
    {
        let context = collect_context(context_tar).await?;
        let secret_dir = SecretDir::create()?;
        let mut opts = ImageBuildFrontendOptions::builder()
            .dockerfile(Path::new(&req.dockerfile))
            .nocache(req.no_cache)
            .pull(req.pull);
        for (k, v) in &req.build_args {
            opts = opts.buildarg(k, v);
        }
        for (k, v) in &req.labels {
            opts = opts.label(k, v);
        }
        if let Some(target) = &req.target {
            opts = opts.target(target);
        }
        if let Some(platform) = &req.platform {
            opts = opts.platforms(&parse_platform(platform)?);
        }
        if let Some(net) = &req.network_mode {
            opts = opts.force_network_mode(&network_mode(net)?);
        }
        for (id, value) in &req.secrets {
            let path = secret_dir.write(id, value)?;
            opts = opts.set_secret(id, &SecretSource::File(path));
        }
        // The moby exporter needs a name to store the image under; without tags, a unique
        // temporary one (kept, so the image is not deleted with it).
        let name = req.tags.first().cloned().unwrap_or_else(|| format!("drydock-build/{}:latest", unique_suffix()));
        let creds: HashMap<String, DockerCredentials> =
            req.registry_auth.iter().map(|c| (c.server.clone(), c.to_docker())).collect();
        on_log(BuildLog {
            line: format!(
                "#0 building with {} secret(s) through BuildKit's gRPC API; \
                 step output is not streamed for secret builds",
                req.secrets.len()
            ),
        });
        let result = run_moby_build(self.streaming.clone(), name.clone(), opts.build(), context, creds).await;
        drop(secret_dir);
        if let Err(message) = result {
            on_log(BuildLog { line: format!("#0 ERROR: {message}") });
            return Err(DockerError::BuildFailed { message });
        }
        let image_id = self.inspect_image(&name).await?.id;
        on_log(BuildLog { line: format!("#0 DONE image {image_id}") });
        self.apply_extra_tags(&image_id, &req.tags).await?;
        Ok(BuildOutcome { image_id })
    }
}

/// Runs bollard's moby-driver build on a thread of its own.
///
/// The driver's future is not `Send` (it holds boxed non-`Send` trait objects), so it cannot
/// run inside a future the engine spawns on its multi-threaded runtime. A current-thread
/// runtime on a dedicated thread drives it (and the gRPC session tasks it spawns) instead.
async fn run_moby_build(
    docker: bollard::Docker,
    name: String,
    opts: ImageBuildFrontendOptions,
    context: Bytes,
    creds: HashMap<String, DockerCredentials>,
) -> std::result::Result<(), String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("drydock-buildkit-secrets".into())
        .spawn(move || {
            let result = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(async {
                    let creds: HashMap<&str, DockerCredentials> =
                        creds.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                    Moby::new(&docker)
                        .docker_build(
                            &name,
                            opts,
                            ImageBuildLoadInput::Upload(context),
                            (!creds.is_empty()).then_some(creds),
                            None,
                        )
                        .await
                        .map_err(|e| chain(&e))
                }),
                Err(e) => Err(format!("cannot start a runtime for the build: {e}")),
            };
            let _ = tx.send(result);
        })
        .map_err(|e| format!("cannot start a build thread: {e}"))?;
    rx.await.unwrap_or_else(|_| Err("the build thread ended without a result".into()))
}

async fn collect_context<S>(context_tar: S) -> Result<Bytes>
where
    S: Stream<Item = std::result::Result<Bytes, io::Error>> + Send + 'static,
{
    let mut buf = BytesMut::new();
    let mut stream = std::pin::pin!(context_tar);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|source| DockerError::Io { action: "reading the build context".into(), source })?;
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

fn parse_platform(p: &str) -> Result<ImageBuildPlatform> {
    let mut parts = p.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(os), Some(arch), variant, None) if !os.is_empty() && !arch.is_empty() => Ok(ImageBuildPlatform {
            os: os.to_string(),
            architecture: arch.to_string(),
            variant: variant.map(str::to_string),
        }),
        _ => Err(DockerError::InvalidRequest { what: "platform", reason: format!("`{p}` is not os/arch[/variant]") }),
    }
}

fn network_mode(net: &str) -> Result<ImageBuildNetworkMode> {
    match net {
        "" | "default" | "bridge" => Ok(ImageBuildNetworkMode::Bridge),
        "host" => Ok(ImageBuildNetworkMode::Host),
        "none" => Ok(ImageBuildNetworkMode::None),
        other => Err(DockerError::InvalidRequest {
            what: "build network",
            reason: format!("BuildKit supports default, host or none, not `{other}`"),
        }),
    }
}

/// A private directory of secret files, removed when dropped.
struct SecretDir {
    path: PathBuf,
}

impl SecretDir {
    fn create() -> Result<Self> {
        let path = std::env::temp_dir().join(format!("drydock-secrets-{}", unique_suffix()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|source| DockerError::Io { action: format!("creating {}", path.display()), source })?;
        Ok(SecretDir { path })
    }

    /// Writes one secret; the file name is an index, not the id (ids may contain anything).
    fn write(&self, id: &str, value: &[u8]) -> Result<PathBuf> {
        let n = std::fs::read_dir(&self.path).map(|d| d.count()).unwrap_or(0);
        let file = self.path.join(format!("s{n}"));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)
            .and_then(|mut f| f.write_all(value))
            .map_err(|source| DockerError::Io { action: format!("writing build secret `{id}`"), source })?;
        Ok(file)
    }
}

impl Drop for SecretDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(dir = %self.path.display(), "could not remove build secrets: {e}");
        }
    }
}
