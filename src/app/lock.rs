//! The run lock of a reports directory, and the notes a run refused by it
//! leaves for the next run that gets it (an "unknown" result is never
//! silently lost).

use std::path::Path;
use std::time::{Duration, Instant};

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

/// A run that found the lock held appends a line to this journal; the next
/// run that gets the lock reads and empties it. Both do so under an flock
/// on the journal itself, so a note appended while the holder takes the
/// journal lands either before its read or after its truncation, never in
/// between (deleting or renaming the file instead would lose a note
/// written through an already open descriptor).
const SKIPPED_RUNS: &str = ".skipped-runs";

/// How long either side waits for the journal's flock (held for one small
/// read or write); on timeout the note stays for a later run.
const JOURNAL_WAIT: Duration = Duration::from_secs(2);

/// Record that a run was refused by the lock (best effort: the refused run
/// must not fail harder because of its own bookkeeping).
pub fn note_skipped_run(reports: &Path) {
    let line = format!(
        "{} run refused: another run held the lock\n",
        Utc::now().to_rfc3339()
    );
    let p = reports.join(SKIPPED_RUNS);
    let r = crate::logfile::append::open(&p).and_then(|(mut f, _)| {
        lock_within(&f, JOURNAL_WAIT)?;
        crate::logfile::append::append_file(&mut f, &p, line.as_bytes())
    });
    if let Err(e) = r {
        tracing::warn!("cannot record the skipped run: {e}");
    }
}

/// Notes about runs skipped since the last one; empties the journal. Call
/// while holding the run lock.
pub fn take_skipped_runs(reports: &Path) -> Vec<String> {
    let p = reports.join(SKIPPED_RUNS);
    let text = match take(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return vec![],
        Err(e) => {
            tracing::warn!("cannot read {}: {e} (left for the next run)", p.display());
            return vec![];
        }
    };
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

/// Read and empty the journal under its flock.
fn take(p: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::options().read(true).write(true).open(p)?;
    lock_within(&f, JOURNAL_WAIT)?;
    let mut text = String::new();
    f.read_to_string(&mut text)?;
    if !text.is_empty() {
        f.set_len(0)?;
        f.sync_data()?;
    }
    Ok(text)
}

/// An exclusive flock on `f`, waiting at most `wait`.
fn lock_within(f: &std::fs::File, wait: Duration) -> std::io::Result<()> {
    let until = Instant::now() + wait;
    loop {
        match f.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the skipped-run journal stayed locked",
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
    }
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

    /// Refused runs note while lock holders take, concurrently: every note
    /// is reported exactly once.
    #[test]
    fn no_skipped_run_note_is_lost_while_the_holder_takes_them() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_path_buf();
        const WRITERS: usize = 4;
        const EACH: usize = 50;
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    for _ in 0..EACH {
                        note_skipped_run(&dir);
                    }
                })
            })
            .collect();
        let count = |notes: Vec<String>| -> usize {
            notes
                .iter()
                .map(|n| n.split(' ').next().unwrap().parse::<usize>().unwrap())
                .sum()
        };
        let mut seen = 0;
        while writers.iter().any(|w| !w.is_finished()) {
            seen += count(take_skipped_runs(&dir));
        }
        for w in writers {
            w.join().unwrap();
        }
        seen += count(take_skipped_runs(&dir));
        assert_eq!(seen, WRITERS * EACH);
        assert!(take_skipped_runs(&dir).is_empty(), "taken twice");
    }
}
