//! The `smtp_relay` alert channel as the user declares it: keys, files to anchor,
//! network targets and static checks. Delivery: `alert::channel::smtp_relay`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Target;
use crate::secret::SecretRef;
use crate::suite::Severity;
use crate::suite::duration::Dur;
use crate::suite::model::TlsMode;

pub const REFRESH: bool = false;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub host: String,
    /// Default: 587 (starttls), 465 (implicit), 25 (none).
    #[serde(default)]
    pub port: Option<u16>,
    /// starttls (default), implicit or none.
    #[serde(default)]
    pub tls: Option<TlsMode>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    pub from: String,
    pub to: Vec<String>,
    /// Accept a relay that is a host of the monitored suite (the alert then
    /// fails with the site: say so explicitly).
    #[serde(default)]
    pub allow_site_relay: bool,
    /// EHLO name (default healthmon.invalid).
    #[serde(default)]
    pub helo: Option<String>,
    /// Default 30s.
    #[serde(default)]
    pub timeout: Option<Dur>,
}

impl Spec {
    pub fn mode(&self) -> TlsMode {
        self.tls.unwrap_or(TlsMode::Starttls)
    }
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.mode() {
            TlsMode::Starttls => 587,
            TlsMode::Implicit => 465,
            TlsMode::None => 25,
        })
    }
    pub fn password(&self) -> Option<SecretRef> {
        match (&self.password_env, &self.password_file) {
            (Some(e), _) => Some(SecretRef::Env(e.clone())),
            (None, Some(f)) => Some(SecretRef::File(f.clone())),
            _ => None,
        }
    }
}

/// Files this channel reads (anchored to the file that declares them).
pub fn files(spec: &mut Spec) -> Vec<&mut PathBuf> {
    spec.ca_file.as_mut().into_iter().chain(spec.password_file.as_mut()).collect()
}

pub fn targets(spec: &Spec) -> Vec<Target> {
    vec![Target {
        key: "host".into(),
        host: spec.host.clone(),
        port: spec.port(),
    }]
}

pub fn check(spec: &Spec) -> Vec<(Severity, String)> {
    let mut out = vec![];
    if spec.to.is_empty() {
        out.push((
            Severity::Error,
            "to: at least one recipient is needed".into(),
        ));
    }
    if spec.from.parse::<lettre::message::Mailbox>().is_err() {
        out.push((
            Severity::Error,
            format!("from: `{}` is not a mail address", spec.from),
        ));
    }
    for (i, t) in spec.to.iter().enumerate() {
        if t.parse::<lettre::message::Mailbox>().is_err() {
            out.push((
                Severity::Error,
                format!("to[{i}]: `{t}` is not a mail address"),
            ));
        }
    }
    if let Some(r) = spec.password() {
        let key = if spec.password_env.is_some() {
            "password_env"
        } else {
            "password_file"
        };
        out.extend(super::check_secret(key, &r));
    }
    if spec.mode() == TlsMode::None && spec.password().is_some() {
        out.push((
            Severity::Warning,
            "tls: none sends the relay password in clear text".into(),
        ));
    }
    out
}

/// Whole-send deadline (default 30s).
pub fn timeout(spec: &Spec) -> std::time::Duration {
    spec.timeout
        .map_or(std::time::Duration::from_secs(30), |d| d.0)
}
