//! Host-check helpers: suites/local.yaml as the runner sees it, check specs
//! written as in a suite, one check run with its own snapshot.

use std::time::Duration;

use healthmon::case::HostCase;
use healthmon::hostcheck::{self, CheckOutcome, CheckSpec, Snapshot};
use healthmon::suite::model::SuiteSpec;

/// suites/local.yaml as the runner sees it.
pub fn local_suite() -> SuiteSpec {
    suite_at(&super::site::root().join("suites/local.yaml"))
}

/// A suite file as the runner sees it.
pub fn suite_at(p: &std::path::Path) -> SuiteSpec {
    match healthmon::suite::load(p) {
        Ok((s, _)) => s.spec,
        Err(e) => panic!("{} does not load: {e:?}", p.display()),
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
    hostcheck::run(&case, suite, snap, Duration::from_secs(5)).await
}

pub fn metric(o: &CheckOutcome, name: &str) -> f64 {
    o.observation
        .metric_value(name)
        .unwrap_or_else(|| panic!("no metric {name} in {:#?}", o.observation.metrics))
}

#[allow(unused_imports)] // the live check tests stop hosts
pub use super::site::Restart;
