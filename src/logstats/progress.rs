//! Progress on a terminal for long `logstats` work: bytes of input read (of
//! the total when the inputs are files), lines, lines/s and an ETA, redrawn
//! in place on stderr at most four times a second and wiped at the end.
//! The command turns it on only when stderr is a terminal, so a pipe, a
//! file or cron never gets a byte of it.
//!
//! Bytes are counted as read from the files (compressed bytes for .gz), so
//! the fraction and the ETA hold for compressed rotations too.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_millis(250);

pub struct Progress {
    /// Raw input bytes read so far (the reader thread adds to it).
    read: Arc<AtomicU64>,
    /// Sum of the input files' sizes; None with stdin or `--follow`.
    total: Option<u64>,
    start: Instant,
    last: Option<Instant>,
    drawn: bool,
    out: Box<dyn Write + Send>,
}

impl Progress {
    pub fn new(read: Arc<AtomicU64>, total: Option<u64>, out: Box<dyn Write + Send>) -> Self {
        Progress {
            read,
            total,
            start: Instant::now(),
            last: None,
            drawn: false,
            out,
        }
    }

    /// Redraw if the last draw is old enough.
    pub fn tick(&mut self, lines: u64) {
        let now = Instant::now();
        if self.last.is_some_and(|t| now - t < EVERY) {
            return;
        }
        self.last = Some(now);
        let text = line(
            self.read.load(Ordering::Relaxed),
            self.total,
            lines,
            now - self.start,
        );
        // `\r` back to the start, `ESC[K` erases what a longer line left.
        let _ = write!(self.out, "\r{text}\x1b[K");
        let _ = self.out.flush();
        self.drawn = true;
    }

    /// Wipe the progress line so the report starts on a clean line.
    pub fn finish(&mut self) {
        if self.drawn {
            let _ = write!(self.out, "\r\x1b[K");
            let _ = self.out.flush();
        }
    }
}

/// The progress text: `1.5 GiB of 3.0 GiB (50%), 12,000,000 lines,
/// 800,000 lines/s, ETA 0:15` (without a total: bytes, lines and the rate).
pub fn line(read: u64, total: Option<u64>, lines: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let rate = (lines as f64 / secs) as u64;
    let mut s = format!("logstats: {}", size(read));
    if let Some(t) = total.filter(|t| *t > 0) {
        let pct = (read.min(t) as f64 / t as f64 * 100.0) as u64;
        s += &format!(" of {} ({pct}%)", size(t));
    }
    s += &format!(", {} lines, {} lines/s", thousands(lines), thousands(rate));
    if let Some(t) = total.filter(|t| *t > 0 && read > 0) {
        let left = t.saturating_sub(read) as f64 * secs / read as f64;
        s += &format!(", ETA {}", clock(left as u64));
    }
    s
}

fn size(b: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

fn thousands(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::with_capacity(d.len() + d.len() / 3);
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `h:mm:ss`, or `m:ss` under an hour.
fn clock(s: u64) -> String {
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_rate_and_eta() {
        let gib = 1u64 << 30;
        let l = line(
            3 * gib / 2,
            Some(3 * gib),
            12_000_000,
            Duration::from_secs(15),
        );
        assert_eq!(
            l,
            "logstats: 1.5 GiB of 3.0 GiB (50%), 12,000,000 lines, 800,000 lines/s, ETA 0:15"
        );
    }

    #[test]
    fn without_a_total_no_fraction_no_eta() {
        let l = line(2048, None, 999, Duration::from_secs(1));
        assert_eq!(l, "logstats: 2.0 KiB, 999 lines, 999 lines/s");
    }

    #[test]
    fn long_eta_has_hours_and_nothing_read_has_none() {
        let l = line(1, Some(7201), 1, Duration::from_secs(1));
        assert!(l.ends_with("ETA 2:00:00"), "{l}");
        let l = line(0, Some(10), 0, Duration::from_secs(1));
        assert!(!l.contains("ETA"), "{l}");
        assert!(l.contains("0 B of 10 B (0%)"), "{l}");
    }

    #[test]
    fn draws_in_place_at_most_four_times_a_second_and_wipes() {
        #[derive(Clone, Default)]
        struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let read = Arc::new(AtomicU64::new(10));
        let mut p = Progress::new(read, Some(100), Box::new(buf.clone()));
        for i in 0..1000 {
            p.tick(i);
        }
        p.finish();
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.matches("logstats:").count(), 1, "{out:?}");
        assert!(
            out.starts_with("\rlogstats: 10 B of 100 B (10%)"),
            "{out:?}"
        );
        assert!(out.ends_with("\r\x1b[K"), "{out:?}");
        assert!(!out.contains('\n'), "{out:?}");
    }
}
