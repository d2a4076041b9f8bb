//! Suite → test cases. Deterministic: the same suite gives the same cases in
//! the same order (declaration order of the matrix, accounts sorted by name).
//! `plan` streams them; `build` makes each one.

use std::collections::BTreeSet;

use super::TestCase;
use crate::suite::model::*;

pub use super::build::{matrix_accounts, roundtrip_id};

/// Matrix combinations (account × submit × retrieve × protocol) that expand
/// skips silently because they have no path (`validate` reports the count).
pub fn matrix_skipped(s: &SuiteSpec) -> usize {
    super::plan::Plan::new(s, 0).count().matrix_skipped
}

/// Every case of a (validated) suite: round-trip matrix, explicit paths,
/// rotation paths not already covered, security probes, host checks (see
/// `plan`, which streams them; this collects).
pub fn expand(s: &SuiteSpec, idx: usize) -> Vec<TestCase> {
    let mut out = Vec::new();
    super::plan::Plan::new(s, idx).for_each(|c| out.push(c));
    out
}

/// The rotation slot that applies at `minute`: the latest slot at or before
/// it, wrapping to the last slot of the previous hour.
pub fn slot_for_minute(slots: &BTreeSet<u32>, minute: u32) -> Option<u32> {
    slots
        .range(..=minute)
        .next_back()
        .or_else(|| slots.iter().next_back())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn slot_lookup_wraps() {
        let s: BTreeSet<u32> = [5, 10, 55].into_iter().collect();
        assert_eq!(slot_for_minute(&s, 7), Some(5));
        assert_eq!(slot_for_minute(&s, 10), Some(10));
        assert_eq!(slot_for_minute(&s, 2), Some(55));
        assert_eq!(slot_for_minute(&BTreeSet::new(), 2), None);
    }
    #[test]
    fn ids_carry_no_values() {
        assert_eq!(
            roundtrip_id("ims1", "mta1", Proto::Smtp, "mmp2", RetrProto::Pop3),
            "rndtrip/ims1/mta1/mmp2/pop3"
        );
        assert_eq!(
            roundtrip_id("ims1", "mta1", Proto::Submission, "store1", RetrProto::Imap),
            "rndtrip/ims1/mta1.submission/store1/imap"
        );
    }
}
