//! Which cases a run executes: `--only/--skip` globs, the rotation slot,
//! `--host`, `--shard`. Everything not selected is reported as skipped.

use std::collections::BTreeSet;

use crate::case::{CaseKind, TestCase};
use crate::suite::LoadedSuite;
use crate::suite::model::SuiteSpec;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Globs: only cases whose id matches one.
    pub only: Vec<String>,
    /// Globs: skip cases whose id matches one.
    pub skip: Vec<String>,
    /// Run only the rotation path of the slot that applies at this minute.
    pub rotate_minute: Option<u32>,
    /// Only host checks of this host (`Some("")` = this machine's hostname).
    pub host: Option<String>,
    /// Diagnose failures (isolation) before reporting.
    pub isolate: bool,
    /// `(K, N)`: run the K-th of N deterministic partitions (1-based).
    pub shard: Option<(u32, u32)>,
}

/// Split the suites' cases into (to run, filtered out → reported skipped).
pub fn select(suites: &[LoadedSuite], opts: &RunOptions) -> (Vec<TestCase>, Vec<TestCase>) {
    let mut run = Vec::new();
    let mut out = Vec::new();
    for (i, s) in suites.iter().enumerate() {
        let sel = Selector::new(&s.spec, opts);
        for c in crate::case::expand::expand(&s.spec, i) {
            if sel.keeps(&c) {
                run.push(c)
            } else {
                out.push(c)
            }
        }
    }
    (run, out)
}

/// The selection of [`RunOptions`] for one suite's cases (also `list`'s,
/// which streams them).
pub struct Selector {
    filter: crate::filter::Filter,
    rotation: Option<BTreeSet<String>>,
    /// `Some(host)`: only that host's checks (`Some(None)`: no host matched).
    host: Option<Option<String>>,
    shard: Option<(u32, u32)>,
}

impl Selector {
    pub fn new(s: &SuiteSpec, opts: &RunOptions) -> Selector {
        Selector {
            filter: crate::filter::Filter::new(opts.only.clone(), opts.skip.clone()),
            rotation: opts.rotate_minute.map(|m| rotation_ids(s, m)),
            host: opts
                .host
                .as_deref()
                .map(|h| crate::hostcheck::select_host(s, (!h.is_empty()).then_some(h))),
            shard: opts.shard,
        }
    }

    pub fn keeps(&self, c: &TestCase) -> bool {
        self.filter.matches(&c.id)
            && self.rotation.as_ref().is_none_or(|ids| ids.contains(&c.id))
            && self.host.as_ref().is_none_or(
                |h| matches!(&c.kind, CaseKind::Host(hc) if Some(&hc.host) == h.as_ref()),
            )
            && self.shard.is_none_or(|(k, n)| in_shard(&c.id, k, n))
    }
}

/// Ids of the rotation paths of the slot in force at `minute` (the seed's
/// sequence.cfg under cron: one path per slot).
pub fn rotation_ids(s: &SuiteSpec, minute: u32) -> BTreeSet<String> {
    let Some(rt) = &s.roundtrip else {
        return BTreeSet::new();
    };
    let Some(slot) = slot_in_force(s, minute) else {
        return BTreeSet::new();
    };
    rt.rotation
        .iter()
        .filter(|r| r.minute == slot)
        .map(|r| {
            let retrieve = if r.retrieve == "store" {
                s.accounts
                    .get(&r.account)
                    .map(|a| a.store.clone())
                    .unwrap_or_default()
            } else {
                r.retrieve.clone()
            };
            crate::case::expand::roundtrip_id(
                &r.account,
                &r.submit,
                r.via.unwrap_or(crate::suite::model::Proto::Smtp),
                &retrieve,
                r.protocol,
            )
        })
        .collect()
}

/// The rotation slot (a minute of the hour) in force at `minute`, if the
/// suite has a rotation.
pub fn slot_in_force(s: &SuiteSpec, minute: u32) -> Option<u32> {
    let slots: BTreeSet<u32> = s
        .roundtrip
        .as_ref()?
        .rotation
        .iter()
        .map(|r| r.minute)
        .collect();
    crate::case::expand::slot_for_minute(&slots, minute % 60)
}

/// FNV-1a (not std's randomly seeded hasher): the same on every machine and
/// in every release.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Stable partition by [`stable_hash`] of the id, so every machine of a
/// sharded run agrees.
pub fn in_shard(id: &str, k: u32, n: u32) -> bool {
    let h = stable_hash(id.as_bytes());
    n > 0 && (h % n as u64) as u32 == k.saturating_sub(1)
}

/// `K/N` (`run --shard`, a schedule job's `shard:`).
pub fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}`: expected K/N, e.g. 1/3"))?;
    let k: u32 = k
        .trim()
        .parse()
        .map_err(|_| format!("`{s}`: K is not a number"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{s}`: N is not a number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("`{s}`: need 1 <= K <= N"));
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_syntax() {
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("4/3").is_err());
        assert!(parse_shard("3").is_err());
        assert!(parse_shard("a/3").is_err());
    }

    #[test]
    fn shards_partition_every_id_exactly_once() {
        let ids: Vec<String> = (0..200)
            .map(|i| format!("rndtrip/ims{i}/mta1/mmp1/pop3"))
            .collect();
        for n in 1..=5 {
            for id in &ids {
                let hits = (1..=n).filter(|k| in_shard(id, *k, n)).count();
                assert_eq!(hits, 1, "{id} in {hits} of {n} shards");
            }
        }
        // Not everything lands in one shard.
        assert!(ids.iter().filter(|id| in_shard(id, 1, 2)).count() > 50);
    }
}
