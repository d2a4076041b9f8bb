//! TLS client side for probes: rustls with the ring provider only.
//!
//! Verification is on by default (system roots + the suite's `ca_file`).
//! `insecure: true` swaps in a verifier that accepts any certificate; that is
//! explicit in the suite and reported as a fact and a transcript note, never
//! silent. Configs are cached because loading the system store costs ~10 ms.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::suite::model::TlsSpec;
use crate::suite::resolve::Endpoint;

/// What a finished handshake showed (facts for reports and metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.3`, `TLSv1.2`.
    pub version: String,
    /// IANA-style suite name, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// Leaf certificate notAfter, unix seconds.
    pub cert_not_after: Option<i64>,
    /// Verification was switched off for this connection.
    pub insecure: bool,
}

/// (ca_file, insecure, pin_sha256): what a config depends on.
type Key = (Option<PathBuf>, bool, Vec<String>);

fn cache() -> &'static Mutex<HashMap<Key, Arc<ClientConfig>>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<ClientConfig>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Client config for an endpoint's TLS options (cached per CA file,
/// insecure and pins).
pub fn client_config(opts: &TlsSpec) -> Result<Arc<ClientConfig>, String> {
    let key: Key = (
        opts.ca_file.clone(),
        opts.insecure.unwrap_or(false),
        opts.pin_sha256.clone().unwrap_or_default(),
    );
    if let Some(c) = cache().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let cfg = Arc::new(build_config(&key)?);
    cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, cfg.clone());
    Ok(cfg)
}

fn build_config((ca_file, insecure, pins): &Key) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls setup: {e}"))?;
    if *insecure {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(super::tls_verify::AcceptAny { provider }))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped: the suite's CA may be all we need.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    let mut pinned_der = Vec::new();
    if let Some(path) = ca_file {
        let certs = read_ca_file(path)?;
        pinned_der = certs.iter().map(|c| c.as_ref().to_vec()).collect();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(format!("ca_file {}: no usable certificate", path.display()));
        }
    }
    let pins = pins
        .iter()
        .map(|p| crate::suite::pin::parse_pin(p).map_err(|e| format!("pin_sha256 {p:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| {
        format!("tls setup: no trust anchors ({e}): install ca-certificates or give ca_file")
    })?;
    let verifier = super::tls_verify::PinningVerifier {
        inner,
        pinned_der,
        pins,
        provider,
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

fn read_ca_file(path: &PathBuf) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("ca_file {}: {e}", path.display()))?;
    rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("ca_file {}: {e}", path.display()))
}

pub use super::tls_verify::handshake_error;

/// Name to verify and send as SNI: `tls_options.server_name`, else the address.
pub fn server_name(ep: &Endpoint) -> Result<ServerName<'static>, String> {
    let name = ep
        .tls_options
        .server_name
        .clone()
        .unwrap_or_else(|| ep.address.clone());
    ServerName::try_from(name.clone()).map_err(|e| format!("invalid TLS server name {name:?}: {e}"))
}

/// Facts of a finished client handshake.
pub fn info(conn: &rustls::ClientConnection, insecure: bool) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(v) => format!("{v:?}"),
        None => "unknown".to_string(),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    let cert_not_after = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|leaf| cert_not_after(leaf.as_ref()));
    TlsInfo {
        version,
        cipher,
        cert_not_after,
        insecure,
    }
}

/// notAfter of a DER certificate, unix seconds.
pub fn cert_not_after(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// `2027-11-28` for a unix timestamp (report lines).
pub fn date(unix: i64) -> String {
    crate::fmt::day(unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_is_a_clear_error() {
        let spec = TlsSpec {
            ca_file: Some("/nonexistent/healthmon-ca.pem".into()),
            ..Default::default()
        };
        let e = client_config(&spec).unwrap_err();
        assert!(e.contains("/nonexistent/healthmon-ca.pem"), "{e}");
    }

    #[test]
    fn ca_file_without_certificates_is_refused() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), "not a certificate\n").unwrap();
        let spec = TlsSpec {
            ca_file: Some(f.path().to_path_buf()),
            ..Default::default()
        };
        assert!(
            client_config(&spec)
                .unwrap_err()
                .contains("no usable certificate")
        );
    }

    #[test]
    fn server_name_prefers_the_configured_name() {
        let mut ep = Endpoint {
            host: "mta1".into(),
            address: "127.0.1.1".into(),
            port: 25,
            proto: crate::suite::model::Proto::Smtp,
            tls: Default::default(),
            tls_options: TlsSpec::default(),
            auth: None,
        };
        assert!(matches!(
            server_name(&ep).unwrap(),
            ServerName::IpAddress(_)
        ));
        ep.tls_options.server_name = Some("mta1.example.test".into());
        assert_eq!(
            server_name(&ep).unwrap(),
            ServerName::try_from("mta1.example.test").unwrap()
        );
    }

    #[test]
    fn date_formats_unix_seconds() {
        assert_eq!(date(1_826_841_600), "2027-11-22");
    }
}
