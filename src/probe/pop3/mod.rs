//! POP3 retrieval: [`client`] speaks the protocol, [`crate::probe::mailbox`]
//! decides what is deleted (verify, delete only ours, commit).
//!
//! What POP3 brings to that policy:
//! - each session sees a snapshot of the mailbox, so waiting means QUIT and
//!   logging in again with backoff (~25 ms doubling to 500 ms);
//! - candidates come from `TOP n 0` of the newest messages (no search);
//! - DELE only marks; QUIT is the commit, so a session dropped without QUIT
//!   leaves the mailbox untouched; a QUIT whose reply never comes is settled
//!   by a follow-up session (is the probe gone?);
//! - a server without TOP is a capability error (see `client::Session::scan`).

mod client;
mod reply;

use std::collections::HashMap;
use std::time::Instant;

use self::client::{PROTO, Session, finish_readonly, open};
use super::mailbox::{self, Commit, Fetched, Mailbox};
use super::probe_msg::{self, Backoff, Mark, local_err, ms_between, ms_since};
use crate::result::{ErrorKind, Observation, ProbeError};
use crate::secret::Secret;
use crate::suite::resolve::Endpoint;

pub use self::client::{FULL_UIDL_MAX, SCAN_NEWEST};
pub use self::reply::{MultiLine, Push, Reply, err_kind, parse_reply, parse_stat, parse_uidl};
pub use super::probe_msg::{Presence, RetrieveRequest, Retrieved};

/// Login and look for the token once (no wait, no delete); when found, the
/// date of its newest Received header says when the store got it.
pub async fn probe_present(
    req: &RetrieveRequest<'_>,
    obs: &mut Observation,
) -> Result<Presence, ProbeError> {
    let mut s = open(
        req.ep,
        Some((req.login, req.password)),
        req.step_timeout,
        obs,
    )
    .await?;
    let r = async {
        let scan = s.scan(req, &mut HashMap::new()).await?;
        let Some(&n) = scan.ours.first() else {
            return Ok(Presence::Absent);
        };
        let head = s.top("delivery", n).await?;
        Ok(Presence::Found {
            delivered_at: head.ok().as_deref().and_then(probe_msg::newest_received),
        })
    }
    .await;
    finish_readonly(s, r, obs).await
}

/// Login only (a wrong password must give `Err(kind == Auth)`).
pub async fn login_check(
    ep: &Endpoint,
    login: &str,
    password: &Secret,
    step_timeout: std::time::Duration,
    obs: &mut Observation,
) -> Result<(), ProbeError> {
    let s = open(ep, Some((login, password)), step_timeout, obs).await?;
    finish_readonly(s, Ok(()), obs).await
}

/// Greeting + CAPA (after STLS when the endpoint requires it), no login.
pub async fn capabilities(
    ep: &Endpoint,
    step_timeout: std::time::Duration,
    obs: &mut Observation,
) -> Result<Vec<String>, ProbeError> {
    let s = open(ep, None, step_timeout, obs).await?;
    let caps = s.caps.clone();
    finish_readonly(s, Ok(caps), obs).await
}

/// Wait for the probe (re-login with backoff), then the shared policy:
/// RETR and verify it, DELE it, its duplicates and this case's leftovers,
/// QUIT to commit.
pub async fn retrieve(
    req: &RetrieveRequest<'_>,
    obs: &mut Observation,
) -> Result<Retrieved, ProbeError> {
    probe_msg::check_request(req, PROTO)?;
    let s = open(
        req.ep,
        Some((req.login, req.password)),
        req.step_timeout,
        obs,
    )
    .await?;
    let mut mb = Pop3Mailbox {
        wait_from: s.logged_in_at.unwrap_or_else(Instant::now),
        s,
        req,
        cache: HashMap::new(),
        backoff: Backoff::default(),
        polls: 0,
        leftovers: Vec::new(),
        foreign: Vec::new(),
        ended: false,
        flushed: false,
    };
    let r = retrieve_steps(&mut mb, req, obs).await;
    if r.is_err() {
        mb.abandon().await;
    }
    if !mb.flushed {
        mb.s.flush(obs);
    }
    r
}

async fn retrieve_steps(
    mb: &mut Pop3Mailbox<'_>,
    req: &RetrieveRequest<'_>,
    obs: &mut Observation,
) -> Result<Retrieved, ProbeError> {
    let ours = mailbox::wait_for(mb, req, obs).await?;
    let detected_at = mb.s.logged_in_at.unwrap_or_else(Instant::now);
    obs.phase("delivery", ms_between(mb.wait_from, detected_at));
    if mb.polls > 0 {
        obs.fact("polls", mb.polls.to_string());
        obs.transcript.push(format!(
            "* {} polling sessions (transcripts omitted); the one that found the probe:",
            mb.polls
        ));
    }
    let taken = mailbox::take(mb, req, &ours, obs).await?;
    Ok(Retrieved {
        raw: taken.raw,
        detected_at,
        reaped: taken.reaped,
    })
}

/// The current polling session and what the wait carries across sessions.
struct Pop3Mailbox<'a> {
    s: Session<'a>,
    req: &'a RetrieveRequest<'a>,
    /// UIDL → mark, so a polling session TOPs only new messages.
    cache: HashMap<String, Mark>,
    backoff: Backoff,
    polls: u32,
    wait_from: Instant,
    /// Leftovers and foreign look-alikes seen by the scan that found the probe.
    leftovers: Vec<u64>,
    foreign: Vec<u64>,
    /// The session's connection is closed (QUIT sent or dropped).
    ended: bool,
    /// Its transcript is in the observation already (or left out on purpose).
    flushed: bool,
}

impl Mailbox for Pop3Mailbox<'_> {
    type Id = u64;
    const COMMIT_IS_LOGOUT: bool = true;

    async fn find(
        &mut self,
        _phase: &'static str,
        want: Mark,
        req: &RetrieveRequest<'_>,
        _obs: &mut Observation,
    ) -> Result<Vec<u64>, ProbeError> {
        match want {
            Mark::Ours => {
                let scan = self.s.scan(req, &mut self.cache).await?;
                self.leftovers = scan.leftovers;
                self.foreign = scan.foreign;
                Ok(scan.ours)
            }
            Mark::Leftover => Ok(std::mem::take(&mut self.leftovers)),
            Mark::Foreign => Ok(std::mem::take(&mut self.foreign)),
            Mark::Other => Ok(Vec::new()),
        }
    }

    async fn fetch(&mut self, n: u64, cap: usize) -> Result<Fetched, ProbeError> {
        self.s.retr(n, cap).await
    }

    fn not_ours(&self, n: u64) -> ProbeError {
        self.s.conn.err(
            "fetch",
            ErrorKind::Corrupt,
            format!("message {n} lost its probe header between TOP and RETR"),
        )
    }

    async fn mark_deleted(
        &mut self,
        ids: &[u64],
        _obs: &mut Observation,
    ) -> Result<bool, ProbeError> {
        for &n in ids {
            self.s.dele(n).await?;
        }
        Ok(true)
    }

    /// QUIT: `-ERR` means not all was deleted; a lost reply is settled by
    /// the policy with [`Mailbox::still_there`].
    async fn commit(&mut self) -> Result<Commit, ProbeError> {
        self.ended = true;
        self.s.commit_quit().await
    }

    /// A new login and one read-only scan (the lost QUIT ended the session).
    async fn still_there(
        &mut self,
        req: &RetrieveRequest<'_>,
        obs: &mut Observation,
    ) -> Result<bool, ProbeError> {
        // The session that sent QUIT goes to the transcript first.
        self.s.flush(obs);
        self.flushed = true;
        let mut scratch = Observation::default();
        let r = probe_present(req, &mut scratch).await;
        obs.transcript
            .push("* follow-up session: is the probe still there?".into());
        obs.transcript.extend(scratch.transcript);
        r.map(|p| matches!(p, Presence::Found { .. }))
    }

    async fn abandon(&mut self) {
        if !self.ended {
            self.ended = true;
            self.s.drop_session().await;
        }
    }

    /// End this snapshot politely, wait, log in again. Polling sessions time
    /// into a scratch observation: `login` and friends describe the first
    /// login only; the wait is `delivery`.
    async fn wait(
        &mut self,
        req: &RetrieveRequest<'_>,
        obs: &mut Observation,
    ) -> Result<(), ProbeError> {
        let quit = self.s.quit("delivery").await;
        self.ended = true;
        if self.polls == 0 {
            self.s.flush(obs);
        } else {
            probe_msg::add_bytes_received(obs, self.s.conn.bytes_read());
        }
        self.flushed = true;
        // Nothing was marked in a polling session: a QUIT without a proper
        // reply commits nothing either way; the next login tells whether
        // the server is still there.
        if let Err(e) = quit {
            obs.fact("logout_error", e.to_string());
        }
        let Some(delay) = self.backoff.next_delay(req.arrival_deadline) else {
            obs.phase("delivery", ms_since(self.wait_from));
            obs.fact("polls", self.polls.to_string());
            return Err(local_err(
                req.ep,
                PROTO,
                "delivery",
                ErrorKind::NotArrived,
                &format!(
                    "probe not found after {} ms ({} polls)",
                    ms_since(self.wait_from) as u64,
                    self.polls
                ),
            ));
        };
        tokio::time::sleep(delay).await;
        self.polls += 1;
        let r = self.req;
        let mut scratch = Observation::default();
        match open(
            r.ep,
            Some((r.login, r.password)),
            r.step_timeout,
            &mut scratch,
        )
        .await
        {
            Ok(s) => {
                self.s = s;
                self.ended = false;
                self.flushed = false;
                Ok(())
            }
            Err(e) => {
                obs.transcript
                    .push(format!("* polling session {} failed", self.polls));
                obs.transcript.extend(scratch.transcript);
                Err(e)
            }
        }
    }
}
