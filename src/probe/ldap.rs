//! LDAP probe: bind and look an entry up (ldap3, bounded by timeouts).
//!
//! Used by isolation ("is the directory answering for this account?") and
//! by the ldap host check. Plain LDAP or LDAPS per the endpoint; STARTTLS
//! when the endpoint says `tls: starttls`.

use std::time::{Duration, Instant};

use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};

use crate::result::{ErrorKind, Observation, ProbeError};
use crate::secret::Secret;
use crate::suite::model::TlsMode;
use crate::suite::resolve::Endpoint;

/// One found entry: DN and the requested attributes (first value each).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub dn: String,
    pub attrs: std::collections::BTreeMap<String, Vec<String>>,
}

pub struct Lookup<'a> {
    pub ep: &'a Endpoint,
    /// Simple bind; anonymous when None.
    pub bind: Option<(&'a str, &'a Secret)>,
    /// Search base; None = the server's first namingContext.
    pub base: Option<&'a str>,
    pub filter: &'a str,
    pub attrs: &'a [&'a str],
    pub step_timeout: Duration,
}

fn err(ep: &Endpoint, phase: &str, kind: ErrorKind, msg: impl Into<String>) -> ProbeError {
    ProbeError {
        phase: phase.to_string(),
        kind,
        message: crate::probe::wire::sanitize(msg.into().as_bytes(), 300),
        host: Some(ep.host.clone()),
        protocol: Some("ldap".into()),
    }
}

fn classify(e: &ldap3::LdapError) -> ErrorKind {
    let s = e.to_string().to_ascii_lowercase();
    if s.contains("refused") {
        ErrorKind::Refused
    } else if s.contains("timeout") || s.contains("timed out") || s.contains("elapsed") {
        ErrorKind::Timeout
    } else if s.contains("tls") || s.contains("certificate") {
        ErrorKind::Tls
    } else {
        ErrorKind::Protocol
    }
}

/// Connect, bind, search. Phases: connect, bind, search.
pub async fn lookup(q: &Lookup<'_>, obs: &mut Observation) -> Result<Vec<Entry>, ProbeError> {
    let ep = q.ep;
    let scheme = if ep.tls == TlsMode::Implicit {
        "ldaps"
    } else {
        "ldap"
    };
    let url = format!("{scheme}://{}", ep.addr());
    let mut settings = LdapConnSettings::new().set_conn_timeout(q.step_timeout);
    if ep.tls != TlsMode::None {
        let cfg = crate::probe::tls::client_config(&ep.tls_options)
            .map_err(|e| err(ep, "connect", ErrorKind::Tls, e))?;
        settings = settings
            .set_config(cfg)
            .set_starttls(ep.tls == TlsMode::Starttls);
        if let Some(n) = &ep.tls_options.server_name {
            // ldap3 verifies against the URL host; a configured name must be the URL host.
            obs.fact("ldap_server_name", n.clone());
        }
    }
    let t = Instant::now();
    let (conn, mut ldap) =
        tokio::time::timeout(q.step_timeout, LdapConnAsync::with_settings(settings, &url))
            .await
            .map_err(|_| {
                err(
                    ep,
                    "connect",
                    ErrorKind::Timeout,
                    format!("{url}: no connection within {:?}", q.step_timeout),
                )
            })?
            .map_err(|e| err(ep, "connect", classify(&e), format!("{url}: {e}")))?;
    ldap3::drive!(conn);
    obs.phase("connect", ms(t));

    let t = Instant::now();
    if let Some((dn, pw)) = q.bind {
        let r = ldap
            .with_timeout(q.step_timeout)
            .simple_bind(dn, pw.expose())
            .await
            .map_err(|e| err(ep, "bind", classify(&e), e.to_string()))?;
        if r.rc != 0 {
            let kind = if r.rc == 49 {
                ErrorKind::Auth
            } else {
                ErrorKind::PermReject
            };
            return Err(err(
                ep,
                "bind",
                kind,
                format!("bind as {dn}: result {} {}", r.rc, r.text),
            ));
        }
    }
    obs.phase("bind", ms(t));

    let t = Instant::now();
    let base = match q.base {
        Some(b) => b.to_string(),
        None => {
            let (rs, _) = ldap
                .with_timeout(q.step_timeout)
                .search("", Scope::Base, "(objectClass=*)", vec!["namingContexts"])
                .await
                .map_err(|e| err(ep, "search", classify(&e), e.to_string()))?
                .success()
                .map_err(|e| err(ep, "search", ErrorKind::PermReject, e.to_string()))?;
            rs.into_iter()
                .next()
                .map(SearchEntry::construct)
                .and_then(|e| {
                    e.attrs
                        .get("namingContexts")
                        .and_then(|v| v.first().cloned())
                })
                .unwrap_or_default()
        }
    };
    let res = ldap
        .with_timeout(q.step_timeout)
        .search(&base, Scope::Subtree, q.filter, q.attrs.to_vec())
        .await
        .map_err(|e| err(ep, "search", classify(&e), e.to_string()))?;
    let (rs, _) = res
        .success()
        .map_err(|e| err(ep, "search", ErrorKind::PermReject, e.to_string()))?;
    obs.phase("search", ms(t));
    let _ = ldap.unbind().await;
    // Bounded: a hostile server returning millions of entries is cut at 1000.
    Ok(rs
        .into_iter()
        .take(1000)
        .map(SearchEntry::construct)
        .map(|e| Entry {
            dn: e.dn,
            attrs: e.attrs.into_iter().collect(),
        })
        .collect())
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

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_filter_metacharacters() {
        assert_eq!(super::escape("a*(b)\\"), "a\\2a\\28b\\29\\5c");
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
