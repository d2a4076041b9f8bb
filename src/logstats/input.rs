//! Reading inputs on their own thread: plain files, gzip (detected by magic,
//! decoded here so decompression and parsing use two cores), stdin, several
//! files in order, and `--follow` (rotation-safe tail).
//!
//! The reader hands the parser 1 MiB chunks that end on a line boundary,
//! through a bounded channel with a small recycled buffer pool, so memory is
//! a few MiB whatever the input size.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError, channel, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// Chunk size; also the longest line kept (longer lines are dropped and counted).
pub const CHUNK: usize = 1 << 20;
const POOL: usize = 4;

/// One input of `analyze`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Path(PathBuf),
    Stdin,
}

impl Input {
    /// "-" is stdin, anything else a path.
    pub fn from_arg(s: &Path) -> Input {
        if s == Path::new("-") {
            Input::Stdin
        } else {
            Input::Path(s.to_path_buf())
        }
    }

    pub fn name(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Stdin => "-".into(),
        }
    }
}

/// Reader → parser messages.
pub enum Msg {
    /// A new input starts; `reference` is the (year, month) its last line was written in.
    Start {
        reference: (i32, u32),
    },
    /// `buf[..len]` holds whole lines, each ending in '\n'.
    Chunk(Vec<u8>, usize),
    /// Lines dropped for exceeding CHUNK bytes.
    Overlong(u64),
    Error(String),
}

/// (year, month) of local wall-clock time `t`.
fn year_month(t: std::time::SystemTime) -> (i32, u32) {
    use chrono::Datelike;
    let d = chrono::DateTime::<chrono::Local>::from(t).naive_local();
    (d.year(), d.month())
}

struct Chunker {
    tx: SyncSender<Msg>,
    /// Raw bytes read from the inputs (compressed for .gz), for progress.
    read: Arc<AtomicU64>,
    pool: Receiver<Vec<u8>>,
    allocated: usize,
    buf: Vec<u8>,
    len: usize,
    skipping: bool,
}

impl Chunker {
    fn new_buf(&mut self) -> Option<Vec<u8>> {
        match self.pool.try_recv() {
            Ok(b) => Some(b),
            Err(TryRecvError::Empty) if self.allocated < POOL => {
                self.allocated += 1;
                Some(vec![0; CHUNK])
            }
            _ => self.pool.recv().ok(),
        }
    }

    /// Read once into the buffer; the byte count, 0 at end of input.
    fn read_from(&mut self, r: &mut dyn Read) -> io::Result<usize> {
        if self.len == CHUNK {
            self.ship(false)?;
        }
        loop {
            match r.read(&mut self.buf[self.len..]) {
                Ok(n) => {
                    self.len += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Send the complete lines; keep the partial last line. With `all`, the
    /// partial line is terminated and sent too (end of a file).
    fn ship(&mut self, all: bool) -> io::Result<()> {
        let gone = || io::Error::other("parser stopped");
        if self.skipping {
            match memchr::memchr(b'\n', &self.buf[..self.len]) {
                Some(i) => {
                    self.buf.copy_within(i + 1..self.len, 0);
                    self.len -= i + 1;
                    self.skipping = false;
                }
                None => {
                    self.len = 0;
                    self.skipping = !all;
                    return Ok(());
                }
            }
        }
        if self.len == 0 {
            return Ok(());
        }
        let cut = if all {
            if self.buf[self.len - 1] != b'\n' {
                if self.len == CHUNK {
                    self.tx.send(Msg::Overlong(1)).map_err(|_| gone())?;
                    self.len = 0;
                    return Ok(());
                }
                self.buf[self.len] = b'\n';
                self.len += 1;
            }
            self.len
        } else {
            match memchr::memrchr(b'\n', &self.buf[..self.len]) {
                Some(i) => i + 1,
                None if self.len == CHUNK => {
                    self.tx.send(Msg::Overlong(1)).map_err(|_| gone())?;
                    self.len = 0;
                    self.skipping = true;
                    return Ok(());
                }
                None => return Ok(()),
            }
        };
        let mut next = self.new_buf().ok_or_else(gone)?;
        let rest = self.len - cut;
        next[..rest].copy_from_slice(&self.buf[cut..self.len]);
        let full = std::mem::replace(&mut self.buf, next);
        self.len = rest;
        self.tx.send(Msg::Chunk(full, cut)).map_err(|_| gone())
    }

    fn pump_to_end(&mut self, r: &mut dyn Read) -> io::Result<()> {
        while self.read_from(r)? > 0 {}
        self.ship(true)
    }
}

/// A reader that adds what it reads to a shared count.
struct Counted<R> {
    inner: R,
    n: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(b)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// Open a file, transparently gunzipping when it starts with the gzip magic.
/// Bytes are counted as read from the file, before decompression.
fn open(path: &Path, n: &Arc<AtomicU64>) -> io::Result<Box<dyn Read + Send>> {
    let file = Counted {
        inner: File::open(path)?,
        n: n.clone(),
    };
    let mut f = BufReader::with_capacity(256 << 10, file);
    let gz = f.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(flate2::read::MultiGzDecoder::new(f))
    } else {
        Box::new(f)
    })
}

/// The reader thread. Returns the message stream and the buffer return path.
/// `read` counts the raw bytes read (see [`super::progress`]).
pub fn spawn(
    inputs: Vec<Input>,
    follow: Option<Arc<AtomicBool>>,
    read: Arc<AtomicU64>,
) -> (Receiver<Msg>, Sender<Vec<u8>>, JoinHandle<()>) {
    let (tx, rx) = sync_channel(POOL);
    let (pool_tx, pool_rx) = channel();
    let handle = std::thread::Builder::new()
        .name("logstats-reader".into())
        .spawn(move || {
            let mut c = Chunker {
                tx,
                read,
                pool: pool_rx,
                allocated: 1,
                buf: vec![0; CHUNK],
                len: 0,
                skipping: false,
            };
            for input in inputs {
                let res = match (&input, &follow) {
                    (Input::Path(p), Some(stop)) => tail(&mut c, p, stop),
                    (Input::Path(p), None) => read_file(&mut c, p),
                    (Input::Stdin, _) => {
                        let _ = c.tx.send(Msg::Start {
                            reference: year_month(std::time::SystemTime::now()),
                        });
                        let mut stdin = Counted {
                            inner: io::stdin().lock(),
                            n: c.read.clone(),
                        };
                        c.pump_to_end(&mut stdin)
                    }
                };
                if let Err(e) = res {
                    // Keep what was decoded before the error (the cut line counts as malformed).
                    let msg = Msg::Error(format!("{}: {e}", input.name()));
                    if c.ship(true).is_err() || c.tx.send(msg).is_err() {
                        return;
                    }
                    c.skipping = false;
                }
            }
        })
        .expect("spawn reader thread");
    (rx, pool_tx, handle)
}

fn read_file(c: &mut Chunker, p: &Path) -> io::Result<()> {
    let mtime = std::fs::metadata(p)?.modified()?;
    let mut r = open(p, &c.read)?;
    let _ = c.tx.send(Msg::Start {
        reference: year_month(mtime),
    });
    c.pump_to_end(&mut r)
}

/// Follow `p` like `tail -F`: read to the end, then poll. When the path
/// points at a new file (rotation by rename) or the file shrank
/// (copytruncate), finish the old handle and start over on the new one.
fn tail(c: &mut Chunker, p: &Path, stop: &AtomicBool) -> io::Result<()> {
    let _ = c.tx.send(Msg::Start {
        reference: year_month(std::time::SystemTime::now()),
    });
    let mut file = File::open(p)?;
    let mut id = file.metadata().map(|m| (m.dev(), m.ino()))?;
    let mut pos: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let n = c.read_from(&mut file)?;
        if n > 0 {
            pos += n as u64;
            c.read.fetch_add(n as u64, Ordering::Relaxed);
            continue;
        }
        c.ship(false)?;
        std::thread::sleep(Duration::from_millis(200));
        match std::fs::metadata(p) {
            Ok(m) if (m.dev(), m.ino()) != id => {
                // Rotated: drain what the old file still holds, then switch.
                c.pump_to_end(&mut file)?;
                match File::open(p) {
                    Ok(f) => {
                        file = f;
                        id = (m.dev(), m.ino());
                        pos = 0;
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(m) if m.len() < pos => {
                // Truncated in place (copytruncate): read from the start.
                c.ship(true)?;
                use std::io::Seek;
                file.seek(io::SeekFrom::Start(0))?;
                pos = 0;
            }
            _ => {}
        }
    }
    c.ship(true)
}
