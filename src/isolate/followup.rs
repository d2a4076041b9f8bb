//! Runs the follow-up checks the rules asked for, each bounded by the step
//! timeout, all at once. Measurement goes through the probe modules: the
//! diagnoser never speaks a protocol itself.

use std::time::Duration;

use super::evidence::{Check, Evidence, Outcome};
use crate::probe;
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

/// Look a queue id up with `postqueue -j` on an MTA whose queue the monitor
/// can read (the suite declares a postfix queue check with its config_dir).
/// The output is streamed through the host checks' bounded command runner:
/// a queue of a million messages is read line by line, never held whole.
async fn queue_lookup(s: &SuiteSpec, mta: &str, qid: &str, step: Duration) -> Outcome {
    let dir = s
        .hosts
        .get(mta)
        .and_then(|h| h.checks.iter().find_map(|c| c.hints().queue_config_dir));
    let Some(dir) = dir else {
        return Outcome::Unknown(format!("no queue check with config_dir on {mta}"));
    };
    let snap = crate::hostcheck::snapshot::Snapshot::new();
    let ctx = crate::hostcheck::Ctx {
        host: mta,
        suite: s,
        snap: &snap,
        step_timeout: step,
    };
    let argv = [
        "postqueue".to_string(),
        "-c".into(),
        dir.display().to_string(),
        "-j".into(),
    ];
    let mut found = None;
    let r = crate::hostcheck::command_lines(&ctx, "queue", &argv, |line| {
        if found.is_none() {
            found = postqueue_entry(line.as_bytes(), qid);
        }
    })
    .await;
    let dir = dir.display().to_string();
    match (found, r) {
        (Some(o), _) => o,
        (None, Ok(())) => match super::bounce::bounced(&ctx, &dir, qid).await {
            Some(reason) => Outcome::Bounced { reason },
            None => Outcome::Absent,
        },
        (None, Err(e)) => Outcome::Unknown(e.message),
    }
}

/// One line of `postqueue -j` (one JSON object per message, Postfix ≥ 3.1):
/// the entry's queue and first deferral reason when it is `qid`.
pub fn postqueue_entry(line: &[u8], qid: &str) -> Option<Outcome> {
    let v = serde_json::from_slice::<serde_json::Value>(line).ok()?;
    if v.get("queue_id").and_then(|x| x.as_str()) != Some(qid) {
        return None;
    }
    let queue = v
        .get("queue_name")
        .and_then(|x| x.as_str())
        .unwrap_or("?")
        .to_string();
    let reason = v
        .get("recipients")
        .and_then(|r| r.as_array())
        .and_then(|r| {
            r.iter()
                .find_map(|x| x.get("delay_reason").and_then(|d| d.as_str()))
        })
        .unwrap_or("");
    Some(Outcome::Queued {
        queue,
        reason: probe::wire::sanitize(reason.as_bytes(), 300),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn finds_deferred_entry_and_reason() {
        let j = br#"{"queue_name":"active","queue_id":"AAA1","recipients":[{"address":"a@x"}]}
{"queue_name":"deferred","queue_id":"3F2A1","recipients":[{"address":"ims1@example.test","delay_reason":"connect to 127.0.2.1[127.0.2.1]:24: Connection refused"}]}
"#;
        let find = |out: &[u8], qid: &str| {
            out.split(|b| *b == b'\n')
                .find_map(|l| postqueue_entry(l, qid))
                .unwrap_or(Outcome::Absent)
        };
        assert_eq!(
            find(j, "3F2A1"),
            Outcome::Queued {
                queue: "deferred".into(),
                reason: "connect to 127.0.2.1[127.0.2.1]:24: Connection refused".into()
            }
        );
        assert_eq!(find(j, "NOPE"), Outcome::Absent);
        assert_eq!(find(b"garbage\n", "X"), Outcome::Absent);
    }
}
