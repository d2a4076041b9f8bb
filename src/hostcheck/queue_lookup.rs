//! Where is queue id X on this MTA: the fixed, bounded look-up behind
//! isolation's queue follow-up, run by the monitor when it can read the
//! queue itself and by an MTA's agent for the central monitor. The command
//! is always `postqueue -c <config_dir from the suite> -j`; the id is only
//! compared with, never passed to a program.

use std::time::Duration;

use crate::probe::agent::{QueueWhere, valid_queue_id};
use crate::suite::model::SuiteSpec;

/// Look `qid` up on `mta` (a suite host with a postfix queue check and its
/// config_dir). The output is streamed through the host checks' bounded
/// command runner: a queue of a million messages is never held whole.
pub async fn lookup(s: &SuiteSpec, mta: &str, qid: &str, step: Duration) -> QueueWhere {
    let unknown = |m: String| QueueWhere::Unknown { message: m };
    if !valid_queue_id(qid) {
        return unknown("not a queue id".into());
    }
    let dir = match config_dir(s, mta) {
        Ok(d) => d,
        Err(e) => return unknown(e),
    };
    let mut found = None;
    let r = lines(s, mta, step, &postqueue(&dir), |line| {
        if found.is_none() {
            found = postqueue_entry(line.as_bytes(), qid);
        }
    })
    .await;
    match (found, r) {
        (Some(o), _) => o,
        (None, Ok(())) => QueueWhere::Gone,
        (None, Err(e)) => unknown(e),
    }
}

/// Queued messages read for a Message-ID look-up (one `postcat` each).
pub const MAX_SCAN: usize = 200;

/// Where the message with Message-ID `mid` is on `mta`: (its queue id,
/// where). Reads `postqueue -j`, then the headers of at most [`MAX_SCAN`]
/// queued messages with `postcat -h -q QID`, each within the step timeout.
pub async fn lookup_message_id(
    s: &SuiteSpec,
    mta: &str,
    mid: &str,
    step: Duration,
) -> (String, QueueWhere) {
    let unknown = |m: String| (String::new(), QueueWhere::Unknown { message: m });
    if !crate::probe::agent::valid_message_id(mid) {
        return unknown("not a Message-ID".into());
    }
    let dir = match config_dir(s, mta) {
        Ok(d) => d,
        Err(e) => return unknown(e),
    };
    let (mut queued, mut total) = (Vec::new(), 0usize);
    let r = lines(s, mta, step, &postqueue(&dir), |line| {
        total += 1;
        if queued.len() < MAX_SCAN
            && let Some(v) = serde_json::from_str::<serde_json::Value>(line).ok()
            && let Some(q) = v.get("queue_id").and_then(|x| x.as_str())
            && valid_queue_id(q)
        {
            queued.push(q.to_string());
        }
    })
    .await;
    if let Err(e) = r {
        return unknown(e);
    }
    for qid in queued {
        let argv = ["postcat", "-c", &dir, "-h", "-q", &qid].map(String::from);
        let mut hit = false;
        let _ = lines(s, mta, step, &argv, |line| {
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("message-id")
                && v.trim() == mid
            {
                hit = true;
            }
        })
        .await;
        if hit {
            let at = lookup(s, mta, &qid, step).await;
            return (qid, at);
        }
    }
    if total > MAX_SCAN {
        return unknown(format!(
            "not among the first {MAX_SCAN} of {total} queued messages"
        ));
    }
    (String::new(), QueueWhere::Gone)
}

/// The MTA's Postfix config dir, from its queue check.
fn config_dir(s: &SuiteSpec, mta: &str) -> Result<String, String> {
    s.hosts
        .get(mta)
        .and_then(|h| h.checks.iter().find_map(|c| c.hints().queue_config_dir))
        .map(|d| d.display().to_string())
        .ok_or_else(|| format!("no queue check with config_dir on {mta}"))
}

fn postqueue(dir: &str) -> [String; 4] {
    ["postqueue", "-c", dir, "-j"].map(String::from)
}

/// One fixed queue command for `mta`, streamed through the host checks'
/// bounded runner (deadline: the step timeout).
async fn lines(
    s: &SuiteSpec,
    mta: &str,
    step: Duration,
    argv: &[String],
    f: impl FnMut(&str),
) -> Result<(), String> {
    let snap = super::snapshot::Snapshot::new();
    let ctx = super::Ctx {
        host: mta,
        suite: s,
        snap: &snap,
        step_timeout: step,
    };
    super::command_lines(&ctx, "queue", argv, f)
        .await
        .map_err(|e| e.message)
}

/// One line of `postqueue -j` (one JSON object per message, Postfix ≥ 3.1):
/// the entry's queue and first deferral reason when it is `qid`.
pub fn postqueue_entry(line: &[u8], qid: &str) -> Option<QueueWhere> {
    let v = serde_json::from_slice::<serde_json::Value>(line).ok()?;
    if v.get("queue_id").and_then(|x| x.as_str()) != Some(qid) {
        return None;
    }
    let queue = v
        .get("queue_name")
        .and_then(|x| x.as_str())
        .unwrap_or("?")
        .to_string();
    let reason = v
        .get("recipients")
        .and_then(|r| r.as_array())
        .and_then(|r| {
            r.iter()
                .find_map(|x| x.get("delay_reason").and_then(|d| d.as_str()))
        })
        .unwrap_or("");
    Some(QueueWhere::Queued {
        queue,
        reason: crate::probe::wire::sanitize(reason.as_bytes(), 300),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn finds_deferred_entry_and_reason() {
        let j = br#"{"queue_name":"active","queue_id":"AAA1","recipients":[{"address":"a@x"}]}
{"queue_name":"deferred","queue_id":"3F2A1","recipients":[{"address":"ims1@example.test","delay_reason":"connect to 127.0.2.1[127.0.2.1]:24: Connection refused"}]}
"#;
        let find = |out: &[u8], qid: &str| {
            out.split(|b| *b == b'\n')
                .find_map(|l| postqueue_entry(l, qid))
                .unwrap_or(QueueWhere::Gone)
        };
        assert_eq!(
            find(j, "3F2A1"),
            QueueWhere::Queued {
                queue: "deferred".into(),
                reason: "connect to 127.0.2.1[127.0.2.1]:24: Connection refused".into()
            }
        );
        assert_eq!(find(j, "NOPE"), QueueWhere::Gone);
        assert_eq!(find(b"garbage\n", "X"), QueueWhere::Gone);
    }
}
