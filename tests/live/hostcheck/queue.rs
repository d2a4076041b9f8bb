//! queue check: command/exim outputs judged, and mta1's real Postfix queue
//! with the `hold` fault (the Sun counters parser: hermetic/check/queue.rs).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use healthmon::result::{ErrorKind, Status};

use crate::support::check::*;
use crate::support::site;

fn fixture() -> std::path::PathBuf {
    site::root().join("tests/fixtures/checks/sun-qm-counters.txt")
}

#[tokio::test]
async fn sun_check_judges_channels_and_total_from_command_output() {
    let suite = local_suite();
    let f = fixture();
    let c = spec(&format!(
        "queue: {{mta: sun, command: [cat, '{}'], thresholds: {{tcp_local: {{warning: 100, critical: 1000}}, total: {{critical: 10000}}, hold: {{critical: 0}}}}}}",
        f.display()
    ));
    let o = run(&suite, "mta1", c).await;
    assert_eq!(o.status, Status::Warning, "{o:?}");
    assert_eq!(o.message, "tcp_local 418 > warning 100");
    assert_eq!(metric(&o, "total"), 457.0);
    assert_eq!(metric(&o, "ims-ms"), 37.0);
}

#[tokio::test]
async fn exim_count_and_command_pairs_and_missing_tool() {
    let suite = local_suite();
    let o = run(
        &suite,
        "mta1",
        spec("queue: {mta: exim, command: [echo, '42'], thresholds: {total: {warning: 40}}}"),
    )
    .await;
    assert_eq!(
        (o.status, o.message.as_str()),
        (Status::Warning, "total 42 > warning 40")
    );
    let o = run(
        &suite,
        "mta1",
        spec("queue: {mta: command, command: [echo, 'maildrop=0 deferred=7 hold=2'], thresholds: {deferred: {critical: 5}}}"),
    )
    .await;
    assert_eq!(o.status, Status::Critical, "{o:?}");
    assert_eq!(metric(&o, "total"), 9.0);
    let o = run(
        &suite,
        "mta1",
        spec("queue: {mta: exim, command: [/nonexistent/exim, -bpc]}"),
    )
    .await;
    assert_eq!(o.status, Status::Error);
    assert_eq!(o.observation.error.as_ref().unwrap().kind, ErrorKind::Local);
    assert!(o.message.contains("/nonexistent/exim"), "{}", o.message);
    let o = run(
        &suite,
        "mta1",
        spec("queue: {mta: command, command: [echo, 'not a count']}"),
    )
    .await;
    assert_eq!(o.status, Status::Error, "{o:?}");
}

/// Undo the hold fault whatever happens: drop held test mail (so nothing
/// reaches ims1's mailbox), then repair.
struct HoldFault;

impl Drop for HoldFault {
    fn drop(&mut self) {
        let conf = site::site_state().join("mta1/conf");
        let _ = std::process::Command::new("postsuper")
            .args(["-c", conf.to_str().unwrap(), "-d", "ALL", "hold"])
            .stderr(std::process::Stdio::null())
            .status();
        site::mailsite(&["repair", "hold", "mta1"]);
    }
}

/// A tiny SMTP conversation: one message to ims1 through mta1 port 25.
fn submit_to_mta1() {
    let s = TcpStream::connect("127.0.1.1:25").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let mut reply = |expect: &str| {
        // Multi-line replies: read until `NNN ` (space after the code).
        loop {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            assert!(l.starts_with(expect), "expected {expect}, got {l:?}");
            if l.as_bytes().get(3) == Some(&b' ') {
                return;
            }
        }
    };
    reply("220");
    for (cmd, code) in [
        ("EHLO check-queue.test\r\n", "250"),
        ("MAIL FROM:<healthmon@monitor.example.test>\r\n", "250"),
        ("RCPT TO:<ims1@example.test>\r\n", "250"),
        ("DATA\r\n", "354"),
        (
            "Subject: healthmon queue check test\r\nFrom: healthmon@monitor.example.test\r\n\r\nheld on purpose\r\n.\r\n",
            "250",
        ),
        ("QUIT\r\n", "221"),
    ] {
        w.write_all(cmd.as_bytes()).unwrap();
        reply(code);
    }
}

#[tokio::test]
async fn mta1_held_mail_makes_queue_critical_and_repair_passes() {
    let _site = site::site_exclusive();
    let suite = local_suite();
    // The suite's check, judged on hold only: deferred mail left by other
    // tests' faults must not decide this one.
    let mut check = suite_check(&suite, "mta1", "queue");
    if let healthmon::hostcheck::CheckSpec::Queue(q) = &mut check {
        q.thresholds.retain(|k, _| k == "hold");
        assert!(
            q.thresholds.contains_key("hold"),
            "local.yaml limits mta1's hold queue"
        );
    }
    let before = run(&suite, "mta1", check.clone()).await;
    assert_eq!(before.status, Status::Pass, "{before:?}");
    assert_eq!(metric(&before, "hold"), 0.0);

    site::mailsite(&["fault", "hold", "mta1"]);
    let guard = HoldFault;
    submit_to_mta1();
    let t0 = Instant::now();
    let held = loop {
        let o = run(&suite, "mta1", check.clone()).await;
        if o.observation.metric_value("hold").unwrap_or(0.0) >= 1.0
            || t0.elapsed() > Duration::from_secs(15)
        {
            break o;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(held.status, Status::Critical, "{held:?}");
    assert_eq!(held.message, "hold 1 > critical 0");
    // The script counts the queue files on its own: same number.
    assert!(site::mailsite(&["queue", "mta1"]).contains("hold=1"));
    // Something is queued, so postqueue -j gave the oldest message's age.
    let age = metric(&held, "oldest_age");
    assert!((0.0..120.0).contains(&age), "oldest_age {age}");

    drop(guard);
    let after = run(&suite, "mta1", check).await;
    assert_eq!(after.status, Status::Pass, "{after:?}");
    assert_eq!(metric(&after, "hold"), 0.0);
}
