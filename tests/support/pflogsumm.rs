//! logstats against pflogsumm (Debian `pflogsumm`): both totals of a log
//! file, compared label by label.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::loggen::{PFLOGSUMM_KEYS as KEYS, pflogsumm_total};
use super::site;

pub fn logstats_json(files: &[&Path]) -> Value {
    let o = Command::new(site::bin())
        .args(["logstats", "--format", "json"])
        .args(files)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "logstats failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// pflogsumm's Grand Totals: label → (value, unit). Values above 512k are
/// printed divided by 1024 ("k") or 1048576 ("m"), truncated.
pub fn pflogsumm(file: &Path, syslog_name: Option<&str>) -> Vec<(String, u64, u64)> {
    let mut c = Command::new("pflogsumm");
    if let Some(n) = syslog_name {
        c.arg(format!("--syslog-name={n}"));
    }
    let o = c
        .arg(file)
        .output()
        .expect("pflogsumm is installed (apt-get install pflogsumm)");
    assert!(
        o.status.success(),
        "pflogsumm: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    KEYS.iter()
        .map(|(label, _)| {
            let (v, unit) = pflogsumm_total(&text, label)
                .unwrap_or_else(|| panic!("pflogsumm has no {label:?} total:\n{text}"));
            (label.to_string(), v, unit)
        })
        .collect()
}

/// Every pflogsumm total equals ours (after pflogsumm's unit truncation).
pub fn assert_agree(ours: &Value, theirs: &[(String, u64, u64)], what: &str) {
    assert_agree_within(ours, theirs, what, 0);
}

/// [`assert_agree`], the byte totals allowed to differ by `bytes_slack`
/// (see [`reused_queue_id_bytes`]).
pub fn assert_agree_within(
    ours: &Value,
    theirs: &[(String, u64, u64)],
    what: &str,
    bytes_slack: u64,
) {
    for ((label, key), (_, v, unit)) in KEYS.iter().zip(theirs) {
        let mine = ours["total"][key].as_u64().unwrap();
        if key.starts_with("bytes_") && bytes_slack > 0 {
            let (lo, hi) = (v * unit, (v + 1) * unit + bytes_slack);
            assert!(
                mine + 1 > lo && mine < hi,
                "{what}: {label}: healthmon {mine} vs pflogsumm {v}×{unit} (slack {bytes_slack})"
            );
            continue;
        }
        assert_eq!(
            mine / unit,
            *v,
            "{what}: {label}: healthmon {mine} vs pflogsumm {v}×{unit}"
        );
    }
}

/// Bytes on which pflogsumm 1.1.5 is wrong by design: Postfix reuses a
/// queue id once its file is gone (seen on a busy test site two seconds
/// apart), and pflogsumm's "avoid double-counting" guard then never counts
/// the second message's size and charges its deliveries with the first
/// one's. healthmon counts each message. The slack is the reused messages'
/// sizes times their recipients.
pub fn reused_queue_id_bytes(log: &Path) -> u64 {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut removed = std::collections::HashSet::new();
    let mut reused = std::collections::HashSet::new();
    let mut slack = 0;
    for line in text.lines() {
        let Some((qid, rest)) = line.split_once("]: ").and_then(|(_, r)| r.split_once(": ")) else {
            continue;
        };
        if rest == "removed" {
            removed.insert(qid.to_string());
        } else if rest.starts_with("client=")
            || rest.starts_with("sender=")
            || rest.starts_with("uid=")
        {
            if removed.remove(qid) {
                reused.insert(qid.to_string());
            }
        } else if let Some(r) = rest.strip_prefix("from=<")
            && reused.remove(qid)
        {
            let num = |k: &str| {
                r.split(k)
                    .nth(1)
                    .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            slack += num(", size=") * num(", nrcpt=").max(1);
        }
    }
    slack
}
