//! POP3 replies and multi-line bodies: pure parsing, no I/O (fuzzed).

use crate::probe::wire::{self, MAX_TEXT};
use crate::result::ErrorKind;

/// A POP3 status line: `+OK text` or `-ERR text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Ok(String),
    Err(String),
}

/// Parse a status line; `None` when it is neither `+OK` nor `-ERR`.
pub fn parse_reply(line: &[u8]) -> Option<Reply> {
    let text = |rest: &[u8]| wire::sanitize(rest.trim_ascii(), MAX_TEXT);
    let up: Vec<u8> = line.iter().take(4).map(u8::to_ascii_uppercase).collect();
    if up.starts_with(b"+OK") {
        Some(Reply::Ok(text(&line[3..])))
    } else if up.starts_with(b"-ERR") {
        Some(Reply::Err(text(&line[4..])))
    } else {
        None
    }
}

/// Error kind for a `-ERR` (RFC 2449/3206 response codes say "temporary").
pub fn err_kind(text: &str, auth: bool) -> ErrorKind {
    let code = text
        .strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .unwrap_or("")
        .to_ascii_uppercase();
    match code.as_str() {
        "SYS/TEMP" | "IN-USE" | "LOGIN-DELAY" => ErrorKind::TempReject,
        "AUTH" => ErrorKind::Auth,
        _ if auth => ErrorKind::Auth,
        _ => ErrorKind::PermReject,
    }
}

/// `+OK count size` → (count, size).
pub fn parse_stat(text: &str) -> Option<(u64, u64)> {
    let mut it = text.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// A `UIDL` line (`n uid`) → (n, uid). The uid is 1..70 printable chars.
pub fn parse_uidl(line: &[u8]) -> Option<(u64, String)> {
    let s = std::str::from_utf8(line).ok()?;
    let mut it = s.split_ascii_whitespace();
    let n = it.next()?.parse().ok()?;
    let uid = it.next()?;
    if uid.len() > 70 || !uid.bytes().all(|b| (0x21..0x7f).contains(&b)) || it.next().is_some() {
        return None;
    }
    Some((n, uid.to_string()))
}

/// Accumulates a multi-line response body: dot-unstuffing, CRLF line ends,
/// a cap on kept bytes and a hard cap on bytes read.
#[derive(Debug)]
pub struct MultiLine {
    pub data: Vec<u8>,
    keep: usize,
    hard: usize,
    seen: usize,
    lines: usize,
    max_lines: usize,
    pub truncated: bool,
}

/// What one pushed line meant.
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    More,
    Done,
}

impl MultiLine {
    /// Keep at most `keep` bytes; more than `hard` bytes or `max_lines`
    /// lines is an error.
    pub fn new(keep: usize, hard: usize, max_lines: usize) -> Self {
        MultiLine {
            data: Vec::new(),
            keep,
            hard,
            seen: 0,
            lines: 0,
            max_lines,
            truncated: false,
        }
    }

    pub fn lines(&self) -> usize {
        self.lines
    }

    pub fn push(&mut self, line: &[u8]) -> Result<Push, String> {
        if line == b"." {
            return Ok(Push::Done);
        }
        let line = line.strip_prefix(b".").unwrap_or(line);
        self.lines += 1;
        if self.lines > self.max_lines {
            return Err(format!(
                "multi-line response longer than {} lines",
                self.max_lines
            ));
        }
        self.seen += line.len() + 2;
        if self.seen > self.hard {
            return Err(format!(
                "multi-line response larger than {} bytes",
                self.hard
            ));
        }
        if self.data.len() + line.len() + 2 <= self.keep {
            self.data.extend_from_slice(line);
            self.data.extend_from_slice(b"\r\n");
        } else {
            self.truncated = true;
        }
        Ok(Push::More)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_lines() {
        assert_eq!(
            parse_reply(b"+OK Dovecot ready."),
            Some(Reply::Ok("Dovecot ready.".into()))
        );
        assert_eq!(parse_reply(b"+ok"), Some(Reply::Ok("".into())));
        assert_eq!(
            parse_reply(b"-ERR [AUTH] bad"),
            Some(Reply::Err("[AUTH] bad".into()))
        );
        assert_eq!(
            parse_reply(b"-ERR \x00\x1b]]>\xff"),
            Some(Reply::Err("\\x00\\x1B]]\\x3E\\xFF".into()))
        );
        assert_eq!(parse_reply(b"* OK imap"), None);
        assert_eq!(parse_reply(b""), None);
        assert_eq!(parse_reply(b"+"), None);
    }

    #[test]
    fn err_kinds_from_response_codes() {
        assert_eq!(
            err_kind("[SYS/TEMP] Account is temporarily unavailable.", true),
            ErrorKind::TempReject
        );
        assert_eq!(err_kind("[IN-USE] locked", false), ErrorKind::TempReject);
        assert_eq!(
            err_kind("[AUTH] Authentication failed.", true),
            ErrorKind::Auth
        );
        assert_eq!(err_kind("Authentication failed.", true), ErrorKind::Auth);
        assert_eq!(err_kind("go away", false), ErrorKind::PermReject);
        assert_eq!(err_kind("[", false), ErrorKind::PermReject);
    }

    #[test]
    fn stat_and_uidl() {
        assert_eq!(parse_stat("2 640"), Some((2, 640)));
        assert_eq!(
            parse_stat("3000000 999999999999"),
            Some((3_000_000, 999_999_999_999))
        );
        assert_eq!(parse_stat("x 1"), None);
        assert_eq!(parse_stat("-1 0"), None);
        assert_eq!(parse_stat(""), None);
        assert_eq!(
            parse_uidl(b"1 00000001abcdef"),
            Some((1, "00000001abcdef".into()))
        );
        assert_eq!(parse_uidl(b"7  x"), Some((7, "x".into())));
        assert_eq!(parse_uidl(b"7"), None);
        assert_eq!(parse_uidl(b"7 a b"), None);
        assert_eq!(parse_uidl(b"x a"), None);
        assert_eq!(parse_uidl(&[b'1', b' ', 0xff]), None);
        assert_eq!(parse_uidl(format!("1 {}", "a".repeat(71)).as_bytes()), None);
    }

    #[test]
    fn multiline_unstuffs_and_ends_at_dot() {
        let mut ml = MultiLine::new(1000, 1000, 100);
        for l in [&b"Subject: x"[..], b"", b"..leading dot", b".", b"after"] {
            if ml.push(l).unwrap() == Push::Done {
                break;
            }
        }
        assert_eq!(ml.data, b"Subject: x\r\n\r\n.leading dot\r\n");
        assert_eq!(ml.lines(), 3);
        assert!(!ml.truncated);
    }

    #[test]
    fn multiline_caps() {
        // Kept bytes capped, hard cap is an error.
        let mut ml = MultiLine::new(10, 30, 100);
        assert_eq!(ml.push(b"12345678").unwrap(), Push::More);
        assert_eq!(ml.push(b"12345678").unwrap(), Push::More);
        assert!(ml.truncated);
        assert_eq!(ml.data, b"12345678\r\n");
        assert!(ml.push(b"12345678901234").is_err());
        // Line count cap.
        let mut ml = MultiLine::new(0, usize::MAX, 2);
        ml.push(b"1 a").unwrap();
        ml.push(b"2 b").unwrap();
        assert!(ml.push(b"3 c").is_err());
        // An exact-size message fits.
        let mut ml = MultiLine::new(5, 5, 10);
        assert_eq!(ml.push(b"abc").unwrap(), Push::More);
        assert_eq!(ml.push(b".").unwrap(), Push::Done);
        assert_eq!(ml.data, b"abc\r\n");
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse_reply(&line);
            let _ = parse_uidl(&line);
            let _ = parse_stat(&String::from_utf8_lossy(&line));
            let mut ml = MultiLine::new(64, 128, 4);
            for l in line.split(|b| *b == b'\n') {
                if ml.push(l).is_err() { break; }
            }
            proptest::prop_assert!(ml.data.len() <= 64);
        }
    }
}
