//! queue: message counts per queue (Postfix, Sun/Oracle Messaging Server, Exim, any command).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::suite::duration::Dur;
use crate::suite::model::NumLimit;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// Which MTA: postfix (default), sun, exim, command.
    #[serde(default)]
    pub mta: Option<QueueMta>,
    /// Postfix config directory (`postqueue -c DIR`) or queue directory.
    #[serde(default)]
    pub config_dir: Option<PathBuf>,
    /// For `mta: command`: a command printing a number (or `queue=count` lines).
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Limits per queue name (maildrop, incoming, active, deferred, hold, total).
    #[serde(default)]
    pub thresholds: BTreeMap<String, NumLimit>,
    /// Limits on the age of the oldest queued message.
    #[serde(default)]
    pub oldest_warning: Option<Dur>,
    #[serde(default)]
    pub oldest_critical: Option<Dur>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueMta {
    Postfix,
    Sun,
    Exim,
    Command,
}
