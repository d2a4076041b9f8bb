//! processes check: the site's daemons by name, command line and working
//! directory; store1 stopped.

use crate::support::site;

use crate::support::check::*;
use healthmon::result::Status;

#[tokio::test]
async fn instances_told_apart_by_cmdline_and_cwd_and_limits_judged() {
    let _site = site::site_shared();
    let suite = local_suite();
    let o = run(&suite, "mta1", suite_check(&suite, "mta1", "processes")).await;
    assert_eq!(o.status, Status::Pass, "{o:?}");
    assert_eq!(metric(&o, "master_count"), 1.0);
    // Without cwd every Postfix master of the machine matches (mta1 and mta2).
    let o = run(
        &suite,
        "mta1",
        spec("processes: {expect: [{process: master, cmdline: 'postfix/sbin/master', min: 2}]}"),
    )
    .await;
    assert_eq!(o.status, Status::Pass, "{o:?}");
    assert!(metric(&o, "master_count") >= 2.0);
    // RSS and count limits.
    let o = run(
        &suite,
        "store1",
        spec(r"processes: {expect: [{label: dv, cmdline: 'dovecot -c \S*/mailsite/store1/dovecot\.conf', max: 0, max_rss_mb: 0.01}]}"),
    )
    .await;
    assert_eq!(o.status, Status::Critical, "{o:?}");
    assert!(
        o.message
            .starts_with("dv: 1 running, expected at most 0; dv pid "),
        "{}",
        o.message
    );
    assert!(o.message.contains("MB > 0.01 MB"), "{}", o.message);
    assert!(metric(&o, "dv_rss_mb") > 0.01);
    // CPU percent is sampled when a limit asks for it.
    let o = run(
        &suite,
        "ldap1",
        spec("processes: {expect: [{process: slapd, max_cpu_percent: 1000}]}"),
    )
    .await;
    assert_eq!(o.status, Status::Pass, "{o:?}");
    assert!(metric(&o, "slapd_cpu_percent") >= 0.0);
    let o = run(
        &suite,
        "ldap1",
        spec("processes: {expect: [{cmdline: '(unclosed'}]}"),
    )
    .await;
    assert_eq!(o.status, Status::Error, "{o:?}");
}

#[tokio::test]
async fn store1_stopped_fails_its_dovecot_expectation() {
    let _site = site::site_exclusive();
    let suite = local_suite();
    let check = suite_check(&suite, "store1", "processes");
    site::mailsite(&["stop", "store1"]);
    let restart = Restart("store1");
    let o = run(&suite, "store1", check.clone()).await;
    assert_eq!(o.status, Status::Critical, "{o:?}");
    assert_eq!(o.message, "dovecot-store1: 0 running, expected at least 1");
    // store2's dovecot is untouched.
    let o2 = run(&suite, "store2", suite_check(&suite, "store2", "processes")).await;
    assert_eq!(o2.status, Status::Pass, "{o2:?}");
    drop(restart);
    let o = run(&suite, "store1", check).await;
    assert_eq!(o.status, Status::Pass, "{o:?}");
}
