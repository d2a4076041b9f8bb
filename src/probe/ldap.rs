//! LDAP probe: bind and look an entry up (ldap3, bounded by timeouts).
//!
//! [`Session`] is the one way to talk LDAP: [`lookup`] (isolation: "is the
//! directory answering for this account?") and the ldap host check both open
//! one. Plain LDAP or LDAPS per the endpoint; STARTTLS when the endpoint says
//! `tls: starttls`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, ResultEntry, Scope, SearchEntry, StdStream};

use crate::probe::AbortOnDrop;
use crate::probe::capped_relay::{self, Relay};

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
    if s.contains("lookup address")
        || s.contains("name resolution")
        || s.contains("name or service not known")
    {
        ErrorKind::Resolve
    } else if s.contains("refused") {
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

/// One LDAP session: connect (LDAPS, STARTTLS or plain per the endpoint),
/// bind, bounded searches, unbind. Each operation runs under the step
/// deadline, behind the panic guard, with one error classification. The
/// probe's [`lookup`] (isolation) and the ldap host check both use it.
pub struct Session {
    ldap: Ldap,
    ep: Endpoint,
    step: Duration,
    /// Between ldap3 and the server: caps what the server may send. Dropped
    /// with the session, which closes the connection under ldap3 too.
    relay: Relay,
    /// The task driving the connection (ldap3's `drive!` would detach it,
    /// and a detached driver outlives a timed-out operation).
    _driver: AbortOnDrop,
}

/// Most bytes one session takes from a server (replies, TLS included).
/// ldap3 holds a PDU whole and re-parses it on every read; 1000 entries of
/// a few kB fit, a PDU announcing 100 MB does not.
pub const MAX_SESSION_BYTES: u64 = 4 << 20;

impl Session {
    /// Connect within `step`, the connection driven on the runtime.
    pub async fn open(ep: &Endpoint, step: Duration) -> Result<Session, ProbeError> {
        let (ldap, relay, driver) = guarded(ep, "connect", connect(ep, step)).await?;
        Ok(Session {
            ldap,
            ep: ep.clone(),
            step,
            relay,
            _driver: driver,
        })
    }

    /// A failed operation's error, unless the relay cut the server off:
    /// then that is the cause, whatever ldap3 made of the closed socket.
    fn explain<T>(&self, r: Result<T, ProbeError>) -> Result<T, ProbeError> {
        r.map_err(|e| {
            if self.relay.over_cap() {
                over_cap(&self.ep, &e.phase)
            } else {
                e
            }
        })
    }

    /// Simple bind (`dn` and `password` empty: anonymous). Result 49 is an
    /// `Auth` error.
    pub async fn bind(&mut self, dn: &str, password: &str) -> Result<(), ProbeError> {
        let Session { ldap, ep, step, .. } = self;
        let r = guarded(ep, "bind", bind(ldap, ep, *step, dn, password)).await;
        self.explain(r)
    }

    /// One search, bounded: the whole operation within the step (ldap3's own
    /// timeout is per entry, so a server dripping entries would hold us
    /// forever) and at most MAX_ENTRIES kept (the rest is abandoned).
    /// noSuchObject (32, e.g. a wrong base) is an answer: no entries.
    pub async fn search<S: AsRef<str>>(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[S],
    ) -> Result<Vec<SearchEntry>, ProbeError> {
        let Session { ldap, ep, step, .. } = self;
        let attrs: Vec<&str> = attrs.iter().map(AsRef::as_ref).collect();
        let run = async {
            let rs = search(ldap, *step, base, scope, filter, attrs)
                .await
                .map_err(|(kind, msg)| err(ep, "search", kind, msg))?;
            Ok(rs.into_iter().map(SearchEntry::construct).collect())
        };
        let r = guarded(ep, "search", run).await;
        self.explain(r)
    }

    /// Unbind (bounded); errors are irrelevant by now.
    pub async fn close(mut self) {
        let Session { ldap, ep, step, .. } = &mut self;
        let unbind = async {
            let _ = tokio::time::timeout(*step, ldap.unbind()).await;
            Ok(())
        };
        let _ = guarded(ep, "search", unbind).await;
    }
}

/// Run one operation, turning a panic inside ldap3 into a protocol error of
/// `phase`: ldap3 `expect`s well-formed responses (UTF-8 texts, DNs, result
/// codes), so a hostile server can make it panic; that must not crash a run.
async fn guarded<'a, T>(
    ep: &Endpoint,
    phase: &str,
    fut: impl Future<Output = Result<T, ProbeError>> + Send + 'a,
) -> Result<T, ProbeError> {
    match CatchUnwind(Box::pin(fut)).await {
        Ok(r) => r,
        Err(()) => Err(err(
            ep,
            phase,
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

fn over_cap(ep: &Endpoint, phase: &str) -> ProbeError {
    err(
        ep,
        phase,
        ErrorKind::Protocol,
        format!(
            "the server sent more than {} MiB; connection closed",
            MAX_SESSION_BYTES >> 20
        ),
    )
}

/// TCP to the server, through the capped relay to ldap3, within `step` in
/// all (TLS and STARTTLS included).
async fn connect(ep: &Endpoint, step: Duration) -> Result<(Ldap, Relay, AbortOnDrop), ProbeError> {
    let started = tokio::time::Instant::now();
    let scheme = if ep.tls == TlsMode::Implicit {
        "ldaps"
    } else {
        "ldap"
    };
    let url = format!("{scheme}://{}", ep.addr());
    let server = crate::probe::wire::tcp_connect(ep, "ldap", step).await?;
    let (socket, relay) = capped_relay::start(server, MAX_SESSION_BYTES, step)
        .await
        .map_err(|e| err(ep, "connect", ErrorKind::Local, format!("local relay: {e}")))?;
    let left = step.saturating_sub(started.elapsed());
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(left)
        .set_std_stream(StdStream::Tcp(socket));
    if ep.tls != TlsMode::None {
        let cfg = crate::probe::tls::client_config(&ep.tls_options)
            .map_err(|e| err(ep, "connect", ErrorKind::Tls, e))?;
        settings = settings
            .set_config(cfg)
            .set_starttls(ep.tls == TlsMode::Starttls);
    }
    let opened = tokio::time::timeout(left, LdapConnAsync::with_settings(settings, &url)).await;
    let (conn, ldap) = match opened {
        Err(_) => {
            return Err(err(
                ep,
                "connect",
                ErrorKind::Timeout,
                format!("{url}: no connection within {step:?}"),
            ));
        }
        Ok(Err(_)) if relay.over_cap() => return Err(over_cap(ep, "connect")),
        Ok(Err(e)) => return Err(err(ep, "connect", classify(&e), format!("{url}: {e}"))),
        Ok(Ok(pair)) => pair,
    };
    let driver = tokio::spawn(async move {
        if let Err(e) = conn.drive().await {
            tracing::debug!("LDAP connection ended: {e}");
        }
    });
    Ok((ldap, relay, AbortOnDrop(driver)))
}

async fn bind(
    ldap: &mut Ldap,
    ep: &Endpoint,
    step: Duration,
    dn: &str,
    password: &str,
) -> Result<(), ProbeError> {
    // Our own deadline as well: ldap3's per-operation timeout only starts
    // counting once its connection task hands the operation on, which a
    // server pumping a huge PDU can delay.
    let r = tokio::time::timeout(step, ldap.with_timeout(step).simple_bind(dn, password))
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
    Ok(())
}

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
        let done = s.finish().await;
        if done.rc == 32 {
            return Ok(Vec::new());
        }
        done.success()
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

/// Connect, bind, search. Phases: connect, bind, search.
pub async fn lookup(q: &Lookup<'_>, obs: &mut Observation) -> Result<Vec<Entry>, ProbeError> {
    let ep = q.ep;
    if ep.tls != TlsMode::None
        && let Some(n) = &ep.tls_options.server_name
    {
        // ldap3 verifies against the URL host; a configured name must be the URL host.
        obs.fact("ldap_server_name", n.clone());
    }
    let t = Instant::now();
    let mut s = Session::open(ep, q.step_timeout).await?;
    obs.phase("connect", ms(t));

    let t = Instant::now();
    if let Some((dn, pw)) = q.bind {
        s.bind(dn, pw.expose()).await?;
    }
    obs.phase("bind", ms(t));

    let t = Instant::now();
    let base = match q.base {
        Some(b) => b.to_string(),
        None => s
            .search("", Scope::Base, "(objectClass=*)", &["namingContexts"])
            .await?
            .into_iter()
            .next()
            .and_then(|e| {
                e.attrs
                    .get("namingContexts")
                    .and_then(|v| v.first().cloned())
            })
            .unwrap_or_default(),
    };
    let rs = s.search(&base, Scope::Subtree, q.filter, q.attrs).await?;
    obs.phase("search", ms(t));
    s.close().await;
    // Bounded: a hostile server returning millions of entries is cut at 1000.
    Ok(rs
        .into_iter()
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
pub use crate::suite::checks::ldap::escape;

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_filter_metacharacters() {
        assert_eq!(super::escape("a*(b)\\"), "a\\2a\\28b\\29\\5c");
    }
}
