//! Aggregates: the same `Totals` for the whole period, each interval and each
//! host, plus bounded heavy hitters. Everything here is fixed-size or capped,
//! so memory does not grow with the number of lines.

use std::collections::BTreeMap;

use serde::Serialize;

use super::hist::Histogram;
use super::postfix::{REJECT_CLASSES, RejectClass, RejectKind};
use super::timestamp::format_secs;
use super::topk::{Heavy, TopK};

/// Counters of one scope (whole period, one interval or one host).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Messages accepted (smtpd `client=`, pickup; Sun `E`).
    pub received: u64,
    /// Recipient deliveries with status=sent (Sun `D`).
    pub delivered: u64,
    /// status=sent "forwarded as" (not counted as delivered, as pflogsumm).
    pub forwarded: u64,
    /// Distinct messages with at least one deferral.
    pub deferred: u64,
    /// status=deferred lines.
    pub deferrals: u64,
    /// Recipient bounces (status=bounced; Sun `R`/`K`/`T`).
    pub bounced: u64,
    /// SMTP-time and content rejects.
    pub rejected: u64,
    #[serde(serialize_with = "classes")]
    pub rejected_by_class: [u64; 12],
    pub reject_warnings: u64,
    pub held: u64,
    pub discarded: u64,
    pub bytes_received: u64,
    pub bytes_delivered: u64,
    /// Sizes of received messages in bytes.
    pub size: Histogram,
    /// delay= of sent recipients, milliseconds.
    pub delay_ms: Histogram,
    /// Most messages received in one clock minute.
    pub peak_per_minute: u64,
    #[serde(serialize_with = "opt_time")]
    pub peak_minute: Option<i64>,
    #[serde(skip)]
    minute: (i64, u64),
}

fn classes<S: serde::Serializer>(c: &[u64; 12], s: S) -> Result<S::Ok, S::Error> {
    let m: BTreeMap<&str, u64> = REJECT_CLASSES
        .iter()
        .zip(c)
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (*k, *n))
        .collect();
    m.serialize(s)
}

fn opt_time<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    t.map(format_secs).serialize(s)
}

impl Totals {
    #[inline]
    pub fn received_at(&mut self, secs: i64) {
        self.received += 1;
        let m = secs.div_euclid(60);
        if self.minute.0 == m && self.minute.1 > 0 {
            self.minute.1 += 1;
        } else {
            self.minute = (m, 1);
        }
        if self.minute.1 > self.peak_per_minute {
            self.peak_per_minute = self.minute.1;
            self.peak_minute = Some(m * 60);
        }
    }

    #[inline]
    pub fn reject(&mut self, kind: RejectKind, class: RejectClass) {
        match kind {
            RejectKind::Reject => {
                self.rejected += 1;
                self.rejected_by_class[class as usize] += 1;
            }
            RejectKind::Warning => self.reject_warnings += 1,
            RejectKind::Hold => self.held += 1,
            RejectKind::Discard => self.discarded += 1,
        }
    }

    pub fn merge(&mut self, o: &Totals) {
        self.received += o.received;
        self.delivered += o.delivered;
        self.forwarded += o.forwarded;
        self.deferred += o.deferred;
        self.deferrals += o.deferrals;
        self.bounced += o.bounced;
        self.rejected += o.rejected;
        for (a, b) in self.rejected_by_class.iter_mut().zip(o.rejected_by_class) {
            *a += b;
        }
        self.reject_warnings += o.reject_warnings;
        self.held += o.held;
        self.discarded += o.discarded;
        self.bytes_received += o.bytes_received;
        self.bytes_delivered += o.bytes_delivered;
        self.size.merge(&o.size);
        self.delay_ms.merge(&o.delay_ms);
        if o.peak_per_minute > self.peak_per_minute {
            self.peak_per_minute = o.peak_per_minute;
            self.peak_minute = o.peak_minute;
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct IntervalRow {
    #[serde(serialize_with = "time")]
    pub start: i64,
    pub seconds: i64,
    #[serde(flatten)]
    pub totals: Totals,
}

fn time<S: serde::Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_secs(*t))
}

#[derive(Debug, Clone, Serialize)]
pub struct HostRow {
    pub host: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// Line accounting.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Lines {
    pub total: u64,
    /// Postfix or Sun lines that were parsed (total = mail + other + malformed + overlong).
    pub mail: u64,
    /// Well-formed lines of other programs.
    pub other: u64,
    /// Lines that could not be parsed (counted and skipped).
    pub malformed: u64,
    /// Lines longer than the reader's limit (dropped).
    pub overlong: u64,
    /// warning/fatal/panic lines of Postfix daemons.
    pub problems: u64,
}

/// Queue-id bookkeeping, to show memory stayed bounded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueInfo {
    pub in_flight_peak: usize,
    pub open_at_end: usize,
    pub evicted: u64,
}

/// The result of `analyze`: everything the reports show.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    #[serde(serialize_with = "opt_time")]
    pub first: Option<i64>,
    #[serde(serialize_with = "opt_time")]
    pub last: Option<i64>,
    pub lines: Lines,
    pub total: Totals,
    pub interval_seconds: Option<i64>,
    pub intervals: Vec<IntervalRow>,
    /// Per host, when the log holds more than one.
    pub hosts: Vec<HostRow>,
    pub top_sender_domains: Vec<Heavy>,
    pub top_recipient_domains: Vec<Heavy>,
    pub queue: QueueInfo,
    /// Inputs that could not be read completely (the rest was still counted).
    pub input_errors: Vec<String>,
}

/// At most this many intervals are kept; beyond it the width doubles.
pub const MAX_INTERVALS: usize = 2048;
/// At most this many hosts get their own row; the rest share "(other)".
pub const MAX_HOSTS: usize = 256;

/// The running state while lines stream through.
pub struct Aggregator {
    pub total: Totals,
    pub width: i64,
    intervals: Vec<(i64, Totals)>,
    cur_iv: usize,
    hosts: Vec<(Box<[u8]>, Totals)>,
    cur_host: usize,
    senders: TopK,
    recipients: TopK,
    pub lines: Lines,
    pub first: Option<i64>,
    pub last: Option<i64>,
    lower: Vec<u8>,
}

impl Aggregator {
    /// `width`: interval length in seconds, 0 for none.
    pub fn new(width: i64, top_cap: usize) -> Self {
        Aggregator {
            total: Totals::default(),
            width,
            intervals: Vec::new(),
            cur_iv: 0,
            hosts: Vec::new(),
            cur_host: 0,
            senders: TopK::new(top_cap),
            recipients: TopK::new(top_cap),
            lines: Lines::default(),
            first: None,
            last: None,
            lower: Vec::with_capacity(256),
        }
    }

    /// Select the interval and host the next events belong to; returns the host index.
    #[inline]
    pub fn begin(&mut self, secs: i64, host: &[u8]) -> u32 {
        if self.first.is_none_or(|f| secs < f) {
            self.first = Some(secs);
        }
        if self.last.is_none_or(|l| secs > l) {
            self.last = Some(secs);
        }
        if self.width > 0 {
            self.select_interval(secs);
        }
        self.select_host(host)
    }

    #[inline]
    fn select_interval(&mut self, secs: i64) {
        let start = secs - secs.rem_euclid(self.width);
        if self
            .intervals
            .get(self.cur_iv)
            .is_some_and(|iv| iv.0 == start)
        {
            return;
        }
        match self.intervals.binary_search_by_key(&start, |iv| iv.0) {
            Ok(i) => self.cur_iv = i,
            Err(i) => {
                self.intervals.insert(i, (start, Totals::default()));
                self.cur_iv = i;
                if self.intervals.len() > MAX_INTERVALS {
                    self.coarsen();
                    self.select_interval(secs);
                }
            }
        }
    }

    /// Double the interval width, merging neighbours (bounded memory on long logs).
    fn coarsen(&mut self) {
        self.width *= 2;
        let old = std::mem::take(&mut self.intervals);
        for (s, t) in old {
            let start = s - s.rem_euclid(self.width);
            match self.intervals.last_mut() {
                Some(last) if last.0 == start => last.1.merge(&t),
                _ => self.intervals.push((start, t)),
            }
        }
        self.cur_iv = 0;
    }

    #[inline]
    fn select_host(&mut self, host: &[u8]) -> u32 {
        if let Some(h) = self.hosts.get(self.cur_host)
            && &*h.0 == host
        {
            return self.cur_host as u32;
        }
        let i = match self.hosts.iter().position(|h| &*h.0 == host) {
            Some(i) => i,
            None if self.hosts.len() < MAX_HOSTS => {
                self.hosts.push((host.into(), Totals::default()));
                self.hosts.len() - 1
            }
            None => match self.hosts.iter().position(|h| &*h.0 == b"(other)") {
                Some(i) => i,
                None => {
                    // Replace nothing: the last slot becomes the shared bucket.
                    let last = self.hosts.len() - 1;
                    self.hosts[last].0 = b"(other)"[..].into();
                    last
                }
            },
        };
        self.cur_host = i;
        i as u32
    }

    /// Apply `f` to the whole-period, current-interval and current-host totals.
    #[inline]
    pub fn each(&mut self, f: impl Fn(&mut Totals)) {
        f(&mut self.total);
        if self.width > 0
            && let Some(iv) = self.intervals.get_mut(self.cur_iv)
        {
            f(&mut iv.1);
        }
        if let Some(h) = self.hosts.get_mut(self.cur_host) {
            f(&mut h.1);
        }
    }

    /// Count the domain of `addr` (lowercased) as a sender or recipient domain.
    #[inline]
    pub fn domain(&mut self, addr: &[u8], sender: bool) {
        let Some(at) = memchr::memrchr(b'@', addr) else {
            return;
        };
        let dom = &addr[at + 1..];
        if dom.is_empty() || dom.len() > 255 {
            return;
        }
        self.lower.clear();
        self.lower.extend(dom.iter().map(u8::to_ascii_lowercase));
        if sender {
            self.senders.add(&self.lower)
        } else {
            self.recipients.add(&self.lower)
        }
    }

    /// Intervals that ended before `secs` (for --follow), removed from the state.
    pub fn take_closed(&mut self, secs: i64) -> Vec<IntervalRow> {
        if self.width == 0 {
            return Vec::new();
        }
        let open_from = secs - secs.rem_euclid(self.width);
        let n = self
            .intervals
            .iter()
            .take_while(|iv| iv.0 < open_from)
            .count();
        self.cur_iv = usize::MAX;
        self.intervals
            .drain(..n)
            .map(|(start, totals)| IntervalRow {
                start,
                seconds: self.width,
                totals,
            })
            .collect()
    }

    pub fn finish(self, queue: QueueInfo, top: usize, input_errors: Vec<String>) -> Stats {
        let hosts = if self.hosts.len() > 1 {
            let mut hosts = self.hosts;
            hosts.sort_by(|a, b| a.0.cmp(&b.0));
            hosts
                .into_iter()
                .map(|(h, totals)| HostRow {
                    host: String::from_utf8_lossy(&h).into_owned(),
                    totals,
                })
                .collect()
        } else {
            Vec::new()
        };
        Stats {
            first: self.first,
            last: self.last,
            lines: self.lines,
            total: self.total,
            interval_seconds: (self.width > 0).then_some(self.width),
            intervals: self
                .intervals
                .into_iter()
                .map(|(start, totals)| IntervalRow {
                    start,
                    seconds: self.width,
                    totals,
                })
                .collect(),
            hosts,
            top_sender_domains: self.senders.top(top),
            top_recipient_domains: self.recipients.top(top),
            queue,
            input_errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_per_minute_and_merge() {
        let mut t = Totals::default();
        for s in [0, 10, 59, 60, 61, 62, 63, 200] {
            t.received_at(s);
        }
        assert_eq!(
            (t.received, t.peak_per_minute, t.peak_minute),
            (8, 4, Some(60))
        );
        let mut u = Totals::default();
        u.received_at(1000);
        u.merge(&t);
        assert_eq!((u.received, u.peak_per_minute), (9, 4));
    }

    #[test]
    fn intervals_coarsen_instead_of_growing() {
        let mut a = Aggregator::new(300, 8);
        for i in 0..(MAX_INTERVALS as i64 * 3) {
            a.begin(i * 300, b"h");
            a.each(|t| t.received_at(i * 300));
        }
        let s = a.finish(QueueInfo::default(), 5, Vec::new());
        assert!(s.intervals.len() <= MAX_INTERVALS);
        assert_eq!(s.interval_seconds, Some(1200));
        assert_eq!(
            s.intervals.iter().map(|r| r.totals.received).sum::<u64>(),
            MAX_INTERVALS as u64 * 3
        );
        assert_eq!(s.total.received, MAX_INTERVALS as u64 * 3);
    }

    #[test]
    fn hosts_are_capped() {
        let mut a = Aggregator::new(0, 8);
        for i in 0..(MAX_HOSTS + 10) {
            a.begin(0, format!("h{i}").as_bytes());
            a.each(|t| t.received += 1);
        }
        let s = a.finish(QueueInfo::default(), 5, Vec::new());
        assert_eq!(s.hosts.len(), MAX_HOSTS);
        assert_eq!(
            s.hosts.iter().map(|h| h.totals.received).sum::<u64>(),
            MAX_HOSTS as u64 + 10
        );
    }
}
