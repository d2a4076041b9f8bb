//! Helpers of the status page tests: synthetic runs, the status routes
//! served in-process on 127.0.0.1:0, a tiny HTTP client, headless Chromium
//! and a PNG reader.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use healthmon::daemon::{DaemonState, SharedState};
use healthmon::result::{
    CaseResult, Confidence, ErrorKind, Observation, ProbeError, RunSummary, Status, Verdict,
};

pub fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn result(
    id: String,
    kind: &str,
    labels: &[(&str, &str)],
    status: Status,
    message: String,
    obs: Observation,
) -> CaseResult {
    CaseResult {
        id,
        kind: kind.into(),
        site: "isp".into(),
        suite: "local".into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        started_at: t(0),
        duration_ms: obs.phase_ms("total").unwrap_or(3.0),
        status,
        message,
        observation: obs,
        verdict: None,
        limits: Default::default(),
    }
}

/// A round-trip result with phases (and an error when status is error);
/// `spec` is "account store submit retrieve protocol".
pub fn path(spec: &str, status: Status, ms: f64) -> CaseResult {
    let w: Vec<&str> = spec.split(' ').collect();
    let [account, store, submit, retrieve, proto] = w[..] else {
        panic!("path spec `{spec}`: account store submit retrieve protocol");
    };
    let mut obs = Observation::default();
    obs.phase("connect", ms / 4.0);
    obs.phase("submit", ms / 2.0);
    obs.phase("total", ms);
    obs.fact("banner", format!("{submit}.example.test ESMTP"));
    let mut message = String::new();
    if status == Status::Error {
        obs.error = Some(ProbeError {
            phase: "login".into(),
            kind: ErrorKind::Refused,
            message: "connection refused".into(),
            host: Some(store.into()),
            protocol: Some(proto.into()),
        });
        message = "login: connection refused".into();
    } else if status.is_failure() {
        message = format!("total {ms} ms > {} 1000 ms", status.as_str());
    }
    let labels = [
        ("account", account),
        ("store", store),
        ("submit", submit),
        ("retrieve", retrieve),
        ("protocol", proto),
        ("via", "smtp"),
    ];
    let id = format!("rndtrip/{account}/{submit}/{retrieve}/{proto}");
    let mut r = result(id, "roundtrip", &labels, status, message, obs);
    r.verdict = (status == Status::Error).then(|| verdict(store, proto, &[]).key());
    r
}

pub fn host_check(host: &str, check: &str, status: Status, metrics: &[(&str, f64)]) -> CaseResult {
    let mut obs = Observation::default();
    for (n, v) in metrics {
        obs.metric(n, *v, "");
    }
    let message = match status {
        Status::Pass => String::new(),
        _ => format!("{check} failing"),
    };
    let labels = [("host", host), ("check", check)];
    result(
        format!("host/{host}/{check}"),
        "host",
        &labels,
        status,
        message,
        obs,
    )
}

pub fn verdict(host: &str, proto: &str, cases: &[&CaseResult]) -> Verdict {
    Verdict {
        host: host.into(),
        protocol: proto.into(),
        reason: format!("{host} refuses {proto}"),
        evidence: vec!["every path through it failed".into()],
        confidence: Confidence::Isolated,
        cases: cases.iter().map(|c| c.id.clone()).collect(),
    }
}

pub fn run(
    id: &str,
    at: DateTime<Utc>,
    results: Vec<CaseResult>,
    verdicts: Vec<Verdict>,
) -> RunSummary {
    RunSummary {
        run_id: id.into(),
        site: "isp".into(),
        suites: vec!["local".into()],
        started_at: at,
        finished_at: at,
        duration_ms: 1234.0,
        results,
        verdicts,
        notes: vec![],
    }
}

/// The status routes on 127.0.0.1:0 in a background runtime (lives as
/// long as the test process). Returns `host:port`.
pub fn serve(state: SharedState) -> String {
    serve_app(healthmon::status::routes(state))
}

/// Any router on 127.0.0.1:0 in a background runtime. Returns `host:port`.
pub fn serve_app(app: axum::Router) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap().to_string()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
}

pub fn state_with(runs: Vec<RunSummary>) -> SharedState {
    let st = DaemonState::new();
    for r in runs {
        st.record(r);
    }
    st
}

/// GET over HTTP/1.0 with optional extra header lines: (status, headers, body).
pub fn get(addr: &str, path: &str, extra: &str) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{extra}\r\n").unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").unwrap_or((&buf, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head.to_string(), body.to_string())
}

fn chromium_cmd(profile: &Path) -> Command {
    let mut c = Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--force-color-profile=srgb",
        "--window-size=1400,2600",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn output(c: &mut Command) -> std::process::Output {
    c.output()
        .expect("chromium must be installed (Debian package `chromium`)")
}

/// Headless Chromium with a throwaway profile: the DOM after the page's
/// scripts ran for `extra`'s virtual time budget (`--dump-dom`).
pub fn chromium_dom(url: &str, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let o = output(
        chromium_cmd(profile.path())
            .args(extra)
            .arg("--dump-dom")
            .arg(url),
    );
    assert!(
        o.status.success(),
        "chromium --dump-dom: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// [`chromium_dom`] after 3s of virtual time, and a screenshot to `png`.
pub fn chromium(url: &str, png: Option<&Path>) -> String {
    if let Some(png) = png {
        let profile = tempfile::tempdir().unwrap();
        let o = output(
            chromium_cmd(profile.path())
                .arg(format!("--screenshot={}", png.display()))
                .arg(url),
        );
        assert!(
            png.is_file(),
            "chromium wrote no screenshot: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    chromium_dom(url, &["--virtual-time-budget=3000"])
}

/// Decoded screenshot: width, height, RGB triples row by row.
pub struct Image {
    pub w: usize,
    pub h: usize,
    pub rgb: Vec<[u8; 3]>,
}

impl Image {
    pub fn read(p: &Path) -> Image {
        let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!(
            info.bit_depth,
            png::BitDepth::Eight,
            "8-bit screenshot expected"
        );
        let ch = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("unexpected PNG colour type {other:?}"),
        };
        let rgb = buf[..info.buffer_size()]
            .chunks(ch)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Image {
            w: info.width as usize,
            h: info.height as usize,
            rgb,
        }
    }

    pub fn at(&self, x: usize, y: usize) -> [u8; 3] {
        self.rgb[y * self.w + x]
    }

    /// Solid rectangles of `color` at least `min_w`×`min_h` pixels: their
    /// top-left corners (each rectangle counted once).
    pub fn blocks(&self, color: [u8; 3], min_w: usize, min_h: usize) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = vec![];
        let is = |x: usize, y: usize| self.at(x, y) == color;
        for y in 1..self.h.saturating_sub(min_h) {
            for x in 1..self.w.saturating_sub(min_w) {
                // A top-left corner: the colour here, not left of it nor above it.
                if !is(x, y) || is(x - 1, y) || is(x, y - 1) {
                    continue;
                }
                // The top row and left column must be solid for the size.
                let solid_top = (x..x + min_w).all(|xx| is(xx, y));
                let solid_left = (y..y + min_h).all(|yy| is(x, yy));
                if solid_top && solid_left {
                    out.push((x, y));
                }
            }
        }
        out
    }
}

/// `#8430ce` -> [0x84, 0x30, 0xce].
pub fn rgb(hex: &str) -> [u8; 3] {
    let h = hex.trim_start_matches('#');
    let b = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).unwrap();
    [b(0), b(2), b(4)]
}

#[allow(unused_imports)] // the live page test keeps its screenshot under the root
pub use super::site::root;

/// Every start tag of an HTML text: (name, [(attribute, value)]). Quoted
/// values are honoured, so an attribute smuggled in by a broken escape
/// shows up as an attribute of its own.
pub fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let b = html.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' || i + 1 >= b.len() || !b[i + 1].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        i += 1;
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' && b[i] != b'/' {
            i += 1;
        }
        let name = html[start..i].to_ascii_lowercase();
        let mut attrs = vec![];
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                break;
            }
            let s = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'>' {
                i += 1;
            }
            let an = html[s..i].to_ascii_lowercase();
            let mut val = String::new();
            if i < b.len() && b[i] == b'=' {
                i += 1;
                if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                    let q = b[i];
                    i += 1;
                    let s = i;
                    while i < b.len() && b[i] != q {
                        i += 1;
                    }
                    val = html[s..i].to_string();
                    i += 1;
                } else {
                    let s = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    val = html[s..i].to_string();
                }
            }
            attrs.push((an, val));
        }
        out.push((name, attrs));
    }
    out
}

/// Cells of the DOM: (case id, status class).
pub fn dom_cells(dom: &str) -> Vec<(String, String)> {
    tags(dom)
        .into_iter()
        .filter(|(n, _)| n == "details")
        .filter_map(|(_, a)| {
            let get = |k: &str| a.iter().find(|x| x.0 == k).map(|x| x.1.clone());
            Some((get("data-case")?, get("class")?))
        })
        .collect()
}
