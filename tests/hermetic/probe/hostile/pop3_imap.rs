//! Hostile POP3 and IMAP servers (in-process fakes on 127.0.0.1): every row
//! must end within its time bound with the named phase and error kind, read a
//! bounded number of bytes, never leak a secret, and never delete what is not
//! ours (no plain EXPUNGE or CLOSE, ever).
//!
//! Matrix (row → expected outcome) is the list of `#[tokio::test]`s below;
//! each name says the row, each assertion says phase + kind.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use healthmon::probe::probe_msg::RetrieveRequest;
use healthmon::probe::{imap, pop3};
use healthmon::result::{ErrorKind, Observation, ProbeError};
use healthmon::secret::Secret;
use healthmon::suite::model::{Proto, TlsMode};
use healthmon::suite::resolve::Endpoint;
use healthmon::token::ProbeKey;

use crate::support::fakes::{FakeServer, Peer, Record, endpoint};

const STEP: Duration = Duration::from_millis(800);
/// No row may take longer than this (a few steps).
const BOUND: Duration = Duration::from_secs(5);
/// Bytes the client may read from a hostile server in any row.
const READ_BOUND: f64 = 2.0 * 1024.0 * 1024.0;
const CASE: &str = "hostile/case";
const SITE: &str = "hostile";
const SECRET: &str = "S3cr3t-\"hostile\\pw";

// ------------------------------------------------------------------ fake

/// Start a shared fake (`support::fakes`) that serves until the test ends;
/// `serve` runs once per connection.
async fn fake<F, Fut>(serve: F) -> (SocketAddr, Record)
where
    F: Fn(Peer) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    FakeServer::start(serve).await.detach()
}

/// Message number / UID `n`: a real probe message of `(token, case)`, else
/// a user's message (with a body line that needs dot-stuffing). A probe is
/// built once per `(token, case)`: a copy delivered twice is the same bytes,
/// whatever second the clock gives its Date header.
fn message(n: u64, probe: Option<(&str, &str)>) -> Vec<u8> {
    type Built = std::collections::HashMap<(String, String), Vec<u8>>;
    static BUILT: std::sync::LazyLock<std::sync::Mutex<Built>> =
        std::sync::LazyLock::new(Default::default);
    if let Some((tok, case)) = probe {
        let mut built = BUILT.lock().unwrap();
        return built
            .entry((tok.to_owned(), case.to_owned()))
            .or_insert_with(|| {
                healthmon::probe::probe_msg::build_message(
                    tok,
                    case,
                    "healthmon@monitor.example.test",
                    "user@example.test",
                )
                .unwrap()
            })
            .clone();
    }
    format!(
        "From: someone@example.test\r\nSubject: message {n}\r\nMessage-ID: <{n}@x>\r\n\
         \r\nbody\r\n.dot line\r\n"
    )
    .into_bytes()
}

struct Outcome {
    res: Result<(), ProbeError>,
    obs: Observation,
    took: Duration,
}

impl Outcome {
    /// The row's verdict: this phase, this kind, in time, bounded reads,
    /// sanitised text, no secret.
    fn expect(&self, phase: &str, kind: ErrorKind) -> &ProbeError {
        let e = self
            .res
            .as_ref()
            .expect_err("hostile server must give an error");
        assert_eq!(
            (e.phase.as_str(), e.kind),
            (phase, kind),
            "{e}\n{}",
            self.obs.transcript.join("\n")
        );
        self.bounded();
        e
    }
    /// The row's verdict for a lost commit reply: not an error, bounded,
    /// a follow-up session in the transcript, and the fact `key` saying
    /// what it found.
    fn settled(&self, key: &str, ends: &str) -> &std::collections::BTreeMap<String, String> {
        assert!(
            self.res.is_ok(),
            "{:?}\n{}",
            self.res,
            self.obs.transcript.join("\n")
        );
        self.bounded();
        assert!(
            self.obs
                .transcript
                .iter()
                .any(|l| l == "* follow-up session: is the probe still there?"),
            "{}",
            self.obs.transcript.join("\n")
        );
        let f = &self.obs.facts;
        let v = f.get(key).unwrap_or_else(|| panic!("no fact {key}: {f:?}"));
        assert!(v.ends_with(ends), "{key}: {v}");
        f
    }

    fn bounded(&self) {
        assert!(self.took < BOUND, "took {:?}", self.took);
        let read = self.obs.metric_value("bytes_received").unwrap_or(0.0);
        assert!(read < READ_BOUND, "read {read} bytes");
        let all = format!("{:?}", self.obs) + &format!("{:?}", self.res);
        assert!(
            !all.contains("hostile\\\\pw") && !all.contains("S3cr3t"),
            "secret leaked"
        );
        for t in self
            .obs
            .transcript
            .iter()
            .chain(self.res.as_ref().err().map(|e| &e.message))
        {
            assert!(!t.contains("]]>"), "unsanitised: {t}");
            assert!(!t.chars().any(|c| c.is_control()), "control char in {t:?}");
        }
    }
}

fn req<'a>(ep: &'a Endpoint, pw: &'a Secret, tok: &'a str, wait: Duration) -> RetrieveRequest<'a> {
    RetrieveRequest {
        ep,
        login: "user",
        password: pw,
        token: tok,
        case_id: CASE,
        site: SITE,
        key: Some(&KEY),
        step_timeout: STEP,
        arrival_deadline: tokio::time::Instant::now() + wait,
        max_message_bytes: 64 * 1024,
        waiting: None,
    }
}

/// Run `retrieve` of `proto` (Pop3 or Imap) against a fake.
async fn run(proto: Proto, addr: SocketAddr, tls: TlsMode, tok: &str) -> Outcome {
    let ep = endpoint(addr, proto, tls);
    let pw = Secret::new(SECRET);
    let mut obs = Observation::default();
    let t0 = Instant::now();
    let r = req(&ep, &pw, tok, Duration::from_secs(2));
    let res = match proto {
        Proto::Pop3 => pop3::retrieve(&r, &mut obs).await,
        _ => imap::retrieve(&r, &mut obs).await,
    };
    Outcome {
        res: res.map(|_| ()),
        obs,
        took: t0.elapsed(),
    }
}

async fn run_pop3(addr: SocketAddr, tls: TlsMode, tok: &str) -> Outcome {
    run(Proto::Pop3, addr, tls, tok).await
}

async fn run_imap(addr: SocketAddr, tls: TlsMode, tok: &str) -> Outcome {
    run(Proto::Imap, addr, tls, tok).await
}

/// The installation key these rows retrieve with (in memory).
static KEY: LazyLock<ProbeKey> = LazyLock::new(|| ProbeKey::generate().unwrap());

/// A token of this installation for a probe of `CASE` (a leftover when it is
/// not the one being retrieved).
fn token() -> String {
    KEY.mint(CASE, SITE)
}

// ------------------------------------------------------------ POP3 server

/// A scriptable POP3 server: messages by number, quirks by flag.
#[derive(Clone)]
struct Pop3 {
    greeting: Vec<u8>,
    capa: Vec<&'static str>,
    count: u64,
    msg: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>,
    pass_reply: Vec<u8>,
    /// RETR answers this many bytes of junk instead (the "100 MB reply").
    retr_junk: usize,
    /// Close the connection in the middle of RETR.
    retr_close: bool,
    /// Answer `TOP` (else `-ERR`, as for any unknown command).
    top: bool,
    /// What QUIT does after DELEs.
    quit: Quit,
    /// Message numbers (as first numbered) removed by a committing QUIT,
    /// shared by every session: the next session numbers the rest anew.
    removed: Arc<std::sync::Mutex<Vec<u64>>>,
}

/// A POP3 QUIT.
#[derive(Clone, Copy, PartialEq)]
enum Quit {
    /// Commit the DELEs, reply `+OK`.
    Reply,
    /// Commit the DELEs, then close without a reply.
    CommitThenClose,
    /// Commit the DELEs, then say nothing and keep the connection open.
    CommitThenSilence,
    /// Close at once without a reply and without committing.
    Close,
}

impl Pop3 {
    fn new(count: u64, msg: impl Fn(u64) -> Vec<u8> + Send + Sync + 'static) -> Self {
        Pop3 {
            greeting: b"+OK fake POP3 ready\r\n".to_vec(),
            capa: vec!["USER", "UIDL", "TOP", "SASL PLAIN"],
            count,
            msg: Arc::new(msg),
            pass_reply: b"+OK logged in\r\n".to_vec(),
            retr_junk: 0,
            retr_close: false,
            top: true,
            quit: Quit::Reply,
            removed: Arc::default(),
        }
    }

    async fn serve(self, mut p: Peer) {
        if !p.send(&self.greeting).await {
            return;
        }
        let mut deleted = Vec::new();
        // This session's view: message number → number as first numbered.
        let removed = self.removed.lock().unwrap().clone();
        let live: Option<Vec<u64>> = (!removed.is_empty())
            .then(|| (1..=self.count).filter(|n| !removed.contains(n)).collect());
        let count = live.as_ref().map_or(self.count, |v| v.len() as u64);
        let orig = |n: u64| match &live {
            Some(v) => v.get((n as usize).wrapping_sub(1)).copied().unwrap_or(0),
            None => n,
        };
        while let Some(l) = p.line().await {
            let mut w = l.split(' ');
            let verb = w.next().unwrap_or("").to_ascii_uppercase();
            let arg: Option<u64> = w.next().and_then(|a| a.parse().ok());
            let out: Vec<u8> = match verb.as_str() {
                "CAPA" if self.capa.is_empty() => b"-ERR no CAPA here\r\n".to_vec(),
                "CAPA" => format!("+OK\r\n{}\r\n.\r\n", self.capa.join("\r\n")).into_bytes(),
                "USER" => b"+OK\r\n".to_vec(),
                "PASS" | "AUTH" => self.pass_reply.clone(),
                "STAT" => format!("+OK {} {}\r\n", count, count * 200).into_bytes(),
                "UIDL" if arg.is_some() => {
                    let n = arg.unwrap();
                    format!("+OK {n} uid{}\r\n", orig(n)).into_bytes()
                }
                "UIDL" | "LIST" => {
                    let mut o = b"+OK\r\n".to_vec();
                    for n in 1..=count.min(100_000) {
                        o.extend(format!("{n} uid{}\r\n", orig(n)).bytes());
                    }
                    o.extend(b".\r\n");
                    o
                }
                "TOP" if !self.top => b"-ERR unknown command\r\n".to_vec(),
                "TOP" | "RETR" => {
                    let n = orig(arg.unwrap_or(0));
                    if verb == "RETR" && self.retr_junk > 0 {
                        p.send(b"+OK\r\n").await;
                        let line = [b"x".repeat(998), b"\r\n".to_vec()].concat();
                        let mut sent = 0;
                        while sent < self.retr_junk && p.send(&line).await {
                            sent += line.len();
                        }
                        return;
                    }
                    let m = (self.msg)(n);
                    let m = if verb == "TOP" {
                        let end = m
                            .windows(4)
                            .position(|w| w == b"\r\n\r\n")
                            .map_or(m.len(), |i| i + 4);
                        m[..end].to_vec()
                    } else {
                        m
                    };
                    let mut o = b"+OK\r\n".to_vec();
                    for line in m.split_inclusive(|b| *b == b'\n') {
                        if line.starts_with(b".") {
                            o.push(b'.');
                        }
                        o.extend(line);
                    }
                    if verb == "RETR" && self.retr_close {
                        let half = o.len() / 2;
                        p.send(&o[..half]).await;
                        return;
                    }
                    o.extend(b".\r\n");
                    o
                }
                "DELE" => {
                    deleted.push(orig(arg.unwrap_or(0)));
                    b"+OK\r\n".to_vec()
                }
                "QUIT" => {
                    if self.quit != Quit::Close {
                        self.removed.lock().unwrap().extend(&deleted);
                    }
                    match self.quit {
                        Quit::Reply => {
                            p.send(b"+OK bye\r\n").await;
                        }
                        Quit::CommitThenSilence => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                        }
                        Quit::CommitThenClose | Quit::Close => {}
                    }
                    return;
                }
                _ => b"-ERR what\r\n".to_vec(),
            };
            if !p.send(&out).await {
                return;
            }
        }
    }
}

async fn pop3_fake(cfg: Pop3) -> (SocketAddr, Record) {
    fake(move |p| cfg.clone().serve(p)).await
}

// ------------------------------------------------------------ IMAP server

#[derive(Clone)]
struct Imap {
    greeting: Vec<u8>,
    caps: &'static str,
    /// Messages by UID.
    msgs: Vec<(u32, Vec<u8>)>,
    /// Untagged lines sent before the SEARCH result.
    search_flood: usize,
    /// Announce this literal size for BODY[].
    body_literal: Option<usize>,
    /// UIDs expunged, shared by every session.
    expunged: Arc<std::sync::Mutex<Vec<u32>>>,
    /// Expunge, then close without the tagged reply.
    expunge_then_close: bool,
}

const FULL_CAPS: &str = "IMAP4rev1 IDLE UIDPLUS LITERAL+ AUTH=PLAIN SASL-IR";

impl Imap {
    fn new(msgs: Vec<(u32, Vec<u8>)>) -> Self {
        Imap {
            greeting: b"* OK fake IMAP ready\r\n".to_vec(),
            caps: FULL_CAPS,
            msgs,
            search_flood: 0,
            body_literal: None,
            expunged: Arc::default(),
            expunge_then_close: false,
        }
    }

    async fn serve(self, mut p: Peer) {
        if !p.send(&self.greeting).await {
            return;
        }
        let mut msgs = self.msgs.clone();
        let gone = self.expunged.lock().unwrap().clone();
        msgs.retain(|(u, _)| !gone.contains(u));
        while let Some(l) = p.line().await {
            let (tag, rest) = l.split_once(' ').unwrap_or((&l, ""));
            let up = rest.to_ascii_uppercase();
            let ok = format!("{tag} OK done\r\n");
            let out: Vec<u8> = if up == "CAPABILITY" {
                format!("* CAPABILITY {}\r\n{ok}", self.caps).into_bytes()
            } else if up.starts_with("LOGIN") {
                // Consume literals the client may send ({n} / {n+}).
                let mut line = l.clone();
                while let Some(n) =
                    healthmon::probe::imap_parse::literal_len(line.as_bytes()).and_then(Result::ok)
                {
                    if !line.ends_with("+}") {
                        p.send(b"+ go\r\n").await;
                    }
                    p.bytes(n).await;
                    line = p.line().await.unwrap_or_default();
                }
                format!("{tag} OK logged in\r\n").into_bytes()
            } else if up.starts_with("AUTHENTICATE") {
                format!("{tag} OK logged in\r\n").into_bytes()
            } else if up.starts_with("SELECT") || up.starts_with("EXAMINE") {
                format!("* {} EXISTS\r\n* OK [UIDVALIDITY 1]\r\n{ok}", msgs.len()).into_bytes()
            } else if up.starts_with("UID SEARCH") {
                let needle = rest.rsplit('"').nth(1).unwrap_or("").to_string();
                let mut o = Vec::new();
                let flood = b"* OK flood flood flood flood\r\n";
                for _ in 0..self.search_flood {
                    o.extend(flood);
                    if o.len() > 64 * 1024 {
                        if !p.send(&o).await {
                            return;
                        }
                        o.clear();
                    }
                }
                let hits: Vec<String> = msgs
                    .iter()
                    .filter(|(_, m)| String::from_utf8_lossy(m).contains(&needle))
                    .map(|(u, _)| u.to_string())
                    .collect();
                o.extend(format!("* SEARCH {}\r\n{ok}", hits.join(" ")).bytes());
                o
            } else if up.starts_with("UID FETCH") {
                let set = rest.split(' ').nth(2).unwrap_or("");
                let uids: Vec<u32> = set.split(',').filter_map(|u| u.parse().ok()).collect();
                let mut o = Vec::new();
                for (i, (u, m)) in msgs.iter().enumerate() {
                    if !uids.contains(u) {
                        continue;
                    }
                    if up.contains("HEADER.FIELDS") {
                        // The asked-for fields, folded lines and all, of
                        // the header section.
                        let text = String::from_utf8_lossy(m).into_owned();
                        let head = text.split("\r\n\r\n").next().unwrap_or("");
                        let mut keep = false;
                        let mut h = String::new();
                        for l in head.lines() {
                            if !l.starts_with([' ', '\t']) {
                                let name = l.split(':').next().unwrap_or("");
                                keep = ["x-healthmon-probe", "message-id"]
                                    .contains(&name.to_ascii_lowercase().as_str());
                            }
                            if keep {
                                h.push_str(l);
                                h.push_str("\r\n");
                            }
                        }
                        h.push_str("\r\n");
                        o.extend(
                            format!("* {} FETCH (UID {u} BODY[HEADER.FIELDS (X-HEALTHMON-PROBE)] {{{}}}\r\n{h})\r\n", i + 1, h.len())
                                .bytes(),
                        );
                    } else {
                        let n = self.body_literal.unwrap_or(m.len());
                        o.extend(format!("* {} FETCH (UID {u} BODY[] {{{n}}}\r\n", i + 1).bytes());
                        if self.body_literal.is_some() {
                            // Start streaming a huge literal; the client must hang up.
                            p.send(&o).await;
                            let chunk = vec![b'x'; 65536];
                            let mut sent = 0;
                            while sent < n && p.send(&chunk).await {
                                sent += chunk.len();
                            }
                            return;
                        }
                        o.extend(m);
                        o.extend(b")\r\n");
                    }
                }
                o.extend(ok.bytes());
                o
            } else if up.starts_with("UID EXPUNGE") {
                let set = rest.split(' ').nth(2).unwrap_or("").to_string();
                let uids: Vec<u32> = set.split(',').filter_map(|u| u.parse().ok()).collect();
                msgs.retain(|(u, _)| !uids.contains(u));
                self.expunged.lock().unwrap().extend(&uids);
                if self.expunge_then_close {
                    return;
                }
                ok.into_bytes()
            } else if up == "IDLE" {
                p.send(b"+ idling\r\n").await;
                match p.line().await {
                    Some(_) => ok.into_bytes(),
                    None => return,
                }
            } else if up == "LOGOUT" {
                p.send(format!("* BYE bye\r\n{ok}").as_bytes()).await;
                return;
            } else {
                ok.into_bytes()
            };
            if !p.send(&out).await {
                return;
            }
        }
    }
}

async fn imap_fake(cfg: Imap) -> (SocketAddr, Record) {
    fake(move |p| cfg.clone().serve(p)).await
}

/// A fake that only sends `bytes` (then waits, or closes when `close`).
async fn raw_fake(bytes: &'static [u8], close: bool) -> (SocketAddr, Record) {
    fake(move |mut p| async move {
        p.send(bytes).await;
        if !close {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    })
    .await
}

// ------------------------------------------------------- rows: both protocols

async fn both(addr: SocketAddr) -> [Outcome; 2] {
    let tok = token();
    [
        run_pop3(addr, TlsMode::None, &tok).await,
        run_imap(addr, TlsMode::None, &tok).await,
    ]
}

#[tokio::test]
async fn greeting_never_sent_times_out_at_greeting() {
    let (addr, _) = fake(|p| async move {
        let _keep_open = p;
        tokio::time::sleep(Duration::from_secs(30)).await
    })
    .await;
    for o in both(addr).await {
        o.expect("greeting", ErrorKind::Timeout);
        assert!(o.took >= STEP, "{:?}", o.took);
    }
}

#[tokio::test]
async fn slow_drip_greeting_times_out_at_greeting() {
    let (addr, rec) = fake(|mut p| async move {
        for b in b"+OK a greeting that drips one byte at a time\r\n" {
            if !p.send(&[*b]).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    })
    .await;
    for o in both(addr).await {
        o.expect("greeting", ErrorKind::Timeout);
    }
    assert!(
        rec.sent.load(Ordering::Relaxed) < 40,
        "the drip was waited out"
    );
}

#[tokio::test]
async fn endless_line_is_a_protocol_error_with_bounded_reads() {
    let (addr, rec) = fake(|mut p| async move {
        let chunk = vec![b'A'; 65536];
        while p.send(&chunk).await {}
    })
    .await;
    for o in both(addr).await {
        let e = o.expect("greeting", ErrorKind::Protocol);
        assert!(e.message.contains("longer than"), "{e}");
    }
    // The client stopped reading after a line's worth (the rest sat in socket buffers).
    assert!(rec.sent.load(Ordering::Relaxed) < 64 * 1024 * 1024);
}

#[tokio::test]
async fn hostile_bytes_in_greeting_and_error_replies_are_sanitised() {
    // -ERR / NO greetings with NUL, ESC, invalid UTF-8 and a CDATA end.
    let (addr, _) = raw_fake(b"-ERR \x00\x1b[31mgo away\xff\xfe ]]> now\r\n", false).await;
    let o = run_pop3(addr, TlsMode::None, &token()).await;
    let e = o.expect("greeting", ErrorKind::PermReject);
    assert!(
        e.message
            .contains("\\x00\\x1B[31mgo away\\xFF\\xFE ]]\\x3E now"),
        "{e}"
    );
    let (addr, _) = raw_fake(b"* BYE \x00\x1b]]>\xc3\x28 too busy\r\n", false).await;
    let o = run_imap(addr, TlsMode::None, &token()).await;
    o.expect("greeting", ErrorKind::PermReject);
    // The same bytes in the reply to the password.
    let mut cfg = Pop3::new(0, |n| message(n, None));
    cfg.pass_reply = b"-ERR [AUTH] \x00\x1b]]>\xff bad password\r\n".to_vec();
    let (addr, _) = pop3_fake(cfg).await;
    let e = run_pop3(addr, TlsMode::None, &token()).await;
    e.expect("auth", ErrorKind::Auth);
}

#[tokio::test]
async fn garbage_greeting_banner_is_sanitised_but_usable() {
    // A +OK greeting full of junk still works, and the banner fact is clean.
    let mut cfg = Pop3::new(0, |n| message(n, None));
    cfg.greeting = b"+OK \x1b[2J\x00\xff]]> hi\r\n".to_vec();
    let (addr, _) = pop3_fake(cfg).await;
    let o = run_pop3(addr, TlsMode::None, &token()).await;
    o.expect("delivery", ErrorKind::NotArrived);
    let banner = &o.obs.facts["banner"];
    assert!(
        !banner.contains("]]>") && !banner.chars().any(|c| c.is_control()),
        "{banner:?}"
    );
}

#[tokio::test]
async fn connection_closed_mid_greeting_is_a_protocol_error() {
    let (addr, _) = raw_fake(b"+OK half a gree", true).await;
    let o = run_pop3(addr, TlsMode::None, &token()).await;
    o.expect("greeting", ErrorKind::Protocol);
    let (addr, _) = raw_fake(b"* OK half a gree", true).await;
    let o = run_imap(addr, TlsMode::None, &token()).await;
    o.expect("greeting", ErrorKind::Protocol);
}

#[tokio::test]
async fn err_and_bye_greetings_are_refusals() {
    let (addr, _) = raw_fake(b"-ERR [SYS/TEMP] maintenance\r\n", false).await;
    run_pop3(addr, TlsMode::None, &token())
        .await
        .expect("greeting", ErrorKind::TempReject);
    let (addr, _) = raw_fake(b"-ERR no service\r\n", false).await;
    run_pop3(addr, TlsMode::None, &token())
        .await
        .expect("greeting", ErrorKind::PermReject);
    let (addr, _) = raw_fake(b"* BYE [UNAVAILABLE] overloaded\r\n", false).await;
    run_imap(addr, TlsMode::None, &token())
        .await
        .expect("greeting", ErrorKind::TempReject);
    let (addr, _) = raw_fake(b"* BYE go away\r\n", false).await;
    run_imap(addr, TlsMode::None, &token())
        .await
        .expect("greeting", ErrorKind::PermReject);
}

#[tokio::test]
async fn stripped_stls_and_starttls_fail_without_downgrade() {
    let mut cfg = Pop3::new(1, |n| message(n, None));
    cfg.capa = vec!["USER", "UIDL", "TOP"]; // no STLS
    let (addr, rec) = pop3_fake(cfg).await;
    let o = run_pop3(addr, TlsMode::Starttls, &token()).await;
    o.expect("starttls", ErrorKind::Capability);
    assert!(
        !rec.saw_word("USER") && !rec.saw_word("PASS") && !rec.saw_word("AUTH"),
        "{:?}",
        rec.lines()
    );

    let mut cfg = Imap::new(vec![]);
    cfg.caps = "IMAP4rev1 IDLE UIDPLUS"; // no STARTTLS
    let (addr, rec) = imap_fake(cfg).await;
    let o = run_imap(addr, TlsMode::Starttls, &token()).await;
    o.expect("starttls", ErrorKind::Capability);
    assert!(
        !rec.saw_word("LOGIN") && !rec.saw_word("AUTHENTICATE"),
        "{:?}",
        rec.lines()
    );
}

#[tokio::test]
async fn starttls_accepted_but_handshake_fails_or_data_is_injected() {
    // (reply to STLS/STARTTLS, bytes after it, pause before them?, expected kind)
    let rows: [(&[u8], &[u8], bool, ErrorKind); 2] = [
        (
            b"+OK begin TLS\r\n",
            b"this is not TLS\r\n",
            true,
            ErrorKind::Tls,
        ),
        // Plain-text bytes pipelined behind the OK: never acted upon.
        (
            b"+OK begin TLS\r\n",
            b"+OK injected\r\n",
            false,
            ErrorKind::Protocol,
        ),
    ];
    for (ok, after, pause, kind) in rows {
        for proto in [Proto::Pop3, Proto::Imap] {
            let (addr, rec) = fake(move |mut p| async move {
                let imap = proto == Proto::Imap;
                let greet: &[u8] = if imap {
                    b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n"
                } else {
                    b"+OK hi\r\n"
                };
                p.send(greet).await;
                while let Some(l) = p.line().await {
                    let up = l.to_ascii_uppercase();
                    if up.ends_with("STLS") || up.ends_with("STARTTLS") {
                        let mut first = if imap {
                            format!("{} OK begin\r\n", l.split(' ').next().unwrap()).into_bytes()
                        } else {
                            ok.to_vec()
                        };
                        if !pause {
                            first.extend(after);
                        }
                        p.send(&first).await;
                        if pause {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            p.send(after).await;
                        }
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        return;
                    }
                    p.send(b"+OK\r\nSTLS\r\nUSER\r\n.\r\n").await;
                }
            })
            .await;
            let o = run(proto, addr, TlsMode::Starttls, &token()).await;
            o.expect("starttls", kind);
            assert!(
                !rec.saw_word("USER") && !rec.saw_word("LOGIN") && !rec.saw_word("PASS"),
                "{:?}",
                rec.lines()
            );
        }
    }
}

#[tokio::test]
async fn pop3_huge_retr_is_capped() {
    let tok = token();
    let t2 = tok.clone();
    let mut cfg = Pop3::new(3, move |n| {
        message(n, (n == 2).then_some((t2.as_str(), CASE)))
    });
    cfg.retr_junk = 100 * 1024 * 1024;
    let (addr, rec) = pop3_fake(cfg).await;
    let o = run_pop3(addr, TlsMode::None, &tok).await;
    let e = o.expect("fetch", ErrorKind::Protocol);
    assert!(e.message.contains("larger than"), "{e}");
    assert!(
        !rec.saw_word("DELE") && !rec.saw_word("QUIT"),
        "must leave without committing: {:?}",
        rec.lines()
    );
    assert!(rec.sent.load(Ordering::Relaxed) < 64 * 1024 * 1024);
}

#[tokio::test]
async fn pop3_close_mid_retr_deletes_nothing() {
    let tok = token();
    let t2 = tok.clone();
    let mut cfg = Pop3::new(2, move |n| {
        message(n, (n == 1).then_some((t2.as_str(), CASE)))
    });
    cfg.retr_close = true;
    let (addr, rec) = pop3_fake(cfg).await;
    let o = run_pop3(addr, TlsMode::None, &tok).await;
    o.expect("fetch", ErrorKind::Protocol);
    assert!(!rec.saw_word("DELE"), "{:?}", rec.lines());
}

/// Message 1 a user's, 2 a leftover of ours, 3 the probe of `tok`.
fn probe_with_leftover(tok: &str) -> Pop3 {
    let (t, old) = (tok.to_string(), token());
    Pop3::new(3, move |n| match n {
        2 => message(n, Some((&old, CASE))),
        3 => message(n, Some((&t, CASE))),
        _ => message(n, None),
    })
}

fn commands(rec: &Record, verb: &str) -> Vec<String> {
    rec.lines()
        .into_iter()
        .filter(|c| c.starts_with(verb))
        .collect()
}

#[tokio::test]
async fn pop3_without_top_in_capa_is_a_capability_error_at_once() {
    let tok = token();
    let mut cfg = probe_with_leftover(&tok);
    cfg.capa = vec!["USER", "UIDL"];
    cfg.top = false;
    let (addr, rec) = pop3_fake(cfg).await;
    let o = run_pop3(addr, TlsMode::None, &tok).await;
    let e = o.expect("capa", ErrorKind::Capability);
    assert!(
        e.message
            .starts_with("server does not support TOP (not in CAPA); healthmon reads only headers"),
        "{e}"
    );
    // Said at once, not after polling until the arrival deadline (2 s).
    assert!(o.took < Duration::from_secs(1), "{:?}", o.took);
    for verb in ["TOP", "RETR", "DELE"] {
        assert!(commands(&rec, verb).is_empty(), "{verb}: {:?}", rec.lines());
    }
}

#[tokio::test]
async fn pop3_refusing_every_top_is_a_capability_error_not_not_arrived() {
    let tok = token();
    let mut cfg = probe_with_leftover(&tok);
    cfg.capa = vec![]; // no CAPA: TOP is tried, and refused
    cfg.top = false;
    let (addr, rec) = pop3_fake(cfg).await;
    let o = run_pop3(addr, TlsMode::None, &tok).await;
    let e = o.expect("delivery", ErrorKind::Capability);
    assert!(
        e.message.starts_with(
            "server does not support TOP (refused for all 3 messages tried: -ERR unknown command)"
        ),
        "{e}"
    );
    assert!(o.took < Duration::from_secs(1), "{:?}", o.took);
    assert_eq!(commands(&rec, "TOP").len(), 3);
    assert!(commands(&rec, "RETR").is_empty() && commands(&rec, "DELE").is_empty());
}

/// Found on mailsite variant b: with TOP in CAPA, a refused TOP is a message
/// another session expunged meanwhile (Dovecot: `-ERR Message 1 expunged.`),
/// also when it was the only one — never "does not support TOP".
#[tokio::test]
async fn pop3_top_refused_while_advertised_is_a_vanished_message_not_a_capability_error() {
    let tok = token();
    let mut cfg = Pop3::new(1, |n| message(n, None));
    cfg.top = false; // CAPA still lists TOP
    let (addr, rec) = pop3_fake(cfg).await;
    let o = run_pop3(addr, TlsMode::None, &tok).await;
    o.expect("delivery", ErrorKind::NotArrived);
    assert!(!commands(&rec, "TOP").is_empty(), "{:?}", rec.lines());
    assert!(commands(&rec, "RETR").is_empty() && commands(&rec, "DELE").is_empty());
}

#[tokio::test]
async fn pop3_lost_quit_reply_after_the_commit_is_confirmed_as_deleted() {
    for quit in [Quit::CommitThenClose, Quit::CommitThenSilence] {
        let tok = token();
        let mut cfg = probe_with_leftover(&tok);
        cfg.quit = quit;
        let removed = cfg.removed.clone();
        let (addr, _rec) = pop3_fake(cfg).await;
        let o = run_pop3(addr, TlsMode::None, &tok).await;
        let f = o.settled(
            "commit",
            "a follow-up session no longer finds the probe: deleted",
        );
        assert!(f["commit"].starts_with("delete reply lost ("), "{f:?}");
        assert_eq!(f.get("reaped").map(String::as_str), Some("1"), "{f:?}");
        let mut gone = removed.lock().unwrap().clone();
        gone.sort();
        assert_eq!(gone, vec![2, 3], "the server committed both");
        if quit == Quit::CommitThenSilence {
            assert!(o.took >= STEP, "{:?}", o.took);
        }
    }
}

#[tokio::test]
async fn pop3_lost_quit_reply_without_a_commit_says_nothing_was_deleted() {
    let tok = token();
    let mut cfg = probe_with_leftover(&tok);
    cfg.quit = Quit::Close;
    let removed = cfg.removed.clone();
    let (addr, _rec) = pop3_fake(cfg).await;
    let o = run_pop3(addr, TlsMode::None, &tok).await;
    let f = o.settled(
        "not_deleted",
        "a follow-up session still finds the probe: nothing was deleted (the next run reaps it)",
    );
    assert!(
        !f.contains_key("reaped") && !f.contains_key("commit"),
        "{f:?}"
    );
    assert!(removed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn pop3_stat_announcing_millions_scans_only_the_newest() {
    let tok = token();
    let t2 = tok.clone();
    let count = 3_000_000u64;
    let ours = count - 7;
    let (addr, rec) = pop3_fake(Pop3::new(count, move |n| {
        message(n, (n == ours).then_some((t2.as_str(), CASE)))
    }))
    .await;
    let o = run_pop3(addr, TlsMode::None, &tok).await;
    assert!(o.res.is_ok(), "{:?}", o.res);
    o.bounded();
    let cmds = rec.lines();
    let tops = cmds.iter().filter(|c| c.starts_with("TOP ")).count();
    assert!(tops <= pop3::SCAN_NEWEST as usize, "{tops} TOPs");
    assert!(
        !cmds.iter().any(|c| c == "UIDL" || c.starts_with("LIST")),
        "listed the whole mailbox"
    );
    assert_eq!(
        cmds.iter()
            .filter(|c| c.starts_with("DELE"))
            .collect::<Vec<_>>(),
        vec![&format!("DELE {ours}")]
    );
}

#[tokio::test]
async fn pop3_uidl_longer_than_stat_is_a_protocol_error() {
    // STAT says 5, the UIDL listing never ends.
    let (addr, _rec) = fake(move |mut p| async move {
        p.send(b"+OK hi\r\n").await;
        while let Some(l) = p.line().await {
            let out: &[u8] = match l.as_str() {
                "CAPA" => b"+OK\r\nUIDL\r\nTOP\r\n.\r\n",
                "STAT" => b"+OK 5 500\r\n",
                "UIDL" => {
                    p.send(b"+OK\r\n").await;
                    let mut n = 1u64;
                    while p.send(format!("{n} u{n}\r\n").as_bytes()).await {
                        n += 1;
                    }
                    return;
                }
                _ => b"+OK\r\n",
            };
            p.send(out).await;
        }
    })
    .await;
    let o = run_pop3(addr, TlsMode::None, &token()).await;
    let e = o.expect("delivery", ErrorKind::Protocol);
    assert!(e.message.contains("UIDL"), "{e}");
}

#[tokio::test]
async fn message_arriving_twice_is_deleted_twice() {
    let tok = token();
    let t2 = tok.clone();
    let (addr, rec) = pop3_fake(Pop3::new(4, move |n| {
        message(n, (n == 2 || n == 4).then_some((t2.as_str(), CASE)))
    }))
    .await;
    let o = run_pop3(addr, TlsMode::None, &tok).await;
    assert!(o.res.is_ok(), "{:?}", o.res);
    assert_eq!(o.obs.facts.get("duplicates").map(String::as_str), Some("1"));
    let mut dele: Vec<String> = rec
        .lines()
        .into_iter()
        .filter(|c| c.starts_with("DELE"))
        .collect();
    dele.sort();
    assert_eq!(dele, vec!["DELE 2", "DELE 4"]);

    let (addr, rec) = imap_fake(Imap::new(vec![
        (5, message(5, Some((&tok, CASE)))),
        (6, message(6, None)),
        (9, message(9, Some((&tok, CASE)))),
    ]))
    .await;
    let o = run_imap(addr, TlsMode::None, &tok).await;
    assert!(o.res.is_ok(), "{:?}", o.res);
    assert_eq!(o.obs.facts.get("duplicates").map(String::as_str), Some("1"));
    let cmds = rec.lines();
    assert!(
        cmds.iter()
            .any(|c| c.ends_with("UID STORE 5,9 +FLAGS.SILENT (\\Deleted)")),
        "{cmds:?}"
    );
    assert!(
        cmds.iter().any(|c| c.ends_with("UID EXPUNGE 5,9")),
        "{cmds:?}"
    );
}

#[tokio::test]
async fn imap_untagged_flood_is_cut_off() {
    let tok = token();
    let mut cfg = Imap::new(vec![(1, message(1, Some((&tok, CASE))))]);
    cfg.search_flood = 2_000_000;
    let (addr, rec) = imap_fake(cfg).await;
    let o = run_imap(addr, TlsMode::None, &tok).await;
    let e = o.expect("delivery", ErrorKind::Protocol);
    assert!(e.message.contains("untagged"), "{e}");
    assert!(!rec.saw_word("STORE") && !rec.saw_word("EXPUNGE"));
}

#[tokio::test]
async fn imap_huge_body_literal_is_refused_on_announce() {
    let tok = token();
    let mut cfg = Imap::new(vec![(1, message(1, Some((&tok, CASE))))]);
    cfg.body_literal = Some(100 * 1024 * 1024);
    let (addr, rec) = imap_fake(cfg).await;
    let o = run_imap(addr, TlsMode::None, &tok).await;
    let e = o.expect("fetch", ErrorKind::Protocol);
    assert!(e.message.contains("literal"), "{e}");
    assert!(!rec.saw_word("STORE") && !rec.saw_word("EXPUNGE"));
}

#[tokio::test]
async fn imap_without_uidplus_never_deletes_or_expunges() {
    let tok = token();
    let old = token();
    let mut cfg = Imap::new(vec![
        (3, message(3, Some((&old, CASE)))), // a leftover: would be reaped with UIDPLUS
        (4, message(4, Some((&tok, CASE)))),
    ]);
    cfg.caps = "IMAP4rev1 IDLE LITERAL+";
    let (addr, rec) = imap_fake(cfg).await;
    let o = run_imap(addr, TlsMode::None, &tok).await;
    assert!(o.res.is_ok(), "{:?}", o.res);
    o.bounded();
    assert!(o.obs.facts.contains_key("not_deleted"), "{:?}", o.obs.facts);
    for c in rec.lines() {
        let verb: Vec<String> = c
            .split(' ')
            .skip(1)
            .take(2)
            .map(|w| w.to_ascii_uppercase())
            .collect();
        assert!(
            !verb
                .iter()
                .any(|v| v == "EXPUNGE" || v == "CLOSE" || v == "STORE"),
            "sent {c}"
        );
    }
}

#[tokio::test]
async fn imap_lost_uid_expunge_reply_is_confirmed_by_a_follow_up() {
    let tok = token();
    let mut cfg = Imap::new(vec![
        (1, message(1, None)),
        (2, message(2, Some((&tok, CASE)))),
    ]);
    cfg.expunge_then_close = true;
    let expunged = cfg.expunged.clone();
    let (addr, _rec) = imap_fake(cfg).await;
    let o = run_imap(addr, TlsMode::None, &tok).await;
    let f = o.settled("commit", "no longer finds the probe: deleted");
    assert!(f["commit"].starts_with("delete reply lost ("), "{f:?}");
    // The dead session's LOGOUT is reported, not fatal.
    assert!(f.contains_key("logout_error"), "{f:?}");
    assert_eq!(*expunged.lock().unwrap(), vec![2]);
}

#[tokio::test]
async fn imap_login_with_8bit_password_uses_a_literal_and_redacts_it() {
    let tok = token();
    let cfg = Imap::new(vec![(1, message(1, Some((&tok, CASE))))]);
    let (addr, rec) = imap_fake(cfg).await;
    let ep = endpoint(addr, Proto::Imap, TlsMode::None);
    let pw = Secret::new("pässwörd \"x\"");
    let mut obs = Observation::default();
    imap::retrieve(&req(&ep, &pw, &tok, Duration::from_secs(2)), &mut obs)
        .await
        .unwrap();
    let login = rec
        .lines()
        .into_iter()
        .find(|c| c.contains("LOGIN"))
        .unwrap();
    let marker = format!("LOGIN \"user\" {{{}+}}", pw.expose().len());
    assert!(login.ends_with(&marker), "{login}");
    let t = obs.transcript.join("\n");
    assert!(!t.contains("pässwörd") && t.contains("<redacted>"), "{t}");
}
