//! Round-trip probe: one case = one path. Submit a tagged message through an
//! MTA, read it back through an MMP (or the store) over POP3/IMAP, verify it
//! is ours and intact, delete only it. Measures; the judge decides.
//!
//! Phases added here on top of the SMTP/POP3/IMAP clients' own: `submit`,
//! `retrieve`, `delivery` (MTA accepted → probe seen on the retrieve host:
//! what a customer waits) and `total`. Metrics `hop1_ms`... come from the
//! Received headers (second resolution: header dates have no fractions).

use std::time::{Duration, Instant};

use super::probe_msg::{Waiting, build_message, verify};
pub use super::route::resolve_password;
use super::route::setup_err;
use super::{imap, pop3, smtp};
use crate::case::RoundtripCase;
use crate::result::{ErrorKind, Observation, ProbeError};
use crate::suite::model::{AuthMech, RetrProto, SuiteSpec};
use crate::token::ProbeKey;

/// Cap on the size of a fetched probe (ours are < 1 KiB plus Received headers).
pub const MAX_PROBE_BYTES: usize = 256 * 1024;

/// What a round trip gives back to the runner before it ends: the submit
/// host's slot once the submission is over (accepted or not), the retrieve
/// host's once the arrival wait starts ([`Waiting`]). Cases stuck behind a
/// held queue then cost one arrival wait, not one per wave of blocked cases.
#[derive(Default)]
pub struct Slots {
    /// Dropped when the submission is over.
    pub submitted: Option<Box<dyn Send>>,
    pub waiting: Waiting,
}

/// Run one path. Never panics on server input; every failure is a `ProbeError`
/// (recorded by the caller in `obs.error`). Records `total` in every case.
/// `key` is the installation's probe key: it signs this probe's token and
/// decides which leftovers are ours to reap. `slots` gives the caller's
/// per-host concurrency slots back early.
pub async fn run(
    case_id: &str,
    rt: &RoundtripCase,
    suite: &SuiteSpec,
    key: &ProbeKey,
    obs: &mut Observation,
    slots: Slots,
) -> Result<(), ProbeError> {
    let t0 = Instant::now();
    let res = run_inner(case_id, rt, suite, key, obs, t0, slots).await;
    obs.phase("total", ms(t0.elapsed()));
    res
}

async fn run_inner(
    case_id: &str,
    rt: &RoundtripCase,
    suite: &SuiteSpec,
    key: &ProbeKey,
    obs: &mut Observation,
    started: Instant,
    slots: Slots,
) -> Result<(), ProbeError> {
    let step = suite.step_timeout();
    let setup = |m: String| setup_err(&rt.account, m);
    let plan = super::route::plan(rt, suite)?;
    let sub_ep = suite
        .endpoint(&rt.submit, rt.via)
        .ok_or_else(|| setup(format!("host {} has no {} endpoint", rt.submit, rt.via)))?;
    let ret_ep = &plan.retrieve;
    let token = key.mint(case_id, &suite.site);
    // Not a secret (it is in the message for anyone with the mailbox to
    // read, and names only this probe): isolation uses it to look for this
    // very probe on the store.
    obs.fact("token", token.clone());
    let sender = &plan.sender;
    let message = build_message(&token, case_id, sender, &plan.to)
        .map_err(|e| setup(format!("cannot build the probe message: {e}")))?;

    let auth = match sub_ep.auth {
        Some(AuthMech::None) | None => None,
        Some(_) => Some((plan.submit_login.as_str(), &plan.submit_password)),
    };
    let helo = suite.helo();
    let req = smtp::SubmitRequest {
        ep: &sub_ep,
        helo: &helo,
        from: sender,
        to: &plan.to,
        message: &message,
        auth,
        step_timeout: step,
    };
    let ts = Instant::now();
    let sent = smtp::submit(&req, obs).await;
    drop(slots.submitted);
    let sent = sent?;
    obs.phase("submit", ms(ts.elapsed()));
    if let Some(q) = &sent.queue_id {
        obs.fact("queue_id", q.clone());
    }

    let rreq = pop3::RetrieveRequest {
        ep: ret_ep,
        login: &plan.retrieve_login,
        password: &plan.retrieve_password,
        token: &token,
        case_id,
        site: &suite.site,
        key: Some(key),
        step_timeout: step,
        arrival_deadline: arrival_deadline(rt, sent.accepted_at, started, step),
        max_message_bytes: MAX_PROBE_BYTES,
        waiting: Some(&slots.waiting),
    };
    let tr = Instant::now();
    let got = match rt.protocol {
        RetrProto::Pop3 => pop3::retrieve(&rreq, obs).await,
        RetrProto::Imap => imap::retrieve(&rreq, obs).await,
    };
    // The clients time their own wait from login; healthmon's `delivery` is
    // from the MTA's acceptance, so theirs is kept under another name.
    for p in obs.phases.iter_mut().filter(|p| p.phase == "delivery") {
        p.phase = "wait".into();
    }
    let got = got?;
    obs.phase("retrieve", ms(tr.elapsed()));
    let delivery = got.detected_at.saturating_duration_since(sent.accepted_at);
    obs.phase("delivery", ms(delivery));
    if got.reaped > 0 {
        obs.fact("reaped", got.reaped.to_string());
    }
    obs.metric("reaped", got.reaped as f64, "");

    let parsed = verify(&got.raw, &token, case_id).map_err(|m| ProbeError {
        phase: "verify".into(),
        kind: ErrorKind::Corrupt,
        message: m,
        host: Some(rt.retrieve.clone()),
        protocol: Some(rt.protocol.as_str().into()),
    })?;
    record_hops(&parsed, obs);
    if rt.route != crate::case::Route::Inbound {
        mark_internet_hops(&plan.sender, obs);
    }
    // What left the site is checked at the other end against what the site
    // publishes (DKIM key, SPF, DMARC).
    let published = super::signed::Published::of(suite);
    if matches!(rt.route, crate::case::Route::Outbound { .. }) && published.any() {
        super::signed::record(&got.raw, &parsed, &published, obs);
    }
    Ok(())
}

/// The arrival wait ends `arrival_timeout` after the MTA accepted the probe,
/// and in any case one step before the whole case's deadline: a slow
/// submission must not leave the wait running into the case deadline, where
/// the failure would lose its host.
fn arrival_deadline(
    rt: &RoundtripCase,
    accepted: Instant,
    started: Instant,
    step: Duration,
) -> tokio::time::Instant {
    let mut end = accepted + rt.arrival_timeout;
    if !rt.case_timeout.is_zero() {
        end = end.min(started + rt.case_timeout.saturating_sub(step));
    }
    tokio::time::Instant::from_std(end)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Per-hop delays from the Date header and the Received headers (oldest
/// first). A negative hop means the two hosts' clocks disagree: recorded as
/// `clock_skew=<hop>` instead of trusted.
pub fn record_hops(msg: &mail_parser::Message<'_>, obs: &mut Observation) {
    let mut times: Vec<(i64, String)> = Vec::new();
    if let Some(d) = msg.date() {
        times.push((d.to_timestamp(), "submitted".into()));
    }
    let recv: Vec<_> = msg.received_all().collect();
    for r in recv.iter().rev() {
        let Some(d) = r.date.as_ref() else { continue };
        let by = match &r.by {
            Some(mail_parser::Host::Name(n)) => n.to_string(),
            Some(mail_parser::Host::IpAddr(ip)) => ip.to_string(),
            None => "?".into(),
        };
        times.push((d.to_timestamp(), by));
    }
    let mut skew = Vec::new();
    for (i, w) in times.windows(2).enumerate() {
        let hop = i + 1;
        let delta = (w[1].0 - w[0].0) * 1000;
        obs.metric(&format!("hop{hop}_ms"), delta as f64, "ms");
        obs.fact(
            &format!("hop{hop}_by"),
            super::wire::sanitize(w[1].1.as_bytes(), 120),
        );
        if delta < 0 {
            skew.push(hop.to_string());
        }
    }
    if !skew.is_empty() {
        obs.fact("clock_skew", skew.join(","));
    }
}

/// On a route that leaves the site, the hops whose receiving host is not
/// in the site's mail domain (the sender's) crossed the Internet, or are
/// the other provider's: fact `internet_hops` (`2`, or `2,3` for an echo
/// that comes back) and metric `internet_hop_ms` (the first such hop: the
/// site's MTA handing the probe to the remote MX).
pub fn mark_internet_hops(sender: &str, obs: &mut Observation) {
    let domain = sender.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
    let site = |by: &str| {
        let by = by.to_ascii_lowercase();
        !domain.is_empty() && (by == domain || by.ends_with(&format!(".{domain}")))
    };
    let mut crossed = Vec::new();
    let mut prev_site = true;
    for hop in 1.. {
        let Some(by) = obs.facts.get(&format!("hop{hop}_by")).cloned() else {
            break;
        };
        let here = site(&by);
        if here != prev_site {
            crossed.push(hop);
        }
        prev_site = here;
    }
    if let Some(first) = crossed.first()
        && let Some(ms) = obs.metric_value(&format!("hop{first}_ms"))
    {
        obs.metric("internet_hop_ms", ms, "ms");
    }
    if !crossed.is_empty() {
        let v: Vec<String> = crossed.iter().map(|h| h.to_string()).collect();
        obs.fact("internet_hops", v.join(","));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internet_hops_are_where_the_probe_leaves_and_reenters_the_site() {
        let mut o = Observation::default();
        for (i, by, ms) in [
            (1, "mta1.example.test", 0.0),
            (2, "rmx.remote.test", 1000.0),
            (3, "mta2.example.test", 0.0),
            (4, "store1.example.test", 0.0),
        ] {
            o.fact(&format!("hop{i}_by"), by.to_string());
            o.metric(&format!("hop{i}_ms"), ms, "ms");
        }
        mark_internet_hops("ims3@example.test", &mut o);
        assert_eq!(
            o.facts.get("internet_hops").map(String::as_str),
            Some("2,3")
        );
        assert_eq!(o.metric_value("internet_hop_ms"), Some(1000.0));
    }

    #[test]
    fn hops_from_received_headers_with_skew() {
        let raw = "Received: from mta1 by store1.example.test with LMTP; Tue, 10 Jan 2001 00:05:03 +0000\r\n\
Received: from client by mta1.example.test with ESMTPS; Tue, 10 Jan 2001 00:05:05 +0000\r\n\
Date: Tue, 10 Jan 2001 00:05:04 +0000\r\n\
Message-ID: <x@y>\r\n\r\nbody\r\n";
        let msg = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        let mut o = Observation::default();
        record_hops(&msg, &mut o);
        assert_eq!(o.metric_value("hop1_ms"), Some(1000.0));
        assert_eq!(o.metric_value("hop2_ms"), Some(-2000.0));
        assert_eq!(o.facts.get("clock_skew").map(String::as_str), Some("2"));
        assert_eq!(
            o.facts.get("hop2_by").map(String::as_str),
            Some("store1.example.test")
        );
    }
}
