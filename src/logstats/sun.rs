//! Sun ONE / Oracle Communications Messaging Server `mail.log_current`.
//!
//! A record (Messaging Server 6.x Admin Guide, "Understanding the MTA Log
//! Entry Format"):
//!
//! ```text
//! 16-Feb-2007 14:54:13.72 tcp_local ims-ms EE 1 adam@sesta.com rfc822;marlowe@siroe.com marlowe@ims-ms-daemon <msg-id> diagnostic
//! ```
//!
//! stamp, source channel, destination channel, entry code (action letter +
//! modifiers such as `E` ESMTP, `S` TLS, `A` auth), size in blocks
//! (BLOCK_SIZE, 1 KiB by default), envelope from (blank for notifications),
//! original to, active to, then with LOG_MESSAGE_ID=1 the Message-ID and for
//! some codes a diagnostic. One record per recipient.
//!
//! Action letters used: E enqueue → received; D dequeue → delivered; Q
//! temporary failure → deferred; J rejection of an attempted enqueue →
//! rejected; R (rejected at dequeue, non-delivery notice sent), K (rejected at
//! dequeue, no notice) and T (timed out, returned) → bounced. Others ignored.

use super::postfix::{RejectClass, classify};

#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    Enqueue {
        from: &'a [u8],
        size_blocks: u64,
        msgid: Option<&'a [u8]>,
    },
    Dequeue {
        to: &'a [u8],
        size_blocks: u64,
    },
    Defer {
        msgid: Option<&'a [u8]>,
    },
    Bounce,
    Reject {
        class: RejectClass,
    },
    Ignored,
    Malformed,
}

struct Words<'a>(&'a [u8]);

impl<'a> Words<'a> {
    /// Next space-separated word; runs of spaces are one separator.
    fn next(&mut self) -> Option<&'a [u8]> {
        let b = self.0;
        let start = b.iter().position(|&c| c != b' ')?;
        let end = b[start..]
            .iter()
            .position(|&c| c == b' ')
            .map_or(b.len(), |e| start + e);
        self.0 = &b[end..];
        Some(&b[start..end])
    }

    /// Next field where one blank field is allowed (`E 1  rfc822;...` = empty from).
    fn next_field(&mut self) -> Option<&'a [u8]> {
        let b = self.0.strip_prefix(b" ")?;
        let end = b.iter().position(|&c| c == b' ').unwrap_or(b.len());
        self.0 = &b[end..];
        Some(&b[..end])
    }

    fn rest(&self) -> &'a [u8] {
        let b = self.0;
        &b[b.iter().position(|&c| c != b' ').unwrap_or(b.len())..]
    }
}

fn is_code(w: &[u8]) -> bool {
    !w.is_empty() && w.len() <= 8 && w.iter().all(u8::is_ascii_uppercase)
}

fn digits(w: &[u8]) -> Option<u64> {
    if w.is_empty() || w.len() > 18 || !w.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(w.iter().fold(0, |v, &c| v * 10 + (c - b'0') as u64))
}

/// Parse a record after its time stamp.
pub fn parse(rest: &[u8]) -> Event<'_> {
    let mut w = Words(rest);
    // Source channel, destination channel (blank on some J records), code, size.
    let mut first = [&[][..]; 4];
    for slot in first.iter_mut() {
        match w.next() {
            Some(x) => *slot = x,
            None => return Event::Malformed,
        }
    }
    // Connection records (LOG_CONNECTION): "tcp_local + O TCP|..." — not messages.
    if matches!(first[1], b"+" | b"-") {
        return Event::Ignored;
    }
    let (code, size, mut w) = if is_code(first[2]) && digits(first[3]).is_some() {
        (first[2], first[3], w)
    } else if is_code(first[1]) && digits(first[2]).is_some() {
        // Destination channel blank: re-read from the size field.
        let mut again = Words(rest);
        again.next();
        again.next();
        again.next();
        (first[1], first[2], again)
    } else {
        return Event::Malformed;
    };
    let size_blocks = digits(size).unwrap_or(0);
    // Envelope from: blank for notifications (then the next field is "rfc822;...").
    let from = match w.next_field() {
        Some([]) => w.next_field().unwrap_or(&[]),
        Some(f) => f,
        None => &[],
    };
    let (from, orig) = if from.starts_with(b"rfc822;") {
        (&b""[..], from)
    } else {
        (from, w.next().unwrap_or(&[]))
    };
    let active = w.next().unwrap_or(&[]);
    let rest = w.rest();
    let msgid = rest
        .strip_prefix(b"<")
        .and_then(|r| r.iter().position(|&c| c == b'>').map(|e| &r[..e]));
    let _ = active; // the rewritten form (e.g. user@ims-ms-daemon); domains use the original
    let to = orig.strip_prefix(b"rfc822;").unwrap_or(orig);
    match code[0] {
        b'E' => Event::Enqueue {
            from,
            size_blocks,
            msgid,
        },
        b'D' => Event::Dequeue { to, size_blocks },
        b'Q' => Event::Defer { msgid },
        b'R' | b'K' | b'T' => Event::Bounce,
        b'J' => Event::Reject {
            class: classify(b"", rest),
        },
        _ => Event::Ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples() {
        assert_eq!(
            parse(b"tcp_local ims-ms EE 1 adam@sesta.com rfc822;marlowe@siroe.com marlowe@ims-ms-daemon"),
            Event::Enqueue { from: b"adam@sesta.com", size_blocks: 1, msgid: None }
        );
        assert_eq!(
            parse(b"ims-ms D 5 durai@Sun.COM rfc822;durai.b@Sun.COM durai@ims-ms-daemon <00ce01c38bda$c7e2b240@guindy>"),
            Event::Dequeue { to: b"durai.b@Sun.COM", size_blocks: 5 }
        );
        assert_eq!(
            parse(b"501d.0b.9 ims-ms Q 5 durai@Sun.COM rfc822;durai@Sun.COM durai@ims-ms-daemon <00ce01c38bda$c7e2b240$6501a8c0@guindy> Mailbox is busy"),
            Event::Defer { msgid: Some(b"00ce01c38bda$c7e2b240$6501a8c0@guindy") }
        );
    }

    #[test]
    fn blank_from_padding_and_rejects() {
        assert_eq!(
            parse(b"l        tcp_local    E  3  rfc822;bob@example.com bob@example.com <a@b>"),
            Event::Enqueue {
                from: b"",
                size_blocks: 3,
                msgid: Some(b"a@b")
            }
        );
        assert_eq!(
            parse(b"tcp_local  JE 0 spam@bad.example rfc822;user@siroe.com user@siroe.com 550 5.7.1 Relay access denied"),
            Event::Reject { class: RejectClass::Relay }
        );
        assert_eq!(
            parse(b"tcp_local ims-ms R 2 a@b rfc822;c@d c@d <x@y> 5.1.1 unknown"),
            Event::Bounce
        );
        assert_eq!(parse(b"tcp_local ims-ms"), Event::Malformed);
        assert_eq!(parse(b"tcp_local ims-ms EE x a@b"), Event::Malformed);
    }
}
