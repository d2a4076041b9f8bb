//! Limits a suite puts on what is measured: on a duration (a phase, a
//! latency) or on a number (a count, a percent, bytes).

use serde::{Deserialize, Serialize};

use super::duration::Dur;

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    #[serde(default)]
    pub warning: Option<Dur>,
    #[serde(default)]
    pub critical: Option<Dur>,
}

/// Limits on a number (count, percent, bytes). `*_below` alarm on too little
/// (a pop3 connection count of 0 on a busy MMP is as alarming as 5000).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NumLimit {
    #[serde(default)]
    pub warning: Option<f64>,
    #[serde(default)]
    pub critical: Option<f64>,
    #[serde(default)]
    pub warning_below: Option<f64>,
    #[serde(default)]
    pub critical_below: Option<f64>,
}
