//! The textfile a run writes (`run --textfile`): the part of the suite its
//! options select, as a [`Selection`] that names the file and labels its
//! series. Two kinds of runs of one site (the full round trip run and a
//! `--host` run, the rotation slots, the shards) then keep one file each
//! instead of overwriting each other's.

use super::select::{RunOptions, slot_in_force, stable_hash};
use crate::report::metrics::Selection;
use crate::suite::LoadedSuite;

/// `host`, `slot`, `shard`, `filter` — in that order, each only when the
/// options restrict it. Values are what was run, not what was typed: the
/// host `--host` resolved to, the rotation slot in force (minutes 16 and 17
/// of slot 15 are one file), a hash of the `--only/--skip` globs.
pub fn selection(suites: &[LoadedSuite], opts: &RunOptions) -> Selection {
    let mut parts = Vec::new();
    let per_suite = |f: &dyn Fn(&LoadedSuite) -> Option<String>| {
        let mut v: Vec<String> = suites.iter().filter_map(f).collect();
        v.sort();
        v.dedup();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join("+")
        }
    };
    if let Some(h) = &opts.host {
        let want = (!h.is_empty()).then_some(h.as_str());
        parts.push((
            "host",
            per_suite(&|s| crate::hostcheck::select_host(&s.spec, want)),
        ));
    }
    if let Some(m) = opts.rotate_minute {
        parts.push((
            "slot",
            per_suite(&|s| slot_in_force(&s.spec, m).map(|n| n.to_string())),
        ));
    }
    if let Some((k, n)) = opts.shard {
        parts.push(("shard", format!("{k}of{n}")));
    }
    if !opts.only.is_empty() || !opts.skip.is_empty() {
        // Globs hold `*` and `/`: a hash keeps the name short and safe.
        let globs = [opts.only.join("\n"), opts.skip.join("\n")].join("\0");
        parts.push((
            "filter",
            format!("{:08x}", stable_hash(globs.as_bytes()) as u32),
        ));
    }
    Selection(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_restriction_is_a_part_in_a_fixed_order() {
        assert_eq!(selection(&[], &RunOptions::default()).label(), "all");
        let opts = RunOptions {
            only: vec!["rndtrip/*".into()],
            shard: Some((2, 3)),
            host: Some("mta1".into()),
            ..Default::default()
        };
        let s = selection(&[], &opts);
        let keys: Vec<&str> = s.0.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["host", "shard", "filter"]);
        assert_eq!(s.0[1].1, "2of3");
        // Other globs, another file; the same globs, the same file.
        let other = RunOptions {
            skip: vec!["rndtrip/*".into()],
            ..opts.clone()
        };
        assert_ne!(selection(&[], &other).0[2], s.0[2]);
        assert_eq!(selection(&[], &opts), s);
    }
}
