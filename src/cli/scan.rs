//! `drydock scan`: the base images of a Dockerfile, as ACR's `acb scan` prints them.

use super::CliError;
use super::taskfile_args::resolve_in_context;
use crate::dockerfile::{self, ScanOptions};
use crate::reference::ImageRef;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `drydock scan`.
#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Dockerfile (default `Dockerfile` in CONTEXT); relative to the current directory, as for
    /// `docker build`, falling back to CONTEXT.
    #[arg(short = 'f', long = "file")]
    pub file: Option<String>,
    /// Build argument `NAME=VALUE`, overriding an `ARG` default; repeatable.
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_arg: Vec<String>,
    /// Stop at this stage, as `docker build --target` does.
    #[arg(long)]
    pub target: Option<String>,
    /// Image the build would be tagged as; repeatable (one dependency entry per tag, like ACR).
    #[arg(short = 't', long = "tag")]
    pub tag: Vec<String>,
    /// Build context directory.
    #[arg(value_name = "CONTEXT", default_value = ".")]
    pub context: PathBuf,
}

/// `drydock scan`.
pub fn scan(args: ScanArgs) -> Result<(), CliError> {
    let path = match &args.file {
        Some(f) if std::path::Path::new(f).exists() => PathBuf::from(f),
        Some(f) => resolve_in_context(&args.context, f),
        None => args.context.join("Dockerfile"),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::Invalid(format!("cannot read Dockerfile {}: {e}", path.display())))?;
    let mut build_args = BTreeMap::new();
    for a in &args.build_arg {
        let (k, v) =
            a.split_once('=').ok_or_else(|| CliError::Invalid(format!("`--build-arg {a}` is not NAME=VALUE")))?;
        build_args.insert(k.to_string(), v.to_string());
    }
    let opts = ScanOptions { build_args, target: args.target.clone() };
    let deps = dockerfile::scan(&text, &opts).map_err(|e| CliError::Invalid(format!("{}: {e}", path.display())))?;
    let head = crate::context::git_head::git_head(&args.context).map(|h| h.0);
    let tags: Vec<Option<ImageRef>> = if args.tag.is_empty() {
        vec![None]
    } else {
        args.tag
            .iter()
            .map(|t| ImageRef::parse(t).map(Some).map_err(|e| CliError::Invalid(format!("tag `{t}`: {e}"))))
            .collect::<Result<_, _>>()?
    };
    let out: Vec<serde_json::Value> =
        tags.iter().map(|t| dockerfile::dependency_json(t.as_ref(), &deps, head.as_deref())).collect();
    println!("{}", serde_json::Value::Array(out));
    Ok(())
}
