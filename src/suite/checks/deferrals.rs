//! deferrals: an MTA's outbound queue, deferral reasons grouped by remote
//! domain (top N), so "mail to example.com has been deferring for 40m: 421
//! rate limited" shows before customers call (Postfix, `postqueue -j`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{CheckKind, Hints, Rules};
use crate::suite::duration::Dur;
use crate::suite::limit::NumLimit;
use crate::suite::pos::join_key;

/// Defaults when the suite sets no age limits: a domain deferring for ten
/// minutes is worth a look, for an hour customers have noticed.
pub const DEFAULT_OLDEST_WARNING: Dur = Dur(std::time::Duration::from_secs(600));
pub const DEFAULT_OLDEST_CRITICAL: Dur = Dur(std::time::Duration::from_secs(3600));
pub const DEFAULT_TOP: usize = 5;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeferralsSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// Postfix config directory (`postqueue -c DIR`).
    #[serde(default)]
    pub config_dir: Option<PathBuf>,
    /// Domains listed in the `deferred_by_domain` fact (default 5).
    #[serde(default)]
    pub top: Option<usize>,
    /// Limits on the deferred messages to the worst domain.
    #[serde(default)]
    pub messages: Option<NumLimit>,
    /// Limits on how long the longest-deferring domain has been deferring
    /// (its oldest deferred message; default 10m / 1h).
    #[serde(default)]
    pub oldest_warning: Option<Dur>,
    #[serde(default)]
    pub oldest_critical: Option<Dur>,
}

impl DeferralsSpec {
    pub fn top(&self) -> usize {
        self.top.unwrap_or(DEFAULT_TOP)
    }
    pub fn oldest(&self) -> (Dur, Dur) {
        (
            self.oldest_warning.unwrap_or(DEFAULT_OLDEST_WARNING),
            self.oldest_critical.unwrap_or(DEFAULT_OLDEST_CRITICAL),
        )
    }
}

impl CheckKind for DeferralsSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate<R: Rules>(&self, _host: &str, p: &str, r: &mut R) {
        if self.top == Some(0) || self.top.is_some_and(|t| t > 100) {
            r.err(&join_key(p, "top"), "top is 1 to 100", None);
        }
        if let Some(m) = &self.messages {
            r.num_limit(&join_key(p, "messages"), m);
        }
        let (w, c) = self.oldest();
        r.ordered(p, ("oldest_warning", Some(w)), ("oldest_critical", Some(c)));
    }

    fn limits(&self) -> Vec<(String, NumLimit)> {
        let (w, c) = self.oldest();
        let mut v = vec![(
            "oldest_deferring".to_string(),
            NumLimit {
                warning: Some(w.0.as_secs_f64()),
                critical: Some(c.0.as_secs_f64()),
                ..NumLimit::default()
            },
        )];
        if let Some(m) = self.messages {
            v.push(("worst_domain_messages".into(), m));
        }
        v
    }

    fn limits_on_status_page(&self) -> bool {
        false
    }

    fn hints(&self) -> Hints {
        Hints {
            queue_config_dir: self.config_dir.clone(),
            ..Hints::default()
        }
    }
}
