//! Recognising and undoing the compressions a context archive may use: gzip, bzip2, xz or
//! none, told apart by their magic bytes (never by file name or Content-Type, which
//! servers get wrong), like the Docker daemon and ACR do.

use std::io::{self, Chain, Cursor, Read};

/// The compression of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (`1f 8b`).
    Gzip,
    /// bzip2 (`BZh`).
    Bzip2,
    /// xz (`fd 37 7a 58 5a 00`).
    Xz,
}

/// Longest magic number we look at.
const MAGIC_LEN: usize = 6;

/// Classifies an archive by its first bytes (pass at least 6 when available).
pub fn detect(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(b"BZh") {
        Compression::Bzip2
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else {
        Compression::None
    }
}

/// A reader whose first bytes were read to detect the compression, and put back in front.
pub type Sniffed<R> = Chain<Cursor<Vec<u8>>, R>;

/// Reads the magic bytes of `reader` and returns its compression and the same byte
/// stream, unchanged.
pub fn sniff<R: Read>(mut reader: R) -> io::Result<(Compression, Sniffed<R>)> {
    let mut head = Vec::with_capacity(MAGIC_LEN);
    // A short read is not the end of the stream: keep reading until we have the magic.
    (&mut reader).take(MAGIC_LEN as u64).read_to_end(&mut head)?;
    Ok((detect(&head), Cursor::new(head).chain(reader)))
}

/// Decompresses gzip (all members) or passes a plain tar through; anything else is left
/// as is for the tar parser to reject.
pub enum GzipOrPlain<R: Read> {
    /// Not gzip.
    Plain(Sniffed<R>),
    /// gzip, being decompressed.
    Gzip(Box<flate2::read::MultiGzDecoder<Sniffed<R>>>),
}

impl<R: Read> GzipOrPlain<R> {
    /// Sniffs `reader` and wraps it.
    pub fn new(reader: R) -> io::Result<Self> {
        let (compression, reader) = sniff(reader)?;
        Ok(match compression {
            Compression::Gzip => GzipOrPlain::Gzip(Box::new(flate2::read::MultiGzDecoder::new(reader))),
            _ => GzipOrPlain::Plain(reader),
        })
    }
}

impl<R: Read> Read for GzipOrPlain<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            GzipOrPlain::Plain(r) => r.read(buf),
            GzipOrPlain::Gzip(r) => r.read(buf),
        }
    }
}

/// Detects the compression of `reader` and returns a reader of the decompressed bytes.
/// xz is decoded on a helper thread (the pure-Rust decoder only writes into a `Write`),
/// connected through a pipe so nothing is buffered beyond the pipe and the dictionary.
pub fn decompress<R: Read + Send + 'static>(reader: R) -> io::Result<(Compression, Box<dyn Read + Send>)> {
    let (compression, reader) = sniff(reader)?;
    let decoded: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(reader)),
        Compression::Xz => Box::new(XzReader::spawn(reader)?),
    };
    Ok((compression, decoded))
}

/// Reading end of an xz decoder running on its own thread.
struct XzReader {
    pipe: io::PipeReader,
    decoder: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl XzReader {
    fn spawn<R: Read + Send + 'static>(input: R) -> io::Result<Self> {
        let (pipe, mut writer) = io::pipe()?;
        let decoder = std::thread::Builder::new().name("xz-decoder".into()).spawn(move || {
            let mut input = io::BufReader::with_capacity(256 * 1024, input);
            lzma_rs::xz_decompress(&mut input, &mut writer).map_err(|e| match e {
                lzma_rs::error::Error::IoError(io) => io,
                other => io::Error::new(io::ErrorKind::InvalidData, format!("xz data is corrupt: {other}")),
            })
        })?;
        Ok(XzReader { pipe, decoder: Some(decoder) })
    }
}

impl Read for XzReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.pipe.read(buf)?;
        if n == 0 && !buf.is_empty() {
            // The decoder closed its end: report its failure, if any, instead of a bare EOF
            // (which the tar parser would call a truncated archive).
            if let Some(decoder) = self.decoder.take() {
                decoder.join().map_err(|_| io::Error::other("the xz decoder thread panicked"))??;
            }
        }
        Ok(n)
    }
}
