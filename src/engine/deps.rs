//! ACR's dependency JSON after a successful run: each built image with the digests of its runtime
//! and build-time base images, and its own digest when it was pushed.

use super::Engine;
use super::log::RunLog;
use super::platform::Platform;
use super::step::BuildProduct;
use crate::dockerfile::dependency_json;
use crate::reference::ImageRef;
use crate::registry::RepoAccess;
use crate::run::OutputImage;
use oci_spec::image::ImageIndex;
use std::collections::HashMap;

/// One element per built image tag, as ACR prints after "The following dependencies were found:".
pub async fn collect(
    engine: &Engine,
    builds: &[BuildProduct],
    pushed: &[OutputImage],
    _log: &RunLog,
) -> Vec<serde_json::Value> {
    let mut cache: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::new();
    for b in builds {
        let mut deps = b.deps.clone();
        // A build for a platform pulled its bases for that platform and gave their local names
        // back, so the local image says nothing of what was used: the registry's tag does.
        let local = b.platforms.is_empty();
        if let Some(r) = deps.runtime.as_mut() {
            r.digest = base_digest(engine, r, &mut cache, local).await;
        }
        for r in deps.buildtime.iter_mut() {
            r.digest = base_digest(engine, r, &mut cache, local).await;
        }
        let tags: Vec<Option<ImageRef>> =
            if b.tags.is_empty() { vec![None] } else { b.tags.iter().map(|t| ImageRef::parse(t).ok()).collect() };
        for mut tag in tags {
            if let Some(t) = tag.as_mut() {
                t.digest = pushed
                    .iter()
                    .find(|p| {
                        p.registry == t.registry && p.repository == t.repository && Some(&p.tag) == t.tag.as_ref()
                    })
                    .and_then(|p| p.digest.clone());
            }
            let mut json = dependency_json(tag.as_ref(), &deps, b.git_head.as_deref());
            if let (Some(runtime), false) = (&deps.runtime, b.platforms.is_empty()) {
                // Which manifest of a multi-platform base each platform built on: a change to any
                // one of them changes the index digest the watcher follows, and this says which.
                if let Some(used) = platform_digests(engine, runtime, &b.platforms).await {
                    json["runtime-dependency"]["platforms"] = used;
                }
            }
            out.push(json);
        }
    }
    out
}

/// For a base that is a multi-platform index: `{"linux/arm64": "sha256:…", …}` for each platform
/// built, from the index its digest names. `None` for a single-platform base or when the registry
/// cannot be asked.
async fn platform_digests(engine: &Engine, base: &ImageRef, built: &[Platform]) -> Option<serde_json::Value> {
    let digest = base.digest.as_deref()?;
    let cred = engine.config().credentials.get(&base.registry).ok().flatten();
    let repo = RepoAccess { registry: &base.registry, repository: &base.repository, login: cred };
    let stored = engine.lookup.pull_manifest(repo, digest).await.ok()?;
    let index: ImageIndex = serde_json::from_slice(&stored.bytes).ok()?;
    let mut used = serde_json::Map::new();
    for m in index.manifests() {
        let Some(p) = m.platform() else { continue };
        let listed = Platform::from_parts(&p.os().to_string(), &p.architecture().to_string(), p.variant().as_deref());
        if let Some(b) = built.iter().find(|b| b.accepts(&listed)) {
            used.entry(b.to_string()).or_insert_with(|| serde_json::Value::String(m.digest().to_string()));
        }
    }
    (!used.is_empty()).then_some(serde_json::Value::Object(used))
}

/// The digest a base image resolved to: pinned in the Dockerfile, known to the engine from its
/// pull (RepoDigests), or asked of its registry. `None` when nobody can say (an image imported
/// locally, or an unreachable registry): the build still happened, so this never fails the run.
async fn base_digest(
    engine: &Engine,
    r: &ImageRef,
    cache: &mut HashMap<String, Option<String>>,
    use_local: bool,
) -> Option<String> {
    if r.digest.is_some() {
        return r.digest.clone();
    }
    let key = r.to_string();
    let cache_key = format!("{key} {use_local}");
    if let Some(hit) = cache.get(&cache_key) {
        return hit.clone();
    }
    let mut local: Vec<String> = Vec::new();
    if !use_local {
        // Skip the engine: only the registry can say.
    } else if let Ok(info) = engine.docker().inspect_image(&key).await {
        local = info
            .repo_digests
            .iter()
            .filter_map(|d| {
                let (name, digest) = d.split_once('@')?;
                let matches =
                    ImageRef::parse(name).is_ok_and(|n| n.registry == r.registry && n.repository == r.repository);
                matches.then(|| digest.to_string())
            })
            .collect();
    }
    // One local digest is the one used. Several (the image was pulled as a multi-arch index and
    // pushed again as a single manifest, say) are told apart by what the tag points at now;
    // none (imported or never pulled) leaves only the registry to ask.
    let found = match local.as_slice() {
        [one] => Some(one.clone()),
        _ => {
            let tag = r.tag.clone().unwrap_or_else(|| "latest".into());
            let cred = engine.config().credentials.get(&r.registry).ok().flatten();
            let remote =
                engine.lookup.manifest_digest(&r.registry, &r.repository, &tag, cred).await.ok().map(|a| a.digest);
            match remote {
                Some(d) if local.is_empty() || local.contains(&d) => Some(d),
                _ => local.into_iter().next(),
            }
        }
    };
    cache.insert(cache_key, found.clone());
    found
}
