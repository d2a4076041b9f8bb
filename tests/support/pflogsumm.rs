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
    for ((label, key), (_, v, unit)) in KEYS.iter().zip(theirs) {
        let mine = ours["total"][key].as_u64().unwrap();
        assert_eq!(
            mine / unit,
            *v,
            "{what}: {label}: healthmon {mine} vs pflogsumm {v}×{unit}"
        );
    }
}
