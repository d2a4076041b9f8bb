//! files: disk and inode space, file existence/age/size, log freshness, dir counts (check_files).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{CheckKind, Rules};
use crate::suite::duration::Dur;
use crate::suite::limit::NumLimit;
use crate::suite::pos::{join_index, join_key};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// Mount points: free space and inodes.
    #[serde(default)]
    pub disks: Vec<DiskSpec>,
    /// Files and directories.
    #[serde(default)]
    pub paths: Vec<PathCheck>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiskSpec {
    pub mount: PathBuf,
    /// Limits on free space percent (use *_below).
    #[serde(default)]
    pub free_percent: Option<NumLimit>,
    /// Limits on free inodes percent (use *_below).
    #[serde(default)]
    pub inodes_free_percent: Option<NumLimit>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PathCheck {
    pub path: PathBuf,
    /// Must exist (default true).
    #[serde(default)]
    pub exists: Option<bool>,
    /// Modified within this long (a mail log not written for N minutes is a fault).
    #[serde(default)]
    pub max_age: Option<Dur>,
    /// Not larger than this many bytes.
    #[serde(default)]
    pub max_size: Option<u64>,
    /// For a directory: limits on the number of entries.
    #[serde(default)]
    pub count: Option<NumLimit>,
}

/// Disk limits when the suite gives none (Sun's diskavail alarm: 10 %).
pub const DEFAULT_FREE: NumLimit = NumLimit {
    warning: None,
    critical: None,
    warning_below: Some(10.0),
    critical_below: Some(5.0),
};

impl CheckKind for FilesSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate<R: Rules>(&self, _host: &str, p: &str, r: &mut R) {
        for (j, dk) in self.disks.iter().enumerate() {
            let dp = join_index(&join_key(p, "disks"), j);
            if let Some(l) = &dk.free_percent {
                r.num_limit(&join_key(&dp, "free_percent"), l);
            }
            if let Some(l) = &dk.inodes_free_percent {
                r.num_limit(&join_key(&dp, "inodes_free_percent"), l);
            }
        }
        for (j, pc) in self.paths.iter().enumerate() {
            if let Some(l) = &pc.count {
                r.num_limit(
                    &join_key(&join_index(&join_key(p, "paths"), j), "count"),
                    l,
                );
            }
        }
    }

    /// Free space and inodes (default `DEFAULT_FREE`), entry counts; a path
    /// older than max_age is critical, larger than max_size warns.
    fn limits(&self) -> Vec<(String, NumLimit)> {
        let mut v = Vec::new();
        for d in &self.disks {
            let m = d.mount.display();
            let or_default = |l: &Option<NumLimit>| l.unwrap_or(DEFAULT_FREE);
            v.push((format!("free_percent:{m}"), or_default(&d.free_percent)));
            let inodes = or_default(&d.inodes_free_percent);
            v.push((format!("inodes_free_percent:{m}"), inodes));
        }
        for p in &self.paths {
            let shown = p.path.display();
            if let Some(max) = p.max_age {
                let lim = NumLimit {
                    critical: Some(max.0.as_secs_f64()),
                    ..NumLimit::default()
                };
                v.push((format!("age_s:{shown}"), lim));
            }
            if let Some(max) = p.max_size {
                let lim = NumLimit {
                    warning: Some(max as f64),
                    ..NumLimit::default()
                };
                v.push((format!("size_b:{shown}"), lim));
            }
            if let Some(lim) = p.count {
                v.push((format!("count:{shown}"), lim));
            }
        }
        v
    }

    fn limits_on_status_page(&self) -> bool {
        false
    }
}
