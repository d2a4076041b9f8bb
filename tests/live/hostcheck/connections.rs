//! connections check: idle TCP connections to mmp1's POP3 port are counted
//! exactly, per address.

use crate::support::site;

use std::net::TcpStream;
use std::time::Duration;

use crate::support::check::*;
use healthmon::result::Status;

const N: usize = 7;

#[tokio::test]
async fn idle_pop3_connections_to_mmp1_are_counted_exactly() {
    // Exclusive: no other test's sessions come and go meanwhile. haproxy's
    // health checks of mmp1:110 still do (every 2 s, milliseconds long), so
    // a measurement that raced one is taken again.
    let _site = site::site_exclusive();
    let suite = local_suite();
    let check = suite_check(&suite, "mmp1", "connections");
    let mut last = None;
    for _ in 0..10 {
        let before = run(&suite, "mmp1", check.clone()).await;
        let conns: Vec<TcpStream> = (0..N)
            .map(|_| TcpStream::connect("127.0.3.1:110").unwrap())
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let during = run(&suite, "mmp1", check.clone()).await;
        let any = run(&suite, "mmp1", spec("connections: {address: any}")).await;
        let other = run(&suite, "mmp2", spec("connections: {}")).await;
        drop(conns);
        let after = run(&suite, "mmp1", check.clone()).await;
        assert_eq!(during.status, Status::Pass, "{during:?}");
        let (b, d, a) = (
            metric(&before, "pop3"),
            metric(&during, "pop3"),
            metric(&after, "pop3"),
        );
        assert!(
            metric(&any, "pop3") >= d,
            "any address counts at least mmp1's"
        );
        assert!(
            metric(&other, "pop3") < N as f64,
            "mmp2 must not see mmp1's connections"
        );
        if d - b == N as f64 && b == a {
            // imap and the TLS ports are reported too, and untouched.
            assert_eq!(metric(&during, "imaps"), metric(&before, "imaps"));
            return;
        }
        last = Some((b, d, a));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("never counted exactly {N} more pop3 connections (before, during, after): {last:?}");
}

#[tokio::test]
async fn thresholds_below_and_unknown_protocol() {
    let _site = site::site_shared();
    let suite = local_suite();
    // An idle test MMP has (almost) no POP3 sessions: a floor of 1000 trips.
    let o = run(
        &suite,
        "mmp1",
        spec("connections: {thresholds: {pop3: {critical_below: 1000}}}"),
    )
    .await;
    assert_eq!(o.status, Status::Critical, "{o:?}");
    assert!(
        o.message.starts_with("pop3 ") && o.message.ends_with(" < critical 1000"),
        "{}",
        o.message
    );
    // Only the host's own protocols are reported (blank in qmonitor otherwise).
    assert!(o.observation.metric_value("smtp").is_none());
    let o = run(
        &suite,
        "mmp1",
        spec("connections: {thresholds: {gopher: {critical: 1}}}"),
    )
    .await;
    assert_eq!(o.status, Status::Error, "{o:?}");
}
