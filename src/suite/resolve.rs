//! Lookups over a suite: endpoints with inherited TLS settings, roles, defaults.

use std::time::Duration;

use super::model::*;

/// Defaults applied when neither suite nor includes say otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_CONCURRENCY: usize = 16;
pub const DEFAULT_PER_HOST: usize = 4;
pub const DEFAULT_SENDER: &str = "healthmon@healthmon.invalid";
pub const DEFAULT_HELO: &str = "healthmon.invalid";

/// An endpoint with everything a probe needs to connect.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Suite host name (for errors and verdicts).
    pub host: String,
    pub address: String,
    pub port: u16,
    pub proto: Proto,
    pub tls: TlsMode,
    pub tls_options: TlsSpec,
    pub auth: Option<AuthMech>,
}

impl Endpoint {
    pub fn addr(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
    pub fn insecure(&self) -> bool {
        self.tls_options.insecure.unwrap_or(false)
    }
}

fn merge_tls(base: &TlsSpec, over: Option<&TlsSpec>) -> TlsSpec {
    let Some(o) = over else { return base.clone() };
    TlsSpec {
        ca_file: o.ca_file.clone().or_else(|| base.ca_file.clone()),
        insecure: o.insecure.or(base.insecure),
        server_name: o.server_name.clone().or_else(|| base.server_name.clone()),
        expiry_warning_days: o.expiry_warning_days.or(base.expiry_warning_days),
        pin_sha256: o.pin_sha256.clone().or_else(|| base.pin_sha256.clone()),
    }
}

/// Endpoints a host has when the suite lists none: derived from its roles.
pub fn role_default_endpoints(roles: &[String]) -> Vec<Proto> {
    let mut v = Vec::new();
    for r in roles {
        let add: &[Proto] = match r.as_str() {
            "mta" => &[Proto::Smtp],
            "mmp" | "store" => &[Proto::Pop3, Proto::Imap],
            "ldap" => &[Proto::Ldap],
            "lb" => &[Proto::Smtp, Proto::Pop3, Proto::Imap],
            _ => &[],
        };
        for p in add {
            if !v.contains(p) {
                v.push(*p);
            }
        }
    }
    v
}

impl SuiteSpec {
    pub fn defaults(&self) -> Defaults {
        self.defaults.clone().unwrap_or_default()
    }
    pub fn timeout(&self) -> Duration {
        self.defaults
            .as_ref()
            .and_then(|d| d.timeout)
            .map(|d| d.0)
            .unwrap_or(DEFAULT_TIMEOUT)
    }
    pub fn step_timeout(&self) -> Duration {
        self.defaults
            .as_ref()
            .and_then(|d| d.step_timeout)
            .map(|d| d.0)
            .unwrap_or(DEFAULT_STEP_TIMEOUT)
    }
    pub fn sender(&self) -> String {
        self.defaults
            .as_ref()
            .and_then(|d| d.sender.clone())
            .unwrap_or_else(|| DEFAULT_SENDER.into())
    }
    pub fn helo(&self) -> String {
        self.defaults
            .as_ref()
            .and_then(|d| d.helo.clone())
            .unwrap_or_else(|| DEFAULT_HELO.into())
    }
    pub fn has_role(&self, host: &str, role: &str) -> bool {
        self.hosts
            .get(host)
            .is_some_and(|h| h.roles.iter().any(|r| r == role))
    }
    pub fn hosts_with_role<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.hosts
            .iter()
            .filter(move |(_, h)| h.roles.iter().any(|r| r == role))
            .map(|(n, _)| n.as_str())
    }

    /// Protocols a host serves (declared, or derived from roles).
    pub fn host_protos(&self, host: &str) -> Vec<Proto> {
        match self.hosts.get(host) {
            None => vec![],
            Some(h) if h.endpoints.is_empty() => role_default_endpoints(&h.roles),
            Some(h) => h.endpoints.keys().copied().collect(),
        }
    }

    /// Resolve one endpoint of a host, with TLS inherited defaults → host → endpoint.
    pub fn endpoint(&self, host: &str, proto: Proto) -> Option<Endpoint> {
        let h = self.hosts.get(host)?;
        self.endpoint_of(host, h, proto)
    }

    /// An external mailbox's endpoint (`external.<name>`), resolved like a
    /// host's: TLS from defaults → the external's `tls` → the endpoint. It
    /// is named by the external's key in errors and verdicts.
    pub fn external_endpoint(&self, name: &str, proto: Proto) -> Option<Endpoint> {
        let x = self.external.get(name)?;
        let h = HostSpec {
            roles: vec!["store".into()],
            address: x.server.clone(),
            endpoints: x.endpoints.clone(),
            tls: x.tls.clone(),
            ..Default::default()
        };
        self.endpoint_of(name, &h, proto)
    }

    fn endpoint_of(&self, host: &str, h: &HostSpec, proto: Proto) -> Option<Endpoint> {
        let spec = match h.endpoints.get(&proto) {
            Some(e) => e.clone(),
            None if h.endpoints.is_empty() && role_default_endpoints(&h.roles).contains(&proto) => {
                EndpointSpec::default()
            }
            None => return None,
        };
        let base = self
            .defaults
            .as_ref()
            .and_then(|d| d.tls.clone())
            .unwrap_or_default();
        let t = merge_tls(&base, h.tls.as_ref());
        let t = merge_tls(&t, spec.tls_options.as_ref());
        Some(Endpoint {
            host: host.to_string(),
            address: h.address.clone(),
            port: spec.port.unwrap_or(proto.default_port()),
            proto,
            tls: spec.tls.unwrap_or(proto.default_tls()),
            tls_options: t,
            auth: spec.auth,
        })
    }

    /// The first endpoint of a host that speaks `family` (e.g. pop3 then pop3s).
    pub fn endpoint_for(&self, host: &str, candidates: &[Proto]) -> Option<Endpoint> {
        candidates.iter().find_map(|p| self.endpoint(host, *p))
    }

    /// Login name of an account: `login`, else the address's local part.
    pub fn login(&self, account: &str) -> Option<String> {
        let a = self.accounts.get(account)?;
        Some(
            a.login
                .clone()
                .unwrap_or_else(|| a.address.split('@').next().unwrap_or("").to_string()),
        )
    }

    /// Stores an MMP fronts: `fronts`, else every store.
    pub fn fronted_stores(&self, mmp: &str) -> Vec<String> {
        match self.hosts.get(mmp) {
            Some(h) if !h.fronts.is_empty() => h.fronts.clone(),
            _ => self.hosts_with_role("store").map(String::from).collect(),
        }
    }

    /// An external mailbox's login and password reference.
    pub fn external_credentials(
        &self,
        name: &str,
    ) -> Option<(String, Option<crate::secret::SecretRef>)> {
        use crate::secret::SecretRef;
        let x = self.external.get(name)?;
        let login = x
            .login
            .clone()
            .unwrap_or_else(|| x.address.split('@').next().unwrap_or("").to_string());
        let r = match (&x.password_env, &x.password_file) {
            (Some(e), _) => Some(SecretRef::Env(e.clone())),
            (None, Some(f)) => Some(SecretRef::File(f.clone())),
            (None, None) => None,
        };
        Some((login, r))
    }

    pub fn secret_ref(&self, account: &str) -> Option<crate::secret::SecretRef> {
        use crate::secret::{Secret, SecretRef};
        let a = self.accounts.get(account)?;
        if let Some(e) = &a.password_env {
            Some(SecretRef::Env(e.clone()))
        } else if let Some(f) = &a.password_file {
            Some(SecretRef::File(f.clone()))
        } else {
            a.password
                .as_ref()
                .map(|p| SecretRef::Inline(Secret::new(p.clone())))
        }
    }
}

/// How long a round trip waits for its probe to arrive: the suite's
/// `arrival_timeout`, else as long as the case allows, but never so long that
/// the whole-case deadline fires first. A case that dies of its own deadline
/// has no host to blame (phase `case`), so isolation would have to guess; one
/// that stops waiting in time says "not arrived on <retrieve host>" and has a
/// step left to close its session. The reserve is one step, at most half the
/// case; the probe also stops waiting one step before the case deadline when
/// the submission itself was slow.
pub fn arrival_wait(explicit: Option<Duration>, timeout: Duration, step: Duration) -> Duration {
    let cap = timeout.saturating_sub(step.min(timeout / 2));
    explicit.unwrap_or(cap).min(cap)
}

#[cfg(test)]
mod tests {
    use super::arrival_wait;
    use std::time::Duration;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_arrival_wait_always_ends_before_the_case() {
        // Only `timeout` set (step default 10 s): one step is left.
        assert_eq!(arrival_wait(None, S(60), S(10)), S(50));
        assert_eq!(arrival_wait(None, S(30), S(10)), S(20));
        // The project's suites: explicit waits that fit are kept.
        assert_eq!(arrival_wait(Some(S(20)), S(30), S(5)), S(20));
        assert_eq!(arrival_wait(Some(S(45)), S(60), S(10)), S(45));
        // As long as the case: cut so the failure keeps its host.
        assert_eq!(arrival_wait(Some(S(30)), S(30), S(5)), S(25));
        // Tiny cases: at most half goes to the reserve.
        assert_eq!(arrival_wait(None, S(4), S(10)), S(2));
        for t in 1..120 {
            for st in 1..20 {
                let w = arrival_wait(None, S(t), S(st));
                assert!(w < S(t) && w >= S(t) / 2, "t={t} step={st}: {w:?}");
            }
        }
    }
}
