//! Runs the follow-up checks the rules asked for, each bounded by the step
//! timeout, all at once. Measurement goes through the probe modules: the
//! diagnoser never speaks a protocol itself.

use std::time::Duration;

use super::evidence::{Check, Evidence, Outcome};
use crate::probe;
use crate::probe::agent::QueueWhere;
use crate::result::{ErrorKind, Observation, ProbeError};
use crate::suite::checks::ldap::LdapSpec;
use crate::suite::model::{Proto, RetrProto, SuiteSpec};

fn fail(e: ProbeError) -> Outcome {
    Outcome::Fail {
        kind: e.kind,
        message: e.message,
    }
}

fn retr(proto: &str) -> RetrProto {
    if proto == "imap" {
        RetrProto::Imap
    } else {
        RetrProto::Pop3
    }
}

/// Run every check concurrently; each gets at most `step * 3` in all.
pub async fn run(suite: &SuiteSpec, checks: Vec<Check>, step: Duration) -> Evidence {
    let mut set = tokio::task::JoinSet::new();
    for c in checks {
        let s = suite.clone();
        set.spawn(async move {
            let out = match tokio::time::timeout(step * 3, one(&s, &c, step)).await {
                Ok(o) => o,
                Err(_) => Outcome::Fail {
                    kind: ErrorKind::Timeout,
                    message: format!("no answer within {:?}", step * 3),
                },
            };
            (c, out)
        });
    }
    let mut ev = Evidence::default();
    while let Some(r) = set.join_next().await {
        if let Ok((c, o)) = r {
            ev.0.insert(c, o);
        }
    }
    ev
}

async fn one(s: &SuiteSpec, c: &Check, step: Duration) -> Outcome {
    let mut obs = Observation::default();
    match c {
        Check::Smtp(h) | Check::Lmtp(h) => {
            let lmtp = matches!(c, Check::Lmtp(_));
            let proto = if lmtp { Proto::Lmtp } else { Proto::Smtp };
            let Some(ep) = s.endpoint(h, proto) else {
                return Outcome::Unknown(format!("{h} has no {proto} endpoint"));
            };
            match probe::smtp::greet(&ep, &s.helo(), lmtp, step, &mut obs).await {
                Ok(g) => Outcome::Ok(g.banner),
                Err(e) => fail(e),
            }
        }
        Check::Service { host, proto } => {
            let Some(ep) = s.endpoint_for(host, &retr(proto).endpoints()) else {
                return Outcome::Unknown(format!("{host} has no {proto} endpoint"));
            };
            let r = match retr(proto) {
                RetrProto::Pop3 => probe::pop3::capabilities(&ep, step, &mut obs).await,
                RetrProto::Imap => probe::imap::capabilities(&ep, step, &mut obs).await,
            };
            match r {
                Ok(_) => Outcome::Ok(String::new()),
                Err(e) => fail(e),
            }
        }
        Check::Login {
            host,
            proto,
            account,
        } => {
            let Some(ep) = s.endpoint_for(host, &retr(proto).endpoints()) else {
                return Outcome::Unknown(format!("{host} has no {proto} endpoint"));
            };
            let (Some(login), Some(secret)) = (s.login(account), s.secret_ref(account)) else {
                return Outcome::Unknown(format!("no credentials for {account}"));
            };
            let pw = match secret.resolve() {
                Ok(p) => p,
                Err(e) => return Outcome::Unknown(e.to_string()),
            };
            let r = match retr(proto) {
                RetrProto::Pop3 => probe::pop3::login_check(&ep, &login, &pw, step, &mut obs).await,
                RetrProto::Imap => probe::imap::login_check(&ep, &login, &pw, step, &mut obs).await,
            };
            match r {
                Ok(()) => Outcome::Ok(String::new()),
                Err(e) => fail(e),
            }
        }
        Check::Present {
            host,
            proto,
            account,
            token,
        } => {
            let Some(ep) = s.endpoint_for(host, &retr(proto).endpoints()) else {
                return Outcome::Unknown(format!("{host} has no {proto} endpoint"));
            };
            let (Some(login), Some(secret)) = (s.login(account), s.secret_ref(account)) else {
                return Outcome::Unknown(format!("no credentials for {account}"));
            };
            let Ok(pw) = secret.resolve() else {
                return Outcome::Unknown("password not readable".into());
            };
            let req = probe::pop3::RetrieveRequest {
                ep: &ep,
                login: &login,
                password: &pw,
                token,
                case_id: "",
                site: &s.site,
                // Read-only look-up of one token: no key, nothing else is ours.
                key: None,
                step_timeout: step,
                arrival_deadline: tokio::time::Instant::now(),
                max_message_bytes: 1 << 20,
                waiting: None,
            };
            let r = match retr(proto) {
                RetrProto::Pop3 => probe::pop3::probe_present(&req, &mut obs).await,
                RetrProto::Imap => probe::imap::probe_present(&req, &mut obs).await,
            };
            match r {
                Ok(probe::pop3::Presence::Found { delivered_at }) => {
                    Outcome::Delivered { at: delivered_at }
                }
                Ok(probe::pop3::Presence::Absent) => Outcome::Absent,
                Err(e) => fail(e),
            }
        }
        Check::Ldap { host, account } => ldap_lookup(s, host, account, step, &mut obs).await,
        Check::Queue { mta, queue_id } => queue_lookup(s, mta, queue_id, step).await,
    }
}

/// Look the account up on an LDAP host the way the suite's ldap check on
/// that host does (its bind DN and password, base and filter); without one,
/// anonymously with `(mail=ADDRESS)` under the first naming context. A
/// directory that needs a bind is then asked properly, not declared down.
async fn ldap_lookup(
    s: &SuiteSpec,
    host: &str,
    account: &str,
    step: Duration,
    obs: &mut Observation,
) -> Outcome {
    let Some(ep) = s.endpoint_for(host, &[Proto::Ldap, Proto::Ldaps]) else {
        return Outcome::Unknown(format!("{host} has no ldap endpoint"));
    };
    let Some(addr) = s.accounts.get(account).map(|a| a.address.clone()) else {
        return Outcome::Unknown(format!("unknown account {account}"));
    };
    let spec = s
        .hosts
        .get(host)
        .and_then(|h| h.checks.iter().find_map(|c| c.hints().ldap));
    let spec = spec.as_ref();
    let filter = match spec {
        Some(l) => l.filter_for(&addr, &s.login(account).unwrap_or_default()),
        None => LdapSpec::default().filter_for(&addr, ""),
    };
    let password = match spec.and_then(|l| l.password_ref()).map(|r| {
        let d = r.describe();
        r.resolve()
            .map_err(|e| format!("ldap bind password ({d}): {e}"))
    }) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(why)) => return Outcome::Unknown(why),
    };
    let bind = match (spec.and_then(|l| l.bind_dn.as_deref()), &password) {
        (Some(dn), Some(pw)) => Some((dn, pw)),
        (Some(dn), None) => {
            return Outcome::Unknown(format!("bind_dn {dn} needs password_env or password_file"));
        }
        (None, _) => None,
    };
    let q = probe::ldap::Lookup {
        ep: &ep,
        bind,
        base: spec.map(|l| l.base.as_str()),
        filter: &filter,
        attrs: &["mail"],
        step_timeout: step,
    };
    match probe::ldap::lookup(&q, obs).await {
        Ok(v) if v.is_empty() => Outcome::Fail {
            kind: ErrorKind::PermReject,
            message: format!("no entry for {filter}"),
        },
        Ok(v) => Outcome::Ok(format!("{} found", v[0].dn)),
        Err(e) => fail(e),
    }
}

/// Where the probe's queue id is on `mta`: asked of the MTA's agent when
/// the suite declares one (the monitor is another machine), else looked up
/// here (the monitor can read that queue).
async fn queue_lookup(s: &SuiteSpec, mta: &str, qid: &str, step: Duration) -> Outcome {
    let agent = s.hosts.get(mta).and_then(|h| h.agent.as_ref());
    let at = match agent {
        Some(a) => probe::agent::queue_lookup(a, mta, qid, step * 2).await,
        None => crate::hostcheck::queue_lookup::lookup(s, mta, qid, step).await,
    };
    match at {
        QueueWhere::Queued { queue, reason } => Outcome::Queued { queue, reason },
        // Gone without being delivered may be a bounce: the remote side's
        // 5xx is then only in the MTA's mail log (read here, when the
        // monitor can; an agent answers "gone").
        QueueWhere::Gone if agent.is_none() => match bounce_reply(s, mta, qid, step).await {
            Some(reason) => Outcome::Bounced { reason },
            None => Outcome::Absent,
        },
        QueueWhere::Gone => Outcome::Absent,
        QueueWhere::Unknown { message } => Outcome::Unknown(message),
    }
}

/// The reply a bounced probe got, from the log of the MTA whose queue check
/// names its Postfix configuration (`isolate::bounce`).
async fn bounce_reply(s: &SuiteSpec, mta: &str, qid: &str, step: Duration) -> Option<String> {
    let dir = s
        .hosts
        .get(mta)
        .and_then(|h| h.checks.iter().find_map(|c| c.hints().queue_config_dir))?;
    let snap = crate::hostcheck::snapshot::Snapshot::new();
    let ctx = crate::hostcheck::Ctx {
        host: mta,
        suite: s,
        snap: &snap,
        step_timeout: step,
    };
    super::bounce::bounced(&ctx, &dir.display().to_string(), qid).await
}
