//! The `webhook` alert channel as the user declares it: keys, files to anchor,
//! network targets and static checks. Delivery: `alert::channel::webhook`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Target;
use crate::secret::{Secret, SecretRef};
use crate::suite::Severity;
use crate::suite::duration::Dur;

pub const REFRESH: bool = false;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    #[default]
    Post,
    Put,
    /// No body: for heartbeat (dead man's switch) URLs.
    Get,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The URL written inline. Slack, Discord, Teams and healthchecks-style
    /// services put their secret in the path: give those by reference
    /// (`url_env` / `url_file`). Either way only scheme://host:port is ever
    /// printed.
    #[serde(default)]
    pub url: Option<String>,
    /// Environment variable holding the URL.
    #[serde(default)]
    pub url_env: Option<String>,
    /// File holding the URL (mode 0600).
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    #[serde(default)]
    pub method: Method,
    /// Header name -> environment variable holding its value.
    #[serde(default)]
    pub headers_env: BTreeMap<String, String>,
    /// Header name -> file holding its value (mode 0600).
    #[serde(default)]
    pub headers_file: BTreeMap<String, PathBuf>,
    /// Whole request deadline (default 10s).
    #[serde(default)]
    pub timeout: Option<Dur>,
    /// Extra PEM CA for an https URL.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}
impl Spec {
    /// Where the URL comes from, with the key that declared it; None
    /// unless exactly one of `url`, `url_env`, `url_file` is given.
    pub fn url_ref(&self) -> Option<(&'static str, SecretRef)> {
        match (&self.url, &self.url_env, &self.url_file) {
            (Some(u), None, None) => Some(("url", SecretRef::Inline(Secret::new(u.clone())))),
            (None, Some(e), None) => Some(("url_env", SecretRef::Env(e.clone()))),
            (None, None, Some(f)) => Some(("url_file", SecretRef::File(f.clone()))),
            _ => None,
        }
    }
}

/// Files this channel reads (anchored to the file that declares them).
pub fn files(spec: &mut Spec) -> Vec<&mut PathBuf> {
    spec.headers_file
        .values_mut()
        .chain(spec.ca_file.as_mut())
        .chain(spec.url_file.as_mut())
        .collect()
}

/// The URL's host (resolved from its reference when that is readable now).
pub fn targets(spec: &Spec) -> Vec<Target> {
    let Some((key, r)) = spec.url_ref() else {
        return vec![];
    };
    r.resolve()
        .ok()
        .and_then(|u| super::url_target(key, u.expose()))
        .into_iter()
        .collect()
}

pub fn check(spec: &Spec) -> Vec<(Severity, String)> {
    let mut out = super::check_headers(&spec.headers_env, &spec.headers_file);
    let Some((key, r)) = spec.url_ref() else {
        out.push((
            Severity::Error,
            "give exactly one of url, url_env, url_file".into(),
        ));
        return out;
    };
    if let Some(w) = super::check_secret(key, &r) {
        out.push(w);
        return out;
    }
    let Ok(url) = r.resolve() else {
        out.push((Severity::Error, format!("{key}: empty")));
        return out;
    };
    // Messages name the key and the URL's scheme only: the path may be a token.
    match reqwest::Url::parse(url.expose()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {
            if u.password().is_some() {
                out.push((
                    Severity::Warning,
                    format!("{key}: contains a password; use headers_env/headers_file"),
                ));
            }
        }
        Ok(u) => out.push((
            Severity::Error,
            format!("{key}: scheme {} is not http or https", u.scheme()),
        )),
        Err(e) => out.push((Severity::Error, format!("{key}: invalid URL ({e})"))),
    }
    out
}

/// Whole-send deadline (default 10s).
pub fn timeout(spec: &Spec) -> std::time::Duration {
    spec.timeout
        .map_or(std::time::Duration::from_secs(10), |d| d.0)
}
