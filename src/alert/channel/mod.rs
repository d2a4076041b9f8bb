//! Delivery channels: each file here delivers a notice (`send`) for the
//! channel whose YAML keys, files, targets and static checks live in
//! `suite::alerting::<channel>`. A new channel: one file + one line in
//! `senders!` here, one file + one line in `suite::alerting`'s `channels!`.

use super::notice::Notice;
pub use crate::suite::alerting::{ChannelSpec, Target};

/// The registry of deliveries: one line per channel, `module => Variant`
/// (the variant of `suite::alerting::ChannelSpec` whose spec `module::send` delivers).
macro_rules! senders {
    ($($m:ident => $V:ident),* $(,)?) => {
        $(pub mod $m;)*

        /// Deliver one notice; Err is a one-line, secret-free reason.
        pub async fn send(spec: &ChannelSpec, n: &Notice) -> Result<(), String> {
            match spec { $(ChannelSpec::$V(s) => $m::send(s, n).await,)* }
        }
    };
}

senders! {
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
