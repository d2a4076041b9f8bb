//! Undeliverable notices: `<state_dir>/spool/<seq>.json`, retried in order at
//! the start of the next run (under the state lock), removed once delivered.
//! Too old items move to `spool/expired/` with an error log line, unreadable
//! ones to `spool/bad/`: nothing is deleted unseen.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::notice::Notice;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpoolItem {
    pub created_at: DateTime<Utc>,
    pub route: String,
    /// The channel that failed (retried first; the route's fallbacks after).
    pub channel: String,
    pub attempts: u32,
    pub last_error: String,
    pub notice: Notice,
}

pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("spool")
}

fn seq_of(p: &Path) -> Option<u64> {
    p.file_stem()?.to_str()?.parse().ok()
}

/// Spool files in delivery order.
pub fn list(state_dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<(u64, PathBuf)> = std::fs::read_dir(dir(state_dir))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| seq_of(&p).map(|s| (s, p)))
        .collect();
    v.sort();
    v.into_iter().map(|(_, p)| p).collect()
}

pub fn enqueue(state_dir: &Path, item: &SpoolItem) -> std::io::Result<PathBuf> {
    let next = list(state_dir)
        .last()
        .and_then(|p| seq_of(p))
        .map_or(1, |s| s + 1);
    let p = dir(state_dir).join(format!("{next:012}.json"));
    write(&p, item)?;
    Ok(p)
}

pub fn read(p: &Path) -> Result<SpoolItem, String> {
    let b = std::fs::read(p).map_err(|e| e.to_string())?;
    serde_json::from_slice(&b).map_err(|e| e.to_string())
}

pub fn write(p: &Path, item: &SpoolItem) -> std::io::Result<()> {
    let data = serde_json::to_vec_pretty(item).map_err(std::io::Error::other)?;
    crate::atomic::write(p, &data)
}

/// Move a spool file into `spool/<sub>/` (expired, bad).
pub fn set_aside(p: &Path, sub: &str) -> std::io::Result<PathBuf> {
    let parent = p.parent().unwrap_or(Path::new("."));
    let d = parent.join(sub);
    std::fs::create_dir_all(&d)?;
    let to = d.join(p.file_name().unwrap_or_default());
    std::fs::rename(p, &to)?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_sets_aside() {
        let d = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let mk = |m: &str| SpoolItem {
            created_at: now,
            route: "r".into(),
            channel: "c".into(),
            attempts: 1,
            last_error: "e".into(),
            notice: Notice::plain("alert", "s", "run", m, now),
        };
        for m in ["a", "b", "c"] {
            enqueue(d.path(), &mk(m)).unwrap();
        }
        let l = list(d.path());
        let msgs: Vec<String> = l.iter().map(|p| read(p).unwrap().notice.message).collect();
        assert_eq!(msgs, ["a", "b", "c"]);
        set_aside(&l[0], "expired").unwrap();
        assert_eq!(list(d.path()).len(), 2);
        assert!(
            dir(d.path())
                .join("expired")
                .join(l[0].file_name().unwrap())
                .exists()
        );
        // A new item goes after the remaining ones.
        let p = enqueue(d.path(), &mk("d")).unwrap();
        assert_eq!(list(d.path()).last().unwrap(), &p);
    }
}
