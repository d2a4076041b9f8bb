//! `healthmon validate --resolve` against the real loopback site: every
//! declared endpoint answers with its banner, TLS and AUTH facts; a closed
//! port fails with exit 2. Nothing is sent beyond EHLO/CAPA (banner.rs).

use crate::support::site;

use std::process::Command;

fn validate(args: &[&str], cwd: &std::path::Path) -> std::process::Output {
    Command::new(site::bin())
        .current_dir(cwd)
        .arg("validate")
        .args(args)
        .output()
        .expect("run healthmon")
}

#[test]
fn local_site_endpoints_all_answer() {
    let _site = site::site_shared();
    let out = validate(
        &["--resolve", "--format", "json", "suites/local.yaml"],
        &site::root(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let eps = v["endpoints"].as_array().unwrap();
    let find = |name: &str| {
        eps.iter()
            .find(|e| e["endpoint"].as_str().unwrap().starts_with(name))
            .unwrap_or_else(|| panic!("no endpoint {name} in {eps:?}"))
    };
    // Every endpoint suites/local.yaml declares: 3 on lb, 3 on each MTA,
    // 4 on each MMP, 3 on each store, 1 on ldap1.
    assert_eq!(eps.len(), 3 + 3 * 2 + 4 * 2 + 3 * 2 + 1, "{eps:?}");
    for e in eps {
        assert_eq!(e["ok"], true, "{e}");
    }
    let sub = find("mta1 submission 127.0.1.1:587")["lines"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(sub.starts_with("220 mta1.example.test"), "{sub}");
    assert!(sub.contains("starttls ok TLSv1."), "{sub}");
    assert!(sub.contains("AUTH PLAIN"), "{sub}");
    let imaps = find("mmp2 imaps 127.0.3.2:993")["lines"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(imaps.contains("tls TLSv1."), "{imaps}");
}

#[test]
fn closed_port_fails_with_exit_2() {
    let _site = site::site_shared();
    // A port that was just free: bind, note, release.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        format!(
            "site: t\ndefaults: {{step_timeout: 2s}}\nhosts:\n  mta1:\n    roles: [mta]\n    address: 127.0.1.1\n    endpoints: {{smtp: {{port: 25}}}}\n  dead:\n    roles: [mta]\n    address: 127.0.0.1\n    endpoints: {{smtp: {{port: {port}}}}}\n"
        ),
    )
    .unwrap();
    let out = validate(&["--resolve", "s.yaml"], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(&format!("  FAIL dead smtp 127.0.0.1:{port}\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains("  ok   mta1 smtp 127.0.1.1:25\n"),
        "{stdout}"
    );
}
