//! The policy against an in-memory mailbox: what is deleted, what stays,
//! and that nothing is committed after a failure.

use std::time::Duration;

use std::sync::LazyLock;

use super::*;
use crate::result::ErrorKind;
use crate::secret::Secret;
use crate::suite::resolve::Endpoint;
use crate::token::{KEY_LEN, ProbeKey};

const CASE: &str = "rndtrip/ims1/mta1/mmp1/pop3";
const SITE: &str = "local";

/// This installation's key, and a second monitor's.
static KEY: LazyLock<ProbeKey> = LazyLock::new(|| ProbeKey::from_bytes(&[1; KEY_LEN]));
static OTHER_KEY: LazyLock<ProbeKey> = LazyLock::new(|| ProbeKey::from_bytes(&[2; KEY_LEN]));
/// The probe being retrieved, and a leftover of an earlier run of the case.
static TOK: LazyLock<String> = LazyLock::new(|| KEY.mint(CASE, SITE));
static OLD: LazyLock<String> = LazyLock::new(|| KEY.mint(CASE, SITE));

fn msg(headers: &str, body: &str) -> Vec<u8> {
    format!("From: a@b\r\n{headers}Subject: x\r\n\r\n{body}\r\n").into_bytes()
}
/// A real probe message of `token` and `case`, as a round trip sends it:
/// built once, so that two calls give the same bytes (its Date header is the
/// clock's, and a second boundary between two builds must not make "the
/// same message delivered twice" two different messages).
fn probe(token: &str, case: &str) -> Vec<u8> {
    type Built = std::collections::HashMap<(String, String), Vec<u8>>;
    static BUILT: LazyLock<std::sync::Mutex<Built>> = LazyLock::new(Default::default);
    let mut built = BUILT.lock().unwrap();
    built
        .entry((token.to_owned(), case.to_owned()))
        .or_insert_with(|| {
            probe_msg::build_message(token, case, "hm@monitor.example.test", "u@example.test")
                .unwrap()
        })
        .clone()
}
fn user_mail() -> Vec<u8> {
    msg("", "hello")
}

/// One stored message: what a header look-up shows, and the whole message.
#[derive(Clone)]
struct Stored {
    id: u32,
    header: Vec<u8>,
    full: Vec<u8>,
}

fn stored(id: u32, m: Vec<u8>) -> Stored {
    Stored {
        id,
        header: probe_msg::header_section(&m).to_vec(),
        full: m,
    }
}

/// A mailbox with POP3-like (`LOGOUT = true`) or IMAP-like commit timing.
#[derive(Default)]
struct Mem<const LOGOUT: bool> {
    msgs: Vec<Stored>,
    /// Delivered one per `wait`.
    arriving: Vec<Stored>,
    /// Ids that vanish (another session expunged them) before a fetch.
    vanished: Vec<u32>,
    marked: Vec<u32>,
    fail_at: Option<&'static str>,
    cannot_delete: bool,
    /// The commit's reply goes missing; `true`: after the server committed.
    reply_lost: Option<bool>,
    /// The follow-up session after a lost reply cannot log in.
    follow_up_fails: bool,
    committed: bool,
    abandoned: bool,
    waits: u32,
}

impl<const LOGOUT: bool> Mem<LOGOUT> {
    fn new(msgs: Vec<Vec<u8>>) -> Self {
        Mem {
            msgs: (1..).zip(msgs).map(|(i, m)| stored(i, m)).collect(),
            ..Mem::default()
        }
    }
    fn ids(&self) -> Vec<u32> {
        self.msgs.iter().map(|m| m.id).collect()
    }
    fn fail(&self, op: &str) -> Result<(), ProbeError> {
        if self.fail_at == Some(op) {
            return Err(err(op, ErrorKind::Protocol, "connection lost"));
        }
        Ok(())
    }
}

fn err(phase: &str, kind: ErrorKind, m: &str) -> ProbeError {
    ProbeError {
        phase: phase.into(),
        kind,
        message: m.into(),
        host: None,
        protocol: Some("mem".into()),
    }
}

impl<const LOGOUT: bool> Mailbox for Mem<LOGOUT> {
    type Id = u32;
    const COMMIT_IS_LOGOUT: bool = LOGOUT;

    async fn find(
        &mut self,
        phase: &'static str,
        want: Mark,
        req: &RetrieveRequest<'_>,
        _obs: &mut Observation,
    ) -> Result<Vec<u32>, ProbeError> {
        self.fail(phase)?;
        Ok(self
            .msgs
            .iter()
            .filter(|m| probe_msg::classify(&m.header, &req.owner()) == want)
            .map(|m| m.id)
            .collect())
    }

    async fn fetch(&mut self, id: u32, cap: usize) -> Result<Fetched, ProbeError> {
        self.fail("fetch")?;
        match self.msgs.iter().find(|m| m.id == id) {
            Some(_) if self.vanished.contains(&id) => Ok(Fetched::Gone(err(
                "fetch",
                ErrorKind::PermReject,
                "no such message",
            ))),
            Some(m) if m.full.len() > cap => Err(err("fetch", ErrorKind::Protocol, "too big")),
            Some(m) => Ok(Fetched::Message(m.full.clone())),
            None => Ok(Fetched::Gone(err(
                "fetch",
                ErrorKind::PermReject,
                "no such message",
            ))),
        }
    }

    fn not_ours(&self, id: u32) -> ProbeError {
        err("fetch", ErrorKind::Corrupt, &format!("{id} is not ours"))
    }

    async fn mark_deleted(
        &mut self,
        ids: &[u32],
        obs: &mut Observation,
    ) -> Result<bool, ProbeError> {
        if self.cannot_delete {
            obs.fact("not_deleted", "cannot delete exactly these");
            return Ok(false);
        }
        self.marked.extend(ids);
        self.fail("mark")?;
        Ok(true)
    }

    async fn commit(&mut self) -> Result<Commit, ProbeError> {
        self.fail("commit")?;
        let marked = std::mem::take(&mut self.marked);
        if self.reply_lost != Some(false) {
            self.msgs.retain(|m| !marked.contains(&m.id));
            self.committed = true;
        }
        Ok(match self.reply_lost {
            Some(_) => Commit::ReplyLost(err("delete", ErrorKind::Timeout, "no reply to QUIT")),
            None => Commit::Done,
        })
    }

    async fn still_there(
        &mut self,
        req: &RetrieveRequest<'_>,
        _obs: &mut Observation,
    ) -> Result<bool, ProbeError> {
        if self.follow_up_fails {
            return Err(err("connect", ErrorKind::Refused, "connection refused"));
        }
        let o = req.owner();
        Ok(self
            .msgs
            .iter()
            .any(|m| probe_msg::classify(&m.header, &o) == Mark::Ours))
    }

    async fn abandon(&mut self) {
        self.marked.clear();
        self.abandoned = true;
    }

    async fn wait(
        &mut self,
        _req: &RetrieveRequest<'_>,
        _obs: &mut Observation,
    ) -> Result<(), ProbeError> {
        self.waits += 1;
        if self.arriving.is_empty() {
            return Err(err("delivery", ErrorKind::NotArrived, "probe not found"));
        }
        let m = self.arriving.remove(0);
        self.msgs.push(m);
        Ok(())
    }
}

fn endpoint() -> Endpoint {
    Endpoint {
        host: "mem".into(),
        address: "127.0.0.1".into(),
        port: 110,
        proto: crate::suite::model::Proto::Pop3,
        tls: crate::suite::model::TlsMode::None,
        tls_options: Default::default(),
        auth: None,
    }
}

/// Wait for the probe, then take it, as the POP3 and IMAP probes do.
async fn retrieve<const L: bool>(mb: &mut Mem<L>) -> (Result<Taken, ProbeError>, Observation) {
    retrieve_as(mb, &KEY, &TOK).await
}

/// [`retrieve`] by the installation with `key`, for its probe `token`.
async fn retrieve_as<const L: bool>(
    mb: &mut Mem<L>,
    key: &ProbeKey,
    token: &str,
) -> (Result<Taken, ProbeError>, Observation) {
    let ep = endpoint();
    let pw = Secret::new("pw");
    let req = RetrieveRequest {
        ep: &ep,
        login: "user",
        password: &pw,
        token,
        case_id: CASE,
        site: SITE,
        key: Some(key),
        step_timeout: Duration::from_secs(1),
        arrival_deadline: tokio::time::Instant::now(),
        max_message_bytes: 64 * 1024,
        waiting: None,
    };
    let mut obs = Observation::default();
    let r = match wait_for(mb, &req, &mut obs).await {
        Ok(ours) => take(mb, &req, &ours, &mut obs).await,
        Err(e) => Err(e),
    };
    (r, obs)
}

fn phases(o: &Observation) -> Vec<&str> {
    o.phases.iter().map(|p| p.phase.as_str()).collect()
}

#[tokio::test]
async fn only_our_probe_goes_and_everything_else_stays() {
    let mut mb = Mem::<true>::new(vec![
        user_mail(),
        probe(&TOK, CASE),
        // Mentions our token and case, but only in the body.
        msg("", &format!("X-Healthmon-Probe: {} {CASE}", *TOK)),
        // Extra words: not a header we wrote.
        msg(&format!("X-Healthmon-Probe: {} {CASE} extra\r\n", *OLD), ""),
        // Another case's probe (and a longer case id containing ours).
        probe(&OLD, "rndtrip/ims2/mta1/mmp1/pop3"),
        probe(&OLD, &format!("{CASE}s")),
    ]);
    let (r, o) = retrieve(&mut mb).await;
    let t = r.unwrap();
    assert_eq!(t.raw, probe(&TOK, CASE));
    assert_eq!(t.reaped, 0);
    assert!(mb.committed && !mb.abandoned);
    assert_eq!(mb.ids(), vec![1, 3, 4, 5, 6]);
    assert_eq!(phases(&o), vec!["fetch", "delete", "logout"]);
    assert!(o.facts.is_empty(), "{:?}", o.facts);
}

#[tokio::test]
async fn a_killed_runs_leftover_is_reaped_with_the_probe() {
    let mut mb = Mem::<false>::new(vec![probe(&OLD, CASE), user_mail(), probe(&TOK, CASE)]);
    let (r, o) = retrieve(&mut mb).await;
    assert_eq!(r.unwrap().reaped, 1);
    assert_eq!(mb.ids(), vec![2]);
    assert_eq!(o.facts.get("reaped").map(String::as_str), Some("1"));
    // IMAP-like: the commit is part of `delete`, no `logout` phase here.
    assert_eq!(phases(&o), vec!["fetch", "delete"]);
}

#[tokio::test]
async fn duplicates_go_only_when_their_whole_message_is_ours_too() {
    let mut mb = Mem::<true>::new(vec![probe(&TOK, CASE), user_mail(), probe(&TOK, CASE)]);
    let (r, o) = retrieve(&mut mb).await;
    r.unwrap();
    assert_eq!(mb.ids(), vec![2]);
    assert_eq!(o.facts.get("duplicates").map(String::as_str), Some("1"));

    // Header says "ours", the whole message does not (a forged or changed
    // header): the duplicate and the leftover with the same doubt stay.
    let mut mb = Mem::<true>::new(vec![
        probe(&TOK, CASE),
        probe(&TOK, CASE),
        probe(&OLD, CASE),
    ]);
    mb.msgs[1].full = user_mail();
    mb.msgs[2].full = probe(&OLD, "another/case");
    let (r, o) = retrieve(&mut mb).await;
    assert_eq!(r.unwrap().reaped, 0);
    assert_eq!(mb.ids(), vec![2, 3]);
    assert_eq!(o.facts.get("unverified").map(String::as_str), Some("2"));
    assert!(!o.facts.contains_key("reaped"));
}

#[tokio::test]
async fn a_probe_whose_message_is_not_ours_is_corrupt_and_nothing_goes() {
    let mut mb = Mem::<true>::new(vec![probe(&OLD, CASE), probe(&TOK, CASE)]);
    mb.msgs[1].full = msg("", "header lost on the way");
    let (r, o) = retrieve(&mut mb).await;
    assert_eq!(r.unwrap_err().kind, ErrorKind::Corrupt);
    assert!(mb.abandoned && !mb.committed);
    assert_eq!(mb.ids(), vec![1, 2]);
    assert_eq!(phases(&o), vec!["fetch"]);
}

#[tokio::test]
async fn a_vanished_duplicate_is_skipped_a_vanished_probe_is_an_error() {
    let mut mb = Mem::<true>::new(vec![probe(&TOK, CASE), probe(&TOK, CASE)]);
    mb.vanished = vec![2];
    let (r, _) = retrieve(&mut mb).await;
    r.unwrap();
    assert_eq!(mb.ids(), vec![2]);

    let mut mb = Mem::<true>::new(vec![probe(&TOK, CASE)]);
    mb.vanished = vec![1];
    let (r, _) = retrieve(&mut mb).await;
    assert_eq!(r.unwrap_err().kind, ErrorKind::PermReject);
    assert!(mb.abandoned && !mb.committed);
    assert_eq!(mb.ids(), vec![1]);
}

#[tokio::test]
async fn a_failure_between_delete_and_commit_commits_nothing() {
    async fn check<const L: bool>(fail_at: &'static str) {
        let mut mb = Mem::<L>::new(vec![probe(&OLD, CASE), user_mail(), probe(&TOK, CASE)]);
        mb.fail_at = Some(fail_at);
        let (r, o) = retrieve(&mut mb).await;
        let e = r.unwrap_err();
        assert_eq!(e.phase, fail_at);
        assert!(mb.abandoned && !mb.committed, "{fail_at}");
        assert!(mb.marked.is_empty());
        assert_eq!(mb.ids(), vec![1, 2, 3], "{fail_at}: nothing deleted");
        assert!(!o.facts.contains_key("reaped") || L, "{:?}", o.facts);
    }
    for at in ["mark", "commit", "delete"] {
        check::<true>(at).await;
        check::<false>(at).await;
    }
}

#[tokio::test]
async fn a_server_that_cannot_delete_exactly_ours_keeps_everything() {
    let mut mb = Mem::<false>::new(vec![probe(&OLD, CASE), probe(&TOK, CASE)]);
    mb.cannot_delete = true;
    let (r, o) = retrieve(&mut mb).await;
    let t = r.unwrap();
    assert_eq!((t.raw, t.reaped), (probe(&TOK, CASE), 0));
    assert!(!mb.committed && !mb.abandoned);
    assert_eq!(mb.ids(), vec![1, 2]);
    assert!(o.facts.contains_key("not_deleted"));
}

#[tokio::test]
async fn waiting_sees_a_late_probe_and_gives_up_at_the_deadline() {
    let mut mb = Mem::<true>::new(vec![user_mail(), probe(&OLD, CASE)]);
    mb.arriving = vec![stored(3, user_mail()), stored(4, probe(&TOK, CASE))];
    let (r, _) = retrieve(&mut mb).await;
    assert_eq!(r.unwrap().reaped, 1);
    assert_eq!(mb.waits, 2);
    assert_eq!(mb.ids(), vec![1, 3]);

    let mut mb = Mem::<true>::new(vec![user_mail(), probe(&OLD, CASE)]);
    let (r, _) = retrieve(&mut mb).await;
    assert_eq!(r.unwrap_err().kind, ErrorKind::NotArrived);
    assert_eq!(mb.ids(), vec![1, 2], "waiting deletes nothing");
}

#[tokio::test]
async fn look_alikes_of_our_probes_survive_and_only_our_verified_leftover_goes() {
    let copied = KEY.mint(CASE, SITE);
    let theirs = OTHER_KEY.mint(CASE, SITE);
    let unsigned = "hm0123456789abcdef0123456789abcdef";
    let mut mb = Mem::<true>::new(vec![
        // 1: a user's message carrying a verbatim copy of a real probe's
        // header (token verifies), with the user's own Message-ID and text.
        msg(
            &format!("X-Healthmon-Probe: {copied} {CASE}\r\nMessage-ID: <u1@x>\r\n"),
            "my own text",
        ),
        // 2: the same copy with the probe's Message-ID too, own text.
        msg(
            &format!(
                "X-Healthmon-Probe: {copied} {CASE}\r\nMessage-ID: <{copied}@healthmon.invalid>\r\n"
            ),
            "my own text",
        ),
        // 3: a well-formed token of the old unsigned shape, real case id.
        msg(&format!("X-Healthmon-Probe: {unsigned} {CASE}\r\n"), "hi"),
        // 4: a whole probe of the same case and site from a second monitor.
        probe(&theirs, CASE),
        // 5: our own leftover of a killed run: reaped.
        probe(&OLD, CASE),
        // 6: garbage where the token should be.
        msg(&format!("X-Healthmon-Probe: hello {CASE}\r\n"), ""),
        probe(&TOK, CASE),
    ]);
    let (r, o) = retrieve(&mut mb).await;
    assert_eq!(r.unwrap().reaped, 1);
    assert!(mb.committed);
    assert_eq!(mb.ids(), vec![1, 2, 3, 4, 6]);
    assert_eq!(o.facts.get("reaped").map(String::as_str), Some("1"));
    // 1, 3, 4, 6: never even fetched.
    assert_eq!(
        o.facts.get("foreign_left_alone").map(String::as_str),
        Some("4")
    );
    // 2: its header and Message-ID say leftover, its whole message does not.
    assert_eq!(o.facts.get("unverified").map(String::as_str), Some("1"));
    // No look-alike's token (nor its MAC) reaches the observation.
    let all = format!("{o:?}");
    for t in [&copied, &theirs] {
        assert!(!all.contains(&t[34..]), "MAC of {t} shown: {all}");
    }
}

#[tokio::test]
async fn a_second_monitor_with_another_key_never_touches_our_probes() {
    // Our leftover (and our probe in flight) in a mailbox the other monitor
    // probes for the same case on the same site.
    let theirs = OTHER_KEY.mint(CASE, SITE);
    let mut mb = Mem::<false>::new(vec![
        probe(&OLD, CASE),
        probe(&TOK, CASE),
        probe(&theirs, CASE),
    ]);
    let (r, o) = retrieve_as(&mut mb, &OTHER_KEY, &theirs).await;
    assert_eq!(r.unwrap().reaped, 0);
    assert_eq!(mb.ids(), vec![1, 2], "only their own probe went");
    assert_eq!(
        o.facts.get("foreign_left_alone").map(String::as_str),
        Some("2")
    );
    // And ours, run next with our key, reaps our leftover as before.
    let (r, _) = retrieve(&mut mb).await;
    assert_eq!(r.unwrap().reaped, 1);
    assert!(mb.ids().is_empty());
}

#[tokio::test]
async fn a_lost_commit_reply_is_settled_by_looking_again() {
    /// A retrieve whose commit reply goes missing (`committed`: after the
    /// server committed), the follow-up look failing or not.
    async fn run<const L: bool>(
        committed: bool,
        follow_up_fails: bool,
    ) -> (Vec<u32>, usize, Observation) {
        let mut mb = Mem::<L>::new(vec![probe(&OLD, CASE), user_mail(), probe(&TOK, CASE)]);
        mb.reply_lost = Some(committed);
        mb.follow_up_fails = follow_up_fails;
        let (r, o) = retrieve(&mut mb).await;
        let t = r.unwrap_or_else(|e| panic!("a lost reply is not a failure: {e}"));
        (mb.ids(), t.reaped, o)
    }
    async fn check<const L: bool>() {
        // The server committed, then the reply went missing: deleted, said so.
        let (ids, reaped, o) = run::<L>(true, false).await;
        assert_eq!((ids, reaped), (vec![2], 1));
        let c = &o.facts["commit"];
        assert!(
            c.starts_with("delete reply lost (no reply to QUIT)")
                && c.ends_with("no longer finds the probe: deleted"),
            "{c}"
        );
        assert_eq!(o.facts.get("reaped").map(String::as_str), Some("1"));

        // It did not commit: nothing deleted, and nothing claimed.
        let (ids, reaped, o) = run::<L>(false, false).await;
        assert_eq!((ids, reaped), (vec![1, 2, 3], 0));
        assert!(
            o.facts["not_deleted"].contains("still finds the probe"),
            "{:?}",
            o.facts
        );
        assert!(!o.facts.contains_key("reaped") && !o.facts.contains_key("commit"));

        // Nobody could look: unconfirmed, and still not a failure.
        let (_, reaped, o) = run::<L>(true, true).await;
        assert_eq!(reaped, 1);
        let c = &o.facts["commit"];
        assert!(
            c.starts_with("unconfirmed: delete reply lost") && c.contains("connection refused"),
            "{c}"
        );
    }
    check::<true>().await;
    check::<false>().await;
}
