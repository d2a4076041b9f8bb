//! Syslog framing: split a raw line into time, host, program and message.
//!
//! Accepted: RFC 3164 ("Nov 28 18:46:28 host prog[pid]: msg", also Postfix's
//! own maillog_file), the same with an ISO 8601 stamp (rsyslog high precision,
//! `journalctl -o short-iso`), RFC 5424 ("<pri>1 ts host app procid msgid sd
//! msg") and an optional "<pri>" in front of the others. Sun Messaging Server
//! records are recognised by their "dd-Mmm-yyyy" stamp and handed to `sun`.

use memchr::memchr;

use super::timestamp::{self, YearTracker};

/// One framed syslog line.
pub struct Frame<'a> {
    pub secs: i64,
    pub host: &'a [u8],
    /// Program tag without the pid, e.g. `postfix-mta1/smtps/smtpd`.
    pub prog: &'a [u8],
    pub msg: &'a [u8],
}

/// What a raw line is.
pub enum Line<'a> {
    Syslog(Frame<'a>),
    /// A Sun Messaging Server record: (naive seconds, rest after the stamp).
    Sun(i64, &'a [u8]),
    Malformed,
}

#[inline]
fn word(b: &[u8]) -> (&[u8], &[u8]) {
    match memchr(b' ', b) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &[]),
    }
}

/// Frame a line (without its newline).
#[inline]
pub fn frame<'a>(mut b: &'a [u8], years: &mut YearTracker) -> Line<'a> {
    let mut rfc5424 = false;
    if b.first() == Some(&b'<') {
        let Some(end) = memchr(b'>', &b[..b.len().min(6)]) else {
            return Line::Malformed;
        };
        b = &b[end + 1..];
        if b.starts_with(b"1 ") {
            rfc5424 = true;
            b = &b[2..];
        }
    }
    let (secs, rest) = match b.first() {
        Some(c) if c.is_ascii_alphabetic() => match timestamp::rfc3164(b) {
            Some((m, d, sod, i)) => (years.secs(m, d, sod), &b[i..]),
            None => return Line::Malformed,
        },
        Some(c) if c.is_ascii_digit() => {
            if let Some((s, i)) = timestamp::iso8601(b) {
                (s, &b[i..])
            } else if let Some((s, i)) = timestamp::sun(b) {
                return Line::Sun(s, &b[i..]);
            } else {
                return Line::Malformed;
            }
        }
        _ => return Line::Malformed,
    };
    let (host, rest) = word(rest);
    if rfc5424 {
        // app procid msgid structured-data msg
        let (prog, rest) = word(rest);
        let (_pid, rest) = word(rest);
        let (_msgid, rest) = word(rest);
        let msg = skip_structured_data(rest);
        return Line::Syslog(Frame {
            secs,
            host,
            prog,
            msg,
        });
    }
    // prog[pid]: msg   or   prog: msg
    let Some(colon) = memchr(b':', rest) else {
        return Line::Malformed;
    };
    let tag = &rest[..colon];
    let prog = match memchr(b'[', tag) {
        Some(i) => &tag[..i],
        None => tag,
    };
    let mut msg = rest.get(colon + 2..).unwrap_or(&[]);
    // Solaris syslogd inserts "[ID 197553 mail.info] " (pflogsumm drops it too).
    if msg.starts_with(b"[ID ")
        && let Some(i) = memchr(b']', msg)
    {
        msg = msg.get(i + 2..).unwrap_or(&[]);
    }
    Line::Syslog(Frame {
        secs,
        host,
        prog,
        msg,
    })
}

fn skip_structured_data(b: &[u8]) -> &[u8] {
    if b.first() == Some(&b'-') {
        return b.get(2..).unwrap_or(&[]);
    }
    // One or more [id k="v" ...] elements; values may contain escaped ']'.
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        let mut esc = false;
        i += 1;
        while let Some(&c) = b.get(i) {
            i += 1;
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b']' {
                break;
            }
        }
    }
    b.get(i + 1..).unwrap_or(&[])
}

/// The daemon of a Postfix program tag (`postfix-mta1/smtps/smtpd` → `smtpd`),
/// or None when the program is not Postfix.
#[inline]
pub fn postfix_daemon(prog: &[u8]) -> Option<&[u8]> {
    if !prog.starts_with(b"postfix") {
        return None;
    }
    let i = memchr::memrchr(b'/', prog)?;
    Some(&prog[i + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syslog(b: &[u8]) -> Frame<'_> {
        let mut y = YearTracker::new(2026, 11);
        match frame(b, &mut y) {
            Line::Syslog(f) => f,
            _ => panic!("not syslog: {}", String::from_utf8_lossy(b)),
        }
    }

    #[test]
    fn rfc3164_postfix() {
        let f =
            syslog(b"Nov 28 18:46:28 mta1 postfix-mta1/smtps/smtpd[19564]: 21DBB51A294: client=x");
        assert_eq!(timestamp::format_secs(f.secs), "2026-11-28 18:46:28");
        assert_eq!(f.host, b"mta1");
        assert_eq!(postfix_daemon(f.prog), Some(&b"smtpd"[..]));
        assert_eq!(f.msg, b"21DBB51A294: client=x");
    }

    #[test]
    fn iso_and_5424_and_solaris() {
        let f = syslog(b"2026-11-28T18:46:28.123+01:00 mx postfix/qmgr[7]: ABC: removed");
        assert_eq!(
            (f.host, f.prog, f.msg),
            (&b"mx"[..], &b"postfix/qmgr"[..], &b"ABC: removed"[..])
        );
        let f = syslog(b"<22>1 2026-11-28T18:46:28Z mx postfix/lmtp 123 - - ABC: to=<a@b>");
        assert_eq!(
            (f.prog, f.msg),
            (&b"postfix/lmtp"[..], &b"ABC: to=<a@b>"[..])
        );
        let f = syslog(b"<22>1 2026-11-28T18:46:28Z mx postfix/lmtp 123 - [x a=\"\\]\"][y] ABC: m");
        assert_eq!(f.msg, b"ABC: m");
        let f = syslog(b"Nov 28 18:46:28 mx postfix/smtpd[1]: [ID 197553 mail.info] ABC: client=x");
        assert_eq!(f.msg, b"ABC: client=x");
        let f = syslog(b"<13>Nov 28 18:46:28 mx postfix/postfix-script: starting");
        assert_eq!(
            (f.prog, f.msg),
            (&b"postfix/postfix-script"[..], &b"starting"[..])
        );
    }

    #[test]
    fn malformed_and_sun() {
        let mut y = YearTracker::new(2026, 11);
        assert!(matches!(frame(b"", &mut y), Line::Malformed));
        assert!(matches!(frame(b"Nov 28 18:4", &mut y), Line::Malformed));
        assert!(matches!(
            frame(b"Nov 28 18:46:28 host-without-tag", &mut y),
            Line::Malformed
        ));
        assert!(matches!(
            frame(b"\xff\xfe garbage", &mut y),
            Line::Malformed
        ));
        assert!(matches!(
            frame(b"16-Feb-2007 14:54:13.72 tcp_local ims-ms E 1 a", &mut y),
            Line::Sun(_, _)
        ));
        assert_eq!(postfix_daemon(b"dovecot"), None);
    }
}
