//! Whose mail a real round trip deletes (issue 16, item 5), on the real site:
//! a user's message carrying a verbatim copy of a real probe's header (its
//! token verifies, its case id is real), a message with a well-formed token
//! of the old unsigned shape, and a whole probe of the same case signed by a
//! second monitor's key all survive; a leftover of a killed run signed with
//! this installation's key is reaped. On both site variants (b: perdition
//! MMPs, Dovecot with a passwd file, self-signed certificates).

use healthmon::case::CaseKind;
use healthmon::result::Observation;
use healthmon::token::ProbeKey;

use crate::support::check::suite_at;
use crate::support::mailprobe::*;
use crate::support::site;

const ACCOUNT: &str = "ims2";
const TO: &str = "ims2@example.test";

/// One round trip of the variant's suite signed with the tests' key.
async fn round_trip(v: Variant, case_id: &str) -> Observation {
    let spec = suite_at(&v.suite_path());
    assert_eq!(
        spec.site,
        v.site(),
        "the tests' probes are signed for site {}",
        v.site()
    );
    let case = healthmon::case::expand::expand(&spec, 0)
        .into_iter()
        .find(|c| c.id == case_id)
        .unwrap_or_else(|| panic!("{case_id} is not a case of {v:?}'s suite"));
    let CaseKind::Roundtrip(rt) = &case.kind else {
        panic!("{case_id} is not a round trip")
    };
    let mut obs = Observation::default();
    healthmon::probe::roundtrip::run(case_id, rt, &spec, key(), &mut obs, Default::default())
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
    copies_survive_leftover_reaped(Variant::A).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variant_b_copies_and_other_monitors_probes_survive_our_leftover_is_reaped() {
    let _g = site::site_b_exclusive();
    copies_survive_leftover_reaped(Variant::B).await;
}

async fn copies_survive_leftover_reaped(v: Variant) {
    let other_key = ProbeKey::generate().unwrap();
    for case_id in ["rndtrip/ims2/mta1/mmp1/pop3", "rndtrip/ims2/mta2/mmp2/imap"] {
        // A real probe goes through and is deleted; its header is what a
        // user copies.
        let first = round_trip(v, case_id).await;
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
        let (theirs, theirs_msg) = signed_probe_in(v, &other_key, case_id, TO);
        let (left, left_msg) = signed_probe_in(v, key(), case_id, TO);
        for m in [
            copy.as_bytes(),
            old_shape.as_bytes(),
            &theirs_msg,
            &left_msg,
        ] {
            submit_in(v, TO, m).await;
        }
        for needle in [&copy_mid, &old_mid, &theirs, &left] {
            wait_delivered_in(v, "store1", ACCOUNT, needle).await;
        }

        let o = round_trip(v, case_id).await;
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

        let mut c = RawImap::login_in(v, "store1", ACCOUNT).await;
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
