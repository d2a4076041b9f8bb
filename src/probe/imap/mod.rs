//! IMAP retrieval: [`client`] speaks the protocol, [`crate::probe::mailbox`]
//! decides what is deleted (verify, delete only ours, commit).
//!
//! What IMAP brings to that policy:
//! - candidates come from `UID SEARCH HEADER` (a substring match), so each
//!   one's header is fetched and parsed before it counts;
//! - waiting is IDLE slices (else NOOP) in one session;
//! - fetching uses `BODY.PEEK[]`, so no \Seen flag changes;
//! - deletion is `UID STORE +FLAGS.SILENT (\Deleted)` of exactly our UIDs,
//!   committed by `UID EXPUNGE` of the same UIDs, which needs UIDPLUS;
//!   without it the probe is left in place (reported), never a plain
//!   EXPUNGE or CLOSE, which would remove the user's own \Deleted mail.

mod client;
mod inbox;

use std::time::{Duration, Instant};

use self::client::{IDLE_RECHECK, PROTO, Session, finish, open};
use super::imap_parse::{self, Arg};
use super::mailbox::{self, Commit, Fetched, Mailbox};
use super::probe_msg::{self, Backoff, Mark, ms_since, timed};
use crate::result::{ErrorKind, Observation, ProbeError};
use crate::secret::Secret;
use crate::suite::resolve::Endpoint;

pub use self::client::{CMD_BUDGET, MAX_UNTAGGED, refusal_kind};
pub use super::probe_msg::{Presence, RetrieveRequest, Retrieved};

/// Login and look for the token once (read-only EXAMINE; no wait, no
/// delete); when found, its INTERNALDATE says when the store got it.
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
        s.select("select", false).await?;
        let marks = s.marked("select", req.token, req).await?;
        let ours = only(&marks, Mark::Ours);
        let Some(&uid) = ours.first() else {
            return Ok(Presence::Absent);
        };
        Ok(Presence::Found {
            delivered_at: s.internal_date("select", uid).await?,
        })
    }
    .await;
    finish(s, r, obs).await
}

/// Login only (a wrong password must give `Err(kind == Auth)`).
pub async fn login_check(
    ep: &Endpoint,
    login: &str,
    password: &Secret,
    step_timeout: Duration,
    obs: &mut Observation,
) -> Result<(), ProbeError> {
    let s = open(ep, Some((login, password)), step_timeout, obs).await?;
    finish(s, Ok(()), obs).await
}

/// Greeting + CAPABILITY (after STARTTLS when the endpoint requires it).
pub async fn capabilities(
    ep: &Endpoint,
    step_timeout: Duration,
    obs: &mut Observation,
) -> Result<Vec<String>, ProbeError> {
    let s = open(ep, None, step_timeout, obs).await?;
    let caps = s.caps.clone();
    finish(s, Ok(caps), obs).await
}

/// SELECT, wait for the probe (IDLE, else NOOP polling), then the shared
/// policy: fetch and verify it, delete it, its duplicates and this case's
/// leftovers (UID STORE + UID EXPUNGE), LOGOUT.
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
    let mut mb = ImapMailbox {
        s,
        backoff: Backoff::default(),
        wait_from: Instant::now(),
        searched: (0, tokio::time::Instant::now()),
        marked: Vec::new(),
        foreign: Vec::new(),
    };
    let r = retrieve_steps(&mut mb, req, obs).await;
    finish(mb.s, r, obs).await
}

async fn retrieve_steps(
    mb: &mut ImapMailbox<'_>,
    req: &RetrieveRequest<'_>,
    obs: &mut Observation,
) -> Result<Retrieved, ProbeError> {
    timed(obs, "select", mb.s.select("select", true)).await?;
    mb.wait_from = Instant::now();
    let t0 = Instant::now();
    let ours = mailbox::wait_for(mb, req, obs).await;
    // Seen when the mailbox grew (IDLE/NOOP), else when searched.
    let detected_at =
        mb.s.grew_at
            .filter(|t| *t >= mb.wait_from)
            .unwrap_or_else(Instant::now);
    obs.phase("delivery", ms_since(t0));
    let taken = mailbox::take(mb, req, &ours?, obs).await?;
    Ok(Retrieved {
        raw: taken.raw,
        detected_at,
        reaped: taken.reaped,
    })
}

/// The selected INBOX and what the wait carries across searches.
struct ImapMailbox<'a> {
    s: Session<'a>,
    backoff: Backoff,
    wait_from: Instant,
    /// EXISTS growth count and time of the last search for our probe.
    searched: (u64, tokio::time::Instant),
    /// UIDs flagged \Deleted, to be expunged by `commit`.
    marked: Vec<u32>,
    /// Foreign look-alikes found by the leftover search.
    foreign: Vec<u32>,
}

/// The UIDs of `marks` that carry `want`.
fn only(marks: &[(u32, Mark)], want: Mark) -> Vec<u32> {
    marks
        .iter()
        .filter(|(_, m)| *m == want)
        .map(|(u, _)| *u)
        .collect()
}

impl Mailbox for ImapMailbox<'_> {
    type Id = u32;
    const COMMIT_IS_LOGOUT: bool = false;

    async fn find(
        &mut self,
        phase: &'static str,
        want: Mark,
        req: &RetrieveRequest<'_>,
        obs: &mut Observation,
    ) -> Result<Vec<u32>, ProbeError> {
        match want {
            Mark::Ours => {
                self.searched = (self.s.arrivals, tokio::time::Instant::now());
                let v = self.s.marked(phase, req.token, req).await?;
                Ok(only(&v, Mark::Ours))
            }
            Mark::Leftover => {
                if !matches!(imap_parse::astring(req.case_id), Arg::Quoted(_)) {
                    obs.fact("reap_skipped", "case id is not printable ASCII");
                    return Ok(vec![]);
                }
                // One search for both: leftovers and foreign look-alikes
                // carry the same case id.
                let v = self.s.marked(phase, req.case_id, req).await?;
                self.foreign = only(&v, Mark::Foreign);
                Ok(only(&v, Mark::Leftover))
            }
            Mark::Foreign => Ok(std::mem::take(&mut self.foreign)),
            Mark::Other => Ok(vec![]),
        }
    }

    async fn fetch(&mut self, uid: u32, cap: usize) -> Result<Fetched, ProbeError> {
        self.s.fetch_body(uid, cap).await
    }

    fn not_ours(&self, uid: u32) -> ProbeError {
        self.s.conn.err(
            "fetch",
            ErrorKind::Corrupt,
            format!("UID {uid} has no probe header with our token"),
        )
    }

    async fn mark_deleted(
        &mut self,
        uids: &[u32],
        obs: &mut Observation,
    ) -> Result<bool, ProbeError> {
        if !self.s.has_cap("UIDPLUS") {
            obs.fact(
                "not_deleted",
                "server lacks UIDPLUS: probe left in the mailbox (a plain EXPUNGE would also remove the user's own \\Deleted mail)",
            );
            self.s.conn.note("no UIDPLUS: probe not deleted");
            return Ok(false);
        }
        let mut uids = uids.to_vec();
        uids.sort_unstable();
        self.s.store_deleted(&uids).await?;
        self.marked = uids;
        Ok(true)
    }

    async fn commit(&mut self) -> Result<Commit, ProbeError> {
        let uids = std::mem::take(&mut self.marked);
        self.s.uid_expunge(&uids).await
    }

    /// A new session and one read-only look (EXAMINE, search by token).
    async fn still_there(
        &mut self,
        req: &RetrieveRequest<'_>,
        obs: &mut Observation,
    ) -> Result<bool, ProbeError> {
        let mut scratch = Observation::default();
        let r = probe_present(req, &mut scratch).await;
        obs.transcript
            .push("* follow-up session: is the probe still there?".into());
        obs.transcript.extend(scratch.transcript);
        r.map(|p| matches!(p, Presence::Found { .. }))
    }

    /// Drop the connection: no EXPUNGE (and never CLOSE) is sent.
    async fn abandon(&mut self) {
        self.s.conn.shutdown().await;
    }

    /// Search again once the mailbox grew (or, as a guard against a missed
    /// notification, every IDLE_RECHECK).
    async fn wait(
        &mut self,
        req: &RetrieveRequest<'_>,
        _obs: &mut Observation,
    ) -> Result<(), ProbeError> {
        let (arrivals, at) = self.searched;
        while self.s.arrivals == arrivals && at.elapsed() < IDLE_RECHECK {
            if !self
                .s
                .wait_slice(req.arrival_deadline, &mut self.backoff)
                .await?
            {
                return Err(self.s.conn.err(
                    "delivery",
                    ErrorKind::NotArrived,
                    format!(
                        "probe not found after {} ms",
                        ms_since(self.wait_from) as u64
                    ),
                ));
            }
        }
        Ok(())
    }
}
