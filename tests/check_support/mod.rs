//! Helpers shared by the tests/check_*.rs host-check tests.
#![allow(dead_code)]

use std::time::Duration;

use healthmon::case::HostCase;
use healthmon::check::{self, CheckOutcome, CheckSpec, Snapshot};
use healthmon::suite::model::SuiteSpec;

/// suites/local.yaml as the runner sees it.
pub fn local_suite() -> SuiteSpec {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/local.yaml");
    match healthmon::suite::load(&p) {
        Ok((s, _)) => s.spec,
        Err(e) => panic!("suites/local.yaml does not load: {e:?}"),
    }
}

/// A check spec written as in a suite: `queue: {mta: sun, ...}`.
pub fn spec(yaml: &str) -> CheckSpec {
    serde_yaml::with::singleton_map_recursive::deserialize(serde_yaml::Deserializer::from_str(yaml))
        .unwrap_or_else(|e| panic!("bad check yaml {yaml:?}: {e}"))
}

/// The checks a host declares in the suite, by kind (first of that kind).
pub fn suite_check(suite: &SuiteSpec, host: &str, kind: &str) -> CheckSpec {
    suite.hosts[host]
        .checks
        .iter()
        .find(|c| c.kind() == kind)
        .unwrap_or_else(|| panic!("{host} declares no {kind} check"))
        .clone()
}

/// Run one check with its own snapshot.
pub async fn run(suite: &SuiteSpec, host: &str, check: CheckSpec) -> CheckOutcome {
    run_with(suite, host, check, &Snapshot::new()).await
}

pub async fn run_with(
    suite: &SuiteSpec,
    host: &str,
    check: CheckSpec,
    snap: &Snapshot,
) -> CheckOutcome {
    let case = HostCase {
        host: host.to_string(),
        check,
    };
    check::run(&case, suite, snap, Duration::from_secs(5)).await
}

pub fn metric(o: &CheckOutcome, name: &str) -> f64 {
    o.observation
        .metric_value(name)
        .unwrap_or_else(|| panic!("no metric {name} in {:#?}", o.observation.metrics))
}

/// Starts a stopped site host again when dropped (also on panic).
pub struct Restart(pub &'static str);

impl Drop for Restart {
    fn drop(&mut self) {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/site/mailsite");
        let ok = std::process::Command::new(script)
            .args(["start", self.0])
            .status()
            .is_ok_and(|s| s.success());
        // Never panic inside a panic; a failed restart shows in the next status.
        if !ok && !std::thread::panicking() {
            panic!("mailsite start {} failed", self.0);
        }
    }
}
