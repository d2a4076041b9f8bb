//! `healthmon logstats`: mail log statistics (Postfix, Sun Messaging Server),
//! streamed in bounded memory, with pflogsumm-compatible totals.
//!
//! Pipeline: `input` (reader thread: files, gzip, stdin, follow) → chunks of
//! whole lines → `line` (syslog framing) → `postfix` / `sun` (events) →
//! `stats::Aggregator` (+ `queue` for per-message state) → `Stats` →
//! `output` (text, csv, json). The daily report calls [`analyze`].

pub mod hist;
pub mod input;
pub mod line;
pub mod output;
pub mod postfix;
pub mod progress;
pub mod queue;
pub mod stats;
pub mod sun;
pub mod timestamp;
pub mod topk;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub use input::Input;
pub use stats::{IntervalRow, Stats, Totals};

use line::Line;
use postfix::{Event, Status};
use queue::{QueueTable, key};
use stats::{Aggregator, QueueInfo};
use timestamp::YearTracker;

/// How to analyze.
#[derive(Debug, Clone)]
pub struct Options {
    /// Interval length in seconds (None: whole period only).
    pub interval: Option<i64>,
    /// Year of the first line of each RFC 3164 input (default: inferred from
    /// the file's modification time, or now for stdin).
    pub year: Option<i32>,
    /// How many top domains to report.
    pub top: usize,
    /// Counters kept by the heavy-hitter sketch (memory bound).
    pub top_capacity: usize,
    /// Queue ids kept in flight before the oldest are evicted.
    pub queue_cap: usize,
    /// Bytes per Sun Messaging Server block (option.dat BLOCK_SIZE).
    pub sun_block_size: u64,
    /// Draw progress on stderr (the command sets it only on a terminal).
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            interval: None,
            year: None,
            top: 10,
            top_capacity: 1000,
            queue_cap: 200_000,
            sun_block_size: 1024,
            progress: false,
        }
    }
}

/// Parse "5m", "1h", "1d", "90s" or plain seconds.
pub fn parse_interval(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("invalid interval {s:?}: expected e.g. 5m, 1h, 1d"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("invalid interval unit in {s:?}: use s, m, h or d")),
    };
    // Whole minutes keep per-minute peaks inside one interval; cap at a week.
    if n <= 0 || (n * mult) % 60 != 0 || n * mult > 7 * 86_400 {
        return Err(format!(
            "interval {s:?} must be a whole number of minutes between 1m and 7d"
        ));
    }
    Ok(n * mult)
}

/// Streaming state: framing, per-message state and aggregates.
struct Analyzer {
    agg: Aggregator,
    queue: QueueTable,
    years: YearTracker,
    opts: Options,
    /// Message-ID hash of the last Sun `E` record (one record per recipient).
    sun_last_msgid: u64,
}

fn hash64(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
        (h ^ c as u64).wrapping_mul(0x100_0000_01b3)
    })
}

impl Analyzer {
    fn new(opts: &Options) -> Self {
        Analyzer {
            agg: Aggregator::new(opts.interval.unwrap_or(0), opts.top_capacity),
            queue: QueueTable::new(opts.queue_cap),
            years: YearTracker::new(2000, 1),
            opts: opts.clone(),
            sun_last_msgid: 0,
        }
    }

    fn start_input(&mut self, reference: (i32, u32)) {
        self.years = match self.opts.year {
            Some(y) => YearTracker::fixed_start(y),
            None => YearTracker::new(reference.0, reference.1),
        };
    }

    /// All lines of a chunk (each ends in '\n').
    fn chunk(&mut self, data: &[u8]) {
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', data) {
            let mut l = &data[start..nl];
            start = nl + 1;
            if let Some(x) = l.strip_suffix(b"\r") {
                l = x;
            }
            self.line(l);
        }
    }

    #[inline]
    fn line(&mut self, l: &[u8]) {
        self.agg.lines.total += 1;
        match line::frame(l, &mut self.years) {
            Line::Syslog(f) => match line::postfix_daemon(f.prog) {
                Some(d) => {
                    self.agg.lines.mail += 1;
                    self.postfix(f.secs, f.host, d, f.msg)
                }
                None => self.agg.lines.other += 1,
            },
            Line::Sun(secs, rest) => {
                self.agg.lines.mail += 1;
                self.sun(secs, rest)
            }
            Line::Malformed if l.iter().all(u8::is_ascii_whitespace) => self.agg.lines.total -= 1,
            Line::Malformed => self.agg.lines.malformed += 1,
        }
    }

    #[inline]
    fn postfix(&mut self, secs: i64, host: &[u8], daemon: &[u8], msg: &[u8]) {
        let ev = postfix::parse(daemon, msg);
        let h = self.agg.begin(secs, host);
        match ev {
            Event::Received { qid } => {
                self.agg.each(|t| t.received_at(secs));
                self.queue.entry(key(qid, h)).received = true;
            }
            Event::Queued { qid, sender, size } => {
                let m = self.queue.entry(key(qid, h));
                // pflogsumm counts a queue id's first size only (qmgr repeats it on retries).
                if m.size > 0 {
                    return;
                }
                m.size = size;
                if std::mem::take(&mut m.received) {
                    self.agg.each(|t| {
                        t.bytes_received += size;
                        t.size.record(size);
                    });
                    self.agg.domain(sender, true);
                }
            }
            Event::Delivery {
                qid,
                rcpt,
                status,
                delay_ms,
                forwarded,
            } => match status {
                Status::Sent if forwarded => self.agg.each(|t| t.forwarded += 1),
                Status::Sent => {
                    let size = self.queue.get(key(qid, h)).map_or(0, |m| m.size);
                    self.agg.each(|t| {
                        t.delivered += 1;
                        t.bytes_delivered += size;
                        t.delay_ms.record(delay_ms);
                    });
                    self.agg.domain(rcpt, false);
                }
                Status::Deferred => {
                    let m = self.queue.entry(key(qid, h));
                    let first = !std::mem::replace(&mut m.deferred, true);
                    self.agg.each(|t| {
                        t.deferrals += 1;
                        t.deferred += first as u64;
                    });
                }
                Status::Bounced => self.agg.each(|t| t.bounced += 1),
                Status::Other => {}
            },
            Event::Reject { qid, kind, class } => {
                self.agg.each(|t| t.reject(kind, class));
                // A message rejected after it got a queue id never reaches `removed`.
                if matches!(
                    kind,
                    postfix::RejectKind::Reject | postfix::RejectKind::Discard
                ) && !qid.is_empty()
                    && qid != b"NOQUEUE"
                {
                    self.queue.remove(key(qid, h));
                }
            }
            Event::Removed { qid } => self.queue.remove(key(qid, h)),
            Event::Problem => self.agg.lines.problems += 1,
            Event::Ignored => {}
            Event::Malformed => {
                self.agg.lines.mail -= 1;
                self.agg.lines.malformed += 1;
            }
        }
    }

    fn sun(&mut self, secs: i64, rest: &[u8]) {
        let ev = sun::parse(rest);
        let h = self.agg.begin(secs, b"");
        let block = self.opts.sun_block_size;
        match ev {
            sun::Event::Enqueue {
                from,
                size_blocks,
                msgid,
            } => {
                // One E record per recipient: with Message-IDs logged, consecutive
                // records of the same message are one received message.
                let id = msgid.map(hash64);
                if id.is_some_and(|id| id == self.sun_last_msgid) {
                    return;
                }
                self.sun_last_msgid = id.unwrap_or(0);
                let bytes = size_blocks * block;
                self.agg.each(|t| {
                    t.received_at(secs);
                    t.bytes_received += bytes;
                    t.size.record(bytes);
                });
                self.agg.domain(from, true);
            }
            sun::Event::Dequeue { to, size_blocks } => {
                let bytes = size_blocks * block;
                self.agg.each(|t| {
                    t.delivered += 1;
                    t.bytes_delivered += bytes;
                });
                self.agg.domain(to, false);
            }
            sun::Event::Defer { msgid } => {
                let first = match msgid {
                    Some(id) => {
                        !std::mem::replace(&mut self.queue.entry(key(id, h)).deferred, true)
                    }
                    None => true,
                };
                self.agg.each(|t| {
                    t.deferrals += 1;
                    t.deferred += first as u64;
                });
            }
            sun::Event::Bounce => self.agg.each(|t| t.bounced += 1),
            sun::Event::Reject { class } => self
                .agg
                .each(|t| t.reject(postfix::RejectKind::Reject, class)),
            sun::Event::Ignored => {}
            sun::Event::Malformed => {
                self.agg.lines.mail -= 1;
                self.agg.lines.malformed += 1;
            }
        }
    }

    fn finish(self, errors: Vec<String>) -> Stats {
        let q = QueueInfo {
            in_flight_peak: self.queue.peak,
            open_at_end: self.queue.len(),
            evicted: self.queue.evicted,
        };
        let top = self.opts.top;
        self.agg.finish(q, top, errors)
    }
}

/// Analyze `inputs` in order (reader thread + this thread parsing).
/// Unreadable inputs are listed in `Stats::input_errors`; what could be read is counted.
pub fn analyze(inputs: &[Input], opts: &Options) -> Stats {
    run(inputs.to_vec(), opts, None, |_, _| {})
}

/// Follow `path` (rotation-safe) until `stop` is set, calling `on_interval`
/// with each interval once a later one has begun. Returns the totals so far.
pub fn follow(
    path: &std::path::Path,
    opts: &Options,
    stop: Arc<AtomicBool>,
    mut on_interval: impl FnMut(IntervalRow),
) -> Stats {
    let mut opts = opts.clone();
    opts.interval.get_or_insert(300);
    run(
        vec![Input::Path(path.into())],
        &opts,
        Some(stop),
        |a, last| {
            for row in a.agg.take_closed(last) {
                on_interval(row);
            }
        },
    )
}

fn run(
    inputs: Vec<Input>,
    opts: &Options,
    follow: Option<Arc<AtomicBool>>,
    mut after_chunk: impl FnMut(&mut Analyzer, i64),
) -> Stats {
    let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut progress = opts.progress.then(|| {
        // A fraction and an ETA only when the whole input is known files.
        let total = if follow.is_some() || inputs.contains(&Input::Stdin) {
            None
        } else {
            Some(
                inputs
                    .iter()
                    .filter_map(|i| match i {
                        Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
                        Input::Stdin => None,
                    })
                    .sum(),
            )
        };
        progress::Progress::new(read.clone(), total, Box::new(std::io::stderr()))
    });
    let (rx, pool, reader) = input::spawn(inputs, follow, read);
    let mut a = Analyzer::new(opts);
    let mut errors = Vec::new();
    for msg in rx {
        match msg {
            input::Msg::Start { reference } => a.start_input(reference),
            input::Msg::Chunk(buf, len) => {
                a.chunk(&buf[..len]);
                let _ = pool.send(buf);
                if let Some(p) = &mut progress {
                    p.tick(a.agg.lines.total);
                }
                if let Some(last) = a.agg.last {
                    after_chunk(&mut a, last);
                }
            }
            input::Msg::Overlong(n) => {
                a.agg.lines.total += n;
                a.agg.lines.overlong += n;
            }
            input::Msg::Error(e) => errors.push(e),
        }
    }
    let _ = reader.join();
    if let Some(p) = &mut progress {
        p.finish();
    }
    a.finish(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("5m"), Ok(300));
        assert_eq!(parse_interval("1h"), Ok(3600));
        assert_eq!(parse_interval("1d"), Ok(86_400));
        assert_eq!(parse_interval("120"), Ok(120));
        assert!(parse_interval("30s").is_err());
        assert!(parse_interval("0m").is_err());
        assert!(parse_interval("5x").is_err());
        assert!(parse_interval("8d").is_err());
    }

    fn analyze_str(log: &str, opts: &Options) -> Stats {
        let mut a = Analyzer::new(opts);
        a.start_input((2026, 11));
        a.chunk(log.as_bytes());
        a.finish(Vec::new())
    }

    #[test]
    fn one_message_end_to_end() {
        let log = "\
Nov 28 18:46:28 mta1 postfix-mta1/smtps/smtpd[19564]: 21DBB51A294: client=unknown[127.0.0.1], sasl_method=PLAIN, sasl_username=ims3
Nov 28 18:46:28 mta1 postfix-mta1/cleanup[19568]: 21DBB51A294: message-id=<20261128184628.019559@vm>
Nov 28 18:46:28 mta1 postfix-mta1/qmgr[18871]: 21DBB51A294: from=<ims3@Example.test>, size=614, nrcpt=2 (queue active)
Nov 28 18:46:28 mta1 postfix-mta1/lmtp[19569]: 21DBB51A294: to=<ims4@example.test>, relay=127.0.2.2[127.0.2.2]:24, delay=0.02, delays=0.01/0.01/0/0, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Nov 28 18:46:29 mta1 postfix-mta1/smtp[19570]: 21DBB51A294: to=<x@remote.example>, relay=none, delay=1.5, delays=0.01/0.01/1.4/0, dsn=4.4.1, status=deferred (connect to remote.example: Connection refused)
Nov 28 18:56:29 mta1 postfix-mta1/qmgr[18871]: 21DBB51A294: from=<ims3@example.test>, size=614, nrcpt=1 (queue active)
Nov 28 18:56:29 mta1 postfix-mta1/smtp[19570]: 21DBB51A294: to=<x@remote.example>, relay=none, delay=600, delays=0.01/0.01/1.4/0, dsn=4.4.1, status=deferred (connect to remote.example: Connection refused)
Nov 28 18:56:30 mta1 postfix-mta1/smtpd[19287]: NOQUEUE: reject: RCPT from unknown[10.1.1.1]: 554 5.7.1 <a@b.c>: Relay access denied; from=<s@d.e> to=<a@b.c> proto=ESMTP helo=<x>
Nov 28 18:56:31 mta1 dovecot: imap-login: Login: user=<ims1>
garbage line
Nov 28 18:5
";
        let s = analyze_str(
            log,
            &Options {
                interval: Some(300),
                ..Options::default()
            },
        );
        let t = &s.total;
        assert_eq!(
            (t.received, t.delivered, t.deferred, t.deferrals, t.rejected),
            (1, 1, 1, 2, 1)
        );
        assert_eq!((t.bytes_received, t.bytes_delivered), (614, 614));
        assert_eq!(t.rejected_by_class[postfix::RejectClass::Relay as usize], 1);
        assert_eq!(t.size.max(), 614);
        assert_eq!(t.delay_ms.max(), 20);
        assert_eq!(
            (
                s.lines.total,
                s.lines.mail,
                s.lines.other,
                s.lines.malformed
            ),
            (11, 8, 1, 2)
        );
        assert_eq!(s.intervals.len(), 2);
        assert_eq!(s.intervals[0].totals.received, 1);
        assert_eq!(s.intervals[1].totals.rejected, 1);
        assert_eq!(s.top_sender_domains[0].key, "example.test");
        assert_eq!(s.top_recipient_domains[0].key, "example.test");
        assert_eq!(s.queue.open_at_end, 1);
        assert!(s.hosts.is_empty());
    }

    #[test]
    fn removed_retires_queue_ids() {
        let mut log = String::new();
        for i in 0..5000 {
            log += &format!("Nov 28 10:00:00 h postfix/smtpd[1]: Q{i}: client=x[1.2.3.4]\n");
            log += &format!(
                "Nov 28 10:00:00 h postfix/qmgr[2]: Q{i}: from=<a@b>, size=100, nrcpt=1 (queue active)\n"
            );
            log += &format!("Nov 28 10:00:00 h postfix/qmgr[2]: Q{i}: removed\n");
        }
        let s = analyze_str(&log, &Options::default());
        assert_eq!(s.total.received, 5000);
        assert_eq!(s.total.bytes_received, 500_000);
        assert_eq!(s.queue.open_at_end, 0);
        assert!(s.queue.in_flight_peak <= 1);
    }

    const SAMPLES: [&str; 8] = [
        "Nov 28 18:46:28 mta1 postfix-mta1/smtps/smtpd[19564]: 21DBB51A294: client=unknown[127.0.0.1], sasl_method=PLAIN",
        "Nov 28 18:46:28 mta1 postfix-mta1/qmgr[18871]: 21DBB51A294: from=<ims3@example.test>, size=614, nrcpt=1 (queue active)",
        "Nov 28 18:46:28 mta1 postfix/lmtp[1]: 21DBB51A294: to=<a@b>, orig_to=<c@d>, relay=x[1.2.3.4]:24, conn_use=2, delay=0.02, delays=0.01/0.01/0/0, dsn=2.0.0, status=sent (250 ok)",
        "Nov 28 18:46:30 mta1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[10.1.1.1]: 554 5.7.1 <a@b.c>: Relay access denied; from=<s@d.e> to=<a@b.c>",
        "Nov 28 18:46:30 mta1 postfix/cleanup[1]: ABC: milter-reject: END-OF-MESSAGE from x[1.2.3.4]: 5.7.1 virus; from=<a@b> to=<c@d>",
        "<22>1 2026-11-28T18:46:28.1+01:00 mx postfix/qmgr 12 - [a b=\"c\"] ABC: removed",
        "28-Nov-2006 09:00:02.11 tcp_local ims-ms EE 2 adam@sesta.example rfc822;marlowe@siroe.example marlowe@ims-ms-daemon <x@y>",
        "28-Nov-2006 09:02:05.90 tcp_local JE 0 promo@bulk.example rfc822;ceo@siroe.example ceo@siroe.example 550 5.7.1 Relaying not allowed",
    ];

    proptest::proptest! {
        /// Any cut or corruption of real lines is counted, never a panic.
        #[test]
        fn mangled_lines_never_panic(
            cuts in proptest::collection::vec((0usize..8, 0usize..220, proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12)), 1..40)
        ) {
            let mut log = Vec::new();
            for (i, cut, junk) in &cuts {
                let l = SAMPLES[*i].as_bytes();
                let at = (*cut).min(l.len());
                log.extend_from_slice(&l[..at]);
                log.extend(junk.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
                log.extend_from_slice(&l[at..]);
                log.push(b'\n');
            }
            let mut a = Analyzer::new(&Options { interval: Some(300), ..Options::default() });
            a.start_input((2026, 11));
            a.chunk(&log);
            let s = a.finish(Vec::new());
            let l = &s.lines;
            proptest::prop_assert_eq!(l.mail + l.other + l.malformed + l.overlong, l.total);
            proptest::prop_assert!(s.total.received <= cuts.len() as u64);
        }
    }
}
