//! The installation's probe key as `healthmon run` handles it: created once
//! in the state directory (mode 0600) when a round trip runs, reused after,
//! never printed or reported; a corrupt key is a clear error of every round
//! trip and is left as it was. The round trip's hosts refuse connections:
//! no site is needed, the key is all that is looked at.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use healthmon::result::Status;

use crate::support::run::*;

/// One round trip through hosts on loopback port 9 (refused at once).
fn round_trip_suite(dir: &Path) -> PathBuf {
    let p = dir.join("rt.yaml");
    std::fs::write(
        &p,
        "site: keytest\ndefaults:\n  timeout: 10s\n  step_timeout: 2s\nhosts:\n  \
         mta:\n    roles: [mta]\n    address: 127.0.0.1\n    endpoints:\n      smtp: {port: 9}\n  \
         st1:\n    roles: [store]\n    address: 127.0.0.1\n    endpoints:\n      pop3: {port: 9}\n\
         accounts:\n  u1: {address: u1@example.test, store: st1, password_file: pw}\n\
         roundtrip:\n  arrival_timeout: 2s\n  paths:\n    \
         - {account: u1, submit: mta, retrieve: st1, protocol: pop3}\n",
    )
    .unwrap();
    std::fs::write(dir.join("pw"), "x\n").unwrap();
    p
}

/// A temp dir with the suite; the reports dir and the key path in it.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let suite = round_trip_suite(d.path());
    let reports = d.path().join("reports");
    let key = reports.join("state/probe.key");
    (d, suite, reports, key)
}

/// Every byte healthmon wrote: stdout, stderr and each file under `reports`
/// except the key itself.
fn everything_written(o: &std::process::Output, reports: &Path) -> Vec<u8> {
    let mut all = [o.stdout.clone(), o.stderr.clone()].concat();
    let mut dirs = vec![reports.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.file_name().unwrap() != "probe.key" {
                all.extend(std::fs::read(&p).unwrap());
            }
        }
    }
    all
}

#[test]
fn a_round_trip_run_creates_the_key_once_and_never_shows_it() {
    let (_d, suite, reports, key) = setup();
    let o1 = run(&suite, &reports, &["--no-isolate"]);
    no_panic(&o1);
    let bytes = std::fs::read(&key).unwrap_or_else(|e| panic!("no key: {e}\n{}", show(&o1)));
    assert_eq!(bytes.len(), 32);
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");

    let o2 = run(&suite, &reports, &["--no-isolate"]);
    assert_eq!(std::fs::read(&key).unwrap(), bytes, "the key was replaced");
    // The round trip got as far as the network (the key did not stop it).
    let r = &last_run(&reports).results[0];
    assert_eq!(r.status, Status::Error);
    assert!(!r.message.contains("probe key"), "{}", r.message);

    use base64::Engine;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    for o in [&o1, &o2] {
        let all = everything_written(o, &reports);
        let text = String::from_utf8_lossy(&all).to_ascii_lowercase();
        assert!(!text.contains(&hex), "key (hex) in the output");
        assert!(
            !text.contains(&b64.to_ascii_lowercase()),
            "key (base64) in the output"
        );
        assert!(
            !all.windows(bytes.len()).any(|w| w == bytes.as_slice()),
            "raw key bytes in the output"
        );
    }
}

#[test]
fn a_corrupt_key_is_an_error_of_each_round_trip_and_is_kept() {
    let (_d, suite, reports, key) = setup();
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    std::fs::write(&key, b"not a key").unwrap();
    let o = run(&suite, &reports, &["--no-isolate"]);
    no_panic(&o);
    assert_eq!(
        o.status.code(),
        Some(healthmon::exit::ERROR),
        "{}",
        show(&o)
    );
    let s = last_run(&reports);
    let r = &s.results[0];
    assert_eq!(r.status, Status::Error);
    assert!(
        r.message.contains("probe key") && r.message.contains("corrupt: 9 bytes"),
        "{}",
        r.message
    );
    assert!(
        s.notes
            .iter()
            .any(|n| n.starts_with("round trips not run: probe key")),
        "{:?}",
        s.notes
    );
    assert_eq!(
        std::fs::read(&key).unwrap(),
        b"not a key",
        "not regenerated"
    );
}

#[test]
fn a_run_without_round_trips_makes_no_key() {
    let (_d, suite, reports, key) = setup();
    // Nothing selected: no probe is sent, so nothing needs signing.
    let o = run(&suite, &reports, &["--only", "nothing/*"]);
    no_panic(&o);
    assert!(!key.exists(), "{}", show(&o));
}
