//! ACR's "dependencies" JSON for one built image.

use serde_json::{Map, Value, json};

use super::Dependencies;
use crate::reference::ImageRef;

/// Builds one element of the array ACR logs after "The following dependencies were found:":
/// `{"image", "runtime-dependency", "buildtime-dependency", "git": {"git-head-revision"}}`.
///
/// Each image is `{"registry","repository","tag","digest","reference"}` with `digest: null`
/// until it is known. `image`, `runtime-dependency` (absent for `scratch`) and `git` are
/// left out when there is nothing to say. Docker Hub images carry the registry `docker.io`
/// (Docker's own normalisation) where ACR prints `registry.hub.docker.com`; consumers that
/// compare with ACR output must treat the two as the same registry.
pub fn dependency_json(image: Option<&ImageRef>, deps: &Dependencies, git_head: Option<&str>) -> Value {
    let mut obj = Map::new();
    if let Some(image) = image {
        obj.insert("image".into(), json!(image));
    }
    if let Some(runtime) = &deps.runtime {
        obj.insert("runtime-dependency".into(), json!(runtime));
    }
    obj.insert("buildtime-dependency".into(), json!(deps.buildtime));
    if let Some(head) = git_head {
        obj.insert("git".into(), json!({ "git-head-revision": head }));
    }
    Value::Object(obj)
}
