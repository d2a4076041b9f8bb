//! Rotation of an append-only log: by day (the file was last written on an
//! earlier local day) or by size, keeping `keep` old files named like
//! logrotate's (`systest.log.1` newest … `.keep` oldest).
//!
//! Every append opens the log by name, so an external logrotate works too
//! (`create` or `copytruncate`: nothing holds the old file open, nothing
//! needs a SIGHUP); set `every: never` then to leave rotation to it.

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, NaiveDate};

/// When a log starts a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    /// When the local date changed since the last write.
    Day,
    /// When the next records would take it past this many bytes.
    Size(u64),
    /// Never (an external logrotate does it, or nobody).
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub every: Every,
    /// Rotated files kept (older ones are deleted).
    pub keep: u32,
}

/// Daily, two weeks kept: a default baseline's worth of tables.
pub const DEFAULT_KEEP: u32 = 14;

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            every: Every::Day,
            keep: DEFAULT_KEEP,
        }
    }
}

/// `path.N`.
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl Rotation {
    /// Whether `path` must be rotated before `incoming` more bytes are
    /// appended at `now`.
    pub fn due(&self, path: &Path, incoming: u64, now: DateTime<Local>) -> bool {
        let Ok(m) = std::fs::metadata(path) else {
            return false;
        };
        if m.len() == 0 {
            return false;
        }
        match self.every {
            Every::Never => false,
            Every::Size(max) => m.len() + incoming > max,
            Every::Day => m
                .modified()
                .map(|t| local_date(t) < now.date_naive())
                .unwrap_or(false),
        }
    }

    /// Rotate `path` if [`Self::due`]: shift `.1`… up by one, drop what is
    /// beyond `keep`, move the log to `.1`. Each step is one rename, so a
    /// crash between two leaves every line in some file.
    pub fn apply(&self, path: &Path, incoming: u64, now: DateTime<Local>) -> io::Result<bool> {
        if !self.due(path, incoming, now) {
            return Ok(false);
        }
        if self.keep == 0 {
            std::fs::remove_file(path)?;
            return Ok(true);
        }
        remove_if_present(&rotated(path, self.keep))?;
        for n in (1..self.keep).rev() {
            let from = rotated(path, n);
            if from.exists() {
                std::fs::rename(&from, rotated(path, n + 1))?;
            }
        }
        std::fs::rename(path, rotated(path, 1))?;
        Ok(true)
    }
}

fn remove_if_present(p: &Path) -> io::Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn local_date(t: std::time::SystemTime) -> NaiveDate {
    DateTime::<Local>::from(t).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_size_keeps_n_newest_first() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.log");
        let r = Rotation {
            every: Every::Size(10),
            keep: 2,
        };
        let now = Local::now();
        for i in 0..4 {
            r.apply(&p, 8, now).unwrap();
            std::fs::write(&p, format!("run {i}\n")).unwrap();
        }
        let read = |n| std::fs::read_to_string(rotated(&p, n)).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "run 3\n");
        assert_eq!((read(1).as_str(), read(2).as_str()), ("run 2\n", "run 1\n"));
        assert!(!rotated(&p, 3).exists());
    }

    #[test]
    fn by_day_rotates_a_file_last_written_yesterday_only() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.log");
        std::fs::write(&p, "old\n").unwrap();
        let r = Rotation::default();
        let now = Local::now();
        assert!(!r.apply(&p, 1, now).unwrap(), "written today");
        assert!(r.apply(&p, 1, now + chrono::Duration::days(1)).unwrap());
        assert!(!p.exists());
        assert_eq!(std::fs::read_to_string(rotated(&p, 1)).unwrap(), "old\n");
        let never = Rotation {
            every: Every::Never,
            keep: 1,
        };
        std::fs::write(&p, "x\n").unwrap();
        assert!(!never.apply(&p, 1, now + chrono::Duration::days(9)).unwrap());
    }
}
