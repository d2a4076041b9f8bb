//! The third route on variant b (tests/site/README.md, "the Internet"):
//! `suites/local-b.yaml`'s outbound paths (a customer submits through lb,
//! mta1, mta2 to ext1@remote.test, read back from rstore) and its echo path
//! (through the reflector echo@remote.test back to ims2) pass on the
//! healthy site with the Internet hop in their per-hop delays (and outbound
//! probes with SPF and DMARC passing at the external side); each outbound
//! fault is named on the MTA that holds the probe, with the remote side's
//! reply; a repaired site passes again.

use crate::support::isolate::{passes_after_repair, run, show};
use crate::support::site::{self, Fault, Variant};

use healthmon::result::{Confidence, Status};

fn suite() -> std::path::PathBuf {
    site::root().join("suites/local-b.yaml")
}

#[test]
fn outbound_and_echo_paths_pass_with_the_internet_hop() {
    let _g = site::site_b_exclusive();
    let d = tempfile::tempdir().unwrap();
    let (s, took) = run(&suite(), &d.path().join("r"), &["outbound/*", "echo/*"]);
    let info = show(&s);
    let ran: Vec<_> = s
        .results
        .iter()
        .filter(|r| r.status != Status::Skipped)
        .collect();
    assert_eq!(ran.len(), 7, "6 outbound + 1 echo:\n{info}");
    assert!(s.verdicts.is_empty(), "{info}");
    for r in &ran {
        assert_eq!(r.status, Status::Pass, "{info}");
        let o = &r.observation;
        let hops: Vec<&str> = (1..=4)
            .filter_map(|i| o.facts.get(&format!("hop{i}_by")).map(String::as_str))
            .collect();
        // Every probe crossed the Internet: the remote MX received it.
        assert!(hops.contains(&"rmx.remote.test"), "{}: {hops:?}", r.id);
        let route = r.labels.get("route").map(String::as_str);
        let crossed = o.facts.get("internet_hops").map(String::as_str);
        assert!(o.metric_value("internet_hop_ms").is_some(), "{}", r.id);
        if r.id.starts_with("outbound/") {
            assert_eq!(route, Some("outbound"));
            assert_eq!(crossed, Some("2"), "{}: site MTA → rmx", r.id);
            assert_eq!(hops.last(), Some(&"rstore.remote.test"), "{}", r.id);
            // The MTA that handed it over is one the site's SPF record
            // lists (mta1 sends from 127.1.1.1, mta2 from 127.1.1.2; lb
            // either), and DMARC is aligned both ways.
            let spf = o.facts.get("spf").map(String::as_str).unwrap_or("");
            let want: &[&str] = match r.label("submit") {
                "mta1" => &["127.1.1.1"],
                "mta2" => &["127.1.1.2"],
                _ => &["127.1.1.1", "127.1.1.2"],
            };
            assert!(
                want.iter()
                    .any(|ip| spf == format!("pass ip={ip} domain=example.test")),
                "{}: spf {spf}",
                r.id
            );
            let dmarc = o.facts.get("dmarc").map(String::as_str);
            assert_eq!(dmarc, Some("pass (dkim, spf aligned)"), "{}", r.id);
        } else {
            assert_eq!(route, Some("echo"));
            assert_eq!(crossed, Some("2,3"), "{}: out to rmx and back", r.id);
            // Back in the site: the reflected probe ends on ims2's store.
            assert_eq!(hops.last(), Some(&"store1.example.test"), "{}", r.id);
        }
        eprintln!(
            "{}: submit {:.0} ms, delivery {:.0} ms, retrieve {:.0} ms, total {:.0} ms, hops {:?}",
            r.id,
            o.phase_ms("submit").unwrap_or(-1.0),
            o.phase_ms("delivery").unwrap_or(-1.0),
            o.phase_ms("retrieve").unwrap_or(-1.0),
            o.phase_ms("total").unwrap_or(-1.0),
            hops
        );
    }
    eprintln!("outbound + echo selection in {took:.1?}");
}

/// One outbound fault: every selected case fails, each MTA in `mtas` has
/// exactly one isolated `queue` verdict whose reason contains `reply`.
fn named(fault: &'static str, target: &'static str, only: &[&str], mtas: &[&str], reply: &str) {
    let _g = site::site_b_exclusive();
    let d = tempfile::tempdir().unwrap();
    let reports = d.path().join("r");
    {
        let _f = Fault::on(
            Variant::B,
            &["fault", fault, target],
            &["repair", fault, target],
        );
        let (s, _) = run(&suite(), &reports, only);
        let info = show(&s);
        assert!(
            s.results
                .iter()
                .filter(|r| r.status != Status::Skipped)
                .all(|r| r.status.is_bad()),
            "{fault}: every selected case fails:\n{info}"
        );
        let mut keys: Vec<String> = s.verdicts.iter().map(|v| v.key()).collect();
        keys.sort();
        let want: Vec<String> = mtas.iter().map(|m| format!("{m}/queue")).collect();
        assert_eq!(keys, want, "{fault}:\n{info}");
        for v in &s.verdicts {
            assert_eq!(v.confidence, Confidence::Isolated, "{info}");
            assert!(
                v.reason.contains(reply),
                "{fault}: reply {reply:?}:\n{info}"
            );
        }
    }
    passes_after_repair(&suite(), &reports, only);
}

#[test]
fn outbound_queue_on_hold_is_named_on_its_mta() {
    named(
        "out-hold",
        "mta1",
        &["outbound/ims1/mta1/ext1/imap"],
        &["mta1"],
        "on hold",
    );
}

#[test]
fn remote_side_down_is_named_on_each_mta_with_the_deferral_reason() {
    named(
        "remote-down",
        "rmx",
        &[
            "outbound/ims1/mta1/ext1/imap",
            "outbound/ims1/mta2/ext1/pop3",
        ],
        &["mta1", "mta2"],
        "connect to 127.2.1.1[127.2.1.1]:25: Connection refused",
    );
}

#[test]
fn remote_refusal_is_named_on_the_mta_with_the_remote_reply() {
    named(
        "remote-refuse",
        "rmx",
        &["outbound/ims1/mta2/ext1/imap"],
        &["mta2"],
        "said: 550 5.7.1",
    );
}

/// Healthy: every outbound probe carries the site's valid signature
/// (`dkim:` in suites/local-b.yaml names OpenDKIM's published key). With
/// signing off on mta1, its outbound cases are warnings that say so and
/// `mta1/dkim` is named (DMARC still passes, aligned by SPF); mta2's still
/// pass; repaired, all pass.
#[test]
fn a_site_that_stops_signing_is_a_warning_on_that_mta() {
    let _g = site::site_b_exclusive();
    let d = tempfile::tempdir().unwrap();
    let reports = d.path().join("r");
    let only = ["outbound/ims1/mta1/*", "outbound/ims1/mta2/*"];
    let (s, _) = run(&suite(), &reports, &only);
    let info = show(&s);
    for r in s.results.iter().filter(|r| r.status != Status::Skipped) {
        assert_eq!(r.status, Status::Pass, "{info}");
        let f = r.observation.facts.get("dkim").map(String::as_str);
        assert_eq!(f, Some("pass d=example.test s=hm"), "{}", r.id);
    }
    {
        let _f = Fault::on(
            Variant::B,
            &["fault", "sign-off", "mta1"],
            &["repair", "sign-off", "mta1"],
        );
        let (s, _) = run(&suite(), &reports, &only);
        let info = show(&s);
        for r in s.results.iter().filter(|r| r.status != Status::Skipped) {
            if r.id.contains("/mta1/") {
                assert_eq!(r.status, Status::Warning, "{info}");
                assert!(r.message.contains("the site did not sign"), "{info}");
                // DMARC still passes on SPF alone.
                let dmarc = r.observation.facts.get("dmarc").map(String::as_str);
                assert_eq!(dmarc, Some("pass (spf aligned)"), "{info}");
            } else {
                assert_eq!(r.status, Status::Pass, "{info}");
            }
        }
        let keys: Vec<String> = s.verdicts.iter().map(|v| v.key()).collect();
        assert_eq!(keys, ["mta1/dkim"], "{info}");
    }
    passes_after_repair(&suite(), &reports, &only);
}
