//! Security probes: things the site must refuse (open relay, submission
//! without AUTH, a wrong password). The probe reports what the site did as a
//! [`SecurityOutcome`]; `judge::judge_security` turns it into a status.
//!
//! Only the refusal that proves the point counts as "refused": a permanent
//! (5xx) reply to RCPT of a foreign recipient for an open relay; that, or a
//! permanent authentication-required reply to MAIL, for submission without
//! AUTH; an authentication failure (not a temporary one) for a wrong
//! password. Anything else (a 4xx, a sender rejection, a "domain not
//! found") proves nothing and is an error carrying the reply: a relay that
//! answers 450 to an unroutable domain and 250 to a real one must not pass.

use super::{imap, pop3, smtp};
use crate::result::SecurityOutcome;
use crate::result::{ErrorKind, Observation, ProbeError};
use crate::secret::Secret;
use crate::suite::model::{Proto, RetrProto, SecuritySpec, SuiteSpec};

/// A domain a real relay would try to route (it resolves), reserved so that
/// no one receives anything; the probe never sends DATA anyway. A `.invalid`
/// domain would let a relay refuse it for being unroutable while relaying
/// everything else.
pub const DEFAULT_RELAY_TO: &str = "relay-test@example.com";

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
                &o.host,
                Proof::RcptPermanent,
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
            rcpt_outcome(
                r,
                obs,
                &h.host,
                Proof::AuthRequired,
                "submission without AUTH: RCPT accepted",
            )
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
                Err(e) if e.kind == ErrorKind::Auth && !temporary_login_failure(&e.message) => {
                    obs.fact("refused", e.message.clone());
                    Ok(SecurityOutcome::Refused(e.message))
                }
                Err(mut e) if e.kind == ErrorKind::Auth => {
                    e.kind = ErrorKind::TempReject;
                    e.message = format!(
                        "inconclusive: {} (a temporary failure does not prove the wrong password is refused)",
                        e.message
                    );
                    Err(e)
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

/// Which refusal proves a must-refuse SMTP probe.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Proof {
    /// A 5xx to RCPT (the relay decision is made there).
    RcptPermanent,
    /// That, or a 5xx to MAIL saying authentication is required (530, or
    /// enhanced code 5.7.0 / 5.7.1 / 5.7.57).
    AuthRequired,
}

/// IMAP/POP3 response codes of a login refused for the moment, not for the
/// password (RFC 5530, RFC 3206).
fn temporary_login_failure(message: &str) -> bool {
    let m = message.to_ascii_uppercase();
    [
        "[SYS/TEMP]",
        "[UNAVAILABLE]",
        "[SERVERBUG]",
        "[INUSE]",
        "[IN-USE]",
        "[LIMIT]",
    ]
    .iter()
    .any(|c| m.contains(c))
}

fn auth_required(reply: &smtp::Reply) -> bool {
    let l = reply.line();
    reply.code == 530
        || reply.code / 100 == 5
            && ["5.7.0", "5.7.1", "5.7.57"]
                .iter()
                .any(|c| l.split_whitespace().nth(1) == Some(c))
}

/// 2xx to RCPT = accepted (bad); the refusal `proof` names = refused (good);
/// any other refusal is inconclusive: an error with the reply.
fn rcpt_outcome(
    r: Result<smtp::Reply, ProbeError>,
    obs: &mut Observation,
    host: &str,
    proof: Proof,
    accepted: &str,
) -> Result<SecurityOutcome, ProbeError> {
    let reply = r?;
    if reply.code / 100 == 2 {
        obs.fact("reply", reply.line());
        return Ok(SecurityOutcome::Accepted(format!(
            "{accepted} ({})",
            reply.line()
        )));
    }
    let at = obs
        .facts
        .get("refused_at")
        .cloned()
        .unwrap_or_else(|| "rcpt".into());
    let permanent = reply.code / 100 == 5;
    let proves = permanent
        && (at == "rcpt" || proof == Proof::AuthRequired && at == "mail" && auth_required(&reply));
    if proves {
        obs.fact("refused", reply.line());
        return Ok(SecurityOutcome::Refused(reply.line()));
    }
    let why = match (permanent, at.as_str()) {
        (false, _) => "a temporary refusal proves nothing",
        (true, "mail") => "a sender rejection is not a relay or AUTH decision",
        _ => "not the refusal this probe needs",
    };
    Err(ProbeError {
        phase: at,
        kind: if permanent {
            ErrorKind::PermReject
        } else {
            ErrorKind::TempReject
        },
        message: format!("inconclusive: {} ({why})", reply.line()),
        host: Some(host.to_string()),
        protocol: Some("smtp".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_login_failure_is_not_a_refused_password() {
        for m in [
            "login refused: -ERR [SYS/TEMP] Account is temporarily unavailable.",
            "login refused: NO [UNAVAILABLE] Temporary authentication failure.",
            "login refused: NO [serverbug] Internal error",
            "login refused: -ERR [IN-USE] Mailbox locked",
        ] {
            assert!(temporary_login_failure(m), "{m}");
        }
        for m in [
            "login refused: NO [AUTHENTICATIONFAILED] Authentication failed.",
            "login refused: -ERR [AUTH] Authentication failed.",
            "login refused: -ERR Authentication failed.",
        ] {
            assert!(!temporary_login_failure(m), "{m}");
        }
    }
}
