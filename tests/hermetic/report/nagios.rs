//! Nagios plugin mode without the site: a bad range is a config error;
//! property tests: range print/parse round trip, label quoting, unique
//! label prefixes (real runs: live/report/nagios.rs).

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::modes::*;
use crate::support::nagios::parse_perf;
use healthmon::nagios_range::Range;
use healthmon::report::nagios::{quote, unique_labels};
use proptest::prelude::*;

#[test]
fn bad_range_is_a_config_error() {
    let o = Command::new(bin())
        .args([
            "run",
            "suites/local.yaml",
            "--format",
            "nagios",
            "--critical",
            "20:10",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("greater than end"), "{e}");
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64),
        (-1e6f64..1e6),
    ]
}

proptest! {
    #[test]
    fn range_print_parse_round_trip(a in finite(), b in finite(), lo in any::<bool>(), hi in any::<bool>(), inside in any::<bool>()) {
        let (s, e) = if a <= b { (a, b) } else { (b, a) };
        let r = Range { start: lo.then_some(s), end: hi.then_some(e), inside };
        let text = r.to_string();
        let back: Range = text.parse().unwrap();
        prop_assert_eq!(back, r, "{}", text);
        for v in [s - 1.0, s, (s + e) / 2.0, e, e + 1.0] {
            prop_assert_eq!(back.alerts(v), r.alerts(v));
        }
    }

    #[test]
    fn quoted_labels_parse_back(label in "\\PC{1,40}|[ a-z'=/]{1,20}") {
        let item = format!("{}=1ms;;;0;", quote(&label));
        let parsed = parse_perf(&item).map_err(TestCaseError::fail)?;
        prop_assert_eq!(parsed.len(), 1);
        let want: String = label.chars().map(|c| if c == '=' { '_' } else if c.is_control() { ' ' } else { c }).collect();
        prop_assert_eq!(&parsed[0].label, &want);
        prop_assert_eq!(&parsed[0].value, "1ms");
    }

    #[test]
    fn unique_labels_have_unique_prefixes(labels in proptest::collection::vec("[a-z/ ]{0,30}", 1..40)) {
        let mut dedup = labels.clone();
        dedup.sort();
        dedup.dedup();
        let out = unique_labels(dedup);
        let keys: BTreeSet<String> = out.iter().map(|l| l.chars().take(19).collect()).collect();
        prop_assert_eq!(keys.len(), out.len());
    }
}
