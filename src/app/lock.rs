//! The run lock of a reports directory, and the notes a run refused by it
//! leaves for the next run that gets it (an "unknown" result is never
//! silently lost).

use std::path::Path;

use chrono::Utc;

/// Why the run lock was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockError {
    /// Another run holds it (exit 2: this run could not measure).
    Held(String),
    /// The reports directory or lock file is unusable (exit 4).
    Io(String),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held(m) | LockError::Io(m) => f.write_str(m),
        }
    }
}

/// Hold the run lock of a reports directory: `flock` on
/// `<reports>/.healthmon.lock`, released when the process ends (no stale
/// pid files).
pub fn lock(reports: &Path) -> Result<std::fs::File, LockError> {
    let io = LockError::Io;
    std::fs::create_dir_all(reports)
        .map_err(|e| io(format!("cannot create {}: {e}", reports.display())))?;
    let p = reports.join(".healthmon.lock");
    let f = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| io(format!("cannot open {}: {e}", p.display())))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held(format!(
            "another run of this suite holds the lock {} (reports dir {})",
            p.display(),
            reports.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(io(format!("cannot lock {}: {e}", p.display())))
        }
    }
}

/// A run that found the lock held leaves a line here; the next run that gets
/// the lock reports it.
const SKIPPED_RUNS: &str = ".skipped-runs";

/// Record that a run was refused by the lock (best effort: the refused run
/// must not fail harder because of its own bookkeeping).
pub fn note_skipped_run(reports: &Path) {
    let line = format!(
        "{} run refused: another run held the lock\n",
        Utc::now().to_rfc3339()
    );
    if let Err(e) = crate::atomic::append(&reports.join(SKIPPED_RUNS), line.as_bytes()) {
        tracing::warn!("cannot record the skipped run: {e}");
    }
}

/// Notes about runs skipped since the last one; clears the record. Call
/// while holding the lock.
pub fn take_skipped_runs(reports: &Path) -> Vec<String> {
    let p = reports.join(SKIPPED_RUNS);
    let Ok(text) = std::fs::read_to_string(&p) else {
        return vec![];
    };
    let _ = std::fs::remove_file(&p);
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return vec![];
    }
    vec![format!(
        "{} earlier run(s) did not run because another run held the lock (first: {})",
        lines.len(),
        lines[0].split(' ').next().unwrap_or("")
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_lock_is_exclusive() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a-file"), "").unwrap();
        let a = lock(d.path()).unwrap();
        let e = lock(d.path()).unwrap_err();
        assert!(
            matches!(&e, LockError::Held(m) if m.contains("another run of this suite holds the lock")),
            "{e}"
        );
        assert!(matches!(
            lock(&d.path().join("a-file").join("sub")),
            Err(LockError::Io(_))
        ));
        drop(a);
        lock(d.path()).unwrap();
    }
}
