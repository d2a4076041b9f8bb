//! port check: banners, implicit-TLS certificate lifetime, refused ports.

use crate::support::site;

use crate::support::check::*;
use healthmon::result::{ErrorKind, Status};

#[tokio::test]
async fn banner_and_certificate_days_match_the_site() {
    let _site = site::site_shared();
    let suite = local_suite();
    let o = run(
        &suite,
        "mta1",
        spec(r"port: {endpoint: smtp, banner: '^220 mta1\.example\.test '}"),
    )
    .await;
    assert_eq!(o.status, Status::Pass, "{o:?}");
    assert!(o.observation.facts["banner"].starts_with("220 mta1.example.test"));
    let o = run(
        &suite,
        "mta1",
        spec("port: {endpoint: smtp, banner: '^220 mta2'}"),
    )
    .await;
    assert_eq!(o.status, Status::Critical, "{o:?}");
    assert!(
        o.message.contains("does not match /^220 mta2/"),
        "{}",
        o.message
    );

    let o = run(
        &suite,
        "mta1",
        spec("port: {endpoint: smtps, cert_expiry_warning_days: 14}"),
    )
    .await;
    assert_eq!(o.status, Status::Pass, "{o:?}");
    // Independently: the certificate file the site serves, read by openssl.
    let pem = site::site_state().join("certs/mta1.pem");
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in"])
        .arg(&pem)
        .output()
        .unwrap();
    let end = String::from_utf8_lossy(&out.stdout);
    let end = end.trim().trim_start_matches("notAfter=").trim();
    let end = chrono::DateTime::parse_from_str(&end.replace('Z', " +0000"), "%Y-%m-%d %H:%M:%S %z")
        .unwrap();
    let days = (end.timestamp() - chrono::Utc::now().timestamp()) as f64 / 86400.0;
    assert!(
        (metric(&o, "cert_days") - days).abs() < 0.01,
        "{} vs {days}",
        metric(&o, "cert_days")
    );
    // The notAfter in unix seconds (what the Prometheus expiry gauge exports).
    assert_eq!(
        o.observation.facts.get("tls_cert_not_after"),
        Some(&end.timestamp().to_string()),
        "{o:?}"
    );
    let o = run(
        &suite,
        "mta1",
        spec("port: {endpoint: smtps, cert_expiry_warning_days: 100000}"),
    )
    .await;
    assert_eq!(o.status, Status::Warning, "{o:?}");
    assert!(o.message.contains("(warning 100000)"), "{}", o.message);
}

#[tokio::test]
async fn refused_port_and_bad_config_are_errors() {
    let _site = site::site_shared();
    let suite = local_suite();
    let o = run(&suite, "mta1", spec("port: {port: 2}")).await;
    assert_eq!(o.status, Status::Error, "{o:?}");
    assert_eq!(
        o.observation.error.as_ref().unwrap().kind,
        ErrorKind::Refused
    );
    let o = run(
        &suite,
        "mta1",
        spec("port: {endpoint: smtp, cert_expiry_warning_days: 5}"),
    )
    .await;
    assert_eq!(o.status, Status::Error, "{o:?}");
    let o = run(&suite, "mta1", spec("port: {endpoint: imap}")).await;
    assert_eq!(o.status, Status::Error, "{o:?}");
}

/// A latency over its limit is measured once more before it is reported;
/// within limits nothing is measured twice.
#[tokio::test]
async fn a_latency_over_its_limit_is_confirmed_by_a_second_connection() {
    let _site = site::site_shared();
    let suite = local_suite();
    let smtp_within = |warning: &str| {
        let check = spec(&format!(
            "port: {{endpoint: smtp, banner: '^220 ', warning: {warning}}}"
        ));
        run(&suite, "mta1", check)
    };
    let o = smtp_within("1ms").await;
    assert_eq!(o.status, Status::Warning, "{o:?}");
    let facts = &o.observation.facts;
    let first: f64 = facts["latency_first_ms"].parse().unwrap();
    let confirm: f64 = facts["latency_confirm_ms"].parse().unwrap();
    // Judged on the faster of the two (facts are rounded to 1 ms).
    assert!(
        (metric(&o, "latency") - first.min(confirm)).abs() <= 1.0,
        "{o:?}"
    );
    assert!(o.message.starts_with("latency ") && o.message.ends_with("> warning 1ms"));
    let o = smtp_within("30s").await;
    assert_eq!(o.status, Status::Pass, "{o:?}");
    assert!(
        !o.observation.facts.contains_key("latency_first_ms"),
        "{o:?}"
    );
}
