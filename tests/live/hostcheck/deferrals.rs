//! deferrals check on variant b's mta1: healthy, nothing deferred; with
//! remote.test's MX down (`remote-down rmx`), an outbound probe deferred on
//! mta1 shows up grouped under remote.test with Postfix's reason, and the
//! check warns once that domain has been deferring longer than its limit.

use healthmon::result::Status;

use crate::support::check::{metric, run, spec, suite_at};
use crate::support::isolate;
use crate::support::site::{self, Fault, Variant};

fn check(oldest_warning: &str) -> healthmon::suite::checks::CheckSpec {
    let dir = site::site_b_state().join("mta1/conf");
    spec(&format!(
        "deferrals: {{config_dir: '{}', oldest_warning: {oldest_warning}}}",
        dir.display()
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_deferrals_are_grouped_by_domain_with_the_reason() {
    let _g = site::site_b_exclusive();
    let suite_path = site::root().join("suites/local-b.yaml");
    let suite = suite_at(&suite_path);
    let o = run(&suite, "mta1", check("10m")).await;
    assert_eq!(o.status, Status::Pass, "{o:?}");
    assert_eq!(metric(&o, "deferred_domains"), 0.0);

    let d = tempfile::tempdir().unwrap();
    let reports = d.path().join("r");
    let only = ["outbound/ims1/mta1/ext1/imap"];
    {
        let _f = Fault::on(
            Variant::B,
            &["fault", "remote-down", "rmx"],
            &["repair", "remote-down", "rmx"],
        );
        let (s, _) = tokio::task::block_in_place(|| isolate::run(&suite_path, &reports, &only));
        assert!(
            s.results.iter().any(|r| r.status.is_bad()),
            "{}",
            isolate::show(&s)
        );
        let o = run(&suite, "mta1", check("1s")).await;
        let f = o
            .observation
            .facts
            .get("deferred_by_domain")
            .cloned()
            .unwrap_or_default();
        assert!(
            f.starts_with("remote.test: 1 msgs, for ")
                && f.contains("connect to 127.2.1.1[127.2.1.1]:25: Connection refused"),
            "{o:?}"
        );
        assert_eq!(o.status, Status::Warning, "{o:?}");
        assert!(
            o.message
                .starts_with("mail to remote.test has been deferring for "),
            "{}",
            o.message
        );
        // The same queue with the default limits (10 minutes) passes.
        assert_eq!(run(&suite, "mta1", check("10m")).await.status, Status::Pass);
    }
    tokio::task::block_in_place(|| isolate::passes_after_repair(&suite_path, &reports, &only));
    let o = run(&suite, "mta1", check("1s")).await;
    assert_eq!(metric(&o, "deferred_domains"), 0.0, "{o:?}");
}
