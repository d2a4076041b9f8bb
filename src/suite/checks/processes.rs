//! processes: expected processes with count, RSS and CPU limits (check_procs).

use serde::{Deserialize, Serialize};

use super::{CheckKind, Rules, regex_error};
use crate::suite::limit::NumLimit;
use crate::suite::pos::{join_index, join_key};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessesSpec {
    #[serde(default)]
    pub name: Option<String>,
    pub expect: Vec<ProcessExpect>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessExpect {
    /// Name used in metrics and messages (default: `process`, else `match<N>`).
    #[serde(default)]
    pub label: Option<String>,
    /// Process name (comm) to match exactly, or
    #[serde(default)]
    pub process: Option<String>,
    /// a regex matched against the full command line.
    #[serde(default)]
    pub cmdline: Option<String>,
    /// Regex on the working directory: tells instances apart whose command
    /// lines are the same (Postfix's master runs in its queue directory).
    #[serde(default)]
    pub cwd: Option<String>,
    /// At least this many (default 1).
    #[serde(default)]
    pub min: Option<u32>,
    #[serde(default)]
    pub max: Option<u32>,
    /// Resident memory per process, MB.
    #[serde(default)]
    pub max_rss_mb: Option<f64>,
    /// CPU percent per process.
    #[serde(default)]
    pub max_cpu_percent: Option<f64>,
}

impl ProcessExpect {
    /// The `i`-th expectation's name in metrics and messages.
    pub fn label(&self, i: usize) -> String {
        self.label
            .clone()
            .or_else(|| self.process.clone())
            .unwrap_or_else(|| format!("match{}", i + 1))
    }
}

impl CheckKind for ProcessesSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate<R: Rules>(&self, _host: &str, p: &str, r: &mut R) {
        if self.expect.is_empty() {
            r.warn(
                &join_key(p, "expect"),
                "empty list: this check asserts nothing",
                None,
            );
        }
        for (j, e) in self.expect.iter().enumerate() {
            let ep = join_index(&join_key(p, "expect"), j);
            // A process matches every criterion given (name, cmdline, cwd).
            if e.process.is_none() && e.cmdline.is_none() && e.cwd.is_none() {
                r.err(
                    &ep,
                    "set `process` (a name), `cmdline` or `cwd` (regexes)",
                    None,
                );
            }
            for (key, re) in [("cmdline", &e.cmdline), ("cwd", &e.cwd)] {
                if let Some(Err(err)) = re.as_deref().map(regex::Regex::new) {
                    r.err(
                        &join_key(&ep, key),
                        format!("invalid regex: {}", regex_error(&err)),
                        None,
                    );
                }
            }
            if let (Some(min), Some(max)) = (e.min, e.max)
                && min > max
            {
                r.err(
                    &join_key(&ep, "min"),
                    format!("min ({min}) is above max ({max})"),
                    None,
                );
            }
        }
    }

    /// Count outside min (default 1) ..= max is critical; RSS and CPU above
    /// their maxima warn.
    fn limits(&self) -> Vec<(String, NumLimit)> {
        let mut v = Vec::new();
        for (i, e) in self.expect.iter().enumerate() {
            let label = e.label(i);
            v.push((
                format!("{label}_count"),
                NumLimit {
                    critical: e.max.map(f64::from),
                    critical_below: Some(f64::from(e.min.unwrap_or(1))),
                    ..NumLimit::default()
                },
            ));
            for (metric, max) in [("rss_mb", e.max_rss_mb), ("cpu_percent", e.max_cpu_percent)] {
                if let Some(max) = max {
                    let lim = NumLimit {
                        warning: Some(max),
                        ..NumLimit::default()
                    };
                    v.push((format!("{label}_{metric}"), lim));
                }
            }
        }
        v
    }

    fn limits_on_status_page(&self) -> bool {
        false
    }
}
