//! ldap: bind, look up each test account, compare replicas (check_ldap).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CheckKind, Hints, Rules};
use crate::suite::duration::Dur;
use crate::suite::limit::NumLimit;
use crate::suite::pos::{join_index, join_key};
use crate::suite::proto::Proto;

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
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
    /// Default 60s.
    #[serde(default)]
    pub max_replication_lag: Option<Dur>,
}

impl LdapSpec {
    /// The bind password's reference (`password_env` or `password_file`).
    pub fn password_ref(&self) -> Option<crate::secret::SecretRef> {
        use crate::secret::SecretRef;
        match (&self.password_env, &self.password_file) {
            (Some(v), _) => Some(SecretRef::Env(v.clone())),
            (None, Some(p)) => Some(SecretRef::File(p.clone())),
            _ => None,
        }
    }

    /// The search filter for one account: `filter` (default
    /// `(mail={mail})`) with `{mail}` and `{uid}` filled in, escaped.
    pub fn filter_for(&self, mail: &str, uid: &str) -> String {
        self.filter
            .as_deref()
            .unwrap_or("(mail={mail})")
            .replace("{mail}", &escape(mail))
            .replace("{uid}", &escape(uid))
    }
}

/// Escape a value for use inside an LDAP filter (RFC 4515).
pub fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '*' => s.push_str("\\2a"),
            '(' => s.push_str("\\28"),
            ')' => s.push_str("\\29"),
            '\\' => s.push_str("\\5c"),
            '\0' => s.push_str("\\00"),
            c => s.push(c),
        }
    }
    s
}

/// Replication lag tolerated when the suite does not say.
pub const DEFAULT_MAX_LAG: Duration = Duration::from_secs(60);

impl CheckKind for LdapSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate<R: Rules>(&self, host: &str, p: &str, r: &mut R) {
        let protos = r.host_protos(host);
        if !r.has_role(host, "ldap")
            && !protos
                .iter()
                .any(|x| matches!(x, Proto::Ldap | Proto::Ldaps))
        {
            r.err(
                p,
                format!("`{host}` has neither the ldap role nor an ldap endpoint"),
                None,
            );
        }
        for (j, rep) in self.replicas.iter().enumerate() {
            let rp = join_index(&join_key(p, "replicas"), j);
            r.host_with_role(&rp, rep, "an LDAP replica", &["ldap"]);
        }
        if self.password_env.is_some() && self.password_file.is_some() {
            r.err(p, "set only one of password_env and password_file", None);
        }
        r.secret_env(p, self.password_env.as_deref());
        r.secret_file(p, self.password_file.as_deref());
        r.ordered(p, ("warning", self.warning), ("critical", self.critical));
    }

    /// Latency (ms) of bind + searches; each replica's lag (s) warns above
    /// max_replication_lag (default 60s).
    fn limits(&self) -> Vec<(String, NumLimit)> {
        let mut v: Vec<_> = super::latency(self.warning, self.critical).into_iter().collect();
        let max = self.max_replication_lag.map_or(DEFAULT_MAX_LAG, |d| d.0);
        for rep in &self.replicas {
            let lim = NumLimit {
                warning: Some(max.as_secs_f64()),
                ..NumLimit::default()
            };
            v.push((format!("replication_lag:{rep}"), lim));
        }
        v
    }

    fn limits_on_status_page(&self) -> bool {
        false
    }

    fn local_files(&mut self) -> Vec<&mut PathBuf> {
        self.password_file.iter_mut().collect()
    }

    fn hints(&self) -> Hints {
        Hints {
            ldap: Some(self.clone()),
            ..Hints::default()
        }
    }
}
