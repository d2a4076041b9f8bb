//! processes: expected processes with count, RSS and CPU limits (check_procs).

use serde::{Deserialize, Serialize};

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
    /// Process name (comm) to match exactly, or
    #[serde(default)]
    pub process: Option<String>,
    /// a regex matched against the full command line.
    #[serde(default)]
    pub cmdline: Option<String>,
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
