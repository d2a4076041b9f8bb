//! Delivery channels. A channel is one file exposing `Spec` (its YAML keys),
//! `send`, `targets` (network places it talks to, for the site-dependency
//! check), `files` (paths to anchor) and `check` (static config problems), plus one line in `channels!`.

use serde::{Deserialize, Serialize};

use super::notice::Notice;
use crate::suite::Severity;

/// A network place a channel talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Key path inside the channel spec, for diagnostics (`url`, `urls[1]`, `host`).
    pub key: String,
    pub host: String,
    pub port: u16,
}

macro_rules! channels {
    ($($m:ident => $V:ident),* $(,)?) => {
        $(pub mod $m;)*

        /// `<name>: {<kind>: {...}}` in `alerting.channels`.
        #[derive(Debug, Clone, Deserialize, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ChannelSpec {
            $($V($m::Spec),)*
        }

        impl ChannelSpec {
            pub fn kind(&self) -> &'static str {
                match self { $(Self::$V(_) => stringify!($m),)* }
            }
            /// Deliver one notice; Err is a one-line, secret-free reason.
            pub async fn send(&self, n: &Notice) -> Result<(), String> {
                match self { $(Self::$V(s) => $m::send(s, n).await,)* }
            }
            pub fn files(&mut self) -> Vec<&mut std::path::PathBuf> {
                match self { $(Self::$V(s) => $m::files(s),)* }
            }
            pub fn targets(&self) -> Vec<Target> {
                match self { $(Self::$V(s) => $m::targets(s),)* }
            }
            pub fn check(&self) -> Vec<(Severity, String)> {
                match self { $(Self::$V(s) => $m::check(s),)* }
            }
            /// Channels whose receiver forgets a firing alert unless it is
            /// re-sent every run (Alertmanager's resolve_timeout).
            pub fn wants_refresh(&self) -> bool {
                match self { $(Self::$V(_) => $m::REFRESH,)* }
            }
        }
    };
}

channels! {
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

/// Host and port of an http(s) URL, for `targets`.
pub(crate) fn url_target(key: &str, url: &str) -> Option<Target> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(Target {
        key: key.to_string(),
        host: u.host_str()?.trim_matches(['[', ']']).to_string(),
        port: u.port_or_known_default()?,
    })
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

/// Static check of one secret reference: unset variable, missing or too open file.
pub(crate) fn check_secret(key: &str, r: &crate::secret::SecretRef) -> Option<(Severity, String)> {
    use crate::secret::SecretRef;
    let msg = match r {
        SecretRef::Env(v) if std::env::var_os(v).is_none() => {
            format!("{key}: environment variable {v} is not set")
        }
        SecretRef::File(p) if !p.exists() => format!("{key}: {} does not exist", p.display()),
        SecretRef::File(p) if crate::secret::too_open(p) => {
            format!("{key}: {} is readable by group or others", p.display())
        }
        _ => return None,
    };
    Some((Severity::Warning, msg))
}

/// Static check for header secret references.
pub(crate) fn check_headers(
    env: &std::collections::BTreeMap<String, String>,
    file: &std::collections::BTreeMap<String, std::path::PathBuf>,
) -> Vec<(Severity, String)> {
    use crate::secret::SecretRef;
    let env = env
        .iter()
        .map(|(k, v)| (format!("headers_env.{k}"), SecretRef::Env(v.clone())));
    let file = file
        .iter()
        .map(|(k, p)| (format!("headers_file.{k}"), SecretRef::File(p.clone())));
    env.chain(file)
        .filter_map(|(k, r)| check_secret(&k, &r))
        .collect()
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

/// URL for diagnostics: scheme, host, port and path only.
pub(crate) fn url_for_log(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.to_string()
        }
        Err(_) => "<invalid url>".into(),
    }
}
