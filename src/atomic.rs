//! Crash-safe file output: a failed write never truncates what was there.
//!
//! Whole files (JUnit, JSON, state, .prom) are written to a temp file in the
//! same directory, fsynced, then renamed over the target. Appended logs
//! (systest.log, qmonitor.log) are rewritten the same way: old content + new
//! rows into a temp file, then rename, so a full disk leaves the old log intact
//! instead of a half-written row.

use std::io::{self, Write};
use std::path::Path;

/// Replace `path` with `data` atomically.
pub fn write(path: &Path, data: &[u8]) -> io::Result<()> {
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
    // Keep an existing file's permissions (e.g. 0600 state) across the rename.
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Append `data` to `path` without ever truncating the existing content.
pub fn append(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut old = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    old.extend_from_slice(data);
    write(path, &old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_keeps_old_content_and_adds_new() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.log");
        append(&p, b"one\n").unwrap();
        append(&p, b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "one\ntwo\n");
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
