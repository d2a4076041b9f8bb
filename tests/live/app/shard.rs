//! `--shard K/N` partitions the expanded cases exactly: every case in
//! exactly one of N shards, for N in 1..=7, on the shipped suites.
//!
//! Live only because the shipped suites/local.yaml loads only where the site's files are
//! (its password files under target/mailsite, readable by root); the running
//! site is not used, so no site lock is taken.

use std::collections::BTreeMap;
use std::path::PathBuf;

use healthmon::app::{RunOptions, select};

fn load(name: &str) -> Vec<healthmon::suite::LoadedSuite> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("suites")
        .join(name);
    match healthmon::suite::load_all(&[p]) {
        Ok((s, _)) => s,
        Err(e) => panic!("{name}: {e:?}"),
    }
}

#[test]
fn shards_partition_the_cases_exactly() {
    // isp.yaml reads its passwords from the environment; any value loads it.
    // SAFETY: set before any other thread of this test binary reads the env.
    for u in ["IMS1", "IMS2", "IMS3", "IMS4"] {
        unsafe { std::env::set_var(format!("HM_{u}_PASS"), "not-used-here") };
    }
    for name in ["local.yaml", "isp.yaml"] {
        let suites = load(name);
        let (all, none) = select(&suites, &RunOptions::default());
        assert!(
            none.is_empty() && all.len() > 10,
            "{name}: {} cases",
            all.len()
        );
        for n in 1..=7u32 {
            let mut seen: BTreeMap<String, u32> = BTreeMap::new();
            for k in 1..=n {
                let opts = RunOptions {
                    shard: Some((k, n)),
                    ..Default::default()
                };
                let (run, out) = select(&suites, &opts);
                assert_eq!(run.len() + out.len(), all.len(), "{name} {k}/{n}");
                for c in run {
                    *seen.entry(c.id).or_default() += 1;
                }
            }
            for c in &all {
                assert_eq!(seen.get(&c.id), Some(&1), "{name}: {} in {n} shards", c.id);
            }
            assert_eq!(seen.len(), all.len(), "{name} N={n}: unknown ids");
        }
        // The split spreads: with N=3 no shard holds everything.
        let biggest = (1..=3)
            .map(|k| {
                let o = RunOptions {
                    shard: Some((k, 3)),
                    ..Default::default()
                };
                select(&suites, &o).0.len()
            })
            .max()
            .unwrap();
        assert!(biggest < all.len(), "{name}: one shard got all {biggest}");
    }
}
