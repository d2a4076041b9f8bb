//! system: CPU split, memory, swap, page scan rate, load (check_sys).

use serde::{Deserialize, Serialize};

use crate::suite::model::NumLimit;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SystemSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// Limits per metric: cpu_user, cpu_system, cpu_iowait, cpu_idle (percent),
    /// mem_available_kb, swap_free_kb, scan_rate (pages/s), load1, load5, load15.
    #[serde(default)]
    pub thresholds: std::collections::BTreeMap<String, NumLimit>,
    /// CPU sampling interval when no previous sample exists (default 1s).
    #[serde(default)]
    pub interval: Option<crate::suite::duration::Dur>,
}
