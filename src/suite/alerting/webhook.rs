//! webhook: HTTP POST of the notice as JSON (the documented body, see
//! `notice::Notice`), or a bare GET/POST for heartbeat URLs. Secret headers
//! come by reference (`headers_env` / `headers_file`); a non-2xx reply fails.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Target;
use crate::suite::diag::Severity;
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
    pub url: String,
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

/// Files this channel reads (anchored to the file that declares them).
pub fn files(spec: &mut Spec) -> Vec<&mut PathBuf> {
    spec.headers_file.values_mut().chain(spec.ca_file.as_mut()).collect()
}

pub fn targets(spec: &Spec) -> Vec<Target> {
    super::url_target("url", &spec.url).into_iter().collect()
}

pub fn check(spec: &Spec) -> Vec<(Severity, String)> {
    let mut out = super::check_headers(&spec.headers_env, &spec.headers_file);
    match reqwest::Url::parse(&spec.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {
            if u.password().is_some() {
                out.push((
                    Severity::Warning,
                    "url: contains a password; use headers_env/headers_file".into(),
                ));
            }
        }
        Ok(u) => out.push((
            Severity::Error,
            format!("url: scheme {} is not http or https", u.scheme()),
        )),
        Err(e) => out.push((Severity::Error, format!("url: invalid URL ({e})"))),
    }
    out
}
