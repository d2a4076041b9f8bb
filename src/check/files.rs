//! files: disk and inode space, file existence/age/size, log freshness, dir counts (check_files).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::suite::duration::Dur;
use crate::suite::model::NumLimit;

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
