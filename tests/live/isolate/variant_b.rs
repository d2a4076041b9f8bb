//! Variant b of the site (`tests/site/mailsite --variant b`: perdition MMPs,
//! self-signed `CA:TRUE` server certificates, a different store user
//! database, 127.1.x.y): `suites/local-b.yaml` validates and passes whole on
//! the healthy site with its certificates as `ca_file`, no `insecure`. The
//! fault matrix runs on b in live/isolate/matrix.rs.

use crate::support::isolate::{run, show};
use crate::support::site;

use std::process::Command;

use healthmon::result::Status;

#[test]
fn variant_b_local_suite_passes_on_the_healthy_site() {
    let _g = site::site_b_exclusive();
    let d = tempfile::tempdir().unwrap();
    let reports = d.path().join("reports");
    let suite = site::root().join("suites/local-b.yaml");
    let st = Command::new(site::bin())
        .arg("validate")
        .arg(&suite)
        .status()
        .unwrap();
    assert!(st.success(), "validate suites/local-b.yaml");
    let (s, took) = run(&suite, &reports, &[]);
    let info = show(&s);
    assert!(s.verdicts.is_empty(), "{info}");
    assert!(
        s.results.iter().all(|r| r.status == Status::Pass),
        "every case passes:\n{info}"
    );
    assert!(s.results.len() >= 80, "{info}");
    eprintln!("variant b: suites/local-b.yaml healthy in {took:.1?}");
}
