//! `O_APPEND` writes of whole records, and reading a log's tail.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// The last bytes of a log, for a reporter that continues it (the date of
/// the last header block): bounded, so reading it does not grow with the file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tail {
    /// File length in bytes.
    pub len: u64,
    /// The last complete lines within the window read (lossy UTF-8); a line
    /// cut by the window's start is dropped.
    pub text: String,
}

/// The tail of `path`, read backwards in small chunks until it holds a
/// line containing `needle` (the last header) or `window` bytes; an empty
/// tail when the file does not exist.
pub fn tail(path: &Path, window: u64, needle: &str) -> io::Result<Tail> {
    const CHUNK: u64 = 8 << 10;
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Tail::default()),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let floor = len.saturating_sub(window);
    let mut start = len;
    let mut buf: Vec<u8> = Vec::new();
    while start > floor {
        let from = start.saturating_sub(CHUNK).max(floor);
        let mut chunk = vec![0u8; (start - from) as usize];
        f.read_exact_at(&mut chunk, from)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        start = from;
        // Found once a whole line (after the first newline) holds it.
        let whole = if start > 0 { skip_line(&buf) } else { 0 };
        if contains(&buf[whole..], needle.as_bytes()) {
            break;
        }
    }
    let from = if start > 0 { skip_line(&buf) } else { 0 };
    Ok(Tail {
        len,
        text: String::from_utf8_lossy(&buf[from..]).into_owned(),
    })
}

/// Index after the first `\n` (a line cut by the read's start is dropped).
fn skip_line(buf: &[u8]) -> usize {
    buf.iter()
        .position(|&b| b == b'\n')
        .map_or(buf.len(), |i| i + 1)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(hay, needle).is_some()
}

/// Append `records` (whole lines, ending in `\n`) to `path`, created (0600)
/// if missing. Never rewrites what is there: a full disk fails before a byte
/// is written; a partial last record left by a crash is terminated first.
pub fn append(path: &Path, records: &[u8]) -> io::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let (mut f, created) = open(path)?;
    let r = append_file(&mut f, path, records);
    if r.is_err() && created && f.metadata().is_ok_and(|m| m.len() == 0) {
        // Leave no empty file behind: the directory looks as before (not
        // when another writer has appended to the file we created).
        let _ = std::fs::remove_file(path);
    }
    r
}

/// Open (or create, 0600) `path` for appending; true when it was created.
pub fn open(path: &Path) -> io::Result<(File, bool)> {
    let mut o = std::fs::OpenOptions::new();
    o.append(true).read(true).mode(0o600);
    match o.open(path) {
        Ok(f) => Ok((f, false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            match o.clone().create_new(true).open(path) {
                Ok(f) => Ok((f, true)),
                // Another writer created it between our two opens: append
                // to theirs (failing here would lose this record).
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    o.open(path).map(|f| (f, false))
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// [`append`] on a log already opened with [`open`] (a caller holding an
/// flock on it); `path` names it in the warning.
pub fn append_file(f: &mut File, path: &Path, records: &[u8]) -> io::Result<()> {
    let len = f.metadata()?.len();
    let mut last = [0u8; 1];
    let partial = len > 0 && {
        f.read_exact_at(&mut last, len - 1)?;
        last[0] != b'\n'
    };
    let mut data = Vec::with_capacity(records.len() + 1);
    if partial {
        // A crash cut the last record: end its line so ours starts clean.
        tracing::warn!(
            "{} ended in a partial record (an interrupted write); terminated it",
            path.display()
        );
        data.push(b'\n');
    }
    data.extend_from_slice(records);
    reserve(f, len, data.len() as u64)?;
    if let Err(e) = f.write_all(&data) {
        // Only this append's own bytes are cut again; what was there stays.
        if f.metadata().is_ok_and(|m| m.len() > len) {
            let _ = f.set_len(len);
        }
        return Err(e);
    }
    f.sync_data()
}

/// Allocate the blocks for `n` bytes at `at` without changing the size, so
/// the write that follows cannot run out of space halfway. File systems
/// without `fallocate` skip it (the write's own failure path cleans up).
fn reserve(f: &File, at: u64, n: u64) -> io::Result<()> {
    // SAFETY: fallocate(2) on an open descriptor we own; plain integers.
    let r = unsafe {
        libc::fallocate(
            f.as_raw_fd(),
            libc::FALLOC_FL_KEEP_SIZE,
            at as libc::off_t,
            n as libc::off_t,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => Ok(()),
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_whole_records_and_terminates_a_partial_last_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.log");
        append(&p, b"one\n").unwrap();
        append(&p, b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "one\ntwo\n");
        // A crash mid-record: the next append ends that line first.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"thr")
            .unwrap();
        append(&p, b"four\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "one\ntwo\nthr\nfour\n"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn tail_reads_back_to_the_needle_or_the_window_and_drops_the_cut_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.log");
        assert_eq!(tail(&p, 10, "H").unwrap(), Tail::default());
        append(&p, b"aaaa\nbbbb\ncccc\n").unwrap();
        let t = tail(&p, 7, "H").unwrap();
        assert_eq!((t.len, t.text.as_str()), (15, "cccc\n"));
        assert_eq!(tail(&p, 100, "H").unwrap().text, "aaaa\nbbbb\ncccc\n");
        // A header 20 KiB back: found, and reading stops there.
        let mut big = b"old\nH 1\n".to_vec();
        big.extend(std::iter::repeat_n(b"row\n".as_slice(), 5 << 10).flatten());
        std::fs::write(&p, &big).unwrap();
        let t = tail(&p, 1 << 20, "H").unwrap();
        assert!(t.text.starts_with("H 1\n") || t.text.lines().any(|l| l == "H 1"));
        assert!(t.text.len() < 32 << 10, "{}", t.text.len());
    }

    #[test]
    fn a_failed_append_to_a_new_file_leaves_no_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub");
        std::fs::write(&p, "a file, not a directory").unwrap();
        assert!(append(&p.join("x.log"), b"one\n").is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"a file, not a directory");
    }
}
