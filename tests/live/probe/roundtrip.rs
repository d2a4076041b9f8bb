//! Whose mail a real round trip deletes (issue 16, item 5), on the real site:
//! a user's message carrying a verbatim copy of a real probe's header (its
//! token verifies, its case id is real), a message with a well-formed token
//! of the old unsigned shape, and a whole probe of the same case signed by a
//! second monitor's key all survive; a leftover of a killed run signed with
//! this installation's key is reaped.

use healthmon::case::CaseKind;
use healthmon::result::Observation;
use healthmon::token::ProbeKey;

use crate::support::check::local_suite;
use crate::support::mailprobe::*;
use crate::support::site;

const ACCOUNT: &str = "ims2";
const TO: &str = "ims2@example.test";

/// One round trip of suites/local.yaml signed with the tests' key.
async fn round_trip(case_id: &str) -> Observation {
    let spec = local_suite();
    assert_eq!(
        spec.site, SITE,
        "the tests' probes are signed for site {SITE}"
    );
    let case = healthmon::case::expand::expand(&spec, 0)
        .into_iter()
        .find(|c| c.id == case_id)
        .unwrap_or_else(|| panic!("{case_id} is not a case of suites/local.yaml"));
    let CaseKind::Roundtrip(rt) = &case.kind else {
        panic!("{case_id} is not a round trip")
    };
    let mut obs = Observation::default();
    healthmon::probe::roundtrip::run(case_id, rt, &spec, key(), &mut obs, || {})
        .await
        .unwrap_or_else(|e| panic!("{case_id}: {e}\n{}", obs.transcript.join("\n")));
    obs
}

fn fact_n(o: &Observation, k: &str) -> usize {
    o.facts.get(k).map_or(0, |v| v.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_and_other_monitors_probes_survive_our_leftover_is_reaped() {
    let _g = site::site_shared();
    let other_key = ProbeKey::generate().unwrap();
    for case_id in ["rndtrip/ims2/mta1/mmp1/pop3", "rndtrip/ims2/mta2/mmp2/imap"] {
        // A real probe goes through and is deleted; its header is what a
        // user copies.
        let first = round_trip(case_id).await;
        let real = first.facts["token"].clone();
        let tag = healthmon::token::random_hex(6);
        let copy_mid = format!("copy-{tag}@elsewhere.example");
        let copy = format!(
            "From: friend@elsewhere.example\r\nTo: {TO}\r\nSubject: look at this\r\n\
             Message-ID: <{copy_mid}>\r\nX-Healthmon-Probe: {real} {case_id}\r\n\r\n\
             My own text, with a header copied from a probe.\r\n"
        );
        let old_mid = format!("old-{tag}@elsewhere.example");
        let unsigned = format!("hm{}", healthmon::token::random_hex(16));
        let old_shape = format!(
            "From: friend@elsewhere.example\r\nTo: {TO}\r\nSubject: hi\r\n\
             Message-ID: <{old_mid}>\r\nX-Healthmon-Probe: {unsigned} {case_id}\r\n\r\nHi.\r\n"
        );
        let (theirs, theirs_msg) = signed_probe(&other_key, case_id, TO);
        let (left, left_msg) = leftover(case_id, TO);
        for m in [
            copy.as_bytes(),
            old_shape.as_bytes(),
            &theirs_msg,
            &left_msg,
        ] {
            submit(TO, m).await;
        }
        for needle in [&copy_mid, &old_mid, &theirs, &left] {
            wait_delivered("store1", ACCOUNT, needle).await;
        }

        let o = round_trip(case_id).await;
        assert_eq!(fact_n(&o, "reaped"), 1, "{case_id}: {:?}", o.facts);
        // The copy, the old shape, the other monitor's probe: never fetched.
        // (Other monitors' probes in flight for this case would add to it.)
        assert!(
            fact_n(&o, "foreign_left_alone") >= 3,
            "{case_id}: {:?}",
            o.facts
        );
        let shown = format!("{o:?}");
        // (The unsigned token has no MAC part.)
        for t in [&real, &theirs, &left] {
            if t != &o.facts["token"] {
                assert!(!shown.contains(&t[34..]), "{case_id}: a MAC is shown");
            }
        }

        let mut c = RawImap::login("store1", ACCOUNT).await;
        assert!(
            c.uids_with_mid(&left).await.is_empty(),
            "{case_id}: leftover not reaped"
        );
        let mut planted = Vec::new();
        for (what, needle) in [
            ("the user's copy", &copy_mid),
            ("the old-shape token", &old_mid),
            ("the other monitor's probe", &theirs),
        ] {
            let u = c.uids_with_mid(needle).await;
            assert_eq!(u.len(), 1, "{case_id}: {what} was deleted");
            planted.extend(u);
        }
        c.remove(&planted).await;
        c.logout().await;
    }
}
