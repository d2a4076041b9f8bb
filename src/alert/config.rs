//! Alerting configuration as declared in etc/alarms.yaml (shared by suites).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingSpec {
    /// Consecutive failures before an alert fires (default 2).
    #[serde(default)]
    pub failure_threshold: Option<u32>,
    /// Consecutive passes before recovery is notified (default 2).
    #[serde(default)]
    pub success_threshold: Option<u32>,
}
