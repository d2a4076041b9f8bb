//! Certificate verification for probes: the web PKI (system roots plus the
//! suite's `ca_file`) first; a certificate the suite pins is accepted on its
//! own, still checked for name and dates; every refusal in plain words with
//! the fix.
//!
//! Why pinning: sites often run self-signed certificates made with
//! `openssl req -x509`, which marks them `CA:TRUE`. webpki then refuses them
//! as server certificates (`CaUsedAsEndEntity`) even when the very same file
//! is given as `ca_file`, while swaks, curl and openssl accept exactly that
//! setup. A leaf that is byte-for-byte one of the `ca_file` certificates, or
//! whose SHA-256 (of the certificate or of its public key) is in
//! `pin_sha256`, is trusted as itself — no chain — and must still carry the
//! name we asked for and be within its dates.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, OtherError};
use x509_parser::prelude::{GeneralName, X509Certificate};

/// The handshake-signature half of a verifier: the provider's algorithms,
/// whatever the certificate decision was (also under `insecure`).
macro_rules! signature_checks {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algs = &self.provider.signature_verification_algorithms;
            rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algs = &self.provider.signature_verification_algorithms;
            rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    };
}

/// `insecure: true`: accepts any certificate, still checks handshake
/// signatures (explicit in the suite, reported on every run).
#[derive(Debug)]
pub struct AcceptAny {
    pub provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    signature_checks!();
}

/// Verification with pins. `pinned_der` are the `ca_file` certificates,
/// `pins` the decoded `pin_sha256` values.
#[derive(Debug)]
pub struct PinningVerifier {
    pub inner: Arc<WebPkiServerVerifier>,
    pub pinned_der: Vec<Vec<u8>>,
    pub pins: Vec<[u8; 32]>,
    pub provider: Arc<CryptoProvider>,
}

/// A refusal in plain words (what rustls would print as `Other(...)`).
#[derive(Debug)]
struct Plain(String);

impl std::fmt::Display for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Plain {}

fn refuse(words: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Plain(words)))))
}

/// SHA-256 of `data`.
fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The names a certificate is valid for: DNS and IP subjectAltNames, else
/// its CN (as OpenSSL's host check falls back to it).
fn names(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => out.push(d.to_string()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => out.push(
                        std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).unwrap()).to_string(),
                    ),
                    16 => out.push(
                        std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).unwrap()).to_string(),
                    ),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    if out.is_empty() {
        out.extend(
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok().map(str::to_string)),
        );
    }
    out
}

fn name_matches(pattern: &str, want: &str) -> bool {
    let (p, w) = (pattern.to_ascii_lowercase(), want.to_ascii_lowercase());
    if p == w {
        return true;
    }
    // `*.example.test` covers exactly one left-most label.
    match p.strip_prefix("*.") {
        Some(rest) => w
            .split_once('.')
            .is_some_and(|(label, tail)| !label.is_empty() && tail == rest),
        None => false,
    }
}

fn server_name_str(n: &ServerName<'_>) -> String {
    match n {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => String::new(),
    }
}

fn date(unix: i64) -> String {
    crate::fmt::day(unix)
}

/// Name and dates of a pinned certificate (the chain is the pin itself).
fn check_pinned(der: &[u8], name: &ServerName<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| refuse(format!("pinned certificate does not parse: {e}")))?;
    let now = now.as_secs() as i64;
    let v = cert.validity();
    if now > v.not_after.timestamp() {
        return Err(refuse(format!(
            "certificate expired on {} (pinned; renew it and pin the new one)",
            date(v.not_after.timestamp())
        )));
    }
    if now < v.not_before.timestamp() {
        return Err(refuse(format!(
            "certificate not valid before {} (pinned; check the clocks)",
            date(v.not_before.timestamp())
        )));
    }
    let want = server_name_str(name);
    let have = names(&cert);
    if !have.iter().any(|h| name_matches(h, &want)) {
        return Err(refuse(format!(
            "certificate is for {}, not {want}; set tls.server_name to one of those or reissue the certificate",
            list(&have)
        )));
    }
    Ok(())
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "no name at all".into()
    } else {
        names.join(", ")
    }
}

impl PinningVerifier {
    fn pinned(&self, der: &[u8]) -> bool {
        if self.pinned_der.iter().any(|p| p.as_slice() == der) {
            return true;
        }
        if self.pins.is_empty() {
            return false;
        }
        let spki = x509_parser::parse_x509_certificate(der)
            .ok()
            .map(|(_, c)| sha256(c.public_key().raw));
        self.pins
            .iter()
            .any(|p| *p == sha256(der) || Some(*p) == spki)
    }

    /// The web PKI's refusal, in words an operator can act on.
    fn explain(&self, e: rustls::Error, der: &[u8], name: &ServerName<'_>) -> rustls::Error {
        let parsed = x509_parser::parse_x509_certificate(der).ok();
        let cert = parsed.as_ref().map(|(_, c)| c);
        let have = cert.map(names).unwrap_or_default();
        let want = server_name_str(name);
        let ce = match &e {
            rustls::Error::InvalidCertificate(ce) => ce,
            _ => return e,
        };
        let pin_hint = "give exactly this certificate as ca_file (or its pin_sha256) to pin it";
        let words = match ce {
            CertificateError::UnknownIssuer => match cert {
                Some(c) if c.subject() == c.issuer() => format!(
                    "self-signed certificate for {} that is not pinned; {pin_hint}",
                    list(&have)
                ),
                Some(c) => format!(
                    "certificate issued by \"{}\", a CA that is neither in the system store nor in ca_file; give that CA as ca_file",
                    c.issuer()
                ),
                None => format!("certificate issued by an unknown CA; {pin_hint}"),
            },
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "certificate is for {}, not {want}; set tls.server_name to one of those or reissue the certificate",
                    list(&have)
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => match cert {
                Some(c) => format!(
                    "certificate expired on {}",
                    date(c.validity().not_after.timestamp())
                ),
                None => "certificate expired".into(),
            },
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                match cert {
                    Some(c) => format!(
                        "certificate not valid before {} (check the clocks)",
                        date(c.validity().not_before.timestamp())
                    ),
                    None => "certificate not valid yet (check the clocks)".into(),
                }
            }
            // webpki's CaUsedAsEndEntity reaches rustls only as an opaque
            // `Other`; its Debug text is the one stable handle.
            CertificateError::Other(o) if format!("{o:?}").contains("CaUsedAsEndEntity") => {
                format!(
                    "the server presents a CA certificate (CA:TRUE, as `openssl req -x509` makes) as its own; {pin_hint}"
                )
            }
            _ => return e,
        };
        refuse(words)
    }
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let der = end_entity.as_ref();
        if self.pinned(der) {
            // A pinned leaf stands for itself whatever webpki thinks of its
            // chain or CA flag; name and dates still apply.
            check_pinned(der, server_name, now)?;
            return Ok(ServerCertVerified::assertion());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| self.explain(e, der, server_name))
    }

    signature_checks!();
}

/// The words of a failed handshake: our plain refusal when there is one,
/// else rustls' own text.
pub fn handshake_error(e: &std::io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(CertificateError::Other(o))) => {
            match o.0.downcast_ref::<Plain>() {
                Some(p) => format!("certificate refused: {p}"),
                None => e.to_string(),
            }
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_in_hex_colon_hex_and_base64() {
        use crate::suite::pin::parse_pin;
        use base64::Engine;
        let raw = [0xabu8; 32];
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let colon: Vec<String> = raw.iter().map(|b| format!("{b:02X}")).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(parse_pin(&hex), Ok(raw));
        assert_eq!(parse_pin(&colon.join(":")), Ok(raw));
        assert_eq!(parse_pin(&b64), Ok(raw));
        assert_eq!(parse_pin(&format!("sha256//{b64}")), Ok(raw));
        assert!(parse_pin("abcd").is_err());
        assert!(parse_pin(&base64::engine::general_purpose::STANDARD.encode([1u8; 20])).is_err());
    }

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_matches("mx.example.test", "MX.example.test"));
        assert!(name_matches("*.example.test", "mx.example.test"));
        assert!(!name_matches("*.example.test", "a.b.example.test"));
        assert!(!name_matches("*.example.test", "example.test"));
        assert!(!name_matches("mx.example.test", "mx2.example.test"));
    }
}
