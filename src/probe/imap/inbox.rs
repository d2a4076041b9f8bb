//! The selected INBOX: search and classify candidates, wait for new mail,
//! fetch, flag and expunge by UID. Read-only except `store_deleted` and
//! `uid_expunge`, which the mailbox policy calls for exactly our UIDs.

use crate::probe::imap_parse::{self, Arg, Parsed, Val};
use crate::probe::mailbox::{Commit, Fetched};
use crate::probe::probe_msg::{self, Backoff, Mark, RetrieveRequest};
use crate::result::{ErrorKind, ProbeError};

use super::client::{CMD_BUDGET, MAX_UNTAGGED, SMALL_LITERAL, Session};

/// Candidates looked at per search (newest UIDs first).
const MAX_CANDIDATES: usize = 500;

impl Session<'_> {
    /// SELECT (read-write, for deleting) or EXAMINE (read-only) INBOX.
    pub(super) async fn select(&mut self, phase: &str, write: bool) -> Result<(), ProbeError> {
        let verb = if write { "SELECT" } else { "EXAMINE" };
        self.exists = None;
        let d = self
            .ok(phase, &format!("{verb} INBOX"), SMALL_LITERAL)
            .await?;
        // The EXISTS of SELECT is the baseline, not a growth.
        let _ = d;
        self.grew_at = None;
        if self.exists.is_none() {
            self.exists = Some(0);
        }
        Ok(())
    }

    /// `UID SEARCH HEADER X-Healthmon-Probe "<needle>"` → UIDs (newest first, capped).
    async fn search(&mut self, phase: &str, needle: &str) -> Result<Vec<u32>, ProbeError> {
        let Arg::Quoted(q) = imap_parse::astring(needle) else {
            return Err(self.conn.err(
                phase,
                ErrorKind::Local,
                "search text is not printable ASCII",
            ));
        };
        let d = self
            .ok(
                phase,
                &format!("UID SEARCH HEADER {} {q}", probe_msg::PROBE_HEADER),
                SMALL_LITERAL,
            )
            .await?;
        let mut uids = Vec::new();
        for r in &d.untagged {
            if let Ok(Parsed::Search(v)) = r.parse() {
                uids.extend(v);
            }
        }
        uids.sort_unstable_by(|a, b| b.cmp(a));
        uids.dedup();
        uids.truncate(MAX_CANDIDATES);
        Ok(uids)
    }

    /// Fetch the probe header of each candidate and classify it.
    async fn classify(
        &mut self,
        phase: &str,
        uids: &[u32],
        req: &RetrieveRequest<'_>,
    ) -> Result<Vec<(u32, Mark)>, ProbeError> {
        if uids.is_empty() {
            return Ok(vec![]);
        }
        let line = format!(
            "UID FETCH {} (UID BODY.PEEK[HEADER.FIELDS ({})])",
            imap_parse::uid_set(uids),
            probe_msg::CLASSIFY_FIELDS
        );
        let d = self.ok(phase, &line, SMALL_LITERAL).await?;
        let mut out = Vec::new();
        for r in &d.untagged {
            let Ok(Parsed::Fetch { items, .. }) = r.parse() else {
                continue;
            };
            let uid = fetch_uid(&items);
            let head = items
                .iter()
                .find(|(k, _)| k.starts_with("BODY[HEADER.FIELDS"))
                .and_then(|(_, v)| r.bytes(v));
            if let (Some(uid), Some(head)) = (uid, head)
                && uids.contains(&uid)
            {
                out.push((uid, probe_msg::classify(head, &req.owner())));
            }
        }
        Ok(out)
    }

    /// UIDs whose probe header carries some mark other than `Other`, with
    /// it (searched by `needle`, each candidate's header then parsed),
    /// ascending.
    pub(super) async fn marked(
        &mut self,
        phase: &str,
        needle: &str,
        req: &RetrieveRequest<'_>,
    ) -> Result<Vec<(u32, Mark)>, ProbeError> {
        let cands = self.search(phase, needle).await?;
        let mut v = self.classify(phase, &cands, req).await?;
        v.retain(|(_, m)| *m != Mark::Other);
        v.sort_unstable_by_key(|(u, _)| *u);
        Ok(v)
    }

    /// `UID FETCH uid (UID INTERNALDATE)`: when the server received the
    /// message (None when it does not say or says something unparsable).
    pub(super) async fn internal_date(
        &mut self,
        phase: &str,
        uid: u32,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, ProbeError> {
        let d = self
            .ok(
                phase,
                &format!("UID FETCH {uid} (UID INTERNALDATE)"),
                SMALL_LITERAL,
            )
            .await?;
        for r in &d.untagged {
            let Ok(Parsed::Fetch { items, .. }) = r.parse() else {
                continue;
            };
            if fetch_uid(&items) != Some(uid) {
                continue;
            }
            let date = items
                .iter()
                .find(|(k, _)| k == "INTERNALDATE")
                .and_then(|(_, v)| r.bytes(v))
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(parse_internal_date);
            return Ok(date);
        }
        Ok(None)
    }

    /// One wait slice of the backoff schedule (~25 ms doubling to 500 ms).
    /// With IDLE the slice is spent idling (a server that pushes EXISTS at
    /// once wakes us at once) and ended with DONE, whose completion makes the
    /// server sync and report arrivals: Dovecot delays IDLE pushes by up to
    /// 0.5 s, which would otherwise inflate the measured delivery time.
    /// Without IDLE: sleep, then NOOP. Returns false once the deadline passed.
    pub(super) async fn wait_slice(
        &mut self,
        deadline: tokio::time::Instant,
        backoff: &mut Backoff,
    ) -> Result<bool, ProbeError> {
        const PH: &str = "delivery";
        let Some(d) = backoff.next_delay(deadline) else {
            return Ok(false);
        };
        if !self.has_cap("IDLE") {
            tokio::time::sleep(d).await;
            self.ok(PH, "NOOP", SMALL_LITERAL).await?;
            return Ok(true);
        }
        let tag = self.next_tag();
        let line = format!("{tag} IDLE");
        let step_deadline = tokio::time::Instant::now() + self.step;
        self.conn
            .send_secret_line_until(PH, &line, &line, step_deadline)
            .await?;
        let before = self.arrivals;
        self.continuation(PH, &tag, step_deadline, false).await?;
        let until = tokio::time::Instant::now() + d;
        let mut budget = CMD_BUDGET;
        let mut seen = 0usize;
        while self.arrivals == before {
            let r = match self.response(PH, until, SMALL_LITERAL, &mut budget).await {
                Ok(r) => r,
                Err(e) if e.kind == ErrorKind::Timeout && tokio::time::Instant::now() >= until => {
                    break;
                }
                Err(e) => return Err(e),
            };
            let p = r.parse().map_err(|e| self.protocol_err(PH, e))?;
            if matches!(p, Parsed::Tagged { .. } | Parsed::Continue(_)) {
                return Err(self.protocol_err(PH, "unexpected tagged response while idling"));
            }
            self.note_untagged(PH, &p)?;
            seen += 1;
            if seen >= MAX_UNTAGGED {
                return Err(self.protocol_err(
                    PH,
                    format!("more than {MAX_UNTAGGED} untagged responses while idling"),
                ));
            }
        }
        let done_deadline = tokio::time::Instant::now() + self.step;
        self.conn
            .send_secret_line_until(PH, "DONE", "DONE", done_deadline)
            .await?;
        let d = self
            .complete(PH, &tag, done_deadline, SMALL_LITERAL, false)
            .await?;
        self.expect_ok(PH, "IDLE", d, false)?;
        Ok(true)
    }

    /// `UID FETCH uid (UID BODY.PEEK[])` (no \Seen change); `Gone` when
    /// the server returns no such message.
    pub(super) async fn fetch_body(&mut self, uid: u32, cap: usize) -> Result<Fetched, ProbeError> {
        const PH: &str = "fetch";
        let d = self
            .ok(PH, &format!("UID FETCH {uid} (UID BODY.PEEK[])"), cap)
            .await?;
        for r in d.untagged {
            let Ok(Parsed::Fetch { items, .. }) = r.parse() else {
                continue;
            };
            if fetch_uid(&items) != Some(uid) {
                continue;
            }
            if let Some((_, v)) = items.iter().find(|(k, _)| k == "BODY[]") {
                let i = match v {
                    Val::Lit(i) => *i,
                    _ => {
                        return r
                            .bytes(v)
                            .map(|b| Fetched::Message(b.to_vec()))
                            .ok_or_else(|| self.protocol_err(PH, "BODY[] is NIL"));
                    }
                };
                let mut lits = r.literals;
                return Ok(Fetched::Message(std::mem::take(&mut lits[i])));
            }
        }
        Ok(Fetched::Gone(self.protocol_err(
            PH,
            format!("UID FETCH {uid} returned no BODY[]"),
        )))
    }

    /// `UID STORE uids +FLAGS.SILENT (\Deleted)`: marked, not yet removed.
    pub(super) async fn store_deleted(&mut self, uids: &[u32]) -> Result<(), ProbeError> {
        let set = imap_parse::uid_set(uids);
        let line = format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)");
        self.ok("delete", &line, SMALL_LITERAL).await.map(|_| ())
    }

    /// `UID EXPUNGE uids` (UIDPLUS): removes exactly these, never the
    /// user's own \Deleted mail (a plain EXPUNGE or CLOSE would). NO/BAD is
    /// an error; no tagged reply at all is `ReplyLost` (the server may have
    /// expunged).
    pub(super) async fn uid_expunge(&mut self, uids: &[u32]) -> Result<Commit, ProbeError> {
        let set = imap_parse::uid_set(uids);
        let line = format!("UID EXPUNGE {set}");
        match self.run("delete", &line, SMALL_LITERAL).await {
            Ok(d) => self
                .expect_ok("delete", &line, d, false)
                .map(|_| Commit::Done),
            Err(e) => Ok(Commit::ReplyLost(e)),
        }
    }
}

/// An IMAP date-time (`"17-Jul-1996 02:44:25 -0700"`, the day may be
/// space-padded), RFC 3501.
fn parse_internal_date(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_str(s.trim(), "%d-%b-%Y %H:%M:%S %z")
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

fn fetch_uid(items: &[(String, Val)]) -> Option<u32> {
    items
        .iter()
        .find(|(k, _)| k == "UID")
        .and_then(|(_, v)| match v {
            Val::Atom(a) => a.parse().ok(),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_dates_parse_with_and_without_padding() {
        let utc = |s: &str| parse_internal_date(s).map(|d| d.to_rfc3339());
        assert_eq!(
            utc("17-Jul-1996 02:44:25 -0700"),
            Some("1996-07-17T09:44:25+00:00".into())
        );
        assert_eq!(
            utc(" 7-Jul-1996 02:44:25 +0000"),
            Some("1996-07-07T02:44:25+00:00".into())
        );
        assert_eq!(utc("yesterday"), None);
    }

    #[test]
    fn fetch_uid_reads_atom() {
        let items = vec![("UID".to_string(), Val::Atom("42".into()))];
        assert_eq!(fetch_uid(&items), Some(42));
        assert_eq!(fetch_uid(&[("UID".to_string(), Val::Nil)]), None);
        assert_eq!(fetch_uid(&[]), None);
    }
}
