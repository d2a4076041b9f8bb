//! queue: message counts per queue (Postfix, Sun/Oracle Messaging Server, Exim, any command).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{CheckKind, Hints, Rules};
use crate::suite::duration::Dur;
use crate::suite::limit::NumLimit;
use crate::suite::pos::join_key;

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
    /// For sun / exim: replaces the default `imsimta qm counters show` / `exim -bpc`.
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

/// Postfix queues counted, in qmonitor order.
pub const POSTFIX_QUEUES: [&str; 5] = ["maildrop", "incoming", "active", "deferred", "hold"];

/// Queue names a Postfix queue check may limit.
fn postfix_queues() -> Vec<&'static str> {
    let mut v = POSTFIX_QUEUES.to_vec();
    v.push("total");
    v
}

impl CheckKind for QueueSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate<R: Rules>(&self, _host: &str, p: &str, r: &mut R) {
        if self.mta == Some(QueueMta::Command) && self.command.is_none() {
            r.err(p, "`mta: command` needs `command`", None);
        }
        // Other MTAs name their own queues.
        let postfix = matches!(self.mta, None | Some(QueueMta::Postfix));
        let known = postfix.then(postfix_queues);
        r.num_limits(
            &join_key(p, "thresholds"),
            &self.thresholds,
            known.as_deref(),
            "queue",
        );
        let (w, c) = (self.oldest_warning, self.oldest_critical);
        r.ordered(p, ("oldest_warning", w), ("oldest_critical", c));
    }

    fn limits(&self) -> Vec<(String, NumLimit)> {
        let mut v = super::thresholds(&self.thresholds);
        if self.oldest_warning.is_some() || self.oldest_critical.is_some() {
            v.push((
                "oldest_age".into(),
                NumLimit {
                    warning: self.oldest_warning.map(|d| d.0.as_secs_f64()),
                    critical: self.oldest_critical.map(|d| d.0.as_secs_f64()),
                    ..NumLimit::default()
                },
            ));
        }
        v
    }

    fn limits_on_status_page(&self) -> bool {
        true
    }

    fn hints(&self) -> Hints {
        Hints {
            queue_config_dir: self.config_dir.clone(),
            ..Hints::default()
        }
    }
}
