//! smtp_relay: mail through an **external** relay (lettre, rustls/ring),
//! never through the monitored site: `alert::validate` refuses a relay that
//! is one of the suite's hosts unless `allow_site_relay: true`.
//! STARTTLS (default) or implicit TLS, verified; AUTH with a password by
//! reference. A report notice sends its text or HTML body.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use super::Target;
use crate::alert::notice::Notice;
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
    fn mode(&self) -> TlsMode {
        self.tls.unwrap_or(TlsMode::Starttls)
    }
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.mode() {
            TlsMode::Starttls => 587,
            TlsMode::Implicit => 465,
            TlsMode::None => 25,
        })
    }
    fn password(&self) -> Option<SecretRef> {
        match (&self.password_env, &self.password_file) {
            (Some(e), _) => Some(SecretRef::Env(e.clone())),
            (None, Some(f)) => Some(SecretRef::File(f.clone())),
            _ => None,
        }
    }
}

fn message(spec: &Spec, n: &Notice) -> Result<Message, String> {
    let mut b = Message::builder()
        .from(
            spec.from
                .parse()
                .map_err(|e| format!("from {}: {e}", spec.from))?,
        )
        .subject(n.subject());
    for t in &spec.to {
        b = b.to(t.parse().map_err(|e| format!("to {t}: {e}"))?);
    }
    let ct = if n.body_type == "text/html" {
        ContentType::TEXT_HTML
    } else {
        ContentType::TEXT_PLAIN
    };
    b.header(ct)
        .body(n.text())
        .map_err(|e| format!("message: {e}"))
}

fn transport(spec: &Spec) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    super::ensure_crypto();
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(spec.host.clone())
        .port(spec.port())
        .timeout(Some(spec.timeout.map_or(Duration::from_secs(30), |d| d.0)))
        .hello_name(ClientId::Domain(
            spec.helo
                .clone()
                .unwrap_or_else(|| "healthmon.invalid".into()),
        ));
    if spec.mode() != TlsMode::None {
        let mut p = TlsParameters::builder(spec.host.clone());
        if let Some(ca) = &spec.ca_file {
            let pem = std::fs::read(ca).map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
            let c = Certificate::from_pem(&pem)
                .map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
            p = p.add_root_certificate(c);
        }
        let p = p.build_rustls().map_err(|e| format!("tls: {e}"))?;
        b = b.tls(match spec.mode() {
            TlsMode::Implicit => Tls::Wrapper(p),
            _ => Tls::Required(p),
        });
    } else {
        b = b.tls(Tls::None);
    }
    if let Some(r) = spec.password() {
        let pw = r
            .resolve()
            .map_err(|e| format!("password ({}): {e}", r.describe()))?;
        let user = spec.username.clone().unwrap_or_else(|| spec.from.clone());
        b = b.credentials(Credentials::new(user, pw.expose().to_string()));
    }
    Ok(b.build())
}

pub async fn send(spec: &Spec, n: &Notice) -> Result<(), String> {
    let m = message(spec, n)?;
    let t = transport(spec)?;
    t.send(m)
        .await
        .map(|_| ())
        .map_err(|e| format!("{}:{}: {e}", spec.host, spec.port()))
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
