//! ldap: bind, look up each test account, compare replicas (check_ldap).

use serde::{Deserialize, Serialize};

use crate::suite::duration::Dur;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LdapSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// Search base, e.g. `dc=example,dc=test`.
    pub base: String,
    /// Bind DN (anonymous when omitted).
    #[serde(default)]
    pub bind_dn: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<std::path::PathBuf>,
    /// Filter with `{uid}` / `{mail}` placeholders (default `(mail={mail})`).
    #[serde(default)]
    pub filter: Option<String>,
    /// Attributes every account entry must carry (default mail, mailHost).
    #[serde(default)]
    pub expect_attributes: Option<Vec<String>>,
    /// Latency limits for bind + searches.
    #[serde(default)]
    pub warning: Option<Dur>,
    #[serde(default)]
    pub critical: Option<Dur>,
    /// Other ldap hosts to compare contextCSN with; a lagging replica warns.
    #[serde(default)]
    pub replicas: Vec<String>,
    #[serde(default)]
    pub max_replication_lag: Option<Dur>,
}
