//! Purge, as ACR's `acr purge`: delete the tags of matching repositories that are older than a
//! duration, keeping the newest N, and optionally the manifests no tag points to any more.
//!
//! The distribution API keeps no tag dates, so a tag's age is its image config's `created` (for an
//! index, the newest `created` of its platform images); a tag whose age cannot be read is kept.
//! The API also deletes manifests, not tags: a manifest is deleted only when every tag pointing at
//! it is to go, and never while an index that stays references it. It cannot list manifests
//! either, so the untagged manifests `--untagged` finds are the images of the indexes it deletes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use regex::Regex;
use serde::Serialize;

use super::client::RegistryClient;
use super::content::RepoAccess;
use super::credentials::Login;
use super::error::RegistryError;

/// The flags of `drydock purge` and of a task's `acr purge` step.
#[derive(clap::Args, Debug, Clone)]
pub struct PurgeArgs {
    /// `REPO_REGEX:TAG_REGEX`; repeatable. Both are whole-name regular expressions (as if
    /// between `^` and `$`), split at the first `:`.
    #[arg(long = "filter", value_name = "REPO:TAG", required = true)]
    pub filters: Vec<PurgeFilter>,
    /// Delete tags older than this: `30d`, `3h30m`, `1d12h`, `90m`. A tag's age is its image
    /// config's `created` time (for an index, its newest image's), since registries keep no tag
    /// dates; a tag without one is kept.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ago: chrono::Duration,
    /// Keep the newest N matching tags of each repository whatever their age.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep: usize,
    /// Also delete the manifests left without a tag: the platform images of deleted indexes that no
    /// other index references (the distribution API cannot list other untagged manifests).
    #[arg(long)]
    pub untagged: bool,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Registry requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// One `--filter`: which repositories, and which of their tags.
#[derive(Debug, Clone)]
pub struct PurgeFilter {
    repository: Regex,
    tag: Regex,
}

impl FromStr for PurgeFilter {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (repository, tag) = text
            .split_once(':')
            .ok_or_else(|| format!("filter {text:?} is not REPO_REGEX:TAG_REGEX (e.g. 'app/.*:.*')"))?;
        let anchored = |what: &str, re: &str| {
            Regex::new(&format!("^(?:{re})$"))
                .map_err(|e| format!("the {what} regex of filter {text:?} is invalid: {e}"))
        };
        Ok(Self { repository: anchored("repository", repository)?, tag: anchored("tag", tag)? })
    }
}

/// Parses ACR's durations: a sequence of `<number><unit>` with units `d`, `h`, `m` and `s`.
pub fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("duration {text:?} is not like 30d, 3h30m or 90m (units d, h, m, s)");
    let mut total = chrono::Duration::zero();
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total += match c {
            'd' => chrono::Duration::days(n),
            'h' => chrono::Duration::hours(n),
            'm' => chrono::Duration::minutes(n),
            's' => chrono::Duration::seconds(n),
            _ => return Err(bad()),
        };
    }
    if !number.is_empty() || text.trim().is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// A manifest purge deleted (or would delete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgedManifest {
    /// The repository.
    pub repository: String,
    /// Its digest.
    pub digest: String,
    /// The tags that pointed at it (none for an untagged manifest).
    pub tags: Vec<String>,
    /// Its `created` time, when it has one.
    pub created: Option<DateTime<Utc>>,
}

/// A manifest that was due but stays, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptManifest {
    /// The repository.
    pub repository: String,
    /// Its digest.
    pub digest: String,
    /// Its tags that were due.
    pub tags: Vec<String>,
    /// Why it stays.
    pub reason: String,
}

/// What a purge did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PurgeReport {
    /// True when nothing was deleted on purpose.
    pub dry_run: bool,
    /// Manifests deleted (or that would be).
    pub deleted: Vec<PurgedManifest>,
    /// Manifests that were due but stay.
    pub kept: Vec<KeptManifest>,
    /// Registry requests made.
    pub requests: u64,
    /// Wall time, in milliseconds.
    pub millis: u64,
}

impl PurgeReport {
    /// The table of what was (or would be) deleted and what stayed, then a summary line: the
    /// same text for `drydock purge` and for a task's `acr purge` step log.
    pub fn table_lines(&self) -> Vec<String> {
        let action = if self.dry_run { "would delete" } else { "deleted" };
        let mut rows =
            vec![["REPOSITORY".to_owned(), "TAGS".into(), "DIGEST".into(), "CREATED".into(), "ACTION".into()]];
        for d in &self.deleted {
            let tags = if d.tags.is_empty() { "<untagged>".to_owned() } else { d.tags.join(",") };
            let created = d.created.map(|c| c.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default();
            rows.push([d.repository.clone(), tags, d.digest.clone(), created, action.into()]);
        }
        for k in &self.kept {
            rows.push([
                k.repository.clone(),
                k.tags.join(","),
                k.digest.clone(),
                String::new(),
                format!("kept: {}", k.reason),
            ]);
        }
        let mut widths = [0; 5];
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut lines: Vec<String> = rows
            .iter()
            .map(|row| {
                let cells: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
                cells.join("  ").trim_end().to_owned()
            })
            .collect();
        let verb = if self.dry_run { "Would delete" } else { "Deleted" };
        let tags: usize = self.deleted.iter().map(|d| d.tags.len()).sum();
        lines.push(format!(
            "{verb} {} manifests ({tags} tags); {} kept for a reason; {} registry requests in {} ms.",
            self.deleted.len(),
            self.kept.len(),
            self.requests,
            self.millis
        ));
        lines
    }
}

/// A tag resolved: its manifest and age.
#[derive(Debug, Clone)]
struct Resolved {
    tag: String,
    digest: String,
    created: Option<DateTime<Utc>>,
    /// For an index: the digests it references.
    children: Vec<String>,
}

/// Runs a purge of `registry` as `args` says, at `now`.
pub async fn purge(
    client: &RegistryClient,
    registry: &str,
    login: Option<&Login>,
    args: &PurgeArgs,
    now: DateTime<Utc>,
) -> Result<PurgeReport, RegistryError> {
    let started = Instant::now();
    let requests_before = client.requests_sent();
    let mut report = PurgeReport { dry_run: args.dry_run, ..PurgeReport::default() };
    let repositories = client.list_repositories(registry, login).await?;
    for repository in repositories.iter().filter(|r| args.filters.iter().any(|f| f.repository.is_match(r))) {
        let repo = RepoAccess { registry, repository, login };
        purge_repository(client, repo, args, now, &mut report).await?;
    }
    report.requests = client.requests_sent() - requests_before;
    report.millis = started.elapsed().as_millis() as u64;
    Ok(report)
}

async fn purge_repository(
    client: &RegistryClient,
    repo: RepoAccess<'_>,
    args: &PurgeArgs,
    now: DateTime<Utc>,
    report: &mut PurgeReport,
) -> Result<(), RegistryError> {
    let filters: Vec<&PurgeFilter> = args.filters.iter().filter(|f| f.repository.is_match(repo.repository)).collect();
    let matches = |tag: &str| filters.iter().any(|f| f.tag.is_match(tag));
    let tags = client.list_tags(repo).await?;
    // Collected first: a closure inside the stream type trips rustc's Send inference (#102211).
    let lookups: Vec<_> = tags.iter().map(|tag| resolve(client, repo, tag, matches(tag))).collect();
    let found: Vec<Option<Resolved>> =
        stream::iter(lookups).buffer_unordered(usize::from(args.concurrency)).try_collect().await?;
    let resolved: Vec<Resolved> = found.into_iter().flatten().collect();
    let due = due_tags(&resolved, &matches, args, now);
    let mut tags_of: BTreeMap<&str, Vec<&Resolved>> = BTreeMap::new();
    for r in &resolved {
        tags_of.entry(&r.digest).or_default().push(r);
    }
    // A manifest goes when every tag pointing at it is due.
    let mut doomed: BTreeSet<&str> = BTreeSet::new();
    for (digest, pointing) in &tags_of {
        if pointing.iter().all(|r| due.contains(r.tag.as_str())) {
            doomed.insert(digest);
        } else if pointing.iter().any(|r| due.contains(r.tag.as_str())) {
            let kept: Vec<String> =
                pointing.iter().filter(|r| !due.contains(r.tag.as_str())).map(|r| r.tag.clone()).collect();
            report.kept.push(kept_row(
                repo,
                digest,
                pointing,
                &due,
                format!("also tagged {}, which stays", kept.join(", ")),
            ));
        }
    }
    // Indexes that stay protect what they reference; repeat, since saving an index saves its images.
    let mut referenced_by: HashMap<&str, &str> = HashMap::new();
    loop {
        referenced_by.clear();
        for r in resolved.iter().filter(|r| !doomed.contains(r.digest.as_str())) {
            for child in &r.children {
                referenced_by.insert(child, &r.digest);
            }
        }
        let saved: Vec<&str> = doomed.iter().copied().filter(|d| referenced_by.contains_key(d)).collect();
        if saved.is_empty() {
            break;
        }
        for digest in saved {
            doomed.remove(digest);
            let index = referenced_by[digest];
            report.kept.push(kept_row(repo, digest, &tags_of[digest], &due, format!("referenced by index {index}")));
        }
    }
    let deletions: Vec<PurgedManifest> = doomed
        .iter()
        .map(|digest| PurgedManifest {
            repository: repo.repository.to_owned(),
            digest: (*digest).to_owned(),
            tags: tags_of[digest].iter().map(|r| r.tag.clone()).collect(),
            created: tags_of[digest].iter().filter_map(|r| r.created).max(),
        })
        .collect();
    let mut orphans = Vec::new();
    if args.untagged {
        let untagged: BTreeSet<&str> = resolved
            .iter()
            .filter(|r| doomed.contains(r.digest.as_str()))
            .flat_map(|r| r.children.iter().map(String::as_str))
            .filter(|child| !tags_of.contains_key(child) && !referenced_by.contains_key(child))
            .collect();
        orphans.extend(untagged.into_iter().map(|digest| PurgedManifest {
            repository: repo.repository.to_owned(),
            digest: digest.to_owned(),
            tags: Vec::new(),
            created: None,
        }));
    }
    if !args.dry_run {
        // Tagged manifests (indexes among them) before the images they referenced, so that no
        // index is ever left pointing at nothing.
        for batch in [&deletions, &orphans] {
            let deletes: Vec<_> = batch.iter().map(|d| client.delete_manifest(repo, &d.digest)).collect();
            stream::iter(deletes).buffer_unordered(usize::from(args.concurrency)).try_collect::<Vec<()>>().await?;
        }
    }
    report.deleted.extend(deletions);
    report.deleted.extend(orphans);
    Ok(())
}

/// The matching tags older than `--ago`, past the newest `--keep`.
fn due_tags<'a>(
    resolved: &'a [Resolved],
    matches: &impl Fn(&str) -> bool,
    args: &PurgeArgs,
    now: DateTime<Utc>,
) -> BTreeSet<&'a str> {
    let mut matching: Vec<&Resolved> = resolved.iter().filter(|r| matches(&r.tag)).collect();
    // Newest first; ties by name so that the same registry gives the same answer.
    matching.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.tag.cmp(&b.tag)));
    let cutoff = now - args.ago;
    matching
        .into_iter()
        .skip(args.keep)
        .filter(|r| r.created.is_some_and(|created| created < cutoff))
        .map(|r| r.tag.as_str())
        .collect()
}

fn kept_row(
    repo: RepoAccess<'_>,
    digest: &str,
    pointing: &[&Resolved],
    due: &BTreeSet<&str>,
    reason: String,
) -> KeptManifest {
    KeptManifest {
        repository: repo.repository.to_owned(),
        digest: digest.to_owned(),
        tags: pointing.iter().filter(|r| due.contains(r.tag.as_str())).map(|r| r.tag.clone()).collect(),
        reason,
    }
}

/// Reads a tag's manifest; for a tag that matches a filter, also its age. `None` for a tag that
/// went away since the listing (someone else deleted it): nothing left to purge there.
async fn resolve(
    client: &RegistryClient,
    repo: RepoAccess<'_>,
    tag: &str,
    needs_age: bool,
) -> Result<Option<Resolved>, RegistryError> {
    let stored = match client.pull_manifest(repo, tag).await {
        Ok(stored) => stored,
        Err(RegistryError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut resolved =
        Resolved { tag: tag.to_owned(), digest: stored.digest.clone(), created: None, children: Vec::new() };
    if is_index(&stored.media_type) {
        let index: ImageIndex = serde_json::from_slice(&stored.bytes)
            .map_err(|e| RegistryError::Protocol(format!("{}:{tag} is not a valid index: {e}", repo.repository)))?;
        resolved.children = index.manifests().iter().map(|m| m.digest().to_string()).collect();
        if needs_age {
            for child in &resolved.children {
                let created = image_created(client, repo, child).await?;
                resolved.created = resolved.created.max(created);
            }
        }
    } else if needs_age {
        resolved.created = config_created(client, repo, &stored.bytes).await?;
    }
    Ok(Some(resolved))
}

fn is_index(media_type: &str) -> bool {
    media_type.ends_with("image.index.v1+json") || media_type.ends_with("manifest.list.v2+json")
}

/// The `created` of the image manifest at `digest` (`None` for anything else, e.g. attestations).
async fn image_created(
    client: &RegistryClient,
    repo: RepoAccess<'_>,
    digest: &str,
) -> Result<Option<DateTime<Utc>>, RegistryError> {
    let stored = client.pull_manifest(repo, digest).await?;
    if is_index(&stored.media_type) {
        return Ok(None);
    }
    config_created(client, repo, &stored.bytes).await
}

/// The `created` of an image manifest's config.
async fn config_created(
    client: &RegistryClient,
    repo: RepoAccess<'_>,
    manifest: &[u8],
) -> Result<Option<DateTime<Utc>>, RegistryError> {
    let Ok(manifest) = serde_json::from_slice::<ImageManifest>(manifest) else {
        return Ok(None);
    };
    let config = client.pull_blob(repo, manifest.config().digest().as_ref()).await?;
    let created = serde_json::from_slice::<ImageConfiguration>(&config).ok().and_then(|c| c.created().clone());
    Ok(created.and_then(|c| DateTime::parse_from_rfc3339(&c).ok()).map(|c| c.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_acrs_forms() {
        assert_eq!(parse_duration("1d").unwrap(), chrono::Duration::days(1));
        assert_eq!(parse_duration("3h30m").unwrap(), chrono::Duration::minutes(210));
        assert_eq!(parse_duration("1d12h").unwrap(), chrono::Duration::hours(36));
        assert_eq!(parse_duration("90s").unwrap(), chrono::Duration::seconds(90));
        for bad in ["", "30", "d", "3x", "1.5d", "-1d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters_match_whole_names() {
        let f: PurgeFilter = "app/.*:v1\\..*".parse().unwrap();
        assert!(f.repository.is_match("app/web"));
        assert!(!f.repository.is_match("other/app/web"));
        assert!(f.tag.is_match("v1.2"));
        assert!(!f.tag.is_match("xv1.2"));
        assert!("no-colon".parse::<PurgeFilter>().is_err());
        assert!("(:x".parse::<PurgeFilter>().unwrap_err().contains("repository regex"));
    }
}
