//! Failure isolation on the real site, variant a, beyond the fault matrix
//! both variants run (live/isolate/matrix.rs): the held and deferred queue
//! with a suite that sets only `timeout`, where the case deadline used to
//! fire first and isolation blamed the MMPs and stores.

use crate::support::isolate::{new_user_suite, passes_after_repair, run, show};
use crate::support::mailprobe::Variant;
use crate::support::site::{self, Fault};

use std::time::Duration;

use healthmon::result::Status;

/// Issue 15: with only `timeout` set, the arrival wait used to equal the case
/// timeout, so the case deadline fired first, the failure lost its host and
/// isolation blamed the MMPs and stores. A held queue and deferred deliveries
/// on mta1 must each give one verdict on mta1's queue, with mta2's paths
/// passing, in about one arrival wait: twelve cases are blocked behind mta1
/// (three times the default per-host concurrency), and they give mta1 back
/// once they have submitted, and their retrieve host once they have waited
/// two seconds, instead of waiting in waves.
#[test]
fn a_suite_with_only_a_timeout_names_the_queue_of_the_held_mta() {
    let _g = site::site_exclusive();
    let d = tempfile::tempdir().unwrap();
    let suite = new_user_suite(Variant::A, d.path());
    let reports = d.path().join("reports");
    let only = ["rndtrip/ims3/mta*/*", "rndtrip/ims4/mta*/*"];
    for (fault, what) in [("hold", "held"), ("defer", "deferred")] {
        let f = Fault::new(&["fault", fault, "mta1"], &["repair", fault, "mta1"]);
        let (s, took) = run(&suite, &reports, &only);
        let info = format!("{what}, took {took:?}:\n{}", show(&s));
        assert_eq!(s.verdicts.len(), 1, "{info}");
        let v = &s.verdicts[0];
        assert_eq!(v.host, "mta1", "{info}");
        assert!(v.protocol.contains("queue"), "{info}");
        for r in s.results.iter().filter(|r| r.status != Status::Skipped) {
            if r.id.contains("/mta2/") {
                assert_eq!(r.status, Status::Pass, "{} should pass:\n{info}", r.id);
            } else {
                assert!(r.status.is_bad(), "{} should fail:\n{info}", r.id);
                let e = r.observation.error.as_ref().expect("an error");
                assert_ne!(e.phase, "case", "the case deadline fired first:\n{info}");
            }
        }
        // One arrival wait (30 s - one 10 s step) plus follow-ups, not two
        // waves of them (> 40 s).
        assert!(took < Duration::from_secs(35), "{info}");
        eprintln!("{what}: {took:?}");
        drop(f);
        passes_after_repair(&suite, &reports, &only);
    }
}
