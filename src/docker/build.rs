//! Image builds from a streamed tar context, with the classic builder or BuildKit.
//!
//! Both builders stream the context to the engine (`POST /build`) and report progress as
//! readable lines: the classic builder's own "Step 1/4 : …" output, or BuildKit's progress
//! graph translated by [`super::buildkit_log`] into `--progress=plain` style lines.
//!
//! Docker 20.10 limits worth knowing: its built-in Dockerfile frontend is old (no heredocs, no
//! `RUN --mount=type=secret,env=…`; secrets are files under `/run/secrets/<id>`), and a
//! `# syntax=` line makes BuildKit pull a frontend image, which fails on an offline host.

use std::collections::{BTreeMap, HashMap};
use std::io;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use bollard::models::{BuildInfo, BuildInfoAux};
use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};

use super::buildkit_log::BuildkitLog;
use super::credentials::credential_map;
use super::error::{DockerError, Result, describe};
use super::seed::unique_suffix;
use super::{DockerHost, RegistryCredential};

/// What to build and how.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildRequest {
    /// Path of the Dockerfile inside the context tar (e.g. `Dockerfile`, `docker/app.Dockerfile`).
    pub dockerfile: String,
    /// Names to give the image (`repo:tag`); may be empty.
    pub tags: Vec<String>,
    /// `--build-arg` values.
    pub build_args: BTreeMap<String, String>,
    /// `--target` stage.
    pub target: Option<String>,
    /// `--platform`, e.g. `linux/amd64`.
    pub platform: Option<String>,
    /// Labels to put on the image.
    pub labels: BTreeMap<String, String>,
    /// Do not use the build cache.
    pub no_cache: bool,
    /// Always try to pull newer base images.
    pub pull: bool,
    /// Network for RUN steps (`default`, `host`, `none`; the classic builder also takes a
    /// network name).
    pub network_mode: Option<String>,
    /// Use BuildKit instead of the classic builder.
    pub buildkit: bool,
    /// Credentials for pulling `FROM` images.
    pub registry_auth: Vec<RegistryCredential>,
    /// Build secrets for `RUN --mount=type=secret,id=<key>` (BuildKit only).
    pub secrets: BTreeMap<String, Vec<u8>>,
}

/// One line of build output, without its trailing newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildLog {
    /// The text.
    pub line: String,
}

/// The result of a successful build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOutcome {
    /// Id of the built image (`sha256:…`).
    pub image_id: String,
}

impl DockerHost {
    /// Builds an image from a tar stream of the build context.
    ///
    /// The context is streamed to the engine (not buffered), except for BuildKit builds with
    /// `secrets`, which go through BuildKit's gRPC API and need the whole context in memory
    /// (a bollard limitation). `on_log` receives the build output line by line as it happens.
    /// A failing step ends in [`DockerError::BuildFailed`] with the builder's message.
    pub async fn build_image<S>(
        &self,
        req: BuildRequest,
        context_tar: S,
        mut on_log: impl FnMut(BuildLog),
    ) -> Result<BuildOutcome>
    where
        S: Stream<Item = std::result::Result<Bytes, io::Error>> + Send + 'static,
    {
        if req.dockerfile.is_empty() {
            return Err(DockerError::InvalidRequest {
                what: "build request",
                reason: "no Dockerfile path given".into(),
            });
        }
        if !req.secrets.is_empty() {
            if !req.buildkit {
                return Err(DockerError::InvalidRequest {
                    what: "build request",
                    reason: "build secrets need BuildKit; the classic builder has no secret \
                             mounts (set buildkit, or pass the value as a build arg if it is \
                             not secret)"
                        .into(),
                });
            }
            return self.build_with_secrets(req, context_tar, on_log).await;
        }
        let image_id = self.stream_build(&req, context_tar, &mut on_log).await?;
        self.apply_extra_tags(&image_id, &req.tags).await?;
        Ok(BuildOutcome { image_id })
    }

    /// Runs `POST /build` and follows its output until the image id is known.
    async fn stream_build<S>(
        &self,
        req: &BuildRequest,
        context_tar: S,
        on_log: &mut impl FnMut(BuildLog),
    ) -> Result<String>
    where
        S: Stream<Item = std::result::Result<Bytes, io::Error>> + Send + 'static,
    {
        let build_args: HashMap<String, String> = req.build_args.clone().into_iter().collect();
        let labels: HashMap<String, String> = req.labels.clone().into_iter().collect();
        let session = format!("drydock-{}", unique_suffix());
        let mut opts = BuildImageOptionsBuilder::default()
            .dockerfile(&req.dockerfile)
            .buildargs(&build_args)
            .labels(&labels)
            .nocache(req.no_cache)
            .rm(true)
            // Remove intermediate containers of failed steps too: nothing left to sweep.
            .forcerm(true);
        if let Some(tag) = req.tags.first() {
            opts = opts.t(tag);
        }
        if let Some(target) = &req.target {
            opts = opts.target(target);
        }
        if let Some(platform) = &req.platform {
            opts = opts.platform(platform);
        }
        if req.pull {
            opts = opts.pull("true");
        }
        if let Some(net) = &req.network_mode {
            opts = opts.networkmode(net);
        }
        if req.buildkit {
            // bollard serves registry auth for FROM pulls over this session.
            opts = opts.version(BuilderVersion::BuilderBuildKit).session(&session);
        }
        let creds = (!req.registry_auth.is_empty()).then(|| credential_map(&req.registry_auth));
        let mut stream = self.streaming.build_image(opts.build(), creds, Some(bollard::body_try_stream(context_tar)));
        let mut lines = LineSplitter::default();
        let mut bk = BuildkitLog::new();
        let mut image_id = None;
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(e) => {
                    for line in lines.finish().into_iter().chain(bk.finish()) {
                        on_log(BuildLog { line });
                    }
                    return Err(DockerError::BuildFailed { message: describe(&e).1 });
                }
            };
            let emitted = handle_build_info(info, &mut lines, &mut bk, &mut image_id);
            for line in emitted {
                on_log(BuildLog { line });
            }
        }
        for line in lines.finish().into_iter().chain(bk.finish()) {
            on_log(BuildLog { line });
        }
        match image_id {
            Some(id) => Ok(id),
            // Very old engines send no aux id; the tag then tells us.
            None => match req.tags.first() {
                Some(tag) => Ok(self.inspect_image(tag).await?.id),
                None => Err(DockerError::BuildFailed {
                    message: "the engine finished the build without reporting an image id".into(),
                }),
            },
        }
    }

    /// `POST /build` takes one `t`; further names are added as tags afterwards.
    pub(crate) async fn apply_extra_tags(&self, image_id: &str, tags: &[String]) -> Result<()> {
        for tag in tags.iter().skip(1) {
            self.tag_image(image_id, tag).await?;
        }
        Ok(())
    }
}

/// Extracts log lines and the image id from one message of either builder.
fn handle_build_info(
    info: BuildInfo,
    lines: &mut LineSplitter,
    bk: &mut BuildkitLog,
    image_id: &mut Option<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    match (info.id.as_deref(), info.aux) {
        (Some("moby.buildkit.trace"), Some(BuildInfoAux::BuildKit(status))) => {
            out.extend(bk.translate(&status));
        }
        // Classic builder: `{"aux":{"ID":…}}`; BuildKit: `{"id":"moby.image.id","aux":{"ID":…}}`.
        (_, Some(BuildInfoAux::Default(img))) => {
            if let Some(id) = img.id {
                *image_id = Some(id);
            }
        }
        _ => {}
    }
    if let Some(text) = info.stream {
        out.extend(lines.push(&text));
    }
    // Base image pulls report `status` messages; skip byte counters.
    if let Some(status) = info.status.filter(|s| !s.is_empty())
        && info.progress_detail.as_ref().is_none_or(|d| d.total.is_none())
    {
        out.push(match info.id.filter(|s| !s.is_empty() && !s.starts_with("moby.")) {
            Some(id) => format!("{id}: {status}"),
            None => status,
        });
    }
    out
}

/// Reassembles lines from the classic builder's `stream` chunks, which may hold several lines
/// or part of one.
#[derive(Debug, Default)]
struct LineSplitter {
    partial: String,
}

impl LineSplitter {
    fn push(&mut self, chunk: &str) -> Vec<String> {
        self.partial.push_str(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=pos).collect();
            out.push(line.trim_end_matches(['\n', '\r']).to_string());
        }
        out
    }

    fn finish(&mut self) -> Vec<String> {
        if self.partial.is_empty() { Vec::new() } else { vec![std::mem::take(&mut self.partial)] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_splitter_reassembles() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push("Step 1/2 : FROM x\n ---> ab"), vec!["Step 1/2 : FROM x"]);
        assert_eq!(s.push("c\nhi\r\n"), vec![" ---> abc", "hi"]);
        assert_eq!(s.push("tail"), Vec::<String>::new());
        assert_eq!(s.finish(), vec!["tail"]);
    }
}
