//! connections: established TCP connections per protocol (check_mconn).

use serde::{Deserialize, Serialize};

use super::{CheckKind, Rules};
use crate::suite::limit::NumLimit;
use crate::suite::pos::join_key;
use crate::suite::proto::Proto;

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

impl CheckKind for ConnectionsSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Every endpoint protocol can be counted.
    fn validate<R: Rules>(&self, _host: &str, p: &str, r: &mut R) {
        let protocols: Vec<&str> = Proto::ALL.iter().map(|p| p.as_str()).collect();
        r.num_limits(
            &join_key(p, "thresholds"),
            &self.thresholds,
            Some(&protocols),
            "protocol",
        );
    }

    fn limits(&self) -> Vec<(String, NumLimit)> {
        super::thresholds(&self.thresholds)
    }

    fn limits_on_status_page(&self) -> bool {
        true
    }
}
