//! logstats totals against pflogsumm (Debian `pflogsumm`) and against the
//! generator's own count, on a generated log and the checked-in site log
//! (the live site's own logs: live/logstats/pflogsumm.rs).

use crate::support::site;

use crate::support::loggen;

use std::path::{Path, PathBuf};

use crate::support::pflogsumm::*;

fn generated(
    dir: &Path,
    name: &str,
    mb: u64,
    hosts: &[&str],
    corrupt: u64,
) -> (PathBuf, loggen::Truth) {
    let p = dir.join(name);
    let mut g = loggen::Gen::new(7 + mb, hosts, 3000);
    g.corrupt_percent = corrupt;
    let mut w = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    g.write(&mut w, mb << 20).unwrap();
    g.drain(&mut w).unwrap();
    drop(w);
    (p, g.truth)
}

#[test]
fn generated_log_agrees_with_pflogsumm_and_generator() {
    let dir = tempfile::tempdir().unwrap();
    let (log, truth) = generated(dir.path(), "maillog", 12, &["mx1"], 2);
    let ours = logstats_json(&[&log]);
    let t = &ours["total"];
    // The generator's own count (a second, independent oracle).
    assert_eq!(t["received"], truth.received);
    assert_eq!(t["delivered"], truth.delivered);
    assert_eq!(t["deferred"], truth.deferred);
    assert_eq!(t["deferrals"], truth.deferrals);
    assert_eq!(t["bounced"], truth.bounced);
    assert_eq!(t["rejected"], truth.rejected);
    assert_eq!(t["bytes_received"], truth.bytes_received);
    assert_eq!(t["bytes_delivered"], truth.bytes_delivered);
    assert_eq!(ours["lines"]["total"], truth.lines);
    assert_eq!(ours["lines"]["malformed"], truth.malformed);
    assert!(truth.malformed > 0 && truth.deferred > 0 && truth.rejected > 0 && truth.bounced > 0);
    assert_agree(&ours, &pflogsumm(&log, None), "generated log");
    // All queue ids were retired: nothing left in flight after the drain.
    assert_eq!(ours["queue"]["open_at_end"], 0);
    assert_eq!(ours["queue"]["evicted"], 0);
}

#[test]
fn checked_in_site_log_agrees_with_pflogsumm() {
    // Real Postfix 3.7 maillog_file output of the test site (syslog_name postfix-mta1).
    let log = site::root().join("tests/fixtures/logstats/site-mta1.log");
    let ours = logstats_json(&[&log]);
    let theirs = pflogsumm(&log, Some("postfix-mta1"));
    assert_agree(&ours, &theirs, "site-mta1.log");
    let t = &ours["total"];
    assert!(
        t["received"].as_u64().unwrap() >= 3,
        "fixture should hold several messages: {t}"
    );
    assert!(
        t["rejected"].as_u64().unwrap() >= 1,
        "fixture should hold a reject: {t}"
    );
}

/// Postfix reused queue id 93212548946 two seconds apart on the test site
/// (seen in CI). healthmon counts both messages; pflogsumm 1.1.5 skips the
/// second one's size and charges its delivery with the first one's. The
/// slack the live comparison allows is exactly that message.
#[test]
fn a_reused_queue_id_is_counted_twice_by_us_and_once_by_pflogsumm() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("maillog");
    let q = "93212548946";
    let mut text = String::new();
    for (t, client, size) in [
        ("23:24:50", "127.0.5.1", 909),
        ("23:24:52", "127.0.0.1", 1080),
    ] {
        text.push_str(&format!(
            "Dec  2 {t} mta1 postfix/smtpd[1]: {q}: client=unknown[{client}]\n\
             Dec  2 {t} mta1 postfix/qmgr[2]: {q}: from=<a@example.test>, size={size}, nrcpt=1 (queue active)\n\
             Dec  2 {t} mta1 postfix/lmtp[3]: {q}: to=<b@example.test>, relay=s[127.0.2.1]:24, delay=0.1, delays=0/0/0/0, dsn=2.0.0, status=sent (250 ok)\n\
             Dec  2 {t} mta1 postfix/qmgr[2]: {q}: removed\n"
        ));
    }
    std::fs::write(&log, text).unwrap();
    let ours = logstats_json(&[&log]);
    assert_eq!(ours["total"]["received"], 2);
    assert_eq!(ours["total"]["bytes_received"], 909 + 1080);
    assert_eq!(ours["total"]["bytes_delivered"], 909 + 1080);
    let theirs = pflogsumm(&log, None);
    let bytes = |label: &str| {
        theirs
            .iter()
            .find(|(l, _, _)| l == label)
            .map(|(_, v, u)| v * u)
    };
    assert_eq!(
        bytes("bytes received"),
        Some(909),
        "pflogsumm's quirk changed"
    );
    assert_eq!(reused_queue_id_bytes(&log), 1080);
    assert_agree_within(
        &ours,
        &theirs,
        "reused queue id",
        reused_queue_id_bytes(&log),
    );
}
