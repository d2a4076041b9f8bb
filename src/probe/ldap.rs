//! LDAP probe: bind and look an entry up (ldap3, bounded by timeouts).
//!
//! Used by isolation ("is the directory answering for this account?") and
//! by the ldap host check. Plain LDAP or LDAPS per the endpoint; STARTTLS
//! when the endpoint says `tls: starttls`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, ResultEntry, Scope, SearchEntry};

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

/// An LDAP probe error: sanitised, bounded text, host and protocol set.
pub fn err(ep: &Endpoint, phase: &str, kind: ErrorKind, msg: impl Into<String>) -> ProbeError {
    ProbeError {
        phase: phase.to_string(),
        kind,
        message: crate::probe::wire::sanitize(msg.into().as_bytes(), 300),
        host: Some(ep.host.clone()),
        protocol: Some("ldap".into()),
    }
}

/// The kind of an ldap3 error: typed where ldap3 says it, else from its text.
pub fn classify(e: &ldap3::LdapError) -> ErrorKind {
    match e {
        // Other I/O errors (a failed TLS handshake among them) fall through
        // to the text below.
        ldap3::LdapError::Io { source } => match source.kind() {
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset => {
                return ErrorKind::Refused;
            }
            std::io::ErrorKind::TimedOut => return ErrorKind::Timeout,
            _ => {}
        },
        ldap3::LdapError::Timeout { .. } => return ErrorKind::Timeout,
        ldap3::LdapError::Rustls { .. } => return ErrorKind::Tls,
        _ => {}
    }
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

/// Most entries kept from one search (a hostile server may send millions).
const MAX_ENTRIES: usize = 1000;

/// Connect, bind, search. Phases: connect, bind, search.
pub async fn lookup(q: &Lookup<'_>, obs: &mut Observation) -> Result<Vec<Entry>, ProbeError> {
    // ldap3 `expect`s well-formed responses (UTF-8 texts, DNs, result codes):
    // a hostile server can make it panic. That is a protocol error of the
    // phase in progress, not a crash of the run.
    let phase = Mutex::new("connect");
    match (CatchUnwind(Box::pin(lookup_inner(q, obs, &phase)))).await {
        Ok(r) => r,
        Err(()) => Err(err(
            q.ep,
            *phase.lock().unwrap_or_else(|p| p.into_inner()),
            ErrorKind::Protocol,
            "malformed LDAP response (rejected by the LDAP client library)",
        )),
    }
}

/// Polls a future, turning a panic inside it into `Err(())`.
struct CatchUnwind<'a, T>(Pin<Box<dyn Future<Output = T> + Send + 'a>>);

impl<T> Future for CatchUnwind<'_, T> {
    type Output = Result<T, ()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

/// One search, bounded: the whole operation within `step` (ldap3's own
/// timeout is per entry, so a server dripping entries would hold the probe
/// forever) and at most MAX_ENTRIES kept (the rest is abandoned).
async fn search(
    ldap: &mut Ldap,
    step: Duration,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: Vec<&str>,
) -> Result<Vec<ResultEntry>, (ErrorKind, String)> {
    let run = async {
        let lib = |e: ldap3::LdapError| (classify(&e), e.to_string());
        let mut s = ldap
            .with_timeout(step)
            .streaming_search(base, scope, filter, attrs)
            .await
            .map_err(lib)?;
        let mut out = Vec::new();
        while let Some(e) = s.next().await.map_err(lib)? {
            out.push(e);
            if out.len() == MAX_ENTRIES {
                let _ = s.finish().await;
                return Ok(out);
            }
        }
        s.finish()
            .await
            .success()
            .map_err(|e| (ErrorKind::PermReject, e.to_string()))?;
        Ok(out)
    };
    tokio::time::timeout(step, run).await.map_err(|_| {
        (
            ErrorKind::Timeout,
            format!("no complete search result within {step:?}"),
        )
    })?
}

/// Open an LDAP session (LDAPS, STARTTLS or plain per the endpoint) within
/// `step`, its connection driven on the runtime. Shared with the ldap host check.
pub async fn connect(ep: &Endpoint, step: Duration) -> Result<Ldap, ProbeError> {
    let scheme = if ep.tls == TlsMode::Implicit {
        "ldaps"
    } else {
        "ldap"
    };
    let url = format!("{scheme}://{}", ep.addr());
    let mut settings = LdapConnSettings::new().set_conn_timeout(step);
    if ep.tls != TlsMode::None {
        let cfg = crate::probe::tls::client_config(&ep.tls_options)
            .map_err(|e| err(ep, "connect", ErrorKind::Tls, e))?;
        settings = settings
            .set_config(cfg)
            .set_starttls(ep.tls == TlsMode::Starttls);
    }
    let (conn, ldap) = tokio::time::timeout(step, LdapConnAsync::with_settings(settings, &url))
        .await
        .map_err(|_| {
            err(
                ep,
                "connect",
                ErrorKind::Timeout,
                format!("{url}: no connection within {step:?}"),
            )
        })?
        .map_err(|e| err(ep, "connect", classify(&e), format!("{url}: {e}")))?;
    ldap3::drive!(conn);
    Ok(ldap)
}

async fn lookup_inner(
    q: &Lookup<'_>,
    obs: &mut Observation,
    phase: &Mutex<&'static str>,
) -> Result<Vec<Entry>, ProbeError> {
    let ep = q.ep;
    if ep.tls != TlsMode::None {
        if let Some(n) = &ep.tls_options.server_name {
            // ldap3 verifies against the URL host; a configured name must be the URL host.
            obs.fact("ldap_server_name", n.clone());
        }
    }
    let t = Instant::now();
    let mut ldap = connect(ep, q.step_timeout).await?;
    obs.phase("connect", ms(t));

    let t = Instant::now();
    *phase.lock().unwrap() = "bind";
    if let Some((dn, pw)) = q.bind {
        // Our own deadline as well: ldap3's per-operation timeout only starts
        // counting once its connection task hands the operation on, which a
        // server pumping a huge PDU can delay.
        let r = tokio::time::timeout(
            q.step_timeout,
            ldap.with_timeout(q.step_timeout)
                .simple_bind(dn, pw.expose()),
        )
        .await
        .map_err(|_| {
            err(
                ep,
                "bind",
                ErrorKind::Timeout,
                "no bind reply within the step timeout",
            )
        })?
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
    *phase.lock().unwrap() = "search";
    let search_err = |(kind, msg)| err(ep, "search", kind, msg);
    let base = match q.base {
        Some(b) => b.to_string(),
        None => {
            let rs = search(
                &mut ldap,
                q.step_timeout,
                "",
                Scope::Base,
                "(objectClass=*)",
                vec!["namingContexts"],
            )
            .await
            .map_err(search_err)?;
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
    let rs = search(
        &mut ldap,
        q.step_timeout,
        &base,
        Scope::Subtree,
        q.filter,
        q.attrs.to_vec(),
    )
    .await
    .map_err(search_err)?;
    obs.phase("search", ms(t));
    let _ = ldap.unbind().await;
    // Bounded: a hostile server returning millions of entries is cut at 1000.
    Ok(rs
        .into_iter()
        .map(SearchEntry::construct)
        .map(|e| Entry {
            dn: e.dn,
            attrs: e.attrs.into_iter().collect(),
        })
        .collect())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
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
