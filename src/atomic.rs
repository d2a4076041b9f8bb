//! Crash-safe file output: a failed write never truncates what was there.
//!
//! Whole files (JUnit, JSON, state, .prom) are written to a temp file in the
//! same directory, fsynced, then renamed over the target. Appended logs are
//! not rewritten: they go through `logfile::append` (`O_APPEND` records).

use std::io::{self, Write};
use std::path::Path;

/// Replace `path` with `data` atomically.
pub fn write(path: &Path, data: &[u8]) -> io::Result<()> {
    let (tmp, dir) = staged(path, data)?;
    // Keep an existing file's permissions (e.g. 0600 state) across the rename.
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}

/// Replace `path` atomically with what `fill` writes (for output too big to
/// hold in memory, e.g. a gzipped day of history).
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let (mut tmp, dir) = staged(path, b"")?;
    fill(&mut tmp)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}

/// Create `path` with `data` (mode 0600) only if it does not exist yet:
/// staged like [`write`], then linked into place without clobbering, so a
/// reader sees no file or the whole file, and of two writers racing exactly
/// one wins (the other gets `AlreadyExists`).
pub fn create_new(path: &Path, data: &[u8]) -> io::Result<()> {
    let (tmp, dir) = staged(path, data)?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}

/// `data` in a fsynced temp file (mode 0600) in the directory of `path`,
/// created if missing.
fn staged<'p>(path: &'p Path, data: &[u8]) -> io::Result<(tempfile::NamedTempFile, &'p Path)> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".healthmon-")
        .tempfile_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    Ok((tmp, dir))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_new_never_replaces_and_is_0600() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/k");
        create_new(&p, b"one").unwrap();
        let e = create_new(&p, b"two").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(d.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["k"], "no temp file left behind");
    }

    #[test]
    fn write_into_missing_dir_fails_without_creating_target_when_dir_unwritable() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.txt");
        write(&p, b"old").unwrap();
        // A read-only directory makes the temp file creation fail: old content stays.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o500)).unwrap();
        let r = write(&p, b"new");
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        if r.is_err() {
            assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        } else {
            // root ignores directory permissions; then the write must be complete.
            assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        }
    }
}
