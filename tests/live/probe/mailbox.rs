//! A mailbox with the user's own mail — some flagged \Deleted, some unread,
//! some seen/flagged/answered — holds exactly the same messages with exactly
//! the same flags (and UIDs) after POP3 and IMAP probes ran against it through
//! an MMP and directly on the store, including probes that reaped leftovers
//! of an earlier run. A plain EXPUNGE/CLOSE would drop the \Deleted message;
//! a RETR/FETCH of the wrong message would set \Seen on the unread one.

use crate::support::mailprobe;
use crate::support::site;

use std::time::Duration;

use crate::support::mailprobe::*;
use healthmon::probe::{imap, pop3};
use healthmon::result::Observation;

const ACCOUNT: &str = "ims2";
const TO: &str = "ims2@example.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_mail_and_flags_survive_probes_and_reaping() {
    // Exclusive: nobody else may add or remove ims2 mail while we compare.
    let _g = site::site_exclusive();
    let tag = healthmon::token::random_hex(6);
    let pw = password(ACCOUNT);

    // 1. The user's own mail arrives by SMTP, then their client sets flags.
    let flags = ["\\Deleted", "", "\\Seen", "\\Flagged \\Seen", "\\Answered"];
    let mids: Vec<String> = (0..flags.len())
        .map(|i| format!("user-{tag}-{i}@elsewhere.example"))
        .collect();
    for (i, mid) in mids.iter().enumerate() {
        submit(TO, &user_message(mid, TO, &format!("note {i}"))).await;
    }
    // Leftovers of earlier failed runs, one per case that will reap below.
    let (imap_case, pop3_case) = (
        format!("preserve/{tag}/imap"),
        format!("preserve/{tag}/pop3"),
    );
    let (old_i, old_i_msg) = leftover(&imap_case, TO);
    let (old_p, old_p_msg) = leftover(&pop3_case, TO);
    submit(TO, &old_i_msg).await;
    submit(TO, &old_p_msg).await;
    for needle in mids
        .iter()
        .map(String::as_str)
        .chain([old_i.as_str(), old_p.as_str()])
    {
        wait_delivered("store1", ACCOUNT, needle).await;
    }
    let mut c = RawImap::login("store1", ACCOUNT).await;
    for (mid, f) in mids.iter().zip(flags) {
        let uid = c.uids_with_mid(mid).await[0];
        if !f.is_empty() {
            c.ok(&format!("UID STORE {uid} +FLAGS.SILENT ({f})")).await;
        }
    }
    let ours = |m: &(u32, String, String, Vec<String>)| m.2.contains(&tag);
    let before: Vec<_> = c
        .snapshot()
        .await
        .into_iter()
        .filter(|m| !ours(m))
        .collect();
    c.logout().await;
    let seeded: Vec<_> = before.iter().filter(|m| m.1.contains(&tag)).collect();
    assert_eq!(seeded.len(), flags.len(), "{before:?}");
    assert!(seeded.iter().any(|m| m.3 == ["\\Deleted"]), "{seeded:?}");
    assert!(
        seeded.iter().any(|m| m.3.is_empty()),
        "no unread message: {seeded:?}"
    );

    // 2. Probes: IMAP via mmp2 (reaps old_i), POP3 via mmp1 (reaps old_p),
    //    then IMAP and POP3 straight on the store.
    let runs = [
        ("imap", mailprobe::imap("mmp2"), imap_case.clone(), 1),
        ("pop3", mailprobe::pop3("mmp1"), pop3_case.clone(), 1),
        ("imap", mailprobe::imap("store1"), imap_case.clone(), 0),
        ("pop3", mailprobe::pop3("store1"), pop3_case.clone(), 0),
    ];
    for (proto, ep, case, reaps) in &runs {
        let tok = token();
        submit(TO, &probe_message(&tok, case, TO)).await;
        let r = req(ep, ACCOUNT, &pw, &tok, case, Duration::from_secs(20));
        let mut obs = Observation::default();
        let got = match *proto {
            "pop3" => pop3::retrieve(&r, &mut obs).await,
            _ => imap::retrieve(&r, &mut obs).await,
        }
        .unwrap_or_else(|e| panic!("{proto} via {}: {e}", ep.host));
        assert_eq!(got.reaped, *reaps, "{proto} via {}", ep.host);
        let mut o2 = Observation::default();
        let present = match *proto {
            "pop3" => pop3::probe_present(&r, &mut o2).await,
            _ => imap::probe_present(&r, &mut o2).await,
        };
        assert!(!present.unwrap().is_found());
    }

    // 3. Exactly the same mail, flags and UIDs; none of this test's probes left.
    let mut c = RawImap::login("store1", ACCOUNT).await;
    let all = c.snapshot().await;
    let after: Vec<_> = all.iter().filter(|m| !ours(m)).cloned().collect();
    let leftover: Vec<_> = all.iter().filter(|m| ours(m)).collect();
    let mine: Vec<u32> = after
        .iter()
        .filter(|m| m.1.contains(&tag))
        .map(|m| m.0)
        .collect();
    c.remove(&mine).await;
    c.logout().await;
    assert!(leftover.is_empty(), "probes left behind: {leftover:?}");
    assert_eq!(after, before, "the mailbox changed");
}
