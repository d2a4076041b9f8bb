//! Postfix message lines → events, with pflogsumm's counting rules.
//!
//! The rules mirror pflogsumm 1.1.5 so totals agree: "received" is an smtpd
//! `client=` or pickup `sender=`/`uid=` line; bytes come from qmgr's first
//! `from=<>, size=` line of a queue id; every `to=<>... status=` line of a
//! delivery agent counts once (per recipient); rejects are smtpd/postscreen
//! `reject:` lines plus cleanup header/body rejects.

use memchr::memchr;
use memchr::memmem;

/// Outcome of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Sent,
    Deferred,
    Bounced,
    Other,
}

/// reject / reject_warning / hold / discard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    Reject,
    Warning,
    Hold,
    Discard,
}

/// Reason classes of rejects (index into `Totals::rejected_by_class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectClass {
    Rbl = 0,
    Relay,
    UnknownUser,
    Sender,
    Recipient,
    Client,
    Helo,
    Size,
    Protocol,
    Content,
    Postscreen,
    Other,
}

pub const REJECT_CLASSES: [&str; 12] = [
    "rbl",
    "relay",
    "unknown_user",
    "sender",
    "recipient",
    "client",
    "helo",
    "size",
    "protocol",
    "content",
    "postscreen",
    "other",
];

#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A message entered the queue from smtpd/postscreen (`client=`) or pickup.
    Received { qid: &'a [u8] },
    /// qmgr: `from=<sender>, size=N, nrcpt=M (queue active)`.
    Queued {
        qid: &'a [u8],
        sender: &'a [u8],
        size: u64,
    },
    /// A delivery agent's `to=<rcpt>, relay=..., delay=..., status=...`.
    Delivery {
        qid: &'a [u8],
        rcpt: &'a [u8],
        status: Status,
        delay_ms: u64,
        forwarded: bool,
    },
    /// `qid` is the queue id or NOQUEUE; a rejected queued message never gets `removed`.
    Reject {
        qid: &'a [u8],
        kind: RejectKind,
        class: RejectClass,
    },
    /// The queue file is gone: forget the queue id.
    Removed { qid: &'a [u8] },
    /// warning/fatal/panic lines.
    Problem,
    /// A Postfix line that carries nothing we count.
    Ignored,
    /// A line that should carry data but is cut short or garbled.
    Malformed,
}

/// Parse the message part of a Postfix line of `daemon`.
#[inline]
pub fn parse<'a>(daemon: &[u8], msg: &'a [u8]) -> Event<'a> {
    // First token: a queue id, NOQUEUE, or a word such as warning/connect.
    let end = msg
        .iter()
        .position(|&c| c == b':' || c == b' ')
        .unwrap_or(msg.len());
    let (qid, after) = (&msg[..end], msg.get(end + 2..).unwrap_or(&[]));
    let colon = msg.get(end) == Some(&b':');

    if daemon == b"cleanup"
        && colon
        && let Some((kind, class)) = cleanup_reject(after)
    {
        return Event::Reject { qid, kind, class };
    }
    if colon {
        match qid {
            b"warning" | b"fatal" | b"panic" => return Event::Problem,
            b"reject" => return reject(b"", RejectKind::Reject, daemon, after),
            b"reject_warning" => return reject(b"", RejectKind::Warning, daemon, after),
            b"hold" => return reject(b"", RejectKind::Hold, daemon, after),
            b"discard" => return reject(b"", RejectKind::Discard, daemon, after),
            _ => {}
        }
    }
    if daemon == b"master" || !colon || qid.is_empty() {
        return Event::Ignored;
    }
    if daemon == b"smtpd" || daemon == b"postscreen" {
        if after.starts_with(b"client=") {
            return Event::Received { qid };
        }
        for (word, kind) in [
            (&b"reject: "[..], RejectKind::Reject),
            (b"reject_warning: ", RejectKind::Warning),
            (b"hold: ", RejectKind::Hold),
            (b"discard: ", RejectKind::Discard),
        ] {
            if after.starts_with(word) {
                return reject(qid, kind, daemon, &after[word.len()..]);
            }
        }
        return Event::Ignored;
    }
    if after.starts_with(b"to=<") {
        return delivery(qid, &after[4..]);
    }
    if let Some(r) = after.strip_prefix(b"from=<") {
        // qmgr also logs `from=<x>, status=expired, returned to sender`.
        let Some(gt) = memchr(b'>', r) else {
            return Event::Malformed;
        };
        return match r[gt + 1..].strip_prefix(b", size=") {
            Some(s) => match number(s) {
                Some((size, _)) => Event::Queued {
                    qid,
                    sender: &r[..gt],
                    size,
                },
                None => Event::Malformed,
            },
            None => Event::Ignored,
        };
    }
    if after == b"removed" {
        return Event::Removed { qid };
    }
    if daemon == b"pickup" && (after.starts_with(b"uid=") || after.starts_with(b"sender=")) {
        return Event::Received { qid };
    }
    Event::Ignored
}

/// Leading decimal digits → (value, rest).
#[inline]
fn number(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut v: u64 = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
        i += 1;
    }
    (i > 0).then_some((v, &b[i..]))
}

/// "12.345" seconds → milliseconds and the rest.
#[inline]
fn seconds_ms(b: &[u8]) -> Option<(u64, &[u8])> {
    let (whole, mut rest) = number(b)?;
    let mut ms = whole.saturating_mul(1000);
    if let Some(frac) = rest.strip_prefix(b".") {
        let mut scale = 100;
        let mut i = 0;
        while let Some(&c) = frac.get(i).filter(|c| c.is_ascii_digit()) {
            ms += (c - b'0') as u64 * scale;
            scale /= 10;
            i += 1;
        }
        rest = &frac[i..];
    }
    Some((ms, rest))
}

/// Skip "name=value, " when present (value without commas).
#[inline]
fn skip_field<'a>(b: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    if !b.starts_with(name) {
        return Some(b);
    }
    let i = memchr(b',', b)?;
    b.get(i + 2..)
}

/// `to=<` already consumed.
fn delivery<'a>(qid: &'a [u8], b: &'a [u8]) -> Event<'a> {
    parse_delivery(qid, b).unwrap_or(Event::Malformed)
}

fn parse_delivery<'a>(qid: &'a [u8], b: &'a [u8]) -> Option<Event<'a>> {
    let gt = memchr(b'>', b)?;
    let rcpt = &b[..gt];
    let mut r = b.get(gt + 1..)?.strip_prefix(b", ")?;
    if let Some(o) = r.strip_prefix(b"orig_to=<") {
        r = o.get(memchr(b'>', o)? + 1..)?.strip_prefix(b", ")?;
    }
    let r = r.strip_prefix(b"relay=")?;
    let r = r.get(memchr(b',', r)? + 2..)?;
    let r = skip_field(r, b"conn_use=")?;
    let (delay_ms, r) = seconds_ms(r.strip_prefix(b"delay=")?)?;
    let r = r.strip_prefix(b", ")?;
    let r = skip_field(r, b"delays=")?;
    let r = skip_field(r, b"dsn=")?;
    let r = r.strip_prefix(b"status=")?;
    let end = r.iter().position(|&c| c == b' ').unwrap_or(r.len());
    let status = match &r[..end] {
        b"sent" => Status::Sent,
        b"deferred" => Status::Deferred,
        b"bounced" => Status::Bounced,
        b"" => return None,
        _ => Status::Other,
    };
    let forwarded = status == Status::Sent && memmem::find(&r[end..], b"forwarded as ").is_some();
    Some(Event::Delivery {
        qid,
        rcpt,
        status,
        delay_ms,
        forwarded,
    })
}

/// cleanup: `reject: header ...`, `milter-reject: END-OF-MESSAGE ...`, etc.
fn cleanup_reject(after: &[u8]) -> Option<(RejectKind, RejectClass)> {
    let (kind, rest) = if let Some(r) = after.strip_prefix(b"reject: ") {
        (RejectKind::Reject, r)
    } else if let Some(r) = after.strip_prefix(b"milter-reject: ") {
        (RejectKind::Reject, r)
    } else if let Some(r) = after.strip_prefix(b"warning: ") {
        (RejectKind::Warning, r)
    } else if let Some(r) = after.strip_prefix(b"hold: ") {
        (RejectKind::Hold, r)
    } else if let Some(r) = after.strip_prefix(b"discard: ") {
        (RejectKind::Discard, r)
    } else {
        return None;
    };
    (rest.starts_with(b"header ")
        || rest.starts_with(b"body ")
        || rest.starts_with(b"END-OF-MESSAGE"))
    .then_some((kind, RejectClass::Content))
}

fn reject<'a>(qid: &'a [u8], kind: RejectKind, daemon: &[u8], text: &[u8]) -> Event<'a> {
    Event::Reject {
        qid,
        kind,
        class: classify(daemon, text),
    }
}

/// Reason class of a reject text such as
/// `RCPT from x[1.2.3.4]: 554 5.7.1 <a@b>: Relay access denied; from=<> ...`.
pub fn classify(daemon: &[u8], text: &[u8]) -> RejectClass {
    // Only the reply part matters; the envelope after "; from=<" may hold anything.
    let text = match memmem::find(text, b"; from=<") {
        Some(i) => &text[..i],
        None => text,
    };
    let has = |needle: &[u8]| memmem::find(text, needle).is_some();
    if has(b"blocked using") {
        RejectClass::Rbl
    } else if has(b"Relay access denied") || has(b"Relaying not allowed") {
        RejectClass::Relay
    } else if has(b"User unknown") || has(b"undeliverable address") {
        RejectClass::UnknownUser
    } else if has(b"Sender address rejected") {
        RejectClass::Sender
    } else if has(b"Recipient address rejected") {
        RejectClass::Recipient
    } else if has(b"Client host rejected") || has(b"cannot find your") {
        RejectClass::Client
    } else if has(b"Helo command rejected") {
        RejectClass::Helo
    } else if has(b"size exceeds") || has(b"too large") {
        RejectClass::Size
    } else if has(b"pipelining") || has(b"Protocol error") {
        RejectClass::Protocol
    } else if has(b"header ") && (has(b"REJECT") || has(b"550 5.7.1")) && daemon == b"cleanup" {
        RejectClass::Content
    } else if daemon == b"postscreen" {
        RejectClass::Postscreen
    } else {
        RejectClass::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_and_queued() {
        assert_eq!(
            parse(
                b"smtpd",
                b"21DBB51A294: client=unknown[127.0.0.1], sasl_method=PLAIN"
            ),
            Event::Received {
                qid: b"21DBB51A294"
            }
        );
        assert_eq!(
            parse(b"pickup", b"ABC: uid=0 from=<root>"),
            Event::Received { qid: b"ABC" }
        );
        assert_eq!(
            parse(
                b"qmgr",
                b"ABC: from=<ims3@example.test>, size=614, nrcpt=1 (queue active)"
            ),
            Event::Queued {
                qid: b"ABC",
                sender: b"ims3@example.test",
                size: 614
            }
        );
        assert_eq!(
            parse(b"qmgr", b"ABC: from=<>, size=12, nrcpt=1 (queue active)"),
            Event::Queued {
                qid: b"ABC",
                sender: b"",
                size: 12
            }
        );
        assert_eq!(
            parse(
                b"qmgr",
                b"ABC: from=<a@b>, status=expired, returned to sender"
            ),
            Event::Ignored
        );
        assert_eq!(parse(b"qmgr", b"ABC: from=<a@b>, size="), Event::Malformed);
        assert_eq!(
            parse(b"qmgr", b"ABC: removed"),
            Event::Removed { qid: b"ABC" }
        );
        assert_eq!(
            parse(b"smtpd", b"connect from unknown[127.0.0.1]"),
            Event::Ignored
        );
    }

    #[test]
    fn deliveries() {
        let l = b"ABC: to=<ims4@example.test>, relay=127.0.2.2[127.0.2.2]:24, delay=0.02, delays=0.01/0.01/0/0, dsn=2.0.0, status=sent (250 2.0.0 <ims4@example.test> Saved)";
        assert_eq!(
            parse(b"lmtp", l),
            Event::Delivery {
                qid: b"ABC",
                rcpt: b"ims4@example.test",
                status: Status::Sent,
                delay_ms: 20,
                forwarded: false
            }
        );
        let l = b"ABC: to=<a@b.c>, orig_to=<x@y>, relay=mx[1.2.3.4]:25, conn_use=2, delay=12, delays=1/0/10/1, dsn=4.4.1, status=deferred (connect to mx: Connection refused)";
        assert!(matches!(
            parse(b"smtp", l),
            Event::Delivery {
                status: Status::Deferred,
                delay_ms: 12_000,
                ..
            }
        ));
        let l = b"ABC: to=<a@b.c>, relay=local, delay=1.5, status=sent (forwarded as DEF)";
        assert!(matches!(
            parse(b"local", l),
            Event::Delivery {
                forwarded: true,
                delay_ms: 1500,
                ..
            }
        ));
        let l = b"ABC: to=<a@b.c>, relay=none, delay=0.1, delays=0/0/0/0, dsn=5.1.1, status=bounced (unknown user)";
        assert!(matches!(
            parse(b"error", l),
            Event::Delivery {
                status: Status::Bounced,
                ..
            }
        ));
        assert_eq!(
            parse(b"smtp", b"ABC: to=<a@b.c>, relay=mx[1.2"),
            Event::Malformed
        );
        assert_eq!(parse(b"smtp", b"ABC: to=<a@b.c"), Event::Malformed);
    }

    #[test]
    fn rejects() {
        use RejectClass::*;
        use RejectKind::{Reject as R, Warning as W};
        type Case<'a> = (&'a [u8], &'a [u8], &'a [u8], RejectKind, RejectClass);
        let cases: [Case; 7] = [
            (b"smtpd", b"NOQUEUE: reject: RCPT from unknown[10.0.0.9]: 554 5.7.1 <x@y.z>: Relay access denied; from=<a@b> to=<x@y.z> proto=ESMTP helo=<h>", b"NOQUEUE", R, Relay),
            (b"smtpd", b"NOQUEUE: reject: RCPT from x[1.2.3.4]: 554 5.7.1 Service unavailable; Client host [1.2.3.4] blocked using zen.spamhaus.org; from=<a@b> to=<c@d> proto=ESMTP helo=<h>", b"NOQUEUE", R, Rbl),
            (b"smtpd", b"NOQUEUE: reject: RCPT from x[1.2.3.4]: 550 5.1.1 <c@d>: Recipient address rejected: User unknown in virtual mailbox table; from=<a@b> to=<c@d>", b"NOQUEUE", R, UnknownUser),
            (b"cleanup", b"ABC: reject: header Subject: viagra from x[1.2.3.4]; from=<a@b> to=<c@d> proto=ESMTP helo=<h>: 5.7.1 spam", b"ABC", R, Content),
            (b"cleanup", b"ABC: milter-reject: END-OF-MESSAGE from x[1.2.3.4]: 5.7.1 virus; from=<a@b> to=<c@d>", b"ABC", R, Content),
            (b"smtpd", b"NOQUEUE: reject_warning: RCPT from x[1.2.3.4]: 450 4.7.1 Client host rejected: cannot find your hostname", b"NOQUEUE", W, Client),
            (b"postscreen", b"NOQUEUE: reject: RCPT from [1.2.3.4]:5555: 550 5.3.2 Service currently unavailable; from=<a@b>", b"NOQUEUE", R, Postscreen),
        ];
        for (daemon, line, qid, kind, class) in cases {
            assert_eq!(
                parse(daemon, line),
                Event::Reject { qid, kind, class },
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        assert_eq!(
            parse(b"smtpd", b"warning: hostname x does not resolve"),
            Event::Problem
        );
        assert_eq!(parse(b"cleanup", b"ABC: message-id=<x@y>"), Event::Ignored);
    }
}
