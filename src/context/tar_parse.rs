//! An incremental (push) tar reader: feed it chunks as they arrive from a socket or a
//! decompressor and pull entry events out. It understands ustar, GNU long names (`L`/`K`)
//! and PAX extended headers (`x`; global `g` headers are skipped, as Docker's own
//! extractor does), so it reads what GNU tar, Go's `archive/tar` (the Docker daemon) and
//! the `tar` crate write. Headers may be split anywhere across chunks; entry data is handed
//! out as zero-copy slices of the input chunks.

use bytes::Bytes;

/// Size of a tar block.
pub(crate) const BLOCK: usize = 512;

/// Metadata records (long names, PAX headers) larger than this are refused: a real one is a
/// few hundred bytes, and an unbounded one is a way to make us allocate without limit.
const MAX_META: u64 = 1024 * 1024;

/// Tar type flags this crate treats specially.
pub(crate) mod kind {
    pub const REGULAR: u8 = b'0';
    pub const REGULAR_OLD: u8 = 0;
    pub const HARD_LINK: u8 = b'1';
    pub const SYMLINK: u8 = b'2';
    pub const CHAR: u8 = b'3';
    pub const BLOCK: u8 = b'4';
    pub const DIR: u8 = b'5';
    pub const FIFO: u8 = b'6';
    pub const CONTIGUOUS: u8 = b'7';
    pub const PAX: u8 = b'x';
    pub const PAX_GLOBAL: u8 = b'g';
    pub const GNU_LONG_NAME: u8 = b'L';
    pub const GNU_LONG_LINK: u8 = b'K';
    pub const GNU_SPARSE: u8 = b'S';
}

/// The stream is not a valid tar archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid tar archive at byte {offset}: {problem}")]
pub(crate) struct TarError {
    /// Offset of the block where the problem was found.
    pub offset: u64,
    /// What is wrong.
    pub problem: String,
}

/// One real archive member, with its long name / PAX metadata already applied.
#[derive(Debug, Clone)]
pub(crate) struct EntryHeader {
    /// The member's own 512-byte header, as read.
    pub block: [u8; BLOCK],
    /// Full path: PAX `path`, else GNU long name, else ustar prefix + name.
    pub path: Vec<u8>,
    /// Link target for hard and symbolic links (same precedence as `path`), else empty.
    pub link: Vec<u8>,
    /// PAX records that applied to this member, in order (including `path`, `size`...).
    pub pax: Vec<(String, Vec<u8>)>,
    /// Size of the data that follows (0 for header-only types such as directories).
    pub size: u64,
    /// Type flag.
    pub kind: u8,
}

impl EntryHeader {
    /// Permission bits from the header (`0` when the field is unreadable).
    pub fn mode(&self) -> u32 {
        parse_numeric(&self.block[100..108]).map_or(0, |m| (m & 0o7777) as u32)
    }

    /// Modification time in seconds since the epoch (PAX `mtime` wins, fractions dropped).
    pub fn mtime(&self) -> u64 {
        if let Some((_, v)) = self.pax.iter().find(|(k, _)| k == "mtime")
            && let Some(secs) = std::str::from_utf8(v).ok().and_then(|s| s.split('.').next()?.parse().ok())
        {
            return secs;
        }
        parse_numeric(&self.block[136..148]).unwrap_or(0)
    }

    /// True for types that carry file content.
    pub fn is_regular(&self) -> bool {
        matches!(self.kind, kind::REGULAR | kind::REGULAR_OLD | kind::CONTIGUOUS)
    }
}

/// What the parser found next.
#[derive(Debug)]
pub(crate) enum Event {
    /// A member starts; its data (if any) follows as [`Event::Data`].
    Entry(Box<EntryHeader>),
    /// A piece of the current member's data (padding is not included).
    Data(Bytes),
    /// The current member's data is complete.
    EntryEnd,
    /// The end-of-archive marker (or a clean end of input at a member boundary).
    End,
}

#[derive(Debug)]
enum State {
    /// Collecting the next header block.
    Header,
    /// Collecting the body of a long-name or PAX record.
    Meta { flag: u8, left: u64, pad: u64 },
    /// Skipping a global PAX header's body.
    Skip { left: u64 },
    /// Passing a member's data out, then skipping its padding.
    Data { left: u64, pad: u64 },
    /// After the end-of-archive marker: everything else is ignored.
    Done,
}

/// Metadata records waiting for the member they describe.
#[derive(Debug, Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Vec<(String, Vec<u8>)>,
    meta_bytes: u64,
}

/// Incremental tar reader; see the module docs. Call [`TarParser::push`] with a chunk,
/// then [`TarParser::next_event`] until it returns `None`, and [`TarParser::finish`] when the
/// input ends.
#[derive(Debug)]
pub(crate) struct TarParser {
    cur: Bytes,
    state: State,
    header: Vec<u8>,
    meta: Vec<u8>,
    pending: Pending,
    /// Bytes consumed so far, for error messages.
    offset: u64,
}

impl Default for TarParser {
    fn default() -> Self {
        TarParser {
            cur: Bytes::new(),
            state: State::Header,
            header: Vec::with_capacity(BLOCK),
            meta: Vec::new(),
            pending: Pending::default(),
            offset: 0,
        }
    }
}

impl TarParser {
    /// Hands the parser the next chunk of input. Only call it after `next_event` returned
    /// `None` (the previous chunk is used up).
    pub fn push(&mut self, chunk: Bytes) {
        debug_assert!(self.cur.is_empty(), "push before the previous chunk was consumed");
        self.cur = chunk;
    }

    /// The input ended: returns [`Event::End`] when that happened at a member boundary
    /// (an archive without the two zero blocks is accepted, as Go's reader does), else the
    /// truncation error.
    pub fn finish(&mut self) -> Result<Option<Event>, TarError> {
        match self.state {
            State::Done => Ok(None),
            State::Header if self.header.is_empty() && self.pending.meta_bytes == 0 => {
                self.state = State::Done;
                Ok(Some(Event::End))
            }
            _ => Err(self.err("the archive is truncated (it ends in the middle of a member)")),
        }
    }

    /// The next event, or `None` when more input is needed.
    pub fn next_event(&mut self) -> Result<Option<Event>, TarError> {
        loop {
            match self.state {
                State::Done => {
                    self.cur.clear();
                    return Ok(None);
                }
                State::Header => {
                    let Some(block) = self.take_block() else { return Ok(None) };
                    if let Some(event) = self.on_header(&block)? {
                        return Ok(Some(event));
                    }
                }
                State::Meta { flag, left, pad } => {
                    if left > 0 {
                        let piece = self.take(left);
                        if piece.is_empty() {
                            return Ok(None);
                        }
                        self.meta.extend_from_slice(&piece);
                        self.state = State::Meta { flag, left: left - piece.len() as u64, pad };
                        continue;
                    }
                    if pad > 0 {
                        let skipped = self.take(pad).len() as u64;
                        if skipped == 0 {
                            return Ok(None);
                        }
                        self.state = State::Meta { flag, left, pad: pad - skipped };
                        continue;
                    }
                    self.on_meta(flag)?;
                    self.state = State::Header;
                }
                State::Skip { left } => {
                    if left == 0 {
                        self.state = State::Header;
                        continue;
                    }
                    let skipped = self.take(left).len() as u64;
                    if skipped == 0 {
                        return Ok(None);
                    }
                    self.state = State::Skip { left: left - skipped };
                }
                State::Data { left, pad } => {
                    if left > 0 {
                        let piece = self.take(left);
                        if piece.is_empty() {
                            return Ok(None);
                        }
                        self.state = State::Data { left: left - piece.len() as u64, pad };
                        return Ok(Some(Event::Data(piece)));
                    }
                    if pad > 0 {
                        let skipped = self.take(pad).len() as u64;
                        if skipped == 0 {
                            return Ok(None);
                        }
                        self.state = State::Data { left, pad: pad - skipped };
                        continue;
                    }
                    self.state = State::Header;
                    return Ok(Some(Event::EntryEnd));
                }
            }
        }
    }

    /// Up to `max` bytes of the current chunk (zero-copy).
    fn take(&mut self, max: u64) -> Bytes {
        let n = self.cur.len().min(usize::try_from(max).unwrap_or(usize::MAX));
        self.offset += n as u64;
        self.cur.split_to(n)
    }

    /// A whole header block, assembling it across chunks when needed.
    fn take_block(&mut self) -> Option<Bytes> {
        if self.header.is_empty() && self.cur.len() >= BLOCK {
            self.offset += BLOCK as u64;
            return Some(self.cur.split_to(BLOCK));
        }
        let want = BLOCK - self.header.len();
        let piece = self.take(want as u64);
        self.header.extend_from_slice(&piece);
        if self.header.len() < BLOCK {
            return None;
        }
        Some(Bytes::from(std::mem::replace(&mut self.header, Vec::with_capacity(BLOCK))))
    }

    fn err(&self, problem: impl Into<String>) -> TarError {
        TarError { offset: self.offset, problem: problem.into() }
    }

    fn on_header(&mut self, block: &[u8]) -> Result<Option<Event>, TarError> {
        let at = self.offset - BLOCK as u64;
        let err = |problem: String| TarError { offset: at, problem };
        if block.iter().all(|&b| b == 0) {
            if self.pending.meta_bytes > 0 {
                return Err(err("long-name or PAX records are not followed by a member".into()));
            }
            self.state = State::Done;
            self.cur.clear();
            return Ok(Some(Event::End));
        }
        if !checksum_ok(block) {
            return Err(err("header checksum mismatch (the data is corrupt or not a tar archive)".into()));
        }
        let header = tar::Header::from_byte_slice(block);
        let flag = block[156];
        let size = parse_numeric(&block[124..136]).ok_or_else(|| err("the size field is not a number".into()))?;
        let padding = |n: u64| (BLOCK as u64 - n % BLOCK as u64) % BLOCK as u64;
        match flag {
            kind::GNU_LONG_NAME | kind::GNU_LONG_LINK | kind::PAX => {
                if self.pending.meta_bytes + size > MAX_META {
                    return Err(err(format!(
                        "metadata record of {size} bytes is larger than the {MAX_META}-byte limit"
                    )));
                }
                self.pending.meta_bytes += size.max(1);
                self.meta.clear();
                self.state = State::Meta { flag, left: size, pad: padding(size) };
                Ok(None)
            }
            kind::PAX_GLOBAL => {
                if size > MAX_META {
                    return Err(err(format!(
                        "global PAX header of {size} bytes is larger than the {MAX_META}-byte limit"
                    )));
                }
                self.state = State::Skip { left: size + padding(size) };
                Ok(None)
            }
            kind::GNU_SPARSE => {
                Err(err("GNU sparse members are not supported; create the archive without --sparse".into()))
            }
            _ => {
                let pending = std::mem::take(&mut self.pending);
                let mut path = header.path_bytes().into_owned();
                let mut link = header.link_name_bytes().map(|l| l.into_owned()).unwrap_or_default();
                if let Some(p) = pending.long_name {
                    path = p;
                }
                if let Some(l) = pending.long_link {
                    link = l;
                }
                let mut data_size = size;
                for (key, value) in &pending.pax {
                    match key.as_str() {
                        "path" => path = value.clone(),
                        "linkpath" => link = value.clone(),
                        "size" => {
                            data_size = std::str::from_utf8(value)
                                .ok()
                                .and_then(|s| s.parse().ok())
                                .ok_or_else(|| err("PAX size record is not a number".into()))?;
                        }
                        _ => {}
                    }
                }
                // Like Go's reader (the daemon's), these types never carry data, whatever
                // their size field says.
                if matches!(flag, kind::HARD_LINK | kind::SYMLINK | kind::CHAR | kind::BLOCK | kind::DIR | kind::FIFO) {
                    data_size = 0;
                }
                let mut own = [0u8; BLOCK];
                own.copy_from_slice(block);
                let entry = EntryHeader { block: own, path, link, pax: pending.pax, size: data_size, kind: flag };
                self.state = State::Data { left: data_size, pad: padding(data_size) };
                Ok(Some(Event::Entry(Box::new(entry))))
            }
        }
    }

    fn on_meta(&mut self, flag: u8) -> Result<(), TarError> {
        let body = std::mem::take(&mut self.meta);
        match flag {
            kind::GNU_LONG_NAME => self.pending.long_name = Some(trim_nul(body)),
            kind::GNU_LONG_LINK => self.pending.long_link = Some(trim_nul(body)),
            _ => {
                let records = parse_pax(&body).map_err(|problem| self.err(problem))?;
                self.pending.pax.extend(records);
            }
        }
        Ok(())
    }
}

/// GNU long names are NUL-terminated inside their data.
fn trim_nul(mut v: Vec<u8>) -> Vec<u8> {
    if let Some(end) = v.iter().position(|&b| b == 0) {
        v.truncate(end);
    }
    v
}

/// Reads a numeric header field like Go's reader (the daemon's) does: octal digits with
/// spaces and NULs around them (all-NUL means 0), or GNU base-256 when the high bit is set.
fn parse_numeric(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        if field[0] & 0x40 != 0 {
            return None; // negative
        }
        let mut value: u64 = u64::from(field[0] & 0x3f);
        for &b in &field[1..] {
            value = value.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(value);
    }
    let text = std::str::from_utf8(field).ok()?.trim_matches(|c| c == ' ' || c == '\0');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// Checks a header's checksum: the sum of all bytes with the checksum field read as
/// spaces. Historic writers summed signed bytes, so that is accepted too.
fn checksum_ok(block: &[u8]) -> bool {
    let field = &block[148..156];
    let text: String = field.iter().take_while(|&&b| b != 0 && b != b' ').map(|&b| b as char).collect();
    let text = text.trim_start();
    let Ok(stored) = u32::from_str_radix(text, 8) else { return false };
    let (mut unsigned, mut signed) = (0u32, 0i32);
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u32::from(b);
        signed += i32::from(b as i8);
    }
    stored == unsigned || i64::from(stored) == i64::from(signed)
}

/// Parses PAX records: `"<len> <key>=<value>\n"`, where `len` counts the whole record.
pub(crate) fn parse_pax(mut body: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    while !body.is_empty() {
        // Some writers pad the record area with NULs.
        if body[0] == 0 {
            break;
        }
        let space = body.iter().position(|&b| b == b' ').ok_or("PAX record without a length")?;
        let len: usize = std::str::from_utf8(&body[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("PAX record length is not a number")?;
        if len <= space + 1 || len > body.len() || body[len - 1] != b'\n' {
            return Err("PAX record length does not match its content".into());
        }
        let record = &body[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or("PAX record without `=`")?;
        let key = String::from_utf8(record[..eq].to_vec()).map_err(|_| "PAX record key is not UTF-8")?;
        out.push((key, record[eq + 1..].to_vec()));
        body = &body[len..];
    }
    Ok(out)
}
