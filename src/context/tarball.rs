//! Remote tarball contexts (`https://server/context.tar.gz`): downloaded to an anonymous
//! temporary file (never held in memory), recognised by magic bytes (gzip, bzip2, xz or
//! plain tar), and extracted with the rules of [`super::archive`].

use std::io::{BufReader, Seek};
use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::ContextError;
use super::archive::{ArchiveLimits, extract};
use super::compression::{Compression, decompress};
use super::error::redact_url;

/// Time allowed to establish the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest silence while reading the response: a stalled server fails the build instead
/// of hanging it, while a large download on a slow link still completes.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Downloads the archive at `url` and extracts it into `dest` (missing or empty). On
/// error `dest` may be partly written; delete it.
pub async fn fetch_tarball(url: &str, dest: &Path, limits: &ArchiveLimits) -> Result<(), ContextError> {
    let shown = redact_url(url);
    let download_err = |e: reqwest::Error| ContextError::Download { url: shown.clone(), message: describe(e) };
    let client = crate::tls::client_builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build()
        .map_err(download_err)?;
    let response = client.get(url).send().await.map_err(download_err)?;
    let status = response.status();
    if !status.is_success() {
        return Err(ContextError::HttpStatus { url: shown, status: status.as_u16() });
    }

    let io_err = |what: &str| {
        let what = what.to_string();
        move |source| ContextError::Io { what, source }
    };
    let temp = tempfile::tempfile().map_err(io_err("creating a temporary file for the download"))?;
    let mut file = tokio::fs::File::from_std(temp.try_clone().map_err(io_err("opening the temporary file"))?);
    // The file holds compressed bytes, so allow the data limit plus headers.
    let cap = limits.max_total_bytes.saturating_add(limits.max_entries.saturating_mul(1024));
    let mut total = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(download_err)?;
        total += chunk.len() as u64;
        if total > cap {
            return Err(ContextError::DownloadTooLarge { url: shown, limit: cap });
        }
        file.write_all(&chunk).await.map_err(io_err("writing the download to a temporary file"))?;
    }
    file.flush().await.map_err(io_err("writing the download to a temporary file"))?;
    drop(file);

    let dest = dest.to_path_buf();
    let limits = limits.clone();
    let what = shown.clone();
    tokio::task::spawn_blocking(move || {
        let mut temp = temp;
        temp.rewind().map_err(io_err("reading the downloaded archive"))?;
        let (compression, reader) =
            decompress(BufReader::with_capacity(256 * 1024, temp)).map_err(io_err("reading the downloaded archive"))?;
        extract(reader, &dest, &limits)
            .map(|_| ())
            .map_err(|source| ContextError::Archive { what: format!("{what} ({})", name(compression)), source })
    })
    .await
    .map_err(|e| ContextError::Io { what: format!("extracting {shown}"), source: std::io::Error::other(e) })?
}

fn name(c: Compression) -> &'static str {
    match c {
        Compression::None => "tar",
        Compression::Gzip => "gzip-compressed tar",
        Compression::Bzip2 => "bzip2-compressed tar",
        Compression::Xz => "xz-compressed tar",
    }
}

/// reqwest's message with its causes (the top level alone says little: "error sending
/// request"), without the URL, which reqwest would include unredacted.
fn describe(e: reqwest::Error) -> String {
    let timed_out = e.is_timeout();
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if timed_out && !text.contains("timed out") {
        text.push_str(" (timed out)");
    }
    text
}
