//! The daemon's HTTP listener faces a network: hundreds of idle and
//! dripping connections neither stop it answering nor stop its probes, they
//! are cut off at the header timeout, and over `max_connections` new
//! connections are closed at once (counted) until room frees up.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::modes::*;

/// A banner server ("220 fake ESMTP") for a port check that passes.
fn banner_server() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut s = s;
            let _ = s.write_all(b"220 fake ESMTP\r\n");
        }
    });
    port
}

fn schedule(dir: &Path, http: &str) -> std::path::PathBuf {
    let port = banner_server();
    std::fs::write(
        dir.join("probe.yaml"),
        format!(
            "site: probe\nhosts:\n  fake:\n    roles: [mta]\n    address: 127.0.0.1\n    endpoints:\n      smtp: {{port: {port}}}\n    checks:\n      - port: {{endpoint: smtp, banner: \"^220\"}}\n"
        ),
    )
    .unwrap();
    let p = dir.join("schedule.yaml");
    std::fs::write(
        &p,
        format!("reports: reports\n{http}\njobs:\n  probe:\n    every: 300ms\n    suites: [probe.yaml]\n"),
    )
    .unwrap();
    p
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s
}

/// True once the server closed `s` (EOF or reset) within the read timeout.
fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 256];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            // Some bytes (an error response) then the close.
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

fn metric(addr: &str, name: &str) -> f64 {
    let (_, body) = http_get(addr, "/metrics").unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(-1.0)
}

/// Runs finished and whether the last one passed.
fn runs(addr: &str) -> (u64, bool) {
    let h = healthz(addr);
    let n = job_field(&h, "probe", "runs");
    (n, h["jobs"]["probe"]["last_exit"] == 0)
}

#[test]
fn hundreds_of_idle_and_dripping_connections_do_not_stop_it() {
    let d = tempfile::tempdir().unwrap();
    let sched = schedule(d.path(), "http: {header_timeout: 4s}");
    let (_p, addr) = start_daemon(&sched, d.path());
    let mut idle: Vec<TcpStream> = (0..300).map(|_| connect(&addr)).collect();
    // Drippers: a request line and then one header byte every 300ms.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let drippers: Vec<_> = (0..100)
        .map(|_| {
            let mut s = connect(&addr);
            let stop = stop.clone();
            std::thread::spawn(move || {
                let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nX-Slow: ");
                let t0 = Instant::now();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if s.write_all(b"a").is_err() {
                        // Cut off by the server: how long it took.
                        return Some(t0.elapsed());
                    }
                    std::thread::sleep(Duration::from_millis(300));
                    if t0.elapsed() > Duration::from_secs(20) {
                        return None;
                    }
                }
                None
            })
        })
        .collect();
    let open = metric(&addr, "healthmon_http_connections_open");
    assert!(open >= 390.0, "{open} connections open");
    let (runs0, _) = runs(&addr);
    // While all of them are open, the listener answers and probes pass.
    let t0 = Instant::now();
    let mut answered = 0;
    while t0.elapsed() < Duration::from_millis(1500) {
        let (st, _) = http_get(&addr, "/healthz").unwrap();
        assert_eq!(st, 200);
        answered += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(answered >= 5);
    let passing = wait_for(Duration::from_secs(20), || {
        let (n, ok) = runs(&addr);
        (n >= runs0 + 3 && ok).then_some(n)
    });
    assert!(
        passing.is_some(),
        "probes stopped or failed under the flood"
    );
    // The header timeout (4s) closed every idle connection.
    for s in &mut idle {
        assert!(closed_by_server(s), "an idle connection was never closed");
    }
    for t in drippers {
        let cut = t
            .join()
            .unwrap()
            .expect("a dripping client was never cut off");
        assert!(cut < Duration::from_secs(10), "dripper cut after {cut:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let open = wait_for(Duration::from_secs(10), || {
        let o = metric(&addr, "healthmon_http_connections_open");
        (o <= 2.0).then_some(o)
    });
    assert!(open.is_some(), "connections stayed open");
}

#[test]
fn over_max_connections_new_ones_are_closed_then_room_frees_up() {
    let d = tempfile::tempdir().unwrap();
    let sched = schedule(d.path(), "http: {header_timeout: 3s, max_connections: 20}");
    let (_p, addr) = start_daemon(&sched, d.path());
    let mut held: Vec<TcpStream> = (0..40).map(|_| connect(&addr)).collect();
    // The 20 over the bound are closed at once, well before the header timeout.
    let t0 = Instant::now();
    let mut closed = 0;
    for s in held.iter_mut().skip(20) {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        if closed_by_server(s) {
            closed += 1;
        }
    }
    assert!(closed >= 19, "only {closed} of 20 extra connections closed");
    assert!(t0.elapsed() < Duration::from_secs(3));
    // Room frees up when the header timeout closes the idle ones.
    let served = wait_for(Duration::from_secs(15), || {
        http_get(&addr, "/healthz").ok().filter(|(s, _)| *s == 200)
    });
    assert!(served.is_some(), "the listener never served again");
    assert!(metric(&addr, "healthmon_http_connections_refused_total") >= 19.0);
    let (n, ok) = runs(&addr);
    assert!(n >= 2 && ok, "probes did not keep passing: {n} runs");
}

fn get_status(addr: &str, path: &str, token: Option<&str>) -> u16 {
    http_get_bearer(addr, path, token).0
}

#[test]
fn metrics_and_healthz_behind_the_status_auth_when_asked() {
    let d = tempfile::tempdir().unwrap();
    let tok = d.path().join("status.token");
    std::fs::write(&tok, "s3cret-status-token\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tok, std::fs::Permissions::from_mode(0o600)).unwrap();
    let sched = schedule(
        d.path(),
        "status:\n  auth: {bearer: {token_file: status.token}}\n  auth_metrics: true",
    );
    // start_daemon waits for an open /healthz: start it by hand here.
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(d.path().join("daemon.log")).unwrap();
    let _p = Proc::spawn(
        "healthmon daemon",
        std::process::Command::new(bin())
            .args(["daemon", sched.to_str().unwrap(), "--listen", &addr])
            .current_dir(d.path())
            .stdout(std::process::Stdio::null())
            .stderr(log),
    );
    let up = wait_for(Duration::from_secs(20), || {
        (get_status(&addr, "/healthz", Some("s3cret-status-token")) == 200).then_some(())
    });
    assert!(up.is_some(), "daemon did not come up");
    for path in ["/metrics", "/healthz", "/api/v1/status"] {
        assert_eq!(get_status(&addr, path, None), 401, "{path}");
        assert_eq!(
            get_status(&addr, path, Some("Zq9-not-the-token")),
            401,
            "{path}"
        );
        assert_eq!(
            get_status(&addr, path, Some("s3cret-status-token")),
            200,
            "{path}"
        );
    }
    // Refusals are logged without the token.
    let log = std::fs::read_to_string(d.path().join("daemon.log")).unwrap();
    assert!(log.contains("refused /metrics"), "{log}");
    assert!(!log.contains("Zq9") && !log.contains("s3cret"), "{log}");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_at_the_header_timeout() {
    let d = tempfile::tempdir().unwrap();
    let sched = schedule(d.path(), "http: {header_timeout: 1s}");
    let (_p, addr) = start_daemon(&sched, d.path());
    let mut s = connect(&addr);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut b = [0u8; 4096];
    let n = s.read(&mut b).unwrap();
    assert!(String::from_utf8_lossy(&b[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then idle: the next request's headers never come.
    let t0 = Instant::now();
    assert!(
        closed_by_server(&mut s),
        "idle keep-alive connection left open"
    );
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}
