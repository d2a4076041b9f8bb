//! Suite → test cases. Deterministic: the same suite gives the same cases in
//! the same order (declaration order of the matrix, accounts sorted by name).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::*;
use crate::suite::duration::Dur;
use crate::suite::model::*;

mod route;

/// The path id: `rndtrip/ims1/mta1/mmp2/pop3`. A non-default submission
/// endpoint is part of the submit component (`mta1.submission`).
pub fn roundtrip_id(
    account: &str,
    submit: &str,
    via: Proto,
    retrieve: &str,
    proto: RetrProto,
) -> String {
    let sub = submit_part(submit, via, Proto::Smtp);
    format!("rndtrip/{account}/{sub}/{retrieve}/{}", proto.as_str())
}

/// The submit component of an id: the host, plus `.<via>` unless `via` is
/// the route's usual endpoint.
fn submit_part(submit: &str, via: Proto, usual: Proto) -> String {
    if via == usual {
        submit.to_string()
    } else {
        format!("{submit}.{via}")
    }
}

fn merged_thresholds(base: &Thresholds, over: Option<&Thresholds>) -> Thresholds {
    let mut t = base.clone();
    if let Some(o) = over {
        for (k, v) in o {
            let e = t.entry(k.clone()).or_default();
            if v.warning.is_some() {
                e.warning = v.warning;
            }
            if v.critical.is_some() {
                e.critical = v.critical;
            }
        }
    }
    t
}

struct PathIn<'a> {
    route: Route,
    account: &'a str,
    submit: &'a str,
    via: Option<Proto>,
    retrieve: &'a str,
    protocol: RetrProto,
    thresholds: Option<&'a Thresholds>,
    timeout: Option<Dur>,
    slot: Option<u32>,
}

fn roundtrip_case(s: &SuiteSpec, idx: usize, p: PathIn<'_>) -> TestCase {
    let base = s
        .defaults
        .as_ref()
        .and_then(|d| d.thresholds.clone())
        .unwrap_or_default();
    let thresholds = merged_thresholds(&base, p.thresholds);
    let timeout = p.timeout.map(|d| d.0).unwrap_or_else(|| s.timeout());
    // An outbound probe's mailbox is outside the site: its "store" is the
    // external mailbox itself.
    let store = match &p.route {
        Route::Outbound { .. } => p.account.to_string(),
        _ => s
            .accounts
            .get(p.account)
            .map(|a| a.store.clone())
            .unwrap_or_default(),
    };
    // `store` in a retrieve list means "this account's own store".
    let retrieve = if p.retrieve == "store" {
        store.clone()
    } else {
        p.retrieve.to_string()
    };
    let direct = retrieve == store;
    let via = p.via.unwrap_or(route::default_via(&p.route));
    let arrival = crate::suite::resolve::arrival_wait(
        s.roundtrip
            .as_ref()
            .and_then(|r| r.arrival_timeout)
            .map(|d| d.0),
        timeout,
        s.step_timeout(),
    );
    let id = match &p.route {
        Route::Inbound => roundtrip_id(p.account, p.submit, via, &retrieve, p.protocol),
        r => route::id(r, p.account, p.submit, via, &retrieve, p.protocol),
    };
    let mut labels = BTreeMap::new();
    route::labels(&p.route, &mut labels);
    labels.insert("account".into(), p.account.to_string());
    labels.insert("store".into(), store);
    labels.insert("submit".into(), p.submit.to_string());
    labels.insert("via".into(), via.to_string());
    labels.insert("retrieve".into(), retrieve.clone());
    labels.insert("protocol".into(), p.protocol.as_str().to_string());
    TestCase {
        id,
        suite: idx,
        kind: CaseKind::Roundtrip(RoundtripCase {
            account: p.account.to_string(),
            submit: p.submit.to_string(),
            via,
            retrieve,
            direct,
            protocol: p.protocol,
            thresholds,
            arrival_timeout: arrival,
            case_timeout: timeout,
            route: p.route,
        }),
        labels,
        timeout,
        slot: p.slot,
    }
}

/// True when a matrix combination has no path: an MMP that does not front
/// the account's store, or another store than the account's.
fn no_path(s: &SuiteSpec, acct: &str, ret: &str) -> bool {
    let Some(a) = s.accounts.get(acct) else {
        return false;
    };
    (s.has_role(ret, "mmp") && !s.fronted_stores(ret).contains(&a.store))
        || (ret != "store" && s.has_role(ret, "store") && ret != a.store)
}

/// A matrix's accounts: its list, or every account when omitted or `[all]`.
pub fn matrix_accounts<'a>(s: &'a SuiteSpec, m: &'a MatrixSpec) -> Vec<&'a str> {
    match &m.accounts {
        Some(v) if !(v.len() == 1 && v[0] == "all") => v.iter().map(String::as_str).collect(),
        _ => s.accounts.keys().map(String::as_str).collect(),
    }
}

/// Matrix combinations (account × submit × retrieve × protocol) that expand
/// skips silently because they have no path (`validate` reports the count).
pub fn matrix_skipped(s: &SuiteSpec) -> usize {
    let Some(rt) = &s.roundtrip else { return 0 };
    let mut n = 0;
    for m in &rt.matrix {
        let accounts = matrix_accounts(s, m);
        for acct in &accounts {
            for ret in &m.retrieve {
                if no_path(s, acct, ret) {
                    n += m.submit.len() * m.protocol.len();
                }
            }
        }
    }
    n
}

/// Every case of a (validated) suite: round-trip matrix, explicit paths,
/// rotation paths not already covered, security probes, host checks.
pub fn expand(s: &SuiteSpec, idx: usize) -> Vec<TestCase> {
    let mut out = Cases::default();
    if let Some(rt) = &s.roundtrip {
        for m in &rt.matrix {
            let accounts = matrix_accounts(s, m);
            for acct in &accounts {
                for sub in &m.submit {
                    for ret in &m.retrieve {
                        if no_path(s, acct, ret) {
                            continue;
                        }
                        for proto in &m.protocol {
                            let c = roundtrip_case(
                                s,
                                idx,
                                PathIn {
                                    route: Route::Inbound,
                                    account: acct,
                                    submit: sub,
                                    via: m.via,
                                    retrieve: ret,
                                    protocol: *proto,
                                    thresholds: m.thresholds.as_ref(),
                                    timeout: m.timeout,
                                    slot: None,
                                },
                            );
                            out.push(c, false);
                        }
                    }
                }
            }
        }
        for p in &rt.paths {
            let c = roundtrip_case(
                s,
                idx,
                PathIn {
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
            );
            out.push(c, true);
        }
        for r in &rt.rotation {
            let c = roundtrip_case(
                s,
                idx,
                PathIn {
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
            match out.seen.get(&c.id) {
                Some(&i) => {
                    out.list[i].slot.get_or_insert(r.minute);
                }
                None => out.push(c, false),
            }
        }
        route::expand(s, idx, rt, &mut out);
    }
    for sec in &s.security {
        let (id, host, extra) = match sec {
            SecuritySpec::OpenRelay(o) => (
                format!("security/open_relay/{}", o.host),
                o.host.clone(),
                None,
            ),
            SecuritySpec::SubmissionWithoutAuth(h) => (
                format!("security/submission_without_auth/{}", h.host),
                h.host.clone(),
                None,
            ),
            SecuritySpec::WrongPassword(w) => (
                format!(
                    "security/wrong_password/{}/{}/{}",
                    w.host,
                    w.protocol.as_str(),
                    w.account
                ),
                w.host.clone(),
                Some(w.account.clone()),
            ),
        };
        let mut labels = BTreeMap::new();
        labels.insert("host".into(), host);
        if let Some(a) = extra {
            labels.insert("account".into(), a);
        }
        out.push(
            TestCase {
                id,
                suite: idx,
                kind: CaseKind::Security(SecurityCase { spec: sec.clone() }),
                labels,
                timeout: s.step_timeout().max(Duration::from_secs(1)) * 3,
                slot: None,
            },
            false,
        );
    }
    for (hname, h) in &s.hosts {
        for chk in &h.checks {
            let id = match chk.name() {
                Some(n) => format!("host/{hname}/{}/{n}", chk.kind()),
                None => format!("host/{hname}/{}", chk.kind()),
            };
            let mut labels = BTreeMap::new();
            labels.insert("host".into(), hname.clone());
            labels.insert("check".into(), chk.kind().to_string());
            out.push(
                TestCase {
                    id,
                    suite: idx,
                    kind: CaseKind::Host(HostCase {
                        host: hname.clone(),
                        check: chk.clone(),
                    }),
                    labels,
                    timeout: s.timeout(),
                    slot: None,
                },
                false,
            );
        }
    }
    out.list
}

/// Cases in order, with first-wins dedup (explicit paths replace matrix ones).
#[derive(Default)]
struct Cases {
    list: Vec<TestCase>,
    seen: BTreeMap<String, usize>,
}

impl Cases {
    fn push(&mut self, c: TestCase, replace: bool) {
        match self.seen.get(&c.id) {
            Some(&i) if replace => self.list[i] = c,
            Some(_) => {}
            None => {
                self.seen.insert(c.id.clone(), self.list.len());
                self.list.push(c);
            }
        }
    }
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
