//! Reads alias `src` entries for the task-file pipeline: files inside the build context, and
//! http(s) URLs only when explicitly allowed.

use crate::taskfile::alias::AliasSourceLoader;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Alias source files are small maps of names; anything bigger is refused.
const MAX_ALIAS_FILE_BYTES: u64 = 1024 * 1024;

/// Loads alias sources relative to a context directory.
///
/// Task files come from untrusted repositories, and alias values end up in commands, so a `src`
/// must not read files outside the context (`/etc/passwd`, `../../secrets`): paths are resolved,
/// symlinks followed, and the result must stay under the context root.
pub struct ContextAliasSources {
    root: Option<PathBuf>,
    http_timeout: Option<Duration>,
}

impl ContextAliasSources {
    /// Files under `root` (or none when there is no context); http(s) when `http_timeout` is set.
    pub fn new(root: Option<&Path>, http_timeout: Option<Duration>) -> Self {
        ContextAliasSources { root: root.and_then(|r| r.canonicalize().ok()), http_timeout }
    }

    fn load_file(&self, src: &str) -> Result<String, String> {
        let root = self
            .root
            .as_ref()
            .ok_or_else(|| format!("alias source `{src}` cannot be read: no context directory was given"))?;
        let path = root.join(src.trim_start_matches("./"));
        let real = path.canonicalize().map_err(|e| format!("alias source `{src}` cannot be read: {e}"))?;
        if !real.starts_with(root) {
            return Err(format!("alias source `{src}` is outside the build context; only files inside it can be read"));
        }
        let len = std::fs::metadata(&real).map_err(|e| format!("alias source `{src}`: {e}"))?.len();
        if len > MAX_ALIAS_FILE_BYTES {
            return Err(format!("alias source `{src}` is {len} bytes; the limit is {MAX_ALIAS_FILE_BYTES}"));
        }
        std::fs::read_to_string(&real).map_err(|e| format!("alias source `{src}` cannot be read: {e}"))
    }

    fn load_http(&self, url: &str, timeout: Duration) -> Result<String, String> {
        // The pipeline is synchronous and may run inside a Tokio runtime, so the request runs on its
        // own thread with its own small runtime.
        let url = url.to_string();
        std::thread::scope(|s| {
            s.spawn(|| {
                let rt =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
                rt.block_on(async {
                    let client = crate::tls::client_builder().timeout(timeout).build().map_err(|e| e.to_string())?;
                    let resp = client.get(&url).send().await.map_err(|e| format!("alias source `{url}`: {e}"))?;
                    if !resp.status().is_success() {
                        return Err(format!("alias source `{url}` answered {}", resp.status()));
                    }
                    let body = resp.bytes().await.map_err(|e| format!("alias source `{url}`: {e}"))?;
                    if body.len() as u64 > MAX_ALIAS_FILE_BYTES {
                        return Err(format!("alias source `{url}` is larger than {MAX_ALIAS_FILE_BYTES} bytes"));
                    }
                    String::from_utf8(body.to_vec()).map_err(|_| format!("alias source `{url}` is not UTF-8"))
                })
            })
            .join()
            .unwrap_or_else(|_| Err(format!("alias source `{url}`: fetch failed")))
        })
    }
}

impl AliasSourceLoader for ContextAliasSources {
    fn load(&self, src: &str) -> Result<String, String> {
        if src.starts_with("http://") || src.starts_with("https://") {
            match self.http_timeout {
                Some(t) => self.load_http(src, t),
                None => Err(format!(
                    "alias source `{src}` is remote; remote alias sources are off unless --alias-http is given"
                )),
            }
        } else {
            self.load_file(src)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_and_refuses_outside_the_context() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = dir.path().join("ctx");
        std::fs::create_dir(&ctx).unwrap();
        std::fs::write(ctx.join("a.yaml"), "x: 1\n").unwrap();
        std::fs::write(dir.path().join("secret.yaml"), "k: v\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.yaml"), ctx.join("link.yaml")).unwrap();
        let l = ContextAliasSources::new(Some(&ctx), None);
        assert_eq!(l.load("./a.yaml").unwrap(), "x: 1\n");
        assert!(l.load("../secret.yaml").unwrap_err().contains("outside"));
        assert!(l.load("link.yaml").unwrap_err().contains("outside"));
        assert!(l.load("https://example.com/a.yaml").unwrap_err().contains("--alias-http"));
    }
}
