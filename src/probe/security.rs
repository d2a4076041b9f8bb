//! Security probes: things the site must refuse (open relay, submission
//! without AUTH, a wrong password). The probe reports what the site did as a
//! [`SecurityOutcome`]; `judge::judge_security` turns it into a status.
//! A refusal is the expected result, so a 4xx/5xx reply is not an error here.

use super::{imap, pop3, smtp};
use crate::result::SecurityOutcome;
use crate::result::{ErrorKind, Observation, ProbeError};
use crate::secret::Secret;
use crate::suite::model::{Proto, RetrProto, SecuritySpec, SuiteSpec};

pub const DEFAULT_RELAY_TO: &str = "relay-test@healthmon-relay-test.invalid";

pub async fn run(
    spec: &SecuritySpec,
    suite: &SuiteSpec,
    obs: &mut Observation,
) -> Result<SecurityOutcome, ProbeError> {
    let t0 = std::time::Instant::now();
    let res = run_inner(spec, suite, obs).await;
    obs.phase("total", t0.elapsed().as_secs_f64() * 1000.0);
    res
}

async fn run_inner(
    spec: &SecuritySpec,
    suite: &SuiteSpec,
    obs: &mut Observation,
) -> Result<SecurityOutcome, ProbeError> {
    let step = suite.step_timeout();
    let helo = suite.helo();
    match spec {
        SecuritySpec::OpenRelay(o) => {
            let via = o.via.unwrap_or(Proto::Smtp);
            let ep = endpoint(suite, &o.host, via)?;
            let to = o.to.as_deref().unwrap_or(DEFAULT_RELAY_TO);
            let r = smtp::try_rcpt(&ep, &helo, &suite.sender(), to, step, obs).await;
            rcpt_outcome(
                r,
                obs,
                "open relay: RCPT to a foreign domain accepted without AUTH",
            )
        }
        SecuritySpec::SubmissionWithoutAuth(h) => {
            let ep = endpoint(suite, &h.host, Proto::Submission)?;
            let to = suite
                .accounts
                .values()
                .next()
                .map(|a| a.address.clone())
                .ok_or_else(|| local(&h.host, "the suite has no account to address"))?;
            let r = smtp::try_rcpt(&ep, &helo, &suite.sender(), &to, step, obs).await;
            rcpt_outcome(r, obs, "submission without AUTH: RCPT accepted")
        }
        SecuritySpec::WrongPassword(w) => {
            let ep = suite
                .endpoint_for(&w.host, &w.protocol.endpoints())
                .ok_or_else(|| local(&w.host, &format!("no {} endpoint", w.protocol.as_str())))?;
            let login = suite.login(&w.account).ok_or_else(|| {
                local(
                    &w.host,
                    &format!("account {} is not in the suite", w.account),
                )
            })?;
            let real = suite.secret_ref(&w.account).and_then(|r| r.resolve().ok());
            let wrong = wrong_password(real.as_ref());
            let r = match w.protocol {
                RetrProto::Pop3 => pop3::login_check(&ep, &login, &wrong, step, obs).await,
                RetrProto::Imap => imap::login_check(&ep, &login, &wrong, step, obs).await,
            };
            match r {
                Ok(()) => Ok(SecurityOutcome::Accepted(format!(
                    "wrong password accepted for {} on {} {}",
                    w.account,
                    w.host,
                    w.protocol.as_str()
                ))),
                Err(e) if e.kind == ErrorKind::Auth => {
                    obs.fact("refused", e.message.clone());
                    Ok(SecurityOutcome::Refused(e.message))
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// A random password that is certainly not the account's.
fn wrong_password(real: Option<&Secret>) -> Secret {
    loop {
        let s = Secret::new(format!("hm-wrong-{}", crate::token::random_hex(12)));
        if Some(&s) != real {
            return s;
        }
    }
}

fn endpoint(
    suite: &SuiteSpec,
    host: &str,
    proto: Proto,
) -> Result<crate::suite::resolve::Endpoint, ProbeError> {
    suite
        .endpoint(host, proto)
        .ok_or_else(|| local(host, &format!("host has no {proto} endpoint")))
}

fn local(host: &str, msg: &str) -> ProbeError {
    ProbeError {
        phase: "setup".into(),
        kind: ErrorKind::Local,
        message: format!("{host}: {msg}"),
        host: Some(host.to_string()),
        protocol: None,
    }
}

/// 2xx to RCPT = accepted (bad); a 4xx/5xx reply to MAIL or RCPT = refused
/// (good), whether the client returned it as a reply or as a reject error.
fn rcpt_outcome(
    r: Result<smtp::Reply, ProbeError>,
    obs: &mut Observation,
    accepted: &str,
) -> Result<SecurityOutcome, ProbeError> {
    match r {
        Ok(reply) if reply.code / 100 == 2 => {
            obs.fact("reply", reply.line());
            Ok(SecurityOutcome::Accepted(format!(
                "{accepted} ({})",
                reply.line()
            )))
        }
        Ok(reply) => {
            obs.fact("refused", reply.line());
            Ok(SecurityOutcome::Refused(reply.line()))
        }
        Err(e)
            if matches!(
                e.kind,
                ErrorKind::TempReject | ErrorKind::PermReject | ErrorKind::Auth
            ) && matches!(e.phase.as_str(), "mail" | "rcpt") =>
        {
            obs.fact("refused", e.message.clone());
            Ok(SecurityOutcome::Refused(e.message))
        }
        Err(e) => Err(e),
    }
}
