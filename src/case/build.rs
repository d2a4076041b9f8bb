//! Making one case: a round trip from a declared path, the security
//! probes, the host checks, and the ids they carry. `plan` decides which
//! cases there are; these build them.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::suite::duration::Dur;
use crate::suite::model::*;

/// The path id: `rndtrip/ims1/mta1/mmp2/pop3`. A non-default submission
/// endpoint is part of the submit component (`mta1.submission`).
pub fn roundtrip_id(
    account: &str,
    submit: &str,
    via: Proto,
    retrieve: &str,
    proto: RetrProto,
) -> String {
    let sub = submit_part(submit, via, default_via(&Route::Inbound));
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

/// Inbound probes come in like mail from the Internet (smtp); outbound and
/// echo probes leave as a customer's mail does (submission with AUTH). This
/// usual endpoint is left out of case ids.
fn default_via(r: &Route) -> Proto {
    match r {
        Route::Inbound => Proto::Smtp,
        _ => Proto::Submission,
    }
}

/// The id of a case of any route. Names only:
/// `outbound/<from>/<submit>/<external>/<proto>`,
/// `echo/<from>/<submit>/<reflector>/<retrieve>/<proto>`; the submit part
/// carries `.<via>` when it is not the route's usual endpoint.
fn route_id(
    r: &Route,
    account: &str,
    submit: &str,
    via: Proto,
    retrieve: &str,
    proto: RetrProto,
) -> String {
    let p = proto.as_str();
    match r {
        Route::Inbound => roundtrip_id(account, submit, via, retrieve, proto),
        Route::Outbound { from } => {
            let sub = submit_part(submit, via, default_via(r));
            format!("outbound/{from}/{sub}/{account}/{p}")
        }
        Route::Echo { from, reflector } => {
            let sub = submit_part(submit, via, default_via(r));
            format!("echo/{from}/{sub}/{reflector}/{retrieve}/{p}")
        }
    }
}

/// Labels beyond the round trip's own: the route and who submits (inbound
/// cases keep exactly the labels they always had).
fn route_labels(r: &Route, l: &mut BTreeMap<String, String>) {
    match r {
        Route::Inbound => {}
        Route::Outbound { from } => {
            l.insert("route".into(), r.name().into());
            l.insert("from".into(), from.clone());
        }
        Route::Echo { from, reflector } => {
            l.insert("route".into(), r.name().into());
            l.insert("from".into(), from.clone());
            l.insert("reflector".into(), reflector.clone());
        }
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

pub struct PathIn<'a> {
    pub route: Route,
    pub account: &'a str,
    pub submit: &'a str,
    pub via: Option<Proto>,
    pub retrieve: &'a str,
    pub protocol: RetrProto,
    pub thresholds: Option<&'a Thresholds>,
    pub timeout: Option<Dur>,
    pub slot: Option<u32>,
}

pub fn roundtrip_case(s: &SuiteSpec, idx: usize, p: PathIn<'_>) -> TestCase {
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
    let via = p.via.unwrap_or(default_via(&p.route));
    let arrival = crate::suite::resolve::arrival_wait(
        s.roundtrip
            .as_ref()
            .and_then(|r| r.arrival_timeout)
            .map(|d| d.0),
        timeout,
        s.step_timeout(),
    );
    let id = route_id(&p.route, p.account, p.submit, via, &retrieve, p.protocol);
    let mut labels = BTreeMap::new();
    route_labels(&p.route, &mut labels);
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

/// A matrix's accounts: its list, or every account when omitted or `[all]`.
pub fn matrix_accounts<'a>(s: &'a SuiteSpec, m: &'a MatrixSpec) -> Vec<&'a str> {
    match &m.accounts {
        Some(v) if !(v.len() == 1 && v[0] == "all") => v.iter().map(String::as_str).collect(),
        _ => s.accounts.keys().map(String::as_str).collect(),
    }
}

/// Matrix combinations (account × submit × retrieve × protocol) that expand
/// The security probes, in declaration order.
pub fn security_cases(s: &SuiteSpec, idx: usize) -> impl Iterator<Item = TestCase> + '_ {
    s.security.iter().map(move |sec| {
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
        TestCase {
            id,
            suite: idx,
            kind: CaseKind::Security(SecurityCase { spec: sec.clone() }),
            labels,
            timeout: s.step_timeout().max(Duration::from_secs(1)) * 3,
            slot: None,
        }
    })
}

/// The host checks, hosts by name, checks in declaration order; a host
/// with an agent first gets its `agent/<host>` case (the central monitor's
/// pull of its checks).
pub fn host_cases(s: &SuiteSpec, idx: usize) -> impl Iterator<Item = TestCase> + '_ {
    s.hosts.iter().flat_map(move |(hname, h)| {
        let agent = h.agent.as_ref().map(|_| {
            let mut labels = BTreeMap::new();
            labels.insert("host".into(), hname.clone());
            labels.insert("check".into(), "agent".into());
            TestCase {
                id: format!("agent/{hname}"),
                suite: idx,
                kind: CaseKind::Agent(AgentCase {
                    host: hname.clone(),
                }),
                labels,
                timeout: s.timeout(),
                slot: None,
            }
        });
        agent.into_iter().chain(h.checks.iter().map(move |chk| {
            let id = match chk.name() {
                Some(n) => format!("host/{hname}/{}/{n}", chk.kind()),
                None => format!("host/{hname}/{}", chk.kind()),
            };
            let mut labels = BTreeMap::new();
            labels.insert("host".into(), hname.clone());
            labels.insert("check".into(), chk.kind().to_string());
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
            }
        }))
    })
}
