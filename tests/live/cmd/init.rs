//! `healthmon init` pointed at the real site: the starter suite it writes
//! from what the servers said validates and passes — on both variants (a:
//! Dovecot proxies and one site CA; b: perdition and a self-signed
//! certificate per server, given as ca_file).

use std::process::Command;

use crate::support::mailprobe::Variant;
use crate::support::run::last_run;
use crate::support::site::{self, bin};
use healthmon::result::Status;

fn init_validates_and_passes(v: Variant) {
    let d = tempfile::tempdir().unwrap();
    let suite = d.path().join("starter.yaml");
    let st = v.state();
    let o = Command::new(bin())
        .args([
            "init",
            "--mta",
            &v.address("mta1"),
            "--mmp",
            &v.address("mmp1"),
        ])
        .args([
            "--store",
            &v.address("store1"),
            "--account",
            "ims1@example.test",
        ])
        .arg("--password-file")
        .arg(st.join("secrets/ims1.pass"))
        .arg("--ca-file")
        .arg(v.ca_file())
        .arg("-o")
        .arg(&suite)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{v:?}: init: {err}");
    assert!(err.contains("it validates"), "{err}");
    let text = std::fs::read_to_string(&suite).unwrap();
    for want in [
        "smtp: {tls: starttls}",
        "submission: {tls: starttls, auth: plain}",
        "imap: {tls: starttls}",
    ] {
        assert!(text.contains(want), "{v:?}: no {want:?} in\n{text}");
    }
    let password = std::fs::read_to_string(st.join("secrets/ims1.pass")).unwrap();
    assert!(
        !text.contains(password.trim()),
        "the password is only referenced"
    );
    let validate = Command::new(bin())
        .arg("validate")
        .arg(&suite)
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );

    let reports = d.path().join("reports");
    let run = Command::new(bin())
        .arg("run")
        .arg(&suite)
        .arg("--reports")
        .arg(&reports)
        .output()
        .unwrap();
    let summary = last_run(&reports);
    let bad: Vec<String> = summary
        .results
        .iter()
        .filter(|r| r.status != Status::Pass)
        .map(|r| format!("{} {}: {}", r.id, r.status, r.message))
        .collect();
    assert!(bad.is_empty(), "{v:?}: {bad:#?}\n{text}");
    assert!(summary.results.len() >= 6, "{v:?}: {text}");
    assert_eq!(run.status.code(), Some(0));
}

#[test]
fn init_writes_a_suite_that_validates_and_passes() {
    // Its case ids (`rndtrip/test1/...`) and site are its own: shared.
    let _g = site::site_shared();
    init_validates_and_passes(Variant::A);
}

#[test]
fn variant_b_init_writes_a_suite_that_validates_and_passes() {
    let _g = site::site_b_exclusive();
    init_validates_and_passes(Variant::B);
}
