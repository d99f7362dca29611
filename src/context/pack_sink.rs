//! The byte sink behind [`super::pack`]: collects tar bytes into fixed-size chunks and
//! hands them to the async side through a small bounded channel. A full channel blocks the
//! packing thread, so memory stays at a few chunks however large the context is.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::ContextError;

/// Size of one chunk sent to the stream. Large enough that per-chunk overhead (channel,
/// HTTP framing) is noise, small enough that `CHANNEL_CHUNKS` of them are a few MiB.
pub(crate) const CHUNK: usize = 512 * 1024;

/// Chunks that may wait in the channel before the packer blocks.
pub(crate) const CHANNEL_CHUNKS: usize = 8;

/// Progress callback: total bytes handed to the stream so far.
pub(crate) type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// Chunked, bounded writer into the context stream's channel.
pub(crate) struct ChunkSink {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    /// Always allocated with capacity `CHUNK` and never grown past it, so reads can go
    /// straight into its spare capacity (no zeroing, no extra copy).
    buf: Vec<u8>,
    /// Bytes accepted so far (sent or buffered).
    total: u64,
    sent: u64,
    max: Option<u64>,
    progress: Option<Progress>,
}

impl ChunkSink {
    /// A sink sending into `tx`, refusing to grow past `max` bytes.
    pub fn new(tx: mpsc::Sender<std::io::Result<Bytes>>, max: Option<u64>, progress: Option<Progress>) -> Self {
        ChunkSink { tx, buf: Vec::with_capacity(CHUNK), total: 0, sent: 0, max, progress }
    }

    /// Bytes accepted so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Fails with [`ContextError::TooLarge`] if `more` bytes would cross the limit; called
    /// before each member so the error names the file that did it.
    pub fn reserve(&self, more: u64, path: &str) -> Result<(), ContextError> {
        match self.max {
            Some(limit) if self.total.saturating_add(more) > limit => {
                Err(ContextError::TooLarge { limit, path: path.to_string() })
            }
            _ => Ok(()),
        }
    }

    /// Appends bytes, sending full chunks as they fill.
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), ContextError> {
        while !data.is_empty() {
            if self.buf.len() == CHUNK {
                self.flush()?;
            }
            let n = data.len().min(CHUNK - self.buf.len());
            self.buf.extend_from_slice(&data[..n]);
            self.total += n as u64;
            data = &data[n..];
        }
        Ok(())
    }

    /// Copies exactly `size` bytes of `file` (then the block padding). A file that
    /// shrank meanwhile is an error, since the header already announced `size`; bytes
    /// appended meanwhile are ignored.
    pub fn copy_file(&mut self, file: &mut std::fs::File, size: u64, path: &Path) -> Result<(), ContextError> {
        let mut left = size;
        while left > 0 {
            if self.buf.len() == CHUNK {
                self.flush()?;
            }
            let want = left.min((CHUNK - self.buf.len()) as u64);
            let got = file
                .by_ref()
                .take(want)
                .read_to_end(&mut self.buf)
                .map_err(|source| ContextError::Read { path: path.to_path_buf(), source })?;
            if got == 0 {
                return Err(ContextError::FileChanged { path: path.to_path_buf(), expected: size });
            }
            self.total += got as u64;
            left -= got as u64;
        }
        self.write(super::tar_write::padding(size))
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) -> Result<(), ContextError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let len = chunk.len() as u64;
        // `blocking_send` waits while the channel is full: that is the backpressure.
        self.tx.blocking_send(Ok(Bytes::from(chunk))).map_err(|_| ContextError::Cancelled)?;
        self.sent += len;
        if let Some(progress) = &self.progress {
            progress(self.sent);
        }
        Ok(())
    }

    /// Ends the stream with an error the consumer will see as its last item.
    pub fn fail(&self, err: &ContextError) {
        // If the reader is gone there is nobody to tell.
        let _ = self.tx.blocking_send(Err(err.to_io()));
    }
}
