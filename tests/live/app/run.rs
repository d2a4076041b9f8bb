//! `healthmon run` against the real loopback site (tests/site/mailsite).

use crate::support::run::*;
use healthmon::result::Status;

fn junit_counts(path: &std::path::Path) -> (usize, usize, usize, usize) {
    let xml = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let n = |t: &str| doc.descendants().filter(|x| x.has_tag_name(t)).count();
    (n("testcase"), n("failure"), n("error"), n("skipped"))
}

#[test]
fn every_path_of_the_local_suite_passes_on_the_healthy_site() {
    // Exclusive: another run of the same case ids at the same moment would
    // reap this run's in-flight probes as leftovers (one monitor per case).
    let _g = site_exclusive();
    let reports = tempfile::tempdir().unwrap();
    let o = run(&local_suite(), reports.path(), &[]);
    let run = last_run(reports.path());
    let rt: Vec<_> = run
        .results
        .iter()
        .filter(|r| r.kind == "roundtrip")
        .collect();
    // lb, mta1, mta2 × mmp1, mmp2, own store × pop3, imap × ims1..ims4, plus 2 explicit paths.
    assert_eq!(rt.len(), 3 * 3 * 2 * 4 + 2, "{}", show(&o));
    for r in run.results.iter().filter(|r| r.kind != "host") {
        assert_eq!(
            r.status,
            Status::Pass,
            "{} {}: {}\n{}",
            r.id,
            r.status,
            r.message,
            show(&o)
        );
    }
    for r in &rt {
        let ph = |p: &str| {
            r.observation
                .phase_ms(p)
                .unwrap_or_else(|| panic!("{}: no {p} phase", r.id))
        };
        assert!(
            ph("delivery") > 0.0 && ph("total") >= ph("delivery"),
            "{}",
            r.id
        );
        assert!(
            r.observation.facts.contains_key("queue_id"),
            "{}: {:?}",
            r.id,
            r.observation.facts
        );
        assert!(r.observation.metric_value("hop1_ms").is_some(), "{}", r.id);
    }
    let sec = run.results.iter().filter(|r| r.kind == "security").count();
    assert_eq!(sec, 4);
    let worst = run.worst();
    assert_eq!(o.status.code(), Some(worst.exit_code()), "{}", show(&o));
    // stdout summary names every case.
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(rt.iter().all(|r| stdout.contains(&r.id)), "{stdout}");

    // JUnit parses back with the same counts as the JSON.
    let (tests, failures, errors, skipped) = junit_counts(&reports.path().join("junit.xml"));
    assert_eq!(tests, run.results.len());
    assert_eq!(
        failures,
        run.count(Status::Warning) + run.count(Status::Critical)
    );
    assert_eq!(errors, run.count(Status::Error));
    assert_eq!(skipped, run.count(Status::Skipped));
    // results/<run_id>.json is the same run.
    let hist = reports.path().join(format!("results/{}.json", run.run_id));
    assert_eq!(healthmon::report::json::read(&hist).unwrap(), run);

    // systest.log: the seed's header once, one row per round trip.
    let log = std::fs::read_to_string(reports.path().join("systest.log")).unwrap();
    assert_eq!(log.matches("DATE COLLECTED: ").count(), 1, "{log}");
    let rows: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(" pass "))
        .collect();
    assert_eq!(rows.len(), rt.len(), "{log}");
    assert!(
        rows.iter()
            .any(|l| l.contains("| ims1      | mta1       | mmp1       |")),
        "{log}"
    );
}

#[test]
fn a_stopped_store_makes_its_cases_errors_naming_the_retrieve_phase() {
    let _g = site_exclusive();
    let _restart = Restart("store1");
    mailsite(&["stop", "store1"]);
    let reports = tempfile::tempdir().unwrap();
    let o = run(
        &local_suite(),
        reports.path(),
        &["--only", "rndtrip/*/mta1/*", "--no-isolate"],
    );
    assert_eq!(
        o.status.code(),
        Some(healthmon::exit::ERROR),
        "{}",
        show(&o)
    );
    let run = last_run(reports.path());
    let mut n1 = 0;
    let mut n2 = 0;
    for r in run.results.iter().filter(|r| r.status != Status::Skipped) {
        match r.label("store") {
            "store1" => {
                n1 += 1;
                assert_eq!(r.status, Status::Error, "{} {}", r.id, r.message);
                let e = r.observation.error.as_ref().unwrap();
                assert!(
                    [
                        "login", "connect", "greeting", "starttls", "auth", "delivery", "wait"
                    ]
                    .contains(&e.phase.as_str()),
                    "{}: failing phase {} ({})",
                    r.id,
                    e.phase,
                    r.message
                );
                assert!(
                    r.message.starts_with(&format!("{}: ", e.phase)),
                    "{}",
                    r.message
                );
            }
            "store2" => {
                n2 += 1;
                assert_eq!(r.status, Status::Pass, "{} {}", r.id, r.message);
            }
            other => panic!("{}: store {other}", r.id),
        }
    }
    assert_eq!((n1, n2), (12, 12), "{}", show(&o));
    // The systest.log Error column names the phase for store1's rows.
    let log = std::fs::read_to_string(reports.path().join("systest.log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("| ims1 ") && l.contains(" error ") && l.contains("login")),
        "{log}"
    );
}

#[test]
fn a_threshold_below_the_real_latency_is_critical() {
    let _g = site_shared();
    let (_d, suite) = suite_copy(|t| {
        t.replace(
            "total: {warning: 5s, critical: 15s}",
            "total: {critical: 1ms}",
        )
    });
    let reports = tempfile::tempdir().unwrap();
    let o = run(
        &suite,
        reports.path(),
        &["--only", "rndtrip/ims3/mta2/store2/imap"],
    );
    assert_eq!(
        o.status.code(),
        Some(healthmon::exit::FAILED),
        "{}",
        show(&o)
    );
    let run = last_run(reports.path());
    let r = run
        .results
        .iter()
        .find(|r| r.id == "rndtrip/ims3/mta2/store2/imap")
        .unwrap();
    assert_eq!(r.status, Status::Critical, "{}", r.message);
    assert!(
        r.message.starts_with("total ") && r.message.ends_with("> critical 1ms"),
        "{}",
        r.message
    );
    let (tests, failures, errors, skipped) = junit_counts(&reports.path().join("junit.xml"));
    assert_eq!((failures, errors), (1, 0));
    assert_eq!(tests, skipped + 1);
}

use crate::support::mailprobe;

/// The user's own mail — one flagged \Deleted, one unread, one seen and
/// flagged — is exactly as it was after every ims2 path ran (POP3 and IMAP,
/// through both MMPs and the store).
#[test]
fn a_run_leaves_the_users_own_mail_exactly_as_it_was() {
    let _g = site_exclusive();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tag = healthmon::token::random_hex(6);
    let user_mail = |snap: Vec<(u32, String, String, Vec<String>)>| -> Vec<_> {
        snap.into_iter()
            .filter(|(_, _, probe, _)| probe.is_empty())
            .collect()
    };
    let before = rt.block_on(async {
        let mut c = mailprobe::RawImap::login("store1", "ims2").await;
        for (i, flags) in ["\\Deleted", "", "\\Seen \\Flagged"].iter().enumerate() {
            let mid = format!("user-{tag}-{i}@elsewhere.example");
            c.append(
                flags,
                &mailprobe::user_message(&mid, "ims2@example.test", "hello"),
            )
            .await;
        }
        let s = c.snapshot().await;
        c.logout().await;
        s
    });
    let before = user_mail(before);
    let seeded: Vec<_> = before.iter().filter(|m| m.1.contains(&tag)).collect();
    assert_eq!(seeded.len(), 3, "{before:?}");
    assert!(seeded.iter().any(|m| m.3 == ["\\Deleted"]) && seeded.iter().any(|m| m.3.is_empty()));

    let reports = tempfile::tempdir().unwrap();
    let o = run(
        &local_suite(),
        reports.path(),
        &["--only", "rndtrip/ims2/*"],
    );
    let run = last_run(reports.path());
    let ran: Vec<_> = run
        .results
        .iter()
        .filter(|r| r.status != Status::Skipped)
        .collect();
    assert_eq!(ran.len(), 18, "{}", show(&o));
    assert!(ran.iter().all(|r| r.status == Status::Pass), "{}", show(&o));

    let after = rt.block_on(async {
        let mut c = mailprobe::RawImap::login("store1", "ims2").await;
        let s = c.snapshot().await;
        let mine: Vec<u32> = s
            .iter()
            .filter(|m| m.1.contains(&tag))
            .map(|m| m.0)
            .collect();
        c.remove(&mine).await;
        c.logout().await;
        s
    });
    assert_eq!(user_mail(after), before, "the user's own mail changed");
}
