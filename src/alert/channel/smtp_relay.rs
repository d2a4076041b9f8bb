//! smtp_relay: mail through an **external** relay (lettre, rustls/ring),
//! never through the monitored site: `alert::validate` refuses a relay that
//! is one of the suite's hosts unless `allow_site_relay: true`.
//! STARTTLS (default) or implicit TLS, verified; AUTH with a password by
//! reference. A report notice sends its text or HTML body.


use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::alert::notice::Notice;
use crate::suite::model::TlsMode;
use crate::suite::alerting::smtp_relay::Spec;

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
        .timeout(Some(crate::suite::alerting::smtp_relay::timeout(spec)))
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
