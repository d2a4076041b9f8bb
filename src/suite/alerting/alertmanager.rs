//! The `alertmanager` alert channel as the user declares it: keys, files to anchor,
//! network targets and static checks. Delivery: `alert::channel::alertmanager`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Target;
use crate::suite::Severity;
use crate::suite::duration::Dur;

pub const REFRESH: bool = true;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Base URLs, e.g. `http://127.0.0.1:9093`.
    pub urls: Vec<String>,
    /// How long a firing alert stays active without a refresh (default 30m:
    /// covers a few missed 5-minute cron runs).
    #[serde(default)]
    pub ends_after: Option<Dur>,
    #[serde(default)]
    pub timeout: Option<Dur>,
    #[serde(default)]
    pub headers_env: BTreeMap<String, String>,
    #[serde(default)]
    pub headers_file: BTreeMap<String, PathBuf>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Link shown in Alertmanager (a status page, a runbook).
    #[serde(default)]
    pub generator_url: Option<String>,
}
/// Files this channel reads (anchored to the file that declares them).
pub fn files(spec: &mut Spec) -> Vec<&mut PathBuf> {
    spec.headers_file
        .values_mut()
        .chain(spec.ca_file.as_mut())
        .collect()
}

pub fn targets(spec: &Spec) -> Vec<Target> {
    spec.urls
        .iter()
        .enumerate()
        .filter_map(|(i, u)| super::url_target(&format!("urls[{i}]"), u))
        .collect()
}

pub fn check(spec: &Spec) -> Vec<(Severity, String)> {
    let mut out = super::check_headers(&spec.headers_env, &spec.headers_file);
    if spec.urls.is_empty() {
        out.push((
            Severity::Error,
            "urls: at least one Alertmanager URL is needed".into(),
        ));
    }
    for (i, u) in spec.urls.iter().enumerate() {
        if let Err(e) = reqwest::Url::parse(u) {
            out.push((Severity::Error, format!("urls[{i}]: invalid URL ({e})")));
        }
    }
    out
}

/// Whole-send deadline (default 10s).
pub fn timeout(spec: &Spec) -> std::time::Duration {
    spec.timeout
        .map_or(std::time::Duration::from_secs(10), |d| d.0)
}
