//! The data directory is private: it holds the database, sealed secrets, the secret key, run logs
//! and uploaded contexts, so directories are 0700 and files 0600. Files are created with those
//! modes here, and `tighten` corrects what an older version, a restore or SQLite left wider.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of the data directory and every directory in it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file in it.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) if missing, and makes it 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
}

/// Opens `path` for appending, creating it 0600.
pub fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(FILE_MODE).open(path)
}

/// Creates (or truncates) `path` for writing, 0600.
pub fn create(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).write(true).truncate(true).mode(FILE_MODE).open(path)
}

/// Writes `contents` to `path`, created 0600.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
    io::Write::write_all(&mut create(path)?, contents.as_ref())
}

/// Makes `dir` and every directory under it 0700 and every file 0600 (symbolic links are left
/// alone); returns what it changed, so the caller can say so.
pub fn tighten(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        set_mode(&d, DIR_MODE, &mut changed)?;
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                set_mode(&entry.path(), FILE_MODE, &mut changed)?;
            }
        }
    }
    Ok(changed)
}

fn set_mode(path: &Path, mode: u32, changed: &mut Vec<PathBuf>) -> io::Result<()> {
    let current = std::fs::symlink_metadata(path)?.permissions().mode() & 0o7777;
    if current != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        changed.push(path.to_path_buf());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tighten_makes_directories_0700_and_files_0600() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("logs");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("a.log"), "x").unwrap();
        std::fs::set_permissions(sub.join("a.log"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
        let changed = tighten(dir.path()).unwrap();
        assert!(changed.contains(&sub) && changed.contains(&sub.join("a.log")), "{changed:?}");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(dir.path()), mode(&sub), mode(&sub.join("a.log"))), (0o700, 0o700, 0o600));
        assert!(tighten(dir.path()).unwrap().is_empty(), "nothing left to change");
        write(&dir.path().join("new"), "y").unwrap();
        assert_eq!(mode(&dir.path().join("new")), 0o600);
    }
}
