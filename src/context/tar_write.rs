//! Writing tar member headers with arbitrary path lengths. Names that do not fit the
//! 100-byte ustar fields go into a PAX extended header (`path`/`linkpath` records), which
//! is what Go's `archive/tar` (the Docker CLI and daemon) writes and reads, and what GNU
//! tar reads.

use super::tar_parse::BLOCK;

/// Length of the ustar `name` and `linkname` fields.
const NAME_LEN: usize = 100;

/// Two zero blocks: the end-of-archive marker.
pub(crate) const END_OF_ARCHIVE: [u8; 2 * BLOCK] = [0; 2 * BLOCK];

/// Zero bytes that pad `size` bytes of data to a whole block.
pub(crate) fn padding(size: u64) -> &'static [u8] {
    static ZEROS: [u8; BLOCK] = [0; BLOCK];
    let rem = (size % BLOCK as u64) as usize;
    if rem == 0 { &[] } else { &ZEROS[..BLOCK - rem] }
}

/// Appends the encoding of one member's header to `out`: a PAX header when `path`, `link`
/// or `pax` (records to carry over, e.g. from the input archive) need one, then `block`
/// with its name, link name and checksum rewritten. `block`'s other fields (type, mode,
/// size, mtime, owner...) are kept as given.
pub(crate) fn encode_entry(
    block: &[u8; BLOCK],
    path: &[u8],
    link: &[u8],
    pax: &[(String, Vec<u8>)],
    out: &mut Vec<u8>,
) {
    let mut records: Vec<(&str, &[u8])> =
        pax.iter().filter(|(k, _)| k != "path" && k != "linkpath").map(|(k, v)| (k.as_str(), v.as_slice())).collect();
    if path.len() > NAME_LEN {
        records.push(("path", path));
    }
    if link.len() > NAME_LEN {
        records.push(("linkpath", link));
    }

    let mut main = tar::Header::new_old();
    main.as_mut_bytes().copy_from_slice(block);
    let bytes = main.as_mut_bytes();
    put_field(&mut bytes[0..NAME_LEN], path);
    put_field(&mut bytes[157..157 + NAME_LEN], link);
    // A POSIX ustar header has a 155-byte name prefix; the full name is now in `name` or in
    // a PAX record, so a stale prefix would corrupt it. (GNU headers use that area for
    // other fields, which are kept.)
    if &bytes[257..263] == b"ustar\0" {
        bytes[345..500].fill(0);
    }
    main.set_cksum();

    if !records.is_empty() {
        let mut body = Vec::new();
        for (key, value) in &records {
            pax_record(key, value, &mut body);
        }
        let mut ext = tar::Header::new_ustar();
        ext.set_entry_type(tar::EntryType::XHeader);
        let base = path.rsplit(|&b| b == b'/').find(|c| !c.is_empty()).unwrap_or(b"entry");
        let mut name = b"PaxHeaders/".to_vec();
        name.extend_from_slice(&base[..base.len().min(NAME_LEN - name.len())]);
        put_field(&mut ext.as_mut_bytes()[0..NAME_LEN], &name);
        ext.set_mode(0o644);
        ext.set_size(body.len() as u64);
        ext.set_mtime(main.mtime().unwrap_or(0));
        ext.set_cksum();
        out.extend_from_slice(ext.as_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(padding(body.len() as u64));
    }
    out.extend_from_slice(main.as_bytes());
}

/// Copies `value` into a fixed-width header field, truncating it and zero-filling the rest.
fn put_field(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
    field[n..].fill(0);
}

/// Appends one PAX record, `"<len> <key>=<value>\n"`, where `len` counts the whole record
/// including its own digits.
fn pax_record(key: &str, value: &[u8], out: &mut Vec<u8>) {
    let rest = 1 + key.len() + 1 + value.len() + 1;
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(format!("{len} {key}=").as_bytes());
    out.extend_from_slice(value);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        for n in [0, 1, 5, 90, 95, 96, 990, 995] {
            let mut out = Vec::new();
            let value = vec![b'a'; n];
            pax_record("path", &value, &mut out);
            let (len, _) = std::str::from_utf8(&out).unwrap().split_once(' ').unwrap();
            assert_eq!(len.parse::<usize>().unwrap(), out.len(), "value length {n}");
        }
    }

    #[test]
    fn padding_fills_to_block() {
        assert_eq!(padding(0).len(), 0);
        assert_eq!(padding(1).len(), 511);
        assert_eq!(padding(512).len(), 0);
        assert_eq!(padding(513).len(), 511);
    }
}
