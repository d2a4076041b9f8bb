//! The round-trip matrix by construction: which combinations become cases,
//! which are skipped (no path) and which are duplicates (a value listed
//! twice, `store` and the account's store both listed, an earlier matrix
//! covering it), decided per combination from the declared lists, so a
//! million cases are counted or streamed without holding them or a set of
//! their ids. `expand` collects this stream; `validate` counts it; `list`
//! prints it as it comes.

use std::collections::{HashMap, HashSet};

use super::{Route, TestCase};
use crate::suite::model::*;

/// One matrix and the sets of its lists (for "does it cover this?").
struct Mat<'a> {
    spec: &'a MatrixSpec,
    via: Proto,
    protos: Vec<RetrProto>,
    account_set: HashSet<&'a str>,
    submit_set: HashSet<&'a str>,
    retrieve_set: HashSet<&'a str>,
}

/// Each value with whether it is its first occurrence in the list.
fn firsts<T: Eq + std::hash::Hash + Copy>(v: impl IntoIterator<Item = T>) -> Vec<(T, bool)> {
    let mut seen = HashSet::new();
    v.into_iter().map(|x| (x, seen.insert(x))).collect()
}

/// What [`Plan::count`] finds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub roundtrip: usize,
    pub security: usize,
    pub host: usize,
    /// Matrix combinations without a path (an MMP not fronting the store).
    pub matrix_skipped: usize,
    /// Combinations listed more than once (they run once).
    pub duplicates: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.roundtrip + self.security + self.host
    }
}

pub struct Plan<'a> {
    s: &'a SuiteSpec,
    idx: usize,
    mats: Vec<Mat<'a>>,
    /// Stores each retrieve host reaches through (MMPs), computed once.
    fronted: HashMap<&'a str, HashSet<String>>,
    /// Explicit paths by id: the last one declared wins, at the place of
    /// the first (a matrix case it replaces, else after the matrix).
    paths: HashMap<String, &'a PathSpec>,
    /// Rotation minute by id: the first entry wins.
    rotation: HashMap<String, u32>,
}

impl<'a> Plan<'a> {
    pub fn new(s: &'a SuiteSpec, idx: usize) -> Self {
        let mut mats = Vec::new();
        let mut fronted = HashMap::new();
        let mut paths = HashMap::new();
        let mut rotation = HashMap::new();
        if let Some(rt) = &s.roundtrip {
            for m in &rt.matrix {
                let retrieve_set: HashSet<&str> = m.retrieve.iter().map(String::as_str).collect();
                for r in &retrieve_set {
                    if s.has_role(r, "mmp") {
                        fronted
                            .entry(*r)
                            .or_insert_with(|| s.fronted_stores(r).into_iter().collect());
                    }
                }
                mats.push(Mat {
                    spec: m,
                    via: m.via.unwrap_or(Proto::Smtp),
                    protos: m.protocol.clone(),
                    account_set: super::build::matrix_accounts(s, m).into_iter().collect(),
                    submit_set: m.submit.iter().map(String::as_str).collect(),
                    retrieve_set,
                });
            }
            for p in &rt.paths {
                let id = id_of(s, &p.account, &p.submit, p.via, &p.retrieve, p.protocol);
                paths.insert(id, p);
            }
            for r in &rt.rotation {
                let id = id_of(s, &r.account, &r.submit, r.via, &r.retrieve, r.protocol);
                rotation.entry(id).or_insert(r.minute);
            }
        }
        Plan {
            s,
            idx,
            mats,
            fronted,
            paths,
            rotation,
        }
    }

    /// The store `retrieve` means for `account` (`store` = its own).
    fn resolved<'b>(&'b self, account: &str, retrieve: &'b str) -> &'b str {
        if retrieve == "store" {
            self.s
                .accounts
                .get(account)
                .map_or("", |a| a.store.as_str())
        } else {
            retrieve
        }
    }

    /// No path: an MMP not fronting the account's store, or another store.
    fn no_path(&self, account: &str, ret: &str) -> bool {
        let Some(a) = self.s.accounts.get(account) else {
            return false;
        };
        (self.s.has_role(ret, "mmp")
            && !self.fronted.get(ret).is_some_and(|f| f.contains(&a.store)))
            || (ret != "store" && self.s.has_role(ret, "store") && ret != a.store)
    }

    /// Does matrix `m` produce this combination (`ret` already resolved)?
    fn covers(
        &self,
        m: &Mat,
        acct: &str,
        sub: &str,
        via: Proto,
        ret: &str,
        proto: RetrProto,
    ) -> bool {
        m.via == via
            && m.account_set.contains(acct)
            && m.submit_set.contains(sub)
            && m.protos.contains(&proto)
            && ((m.retrieve_set.contains(ret) && ret != "store" && !self.no_path(acct, ret))
                || (m.retrieve_set.contains("store")
                    && self.resolved(acct, "store") == ret
                    && !self.no_path(acct, "store")))
    }

    fn in_matrix(&self, acct: &str, sub: &str, via: Proto, ret: &str, proto: RetrProto) -> bool {
        let ret = self.resolved(acct, ret);
        self.mats
            .iter()
            .any(|m| self.covers(m, acct, sub, via, ret, proto))
    }

    /// Every unique matrix combination in expansion order (matrix,
    /// account, submit, retrieve, protocol, as declared); combinations
    /// without a path and duplicates (a value met before in its list, or
    /// covered by an earlier matrix) are counted into `n` instead.
    fn walk(&self, n: &mut Counts, mut visit: impl FnMut(&Mat<'a>, &str, &str, &str, RetrProto)) {
        for (j, m) in self.mats.iter().enumerate() {
            let subs = firsts(m.spec.submit.iter().map(String::as_str));
            let protos = firsts(m.spec.protocol.iter().copied());
            let per_ret = subs.len() * protos.len();
            for (acct, first_acct) in firsts(super::build::matrix_accounts(self.s, m.spec)) {
                // (resolved retrieve, first time met) of the entries with a path.
                let mut rets: Vec<(&str, bool)> = Vec::with_capacity(m.spec.retrieve.len());
                for r in &m.spec.retrieve {
                    if self.no_path(acct, r) {
                        n.matrix_skipped += per_ret;
                    } else {
                        let r = self.resolved(acct, r);
                        let first = !rets.iter().any(|(x, _)| *x == r);
                        rets.push((r, first));
                    }
                }
                for (sub, first_sub) in &subs {
                    for (ret, first_ret) in &rets {
                        for (proto, first_proto) in &protos {
                            let unique = first_acct
                                && *first_sub
                                && *first_ret
                                && *first_proto
                                && !self.mats[..j]
                                    .iter()
                                    .any(|e| self.covers(e, acct, sub, m.via, ret, *proto));
                            if unique {
                                visit(m, acct, sub, ret, *proto);
                            } else {
                                n.duplicates += 1;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Count the cases without making the round trips.
    pub fn count(&self) -> Counts {
        let mut n = Counts::default();
        let mut matrix = 0;
        self.walk(&mut n, |_, _, _, _, _| matrix += 1);
        n.roundtrip = matrix;
        self.others(&mut n, |_| {});
        n
    }

    /// (minute, case id) of the rotation table, first entry per id.
    pub fn rotation(&self) -> Vec<(u32, String)> {
        let mut v: Vec<(u32, String)> = self
            .rotation
            .iter()
            .map(|(id, m)| (*m, id.clone()))
            .collect();
        v.sort();
        v
    }

    /// Every case, in `expand`'s order, one at a time.
    pub fn for_each(&self, mut f: impl FnMut(TestCase)) {
        let mut n = Counts::default();
        self.walk(&mut n, |m, acct, sub, ret, proto| {
            let id = super::build::roundtrip_id(acct, sub, m.via, ret, proto);
            let mut c = match self.paths.get(&id) {
                Some(p) => self.path_case(p),
                None => super::build::roundtrip_case(
                    self.s,
                    self.idx,
                    super::build::PathIn {
                        route: Route::Inbound,
                        account: acct,
                        submit: sub,
                        via: m.spec.via,
                        retrieve: ret,
                        protocol: proto,
                        thresholds: m.spec.thresholds.as_ref(),
                        timeout: m.spec.timeout,
                        slot: None,
                    },
                ),
            };
            c.slot = self.rotation.get(&c.id).copied();
            f(c)
        });
        self.others(&mut n, f);
    }

    fn path_case(&self, p: &PathSpec) -> TestCase {
        super::build::roundtrip_case(
            self.s,
            self.idx,
            super::build::PathIn {
                route: Route::Inbound,
                account: &p.account,
                submit: &p.submit,
                via: p.via,
                retrieve: &p.retrieve,
                protocol: p.protocol,
                thresholds: p.thresholds.as_ref(),
                timeout: p.timeout,
                slot: None,
            },
        )
    }

    /// After the matrix: explicit paths it did not cover, rotation paths
    /// not already there, security probes, host checks (first id wins).
    fn others(&self, n: &mut Counts, mut f: impl FnMut(TestCase)) {
        let mut seen: HashSet<String> = HashSet::new();
        let Some(rt) = &self.s.roundtrip else {
            return self.probes_and_checks(n, &mut seen, f);
        };
        for p in &rt.paths {
            if self.in_matrix(
                &p.account,
                &p.submit,
                p.via.unwrap_or(Proto::Smtp),
                &p.retrieve,
                p.protocol,
            ) {
                continue;
            }
            let mut c = self.path_case(self.paths[&self.path_id(p)]);
            if seen.insert(c.id.clone()) {
                n.roundtrip += 1;
                c.slot = self.rotation.get(&c.id).copied();
                f(c);
            }
        }
        for r in &rt.rotation {
            if self.in_matrix(
                &r.account,
                &r.submit,
                r.via.unwrap_or(Proto::Smtp),
                &r.retrieve,
                r.protocol,
            ) {
                continue;
            }
            let c = super::build::roundtrip_case(
                self.s,
                self.idx,
                super::build::PathIn {
                    route: Route::Inbound,
                    account: &r.account,
                    submit: &r.submit,
                    via: r.via,
                    retrieve: &r.retrieve,
                    protocol: r.protocol,
                    thresholds: None,
                    timeout: None,
                    slot: Some(r.minute),
                },
            );
            if seen.insert(c.id.clone()) {
                n.roundtrip += 1;
                f(c);
            }
        }
        // The third route: outbound and echo paths (ids of their own).
        for c in super::route::cases(self.s, self.idx, rt) {
            if seen.insert(c.id.clone()) {
                n.roundtrip += 1;
                f(c);
            }
        }
        self.probes_and_checks(n, &mut seen, f)
    }

    fn path_id(&self, p: &PathSpec) -> String {
        id_of(
            self.s,
            &p.account,
            &p.submit,
            p.via,
            &p.retrieve,
            p.protocol,
        )
    }

    fn probes_and_checks(
        &self,
        n: &mut Counts,
        seen: &mut HashSet<String>,
        mut f: impl FnMut(TestCase),
    ) {
        for c in super::build::security_cases(self.s, self.idx) {
            if seen.insert(c.id.clone()) {
                n.security += 1;
                f(c);
            }
        }
        for c in super::build::host_cases(self.s, self.idx) {
            if seen.insert(c.id.clone()) {
                n.host += 1;
                f(c);
            }
        }
    }
}

/// The id of a declared path (`store` resolved to the account's store).
fn id_of(
    s: &SuiteSpec,
    account: &str,
    submit: &str,
    via: Option<Proto>,
    retrieve: &str,
    proto: RetrProto,
) -> String {
    let ret = if retrieve == "store" {
        s.accounts.get(account).map_or("", |a| a.store.as_str())
    } else {
        retrieve
    };
    super::build::roundtrip_id(account, submit, via.unwrap_or(Proto::Smtp), ret, proto)
}
