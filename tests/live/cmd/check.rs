//! `healthmon check` during real outages of the site: a stopped store (its
//! connections and logins refused) and a store whose LMTP is down (the probe
//! mail accepted but never delivered) are CRITICAL, exit 2 — never UNKNOWN,
//! which the plugin keeps for its own failures (hermetic/cmd/check.rs).
//! On both site variants, each with its own suite (b's sets only `timeout`
//! and its certificates).

use crate::support::mailprobe::Variant;
use crate::support::nagios::{PluginRun, plugin};
use crate::support::run::{Fault, Restart, last_run, mailsite, site_exclusive};
use crate::support::site::site_b_exclusive;
use healthmon::result::{ErrorKind, Status};

/// `healthmon check SUITE --only ONLY` with the default `-t`.
fn check(v: Variant, only: &str, reports: &std::path::Path) -> PluginRun {
    plugin(&[
        "check",
        v.suite_path().to_str().unwrap(),
        "--only",
        only,
        "--no-alerts",
        "--reports",
        reports.to_str().unwrap(),
    ])
}

#[test]
fn a_stopped_store_is_critical_and_named() {
    let _g = site_exclusive();
    let _restart = Restart("store1");
    mailsite(&["stop", "store1"]);
    stopped_store1_is_critical(Variant::A);
}

#[test]
fn variant_b_a_stopped_store_is_critical_and_named() {
    let _g = site_b_exclusive();
    let _f = Fault::on(Variant::B, &["stop", "store1"], &["start", "store1"]);
    stopped_store1_is_critical(Variant::B);
}

fn stopped_store1_is_critical(v: Variant) {
    let reports = tempfile::tempdir().unwrap();
    let r = check(v, "rndtrip/ims1/mta1/*", reports.path());
    assert_eq!(r.code, 2, "{r:#?}");
    let first = r.stdout.lines().next().unwrap();
    assert!(first.starts_with("HEALTHMON CRITICAL - "), "{r:#?}");
    assert!(
        first.contains("store1"),
        "the status line names the store: {r:#?}"
    );
    // Every failing case says CRITICAL; nothing is UNKNOWN.
    let case_lines: Vec<&str> = r
        .stdout
        .lines()
        .skip(1)
        .filter(|l| {
            ["OK ", "WARNING ", "CRITICAL ", "UNKNOWN "]
                .iter()
                .any(|w| l.starts_with(w))
        })
        .collect();
    assert!(!case_lines.is_empty(), "{r:#?}");
    for l in &case_lines {
        assert!(l.starts_with("CRITICAL rndtrip/ims1/mta1/"), "{l}\n{r:#?}");
    }
    assert!(!r.stdout.contains("UNKNOWN"), "{r:#?}");
    // The stored record keeps the statuses `run` always gave: errors.
    let run = last_run(reports.path());
    assert!(
        run.results
            .iter()
            .filter(|c| c.status != Status::Skipped)
            .all(|c| c.status == Status::Error),
        "{:#?}",
        run.results
    );
}

#[test]
fn mail_not_delivered_is_critical() {
    let _g = site_exclusive();
    let _f = Fault::new(
        &["fault", "lmtp-down", "store1"],
        &["repair", "lmtp-down", "store1"],
    );
    not_delivered_is_critical(Variant::A);
}

#[test]
fn variant_b_mail_not_delivered_is_critical() {
    let _g = site_b_exclusive();
    let _f = Fault::on(
        Variant::B,
        &["fault", "lmtp-down", "store1"],
        &["repair", "lmtp-down", "store1"],
    );
    not_delivered_is_critical(Variant::B);
}

fn not_delivered_is_critical(v: Variant) {
    let reports = tempfile::tempdir().unwrap();
    let r = check(v, "rndtrip/ims1/mta1/store1/imap", reports.path());
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(
        r.stdout
            .starts_with("HEALTHMON CRITICAL - 1 of 1 cases failed: "),
        "{r:#?}"
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("CRITICAL rndtrip/ims1/mta1/store1/imap: ")),
        "{r:#?}"
    );
    let run = last_run(reports.path());
    let case = run
        .results
        .iter()
        .find(|c| c.id == "rndtrip/ims1/mta1/store1/imap")
        .unwrap();
    assert_eq!(case.status, Status::Error);
    let e = case.observation.error.as_ref().unwrap();
    assert_eq!(e.kind, ErrorKind::NotArrived, "{e:?}");
}
