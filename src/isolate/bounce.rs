//! A probe that left the queue without being delivered was bounced: the
//! remote side refused it with a 5xx, so its reply is no longer in the
//! queue. The MTA's own mail log (Postfix `maillog_file`, when it logs to a
//! file the monitor can read) still has it: `<qid>: to=<…>, … status=bounced
//! (host … said: 550 …)`. Read with `grep -F` under the step deadline; only
//! matching lines come back, so a large log costs no memory.

use crate::hostcheck::{Ctx, command_lines};
use crate::probe::wire::sanitize;

/// The reply a bounced queue entry `qid` got, from the MTA whose Postfix
/// configuration is `dir`. `None`: no file log, or no bounce for it there.
pub async fn bounced(ctx: &Ctx<'_>, dir: &str, qid: &str) -> Option<String> {
    let mut log = String::new();
    let argv = [
        "postconf".to_string(),
        "-c".into(),
        dir.into(),
        "-h".into(),
        "maillog_file".into(),
    ];
    command_lines(ctx, "queue", &argv, |l| {
        if log.is_empty() {
            log = l.trim().to_string();
        }
    })
    .await
    .ok()?;
    if log.is_empty() || !log.starts_with('/') {
        return None;
    }
    let needle = format!("{qid}: to=<");
    let argv = ["grep".to_string(), "-aF".into(), "--".into(), needle, log];
    let mut found = None;
    // grep exits 1 when nothing matches: that is "no bounce", not an error.
    let _ = command_lines(ctx, "queue", &argv, |l| {
        if let Some(r) = bounce_reason(l, qid) {
            found = Some(r);
        }
    })
    .await;
    found
}

/// The reply in one Postfix log line when it is `qid`'s bounce.
pub fn bounce_reason(line: &str, qid: &str) -> Option<String> {
    if !line.contains(&format!("{qid}: to=<")) {
        return None;
    }
    let (_, rest) = line.split_once("status=bounced (")?;
    let rest = rest.trim_end();
    let reason = rest.strip_suffix(')').unwrap_or(rest);
    Some(sanitize(reason.as_bytes(), 300))
}

#[cfg(test)]
mod tests {
    use super::bounce_reason;

    #[test]
    fn reads_the_remote_reply_of_a_bounce() {
        let l = "Dec 03 01:53:49 mta1 postfix-mta1/smtp[29104]: D9D1B5688CF: to=<ext1@remote.test>, relay=127.2.1.1[127.2.1.1]:25, delay=0.14, dsn=5.7.1, status=bounced (host 127.2.1.1[127.2.1.1] said: 550 5.7.1 <ext1@remote.test>: Recipient address rejected: blocked (in reply to RCPT TO command))\n";
        assert_eq!(
            bounce_reason(l, "D9D1B5688CF").as_deref(),
            Some(
                "host 127.2.1.1[127.2.1.1] said: 550 5.7.1 <ext1@remote.test>: Recipient address rejected: blocked (in reply to RCPT TO command)"
            )
        );
        assert_eq!(bounce_reason(l, "OTHER"), None);
        let sent = l.replace("status=bounced", "status=sent");
        assert_eq!(bounce_reason(&sent, "D9D1B5688CF"), None);
    }
}
