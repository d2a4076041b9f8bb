//! connections: established TCP connections per protocol (check_mconn).

use serde::{Deserialize, Serialize};

use crate::suite::model::NumLimit;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// Count only connections to this local address (default: the host's address;
    /// `any` counts every address).
    #[serde(default)]
    pub address: Option<String>,
    /// Limits per protocol: smtp, submission, smtps, imap, imaps, pop3, pop3s, ldap, ldaps, http, https.
    #[serde(default)]
    pub thresholds: std::collections::BTreeMap<String, NumLimit>,
}
