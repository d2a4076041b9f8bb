//! port: TCP connect + banner regex + TLS certificate expiry for any endpoint.

use serde::{Deserialize, Serialize};

use crate::suite::duration::Dur;
use crate::suite::model::Proto;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// Endpoint of this host to check.
    pub endpoint: Option<Proto>,
    /// Or a bare port (no protocol).
    #[serde(default)]
    pub port: Option<u16>,
    /// Regex the banner must match.
    #[serde(default)]
    pub banner: Option<String>,
    /// Warn when the certificate expires within this many days.
    #[serde(default)]
    pub cert_expiry_warning_days: Option<u32>,
    #[serde(default)]
    pub cert_expiry_critical_days: Option<u32>,
    #[serde(default)]
    pub warning: Option<Dur>,
    #[serde(default)]
    pub critical: Option<Dur>,
}
