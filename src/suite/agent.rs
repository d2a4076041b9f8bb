//! `hosts.<name>.agent`: where the healthmon agent of a host listens. One
//! declaration serves both sides: the agent binds to the URL's address and
//! port and requires the token; the central monitor pulls from the URL with
//! the token and trusts `ca_file`.
//!
//! ```yaml
//! hosts:
//!   mta1:
//!     agent: {url: "https://mta1.example.net:9783", token_file: /etc/healthmon/agent.token,
//!             ca_file: /etc/healthmon/agent-ca.pem, interval: 60s}
//! ```

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Severity;
use super::duration::Dur;
use crate::secret::SecretRef;

/// How often an agent runs its checks when the suite does not say.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    /// `http(s)://HOST:PORT`: where the central monitor reaches the agent
    /// (and where the agent listens, unless `agent --listen` says otherwise).
    pub url: String,
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// HTTP basic auth instead of a bearer token.
    #[serde(default)]
    pub basic: Option<AgentBasic>,
    /// CA (or the agent's own self-signed certificate) to trust for https.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// How often the agent runs the host's checks; results older than
    /// twice this are stale at the central monitor.
    #[serde(default)]
    pub interval: Option<Dur>,
    /// The agent's own certificate and key (PEM), for an https URL.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// `agent.basic`: user and password by reference.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgentBasic {
    pub user: String,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

impl AgentBasic {
    pub fn password(&self) -> Option<SecretRef> {
        match (&self.password_env, &self.password_file) {
            (Some(e), _) => Some(SecretRef::Env(e.clone())),
            (None, Some(f)) => Some(SecretRef::File(f.clone())),
            (None, None) => None,
        }
    }
}

/// A parsed agent URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl AgentUrl {
    pub fn parse(url: &str) -> Result<AgentUrl, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!(
                "`{url}`: expected http://HOST:PORT or https://HOST:PORT"
            ));
        };
        let auth = rest.trim_end_matches('/');
        if auth.contains('/') || auth.contains('@') || auth.contains('?') {
            return Err(format!(
                "`{url}`: give only scheme, host and port (no path, user or query)"
            ));
        }
        let (host, port) = match auth.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| format!("`{url}`: port `{p}` is not a number 1-65535"))?;
                (h, port)
            }
            _ => (auth, if tls { 443 } else { 80 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || port == 0 {
            return Err(format!("`{url}`: no host or port"));
        }
        Ok(AgentUrl {
            tls,
            host: host.to_string(),
            port,
        })
    }

    /// True when the host is a loopback address (or `localhost`).
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// Base URL without a trailing slash.
    pub fn base(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!(
            "{}://{host}:{}",
            if self.tls { "https" } else { "http" },
            self.port
        )
    }
}

impl AgentSpec {
    pub fn parsed_url(&self) -> Result<AgentUrl, String> {
        AgentUrl::parse(&self.url)
    }

    /// The token, by reference; None when the agent is open (loopback only).
    pub fn token(&self) -> Option<SecretRef> {
        match (&self.token_env, &self.token_file) {
            (Some(e), _) => Some(SecretRef::Env(e.clone())),
            (None, Some(f)) => Some(SecretRef::File(f.clone())),
            (None, None) => None,
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval.map(|d| d.0).unwrap_or(DEFAULT_INTERVAL)
    }

    /// Files read by the monitor or the agent (anchored at the suite file).
    pub fn local_files(&mut self) -> impl Iterator<Item = &mut PathBuf> {
        [
            self.token_file.as_mut(),
            self.basic.as_mut().and_then(|b| b.password_file.as_mut()),
            self.ca_file.as_mut(),
            self.cert_file.as_mut(),
            self.key_file.as_mut(),
        ]
        .into_iter()
        .flatten()
    }
}

type Finding = (String, Severity, String);

/// Problems of every `hosts.<name>.agent` (host name, spec), at their key paths.
pub fn validate<'a>(agents: impl Iterator<Item = (&'a String, &'a AgentSpec)>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, a) in agents {
        let at = |k: &str| format!("hosts.{name}.agent{k}");
        let mut err = |k: &str, m: String| out.push((at(k), Severity::Error, m));
        let url = match a.parsed_url() {
            Ok(u) => Some(u),
            Err(e) => {
                err(".url", e);
                None
            }
        };
        if a.token_env.is_some() && a.token_file.is_some() {
            err(
                "",
                "give one of `token_env` or `token_file`, not both".into(),
            );
        }
        if a.token().is_some() && a.basic.is_some() {
            err("", "give a token or `basic`, not both".into());
        }
        if let Some(b) = &a.basic {
            if b.user.is_empty() || b.user.contains(':') {
                err(".basic.user", "not empty, no `:`".into());
            }
            if b.password_env.is_some() == b.password_file.is_some() {
                err(
                    ".basic",
                    "give exactly one of `password_env` or `password_file`".into(),
                );
            }
        }
        if let Some(u) = &url {
            if a.token().is_none() && a.basic.is_none() && !u.is_loopback() {
                err(
                    "",
                    format!(
                        "an agent reached at {} (beyond loopback) needs `token_file`, `token_env` or `basic`",
                        u.host
                    ),
                );
            }
            if !u.tls && (a.ca_file.is_some() || a.cert_file.is_some()) {
                err(
                    ".url",
                    "`ca_file`/`cert_file` are given but the url is http://: use https://".into(),
                );
            }
        }
        if a.cert_file.is_some() != a.key_file.is_some() {
            err(
                "",
                "give both `cert_file` and `key_file`, or neither".into(),
            );
        }
        if a.interval.is_some_and(|d| d.0 < Duration::from_secs(1)) {
            err(".interval", "at least 1s".into());
        }
        if let Some(f) = &a.ca_file
            && !f.exists()
        {
            err(".ca_file", format!("{} does not exist", f.display()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = AgentUrl::parse("https://127.0.1.1:9783").unwrap();
        assert_eq!((u.tls, u.host.as_str(), u.port), (true, "127.0.1.1", 9783));
        assert!(u.is_loopback());
        assert_eq!(u.base(), "https://127.0.1.1:9783");
        let u = AgentUrl::parse("http://mta1.example.net/").unwrap();
        assert_eq!((u.port, u.is_loopback()), (80, false));
        let u = AgentUrl::parse("http://[::1]:81").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 81));
        assert_eq!(u.base(), "http://[::1]:81");
        for bad in [
            "ftp://x",
            "http://x:99999",
            "http://x/path",
            "http://u@x",
            "http://:80",
        ] {
            assert!(AgentUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
