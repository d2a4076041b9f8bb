//! queue check: the Sun counters sample is parsed per channel (checks run
//! on suites/local.yaml, which needs the site's files: live/check/queue.rs).

use healthmon::hostcheck::queue::parse_sun_counters;

use crate::support::site;

fn fixture() -> std::path::PathBuf {
    site::root().join("tests/fixtures/checks/sun-qm-counters.txt")
}

#[test]
fn sun_counters_sample_is_parsed_per_channel() {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let q = parse_sun_counters(&text).unwrap();
    let got: Vec<(&str, u64)> = q.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        got,
        vec![
            ("conversion", 0),
            ("ims-ms", 37),
            ("tcp_intranet", 2),
            ("tcp_local", 418)
        ]
    );
}
