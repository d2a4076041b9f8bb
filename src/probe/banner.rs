//! `validate --resolve`: can every declared endpoint be reached, and what
//! does it say? Resolve, connect, banner, TLS (verified), advertised AUTH.
//!
//! Read-only by construction: this file never sends mail and never logs in
//! (SMTP stops after EHLO/STARTTLS, POP3/IMAP after CAPA/CAPABILITY).

use std::time::Duration;

use serde::Serialize;

use super::tls::{self, TlsInfo};
use super::wire::Conn;
use super::{imap, pop3, smtp};
use crate::result::{Observation, ProbeError};
use crate::suite::model::{Proto, TlsMode};
use crate::suite::resolve::Endpoint;

/// Days before certificate expiry that get a warning in the report line.
const DEFAULT_EXPIRY_WARNING_DAYS: u32 = 14;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointReport {
    /// `mta1 smtp 127.0.1.1:25`
    pub endpoint: String,
    pub ok: bool,
    /// First line: what the server said and the TLS/AUTH summary; then notes.
    pub lines: Vec<String>,
}

impl EndpointReport {
    /// `mta1 smtp 127.0.1.1:25: 220 mta1.example.test ESMTP (starttls ok ...)`
    pub fn line(&self) -> String {
        match self.lines.first() {
            Some(l) => format!("{}: {l}", self.endpoint),
            None => self.endpoint.clone(),
        }
    }
}

/// What one endpoint showed, before formatting.
#[derive(Default)]
struct Seen {
    banner: String,
    tls: Option<TlsInfo>,
    auth: Vec<String>,
    notes: Vec<String>,
}

/// Probe one endpoint without sending mail or credentials.
pub async fn probe_endpoint(ep: &Endpoint, timeout: Duration) -> EndpointReport {
    let mut endpoint = format!("{} {} {}", ep.host, ep.proto.as_str(), ep.addr());
    match resolved(ep, timeout).await {
        Ok(Some(ip)) => endpoint.push_str(&format!(" ({ip})")),
        Ok(None) => {}
        Err(msg) => {
            return EndpointReport {
                endpoint,
                ok: false,
                lines: vec![msg],
            };
        }
    }
    let mut obs = Observation::default();
    match observe(ep, timeout, &mut obs).await {
        Ok(seen) => {
            let mut lines = vec![summary(ep, &seen)];
            lines.extend(seen.notes);
            EndpointReport {
                endpoint,
                ok: true,
                lines,
            }
        }
        Err(e) => EndpointReport {
            endpoint,
            ok: false,
            lines: vec![e.to_string()],
        },
    }
}

/// What `healthmon init` needs to know of one candidate endpoint: did it
/// answer (with TLS verified when asked for), which AUTH mechanisms it
/// offers, and the one-line summary `--resolve` prints.
pub struct Discovered {
    pub auth: Vec<String>,
    pub line: String,
}

/// Probe one candidate endpoint read-only (as [`probe_endpoint`]).
pub async fn discover(ep: &Endpoint, timeout: Duration) -> Result<Discovered, String> {
    let mut obs = Observation::default();
    match observe(ep, timeout, &mut obs).await {
        Ok(seen) => Ok(Discovered {
            line: summary(ep, &seen),
            auth: seen.auth,
        }),
        Err(e) => Err(e.to_string()),
    }
}

/// The address the name resolves to, when it is a name (not an IP literal).
async fn resolved(ep: &Endpoint, timeout: Duration) -> Result<Option<String>, String> {
    if ep.address.parse::<std::net::IpAddr>().is_ok() {
        return Ok(None);
    }
    let addr = ep.addr();
    match tokio::time::timeout(timeout, tokio::net::lookup_host(&addr)).await {
        Err(_) => Err(format!("resolving {addr} timed out")),
        Ok(Err(e)) => Err(format!("cannot resolve {addr}: {e}")),
        Ok(Ok(mut a)) => match a.next() {
            Some(sa) => Ok(Some(sa.ip().to_string())),
            None => Err(format!("{addr} resolves to no address")),
        },
    }
}

async fn observe(
    ep: &Endpoint,
    timeout: Duration,
    obs: &mut Observation,
) -> Result<Seen, ProbeError> {
    let helo = crate::suite::resolve::DEFAULT_HELO;
    match ep.proto {
        Proto::Smtp | Proto::Submission | Proto::Smtps | Proto::Lmtp => {
            let g = smtp::greet(ep, helo, ep.proto == Proto::Lmtp, timeout, obs).await?;
            Ok(Seen {
                banner: format!("{} {}", g.code, g.banner),
                auth: smtp::auth_mechs(&g.extensions),
                tls: g.tls,
                notes: vec![],
            })
        }
        Proto::Pop3 | Proto::Pop3s => {
            let caps = pop3::capabilities(ep, timeout, obs).await?;
            let mut seen = from_facts(obs, pop3_auth(&caps));
            seen.banner = format!("+OK {}", seen.banner);
            Ok(seen)
        }
        Proto::Imap | Proto::Imaps => {
            let caps = imap::capabilities(ep, timeout, obs).await?;
            let mut seen = from_facts(obs, imap_auth(&caps));
            seen.banner = without_capability_code(&seen.banner);
            if caps.iter().any(|c| c.eq_ignore_ascii_case("LOGINDISABLED")) {
                seen.notes.push("LOGINDISABLED advertised".into());
            }
            Ok(seen)
        }
        Proto::Ldap | Proto::Ldaps | Proto::Http | Proto::Https => {
            // TCP (+ TLS for ldaps/https) only: binds are the ldap host check's job.
            let mut c = Conn::connect(ep, ep.proto.family(), timeout).await?;
            let tls = c.tls_info().cloned();
            c.shutdown().await;
            let mut notes = vec![format!("{}: TCP connect only", ep.proto.family())];
            if ep.tls == TlsMode::Starttls {
                notes.push("StartTLS not attempted by --resolve".into());
            }
            Ok(Seen {
                banner: "connected".into(),
                tls,
                auth: vec![],
                notes,
            })
        }
    }
}

/// Banner and TLS facts recorded by the POP3/IMAP clients.
fn from_facts(obs: &Observation, auth: Vec<String>) -> Seen {
    let f = |k: &str| obs.facts.get(k).cloned();
    let tls = f("tls_version").map(|version| TlsInfo {
        version,
        cipher: f("tls_cipher").unwrap_or_default(),
        cert_not_after: f("tls_cert_not_after").and_then(|t| t.parse().ok()),
        insecure: f("tls_insecure").is_some(),
    });
    Seen {
        banner: f("banner").unwrap_or_default(),
        tls,
        auth,
        notes: vec![],
    }
}

/// `* OK [CAPABILITY ...] text` → `* OK text` (capabilities are listed apart).
fn without_capability_code(banner: &str) -> String {
    let Some(rest) = banner.strip_prefix("* OK [CAPABILITY ") else {
        return banner.to_string();
    };
    match rest.find("] ") {
        Some(i) => format!("* OK {}", &rest[i + 2..]),
        None => banner.to_string(),
    }
}

/// POP3 `SASL PLAIN LOGIN` and `USER` from CAPA.
fn pop3_auth(caps: &[String]) -> Vec<String> {
    let mut v = Vec::new();
    for c in caps {
        let mut w = c.split_ascii_whitespace();
        match w.next().map(str::to_ascii_uppercase).as_deref() {
            Some("SASL") => v.extend(w.map(str::to_ascii_uppercase)),
            Some("USER") => v.push("USER".into()),
            _ => {}
        }
    }
    v
}

/// IMAP `AUTH=PLAIN` capabilities.
fn imap_auth(caps: &[String]) -> Vec<String> {
    caps.iter()
        .filter_map(|c| {
            let u = c.to_ascii_uppercase();
            u.strip_prefix("AUTH=").map(String::from)
        })
        .collect()
}

/// `220 mta1.example.test ESMTP (starttls ok TLSv1.3, cert expires 2027-11-28, AUTH PLAIN LOGIN)`
fn summary(ep: &Endpoint, seen: &Seen) -> String {
    let mut parts = Vec::new();
    match (&seen.tls, ep.tls) {
        (Some(t), TlsMode::Starttls) => parts.push(format!("starttls ok {}", t.version)),
        (Some(t), _) => parts.push(format!("tls {}", t.version)),
        (None, _) => parts.push("no tls".into()),
    }
    if let Some(t) = &seen.tls {
        if t.insecure {
            parts.push("certificate NOT verified (insecure)".into());
        }
        if let Some(na) = t.cert_not_after {
            let days = (na - chrono::Utc::now().timestamp()).div_euclid(86_400);
            let warn = ep
                .tls_options
                .expiry_warning_days
                .unwrap_or(DEFAULT_EXPIRY_WARNING_DAYS);
            let mut s = format!("cert expires {}", tls::date(na));
            if days < 0 {
                s.push_str(" (EXPIRED)");
            } else if days < warn as i64 {
                s.push_str(&format!(" (in {days} days)"));
            }
            parts.push(s);
        }
    }
    if !seen.auth.is_empty() {
        parts.push(format!("AUTH {}", seen.auth.join(" ")));
    }
    format!("{} ({})", seen.banner, parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_lists_from_capabilities() {
        let pop = vec!["TOP".to_string(), "SASL PLAIN LOGIN".into(), "USER".into()];
        assert_eq!(pop3_auth(&pop), vec!["PLAIN", "LOGIN", "USER"]);
        let imap = vec![
            "IMAP4rev1".to_string(),
            "auth=plain".into(),
            "AUTH=LOGIN".into(),
        ];
        assert_eq!(imap_auth(&imap), vec!["PLAIN", "LOGIN"]);
    }

    #[test]
    fn imap_banner_drops_the_capability_list() {
        assert_eq!(
            without_capability_code("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot ready."),
            "* OK Dovecot ready."
        );
        assert_eq!(without_capability_code("* OK ready"), "* OK ready");
    }

    #[test]
    fn summary_line_shape() {
        let ep = Endpoint {
            host: "mta1".into(),
            address: "127.0.1.1".into(),
            port: 25,
            proto: Proto::Smtp,
            tls: TlsMode::Starttls,
            tls_options: Default::default(),
            auth: None,
        };
        let seen = Seen {
            banner: "220 mta1.example.test ESMTP".into(),
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                cipher: String::new(),
                cert_not_after: Some(4_000_000_000),
                insecure: false,
            }),
            auth: vec!["PLAIN".into(), "LOGIN".into()],
            notes: vec![],
        };
        assert_eq!(
            summary(&ep, &seen),
            "220 mta1.example.test ESMTP (starttls ok TLSv1.3, cert expires 2096-10-02, AUTH PLAIN LOGIN)"
        );
        let expired = Seen {
            tls: Some(TlsInfo {
                cert_not_after: Some(1_000_000_000),
                insecure: true,
                ..seen.tls.clone().unwrap()
            }),
            ..seen
        };
        let s = summary(&ep, &expired);
        assert!(s.contains("NOT verified") && s.contains("(EXPIRED)"), "{s}");
    }
}
