//! The retrieval policy POP3 and IMAP share, written once against
//! [`Mailbox`]: wait for our probe, verify it, delete only ours, commit.
//!
//! The rule for every message deleted (the probe, a duplicate of it, a
//! leftover of an earlier run of the same case) is the same:
//! 1. its parsed header section says so ([`probe_msg::classify`]: our token,
//!    or our exact case id with a token that verifies under this
//!    installation's key for this case and site), and
//! 2. its whole message, fetched, says the same; for a duplicate or a
//!    leftover the whole message must also be an intact probe of that token
//!    ([`probe_msg::is_intact`]: Message-ID and body lines), so a user's
//!    message carrying a copy of a real probe header is not taken for one.
//!
//! Anything else is never marked. A header that names our case id with a
//! token that does not verify (a copy, a forgery, another monitor's probe) is
//! left alone and counted (fact `foreign_left_alone`; the token is not
//! shown). A duplicate or leftover whose whole message disagrees with its
//! header, or that vanished meanwhile, is left alone (fact `unverified`); the
//! probe itself disagreeing is an error (corrupt). Marked deletions take
//! effect only on [`Mailbox::commit`]; any error before that abandons the
//! session, which leaves the mailbox as it was (POP3: no QUIT; IMAP: no
//! EXPUNGE, and never a plain EXPUNGE or CLOSE at all). A commit whose reply
//! is lost is not taken for a failure: a follow-up session looks whether the
//! probe is gone and the outcome says so (facts `commit`, `not_deleted`).

use std::time::Instant;

use super::probe_msg::{self, Mark, RetrieveRequest, ms_since, timed};
use crate::result::{Observation, ProbeError};

/// How a commit ended, when the server did not refuse it.
#[derive(Debug)]
pub enum Commit {
    /// The server confirmed it.
    Done,
    /// The command went out (or may have) but no reply came back: the
    /// server may or may not have made the deletions permanent.
    ReplyLost(ProbeError),
}

/// A fetched message, or the server saying it is not there (any more).
#[derive(Debug)]
pub enum Fetched {
    Message(Vec<u8>),
    /// Expunged by another session, or refused: the error to report if it
    /// was the probe itself.
    Gone(ProbeError),
}

/// One logged-in mailbox session as the policy sees it. Errors are the
/// protocol's own (phase, kind, message); after any error the policy calls
/// [`Mailbox::abandon`].
#[allow(async_fn_in_trait)] // used generically inside the crate only
pub trait Mailbox {
    /// A message's name in the session: POP3 message number, IMAP UID.
    type Id: Copy;

    /// POP3: `commit` is QUIT, which ends the session and is timed as
    /// `logout`. IMAP: `commit` is UID EXPUNGE, one more command of the
    /// `delete` phase (LOGOUT follows later either way).
    const COMMIT_IS_LOGOUT: bool;

    /// Messages whose parsed probe header is `want`, in the protocol's order
    /// (for `Mark::Ours` the first is taken as the probe). Read-only.
    /// `Mark::Foreign` is asked right after `Mark::Leftover` and may answer
    /// from that same look-up.
    async fn find(
        &mut self,
        phase: &'static str,
        want: Mark,
        req: &RetrieveRequest<'_>,
        obs: &mut Observation,
    ) -> Result<Vec<Self::Id>, ProbeError>;

    /// The whole message, at most `cap` bytes, without changing flags.
    async fn fetch(&mut self, id: Self::Id, cap: usize) -> Result<Fetched, ProbeError>;

    /// The error for "the fetched probe has no probe header with our token".
    fn not_ours(&self, id: Self::Id) -> ProbeError;

    /// Mark exactly `ids` deleted; nothing is removed before `commit`.
    /// `Ok(false)`: the server cannot delete exactly these, nothing was
    /// marked (the reason is recorded in `obs`).
    async fn mark_deleted(
        &mut self,
        ids: &[Self::Id],
        obs: &mut Observation,
    ) -> Result<bool, ProbeError>;

    /// Make the marked deletions permanent. `Err`: the server refused.
    async fn commit(&mut self) -> Result<Commit, ProbeError>;

    /// After [`Commit::ReplyLost`]: is the probe (`req.token`) still in the
    /// mailbox? A fresh, read-only session looks; its transcript goes to
    /// `obs`, its timings do not.
    async fn still_there(
        &mut self,
        req: &RetrieveRequest<'_>,
        obs: &mut Observation,
    ) -> Result<bool, ProbeError>;

    /// Leave without committing: nothing marked takes effect.
    async fn abandon(&mut self);

    /// Wait for new mail (POP3: log in again after a backoff delay; IMAP:
    /// IDLE slices, else NOOP). `Err` with kind `NotArrived` once the
    /// request's arrival deadline has passed.
    async fn wait(
        &mut self,
        req: &RetrieveRequest<'_>,
        obs: &mut Observation,
    ) -> Result<(), ProbeError>;
}

/// What [`take`] got: the probe and how many leftovers went with it.
#[derive(Debug)]
pub struct Taken {
    pub raw: Vec<u8>,
    pub reaped: usize,
}

/// Find our probe (phase `delivery` for the protocol's errors), waiting for
/// new mail until the arrival deadline. Returns its ids (two or more =
/// duplicates). Does not abandon on error (the caller decides what follows).
pub async fn wait_for<M: Mailbox>(
    mb: &mut M,
    req: &RetrieveRequest<'_>,
    obs: &mut Observation,
) -> Result<Vec<M::Id>, ProbeError> {
    loop {
        let ours = mb.find("delivery", Mark::Ours, req, obs).await?;
        if !ours.is_empty() {
            return Ok(ours);
        }
        req.waiting_started();
        mb.wait(req, obs).await?;
    }
}

/// Verify, delete only ours, commit. `ours` comes from [`wait_for`] (the
/// first is the probe). Phases: `fetch`, `delete`, and `logout` when the
/// commit is the logout. On any error the session is abandoned first.
pub async fn take<M: Mailbox>(
    mb: &mut M,
    req: &RetrieveRequest<'_>,
    ours: &[M::Id],
    obs: &mut Observation,
) -> Result<Taken, ProbeError> {
    let r = take_steps(mb, req, ours, obs).await;
    if r.is_err() {
        mb.abandon().await;
    }
    r
}

async fn take_steps<M: Mailbox>(
    mb: &mut M,
    req: &RetrieveRequest<'_>,
    ours: &[M::Id],
    obs: &mut Observation,
) -> Result<Taken, ProbeError> {
    let (&first, duplicates) = ours.split_first().expect("take needs our probe's id");
    let raw = match timed(obs, "fetch", mb.fetch(first, req.max_message_bytes)).await? {
        Fetched::Message(raw) => raw,
        Fetched::Gone(e) => return Err(e),
    };
    let owner = req.owner();
    // The header said it is ours; the whole message must say so too.
    if probe_msg::classify(&raw, &owner) != Mark::Ours {
        return Err(mb.not_ours(first));
    }
    if !duplicates.is_empty() {
        obs.fact("duplicates", duplicates.len().to_string());
    }
    let t0 = Instant::now();
    let r = async {
        let leftovers = mb.find("delete", Mark::Leftover, req, obs).await?;
        let foreign = mb.find("delete", Mark::Foreign, req, obs).await?;
        if !foreign.is_empty() {
            obs.fact("foreign_left_alone", foreign.len().to_string());
        }
        let mut doomed = vec![first];
        let mut reaped = 0;
        let mut unverified = 0;
        let others = duplicates.iter().map(|&id| (id, Mark::Ours));
        for (id, want) in others.chain(leftovers.iter().map(|&id| (id, Mark::Leftover))) {
            // The evidence of the probe and more: the whole message, parsed,
            // is an intact probe of ours.
            match mb.fetch(id, req.max_message_bytes).await? {
                Fetched::Message(m) if probe_msg::is_intact(&m, want, &owner) => {
                    doomed.push(id);
                    reaped += usize::from(want == Mark::Leftover);
                }
                Fetched::Message(_) => unverified += 1,
                Fetched::Gone(_) => {}
            }
        }
        if unverified > 0 {
            obs.fact("unverified", unverified.to_string());
        }
        if !mb.mark_deleted(&doomed, obs).await? {
            return Ok(None);
        }
        if !M::COMMIT_IS_LOGOUT {
            return Ok(Some((mb.commit().await?, reaped)));
        }
        Ok::<_, ProbeError>(Some((Commit::Done, reaped)))
    }
    .await;
    obs.phase("delete", ms_since(t0));
    let Some((mut commit, reaped)) = r? else {
        return Ok(Taken { raw, reaped: 0 });
    };
    if M::COMMIT_IS_LOGOUT {
        commit = timed(obs, "logout", mb.commit()).await?;
    }
    let reaped = match commit {
        Commit::Done => reaped,
        Commit::ReplyLost(lost) => settle(mb, req, &lost, reaped, obs).await,
    };
    if reaped > 0 {
        obs.fact("reaped", reaped.to_string());
    }
    Ok(Taken { raw, reaped })
}

/// The commit's reply was lost: say what really happened instead of
/// reporting a failure the server may not have had. The probe is already
/// fetched and verified, so the measurement stands either way; a follow-up
/// session tells whether the deletions took effect. Returns the leftovers
/// that count as reaped.
async fn settle<M: Mailbox>(
    mb: &mut M,
    req: &RetrieveRequest<'_>,
    lost: &ProbeError,
    reaped: usize,
    obs: &mut Observation,
) -> usize {
    let why = format!("{} reply lost ({})", lost.phase, lost.message);
    match mb.still_there(req, obs).await {
        Ok(false) => {
            obs.fact(
                "commit",
                format!("{why}; a follow-up session no longer finds the probe: deleted"),
            );
            reaped
        }
        Ok(true) => {
            obs.fact(
                "not_deleted",
                format!(
                    "{why}; a follow-up session still finds the probe: nothing was \
                     deleted (the next run reaps it)"
                ),
            );
            0
        }
        // Marked and sent: most likely done, but nobody could look.
        Err(e) => {
            obs.fact(
                "commit",
                format!("unconfirmed: {why}; the follow-up session failed ({e})"),
            );
            reaped
        }
    }
}

#[cfg(test)]
#[path = "mailbox_tests.rs"]
mod tests;
