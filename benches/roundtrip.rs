//! Round-trip benchmark against the live loopback site (`tests/site/mailsite up`).
//!
//! (a) healthmon's total for one path vs a raw floor: a minimal blocking
//!     SMTP submit (STARTTLS, like the suite) + POP3 fetch (STLS) of the same
//!     kind of message over std TcpStream + rustls, polling every 25 ms.
//!     Goal: ratio ≤ 1.10.
//! (b) delivery-detection delay: healthmon's detected arrival minus the
//!     store's delivery time from Postfix's LMTP `status=sent` line
//!     (arrival + `delay=`). Goal ≤ 100 ms.
//! (c) full local round-trip matrix wall time vs the slowest single path in
//!     it. Goal ≤ 2×.
//! Run: `cargo bench --bench roundtrip` (prints the figures).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use healthmon::case::{CaseKind, RoundtripCase, TestCase};
use healthmon::result::Observation;
use healthmon::suite::LoadedSuite;

const ROUNDS: usize = 15;

trait Rw: Read + Write {}
impl<T: Read + Write> Rw for T {}

/// A blocking line-oriented connection that can switch to TLS.
struct Line {
    s: Option<Box<dyn Rw>>,
    tcp: Option<TcpStream>,
}

impl Line {
    fn connect(addr: &str) -> Line {
        let t = TcpStream::connect(addr).unwrap();
        t.set_nodelay(true).unwrap();
        t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Line {
            s: Some(Box::new(t.try_clone().unwrap())),
            tcp: Some(t),
        }
    }
    fn tls(&mut self, cfg: Arc<rustls::ClientConfig>, name: &'static str) {
        let conn = rustls::ClientConnection::new(cfg, name.try_into().unwrap()).unwrap();
        self.s = Some(Box::new(rustls::StreamOwned::new(
            conn,
            self.tcp.take().unwrap(),
        )));
    }
    fn read_line(&mut self) -> String {
        let s = self.s.as_mut().unwrap();
        let mut out = Vec::new();
        let mut b = [0u8; 1];
        loop {
            s.read_exact(&mut b).unwrap();
            if b[0] == b'\n' {
                break;
            }
            out.push(b[0]);
        }
        String::from_utf8_lossy(&out).trim_end().to_string()
    }
    /// One write per command (a split line would cost a TLS record and a
    /// packet of its own: no floor).
    fn send(&mut self, l: &str) {
        self.send_raw(format!("{l}\r\n").as_bytes());
    }
    fn send_raw(&mut self, b: &[u8]) {
        let s = self.s.as_mut().unwrap();
        s.write_all(b).unwrap();
        s.flush().unwrap();
    }
    fn smtp(&mut self, cmd: Option<&str>) -> String {
        if let Some(c) = cmd {
            self.send(c);
        }
        loop {
            let l = self.read_line();
            if l.len() < 4 || l.as_bytes()[3] == b' ' {
                assert!(
                    l.starts_with('2') || l.starts_with('3'),
                    "smtp {cmd:?}: {l}"
                );
                return l;
            }
        }
    }
    fn pop(&mut self, cmd: &str) -> String {
        self.send(cmd);
        let l = self.read_line();
        assert!(l.starts_with("+OK"), "pop3 {cmd}: {l}");
        l
    }
    fn pop_multi(&mut self, cmd: &str) -> Vec<String> {
        self.pop(cmd);
        let mut v = Vec::new();
        loop {
            let l = self.read_line();
            if l == "." {
                return v;
            }
            v.push(l);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The raw floor: submit on mta1:25 with STARTTLS, fetch from store1:110 with STLS.
fn floor_once(cfg: &Arc<rustls::ClientConfig>, password: &str) -> (f64, f64) {
    let token = healthmon::token::random_hex(16);
    let msg = healthmon::probe::probe_msg::build_message(
        &token,
        "bench/floor",
        "healthmon@monitor.example.test",
        "ims1@example.test",
    )
    .unwrap();
    let t0 = Instant::now();
    let mut c = Line::connect("127.0.1.1:25");
    c.smtp(None);
    c.smtp(Some("EHLO bench.example.test"));
    c.smtp(Some("STARTTLS"));
    c.tls(cfg.clone(), "mta1.example.test");
    c.smtp(Some("EHLO bench.example.test"));
    c.smtp(Some("MAIL FROM:<healthmon@monitor.example.test>"));
    c.smtp(Some("RCPT TO:<ims1@example.test>"));
    c.smtp(Some("DATA"));
    let mut data = msg.clone();
    data.extend_from_slice(b".\r\n");
    c.send_raw(&data);
    c.smtp(None);
    let accepted = Instant::now();
    c.send("QUIT");
    let needle = format!("X-Healthmon-Probe: {token}");
    loop {
        let mut p = Line::connect("127.0.2.1:110");
        p.read_line();
        p.pop("STLS");
        p.tls(cfg.clone(), "store1.example.test");
        p.pop("USER ims1");
        p.pop(&format!("PASS {password}"));
        let list = p.pop_multi("LIST");
        let mut found = None;
        for l in list.iter().rev() {
            let n = l.split_whitespace().next().unwrap().to_string();
            if p.pop_multi(&format!("TOP {n} 0"))
                .iter()
                .any(|h| h.starts_with(&needle))
            {
                found = Some(n);
                break;
            }
        }
        if let Some(n) = found {
            let detected = Instant::now();
            let body = p.pop_multi(&format!("RETR {n}"));
            assert!(body.iter().any(|l| l.contains(&token)));
            p.pop(&format!("DELE {n}"));
            p.pop("QUIT");
            return (ms(t0.elapsed()), ms(detected - accepted));
        }
        p.pop("QUIT");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn case<'a>(cases: &'a [TestCase], id: &str) -> &'a RoundtripCase {
    match &cases.iter().find(|c| c.id == id).unwrap().kind {
        CaseKind::Roundtrip(rt) => rt,
        _ => unreachable!(),
    }
}

/// Postfix's `delay=` (seconds) for a queue id, from an MTA's log.
fn postfix_delay(log: &std::path::Path, queue_id: &str) -> Option<f64> {
    for _ in 0..40 {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let hit = text.lines().rev().find(|l| {
            l.contains(&format!(" {queue_id}: "))
                && l.contains("status=sent")
                && l.contains("/lmtp[")
        });
        if let Some(l) = hit {
            let d = l.split("delay=").nth(1)?.split(',').next()?;
            return d.parse().ok();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let suite_path = root().join("suites/local.yaml");
    let (suites, _) = healthmon::suite::load_all(&[suite_path]).expect("load suites/local.yaml");
    let suite: &LoadedSuite = &suites[0];
    let spec = &suite.spec;
    let cases = healthmon::case::expand::expand(spec, 0);
    let password = healthmon::probe::roundtrip::resolve_password(spec, "ims1")
        .expect("site secrets (is the site up?)");
    let cfg =
        healthmon::probe::tls::client_config(&spec.defaults().tls.unwrap_or_default()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // An in-memory key: the bench's probes are its own installation's.
    let key = std::sync::Arc::new(healthmon::token::ProbeKey::generate().unwrap());

    // (a) one path, alternating healthmon and the floor.
    let pop_id = "rndtrip/ims1/mta1/store1/pop3";
    let imap_id = "rndtrip/ims1/mta1/store1/imap";
    let mut hm_total = Vec::new();
    let mut floor_total = Vec::new();
    let mut floor_detect = Vec::new();
    let mut detect = Vec::new();
    let mta_log = healthmon_state().join("log/mta1.log");
    for round in 0..ROUNDS + 1 {
        for id in [pop_id, imap_id] {
            let mut obs = Observation::default();
            rt.block_on(healthmon::probe::roundtrip::run(
                id,
                case(&cases, id),
                spec,
                &key,
                &mut obs,
                Default::default(),
            ))
            .unwrap_or_else(|e| panic!("{id}: {e}"));
            if round == 0 {
                continue; // warm-up (TLS config, connections, caches)
            }
            if id == pop_id {
                hm_total.push(obs.phase_ms("total").unwrap());
            }
            let q = obs.facts.get("queue_id").cloned().unwrap_or_default();
            if let Some(delay) = postfix_delay(&mta_log, &q) {
                // Postfix's clock starts at arrival (≈ the DATA command); ours
                // at the final 250 after DATA: shift by our `data` phase.
                let delivered_after_accept = delay * 1000.0 - obs.phase_ms("data").unwrap_or(0.0);
                detect.push((
                    id,
                    obs.phase_ms("delivery").unwrap() - delivered_after_accept,
                ));
            }
        }
        let (t, d) = floor_once(&cfg, password.expose());
        if round > 0 {
            floor_total.push(t);
            floor_detect.push(d);
        }
    }
    let (h, f) = (median(hm_total.clone()), median(floor_total.clone()));
    println!(
        "(a) one path {pop_id}: healthmon median total {h:.1} ms vs raw floor {f:.1} ms → ratio {:.3} (goal ≤ 1.10)",
        h / f
    );
    let min = |v: &[f64]| v.iter().cloned().fold(f64::MAX, f64::min);
    println!(
        "    best of {ROUNDS}: healthmon {:.1} ms vs floor {:.1} ms → ratio {:.3}",
        min(&hm_total),
        min(&floor_total),
        min(&hm_total) / min(&floor_total)
    );
    println!("    healthmon totals {hm_total:.1?}\n    floor totals     {floor_total:.1?}");
    for id in [pop_id, imap_id] {
        let v: Vec<f64> = detect
            .iter()
            .filter(|(i, _)| *i == id)
            .map(|(_, d)| *d)
            .collect();
        if v.is_empty() {
            println!(
                "(b) {id}: no Postfix status=sent lines found in {}",
                mta_log.display()
            );
        } else {
            println!(
                "(b) {id}: delivery-detection delay median {:.1} ms, max {:.1} ms (goal ≤ 100 ms) {v:.1?}",
                median(v.clone()),
                v.iter().cloned().fold(f64::MIN, f64::max)
            );
        }
    }
    println!(
        "    floor (25 ms polling) detection after accept: median {:.1} ms",
        median(floor_detect)
    );

    // (c) the whole local round-trip matrix at once: with the suite's limits
    // (etc/defaults.yaml: 16 cases, 4 per host — every case holds its store,
    // so at most 8 round trips run at once), then with the limits lifted to
    // show what the runner itself costs.
    let mut lifted = suites.clone();
    for s in &mut lifted {
        let d = s.spec.defaults.get_or_insert_with(Default::default);
        d.concurrency = Some(256);
        d.per_host_concurrency = Some(256);
    }
    for (what, ss) in [("suite limits", &suites), ("limits lifted", &lifted)] {
        let opts = healthmon::app::RunOptions {
            only: vec!["rndtrip/*".into()],
            isolate: false,
            ..Default::default()
        };
        let (sel, skipped) = healthmon::app::select(ss, &opts);
        let n = sel.len();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let t0 = Instant::now();
        let run = rt.block_on(healthmon::app::execute::run(
            ss,
            sel,
            skipped,
            &opts,
            Some(Ok(key.clone())),
            tx,
        ));
        let wall = ms(t0.elapsed());
        let bad: Vec<_> = run
            .results
            .iter()
            .filter(|r| r.status.is_bad())
            .map(|r| format!("{} {}", r.id, r.message))
            .collect();
        let slowest = run
            .results
            .iter()
            .filter(|r| r.kind == "roundtrip")
            .map(|r| r.duration_ms)
            .fold(0.0, f64::max);
        println!(
            "(c) {n} round trips, {what}: wall {wall:.0} ms, slowest single path {slowest:.0} ms → {:.2}× (goal ≤ 2×); {} not passing {bad:?}",
            wall / slowest,
            bad.len()
        );
    }
}

fn healthmon_state() -> PathBuf {
    std::env::var_os("MAILSITE_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/mailsite"))
}
