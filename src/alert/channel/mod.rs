//! Delivery channels: one file per channel exposing `send` for its spec
//! (`suite::alerting::<channel>::Spec`), plus one line in `deliver!`.

use super::notice::Notice;

pub use crate::suite::alerting::{ChannelSpec, Target};

/// One delivery file per channel kind, registered by one line (its spec
/// and static rules are the file of the same name in `suite::alerting`).
macro_rules! deliver {
    ($($m:ident => $V:ident),* $(,)?) => {
        $(pub mod $m;)*

        /// Deliver one notice within `limit` (at most the channel's own
        /// timeout); Err is a one-line, secret-free reason. The deadline
        /// is ours, around the whole send: lettre's covers only the TCP
        /// connect, and a relay that accepts and never greets would
        /// otherwise hold the run (and its lock) forever.
        pub async fn send_within(
            spec: &ChannelSpec,
            n: &Notice,
            limit: std::time::Duration,
        ) -> Result<(), String> {
            let limit = limit.min(spec.timeout());
            let work = async {
                match spec { $(ChannelSpec::$V(s) => $m::send(s, n).await,)* }
            };
            match tokio::time::timeout(limit, work).await {
                Ok(r) => r,
                Err(_) => Err(format!(
                    "no complete delivery within {}",
                    crate::suite::duration::Dur(limit)
                )),
            }
        }

        /// [`send_within`] the channel's own timeout.
        pub async fn send(spec: &ChannelSpec, n: &Notice) -> Result<(), String> {
            send_within(spec, n, spec.timeout()).await
        }
    };
}

deliver! {
    log => Log,
    webhook => Webhook,
    alertmanager => Alertmanager,
    command => Command,
    smtp_relay => SmtpRelay,
}

/// Install the ring provider once; tolerant of an earlier install (main does it too).
pub(crate) fn ensure_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Resolve `headers_env` / `headers_file` into a header map (values never logged).
pub(crate) fn secret_headers(
    env: &std::collections::BTreeMap<String, String>,
    file: &std::collections::BTreeMap<String, std::path::PathBuf>,
) -> Result<reqwest::header::HeaderMap, String> {
    use crate::secret::SecretRef;
    let mut h = reqwest::header::HeaderMap::new();
    let refs = env
        .iter()
        .map(|(k, v)| (k, SecretRef::Env(v.clone())))
        .chain(file.iter().map(|(k, p)| (k, SecretRef::File(p.clone()))));
    for (name, r) in refs {
        let s = r
            .resolve()
            .map_err(|e| format!("header {name} ({}): {e}", r.describe()))?;
        let n = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name}"))?;
        let mut v = reqwest::header::HeaderValue::from_str(s.expose())
            .map_err(|_| format!("header {name} ({}): invalid header value", r.describe()))?;
        v.set_sensitive(true);
        h.insert(n, v);
    }
    Ok(h)
}

/// HTTP client for webhook and Alertmanager: rustls (ring), optional extra CA.
pub(crate) fn http_client(
    timeout: std::time::Duration,
    ca_file: Option<&std::path::Path>,
) -> Result<reqwest::Client, String> {
    ensure_crypto();
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("healthmon/", env!("CARGO_PKG_VERSION")));
    if let Some(p) = ca_file {
        let pem = std::fs::read(p).map_err(|e| format!("ca_file {}: {e}", p.display()))?;
        let c = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| format!("ca_file {}: {e}", p.display()))?;
        b = b.add_root_certificate(c);
    }
    b.build().map_err(|e| format!("http client: {e}"))
}

/// `reqwest` error text without the URL's query (which may hold a token).
pub(crate) fn http_error(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect failed"
    } else {
        "request failed"
    };
    let mut src = String::new();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = cur {
        src = s.to_string();
        cur = s.source();
    }
    if src.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {src}")
    }
}

/// URL for diagnostics: scheme://host:port and nothing else. Slack,
/// Discord, Teams and healthchecks-style URLs carry their secret in the
/// path, others in the query or user info; none of those is printed.
pub(crate) fn url_for_log(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}", u.scheme()),
            (Some(h), None) => format!("{}://{h}", u.scheme()),
            _ => format!("{}://", u.scheme()),
        },
        Err(_) => "<invalid url>".into(),
    }
}
