//! Faults in healthmon's own environment (issue 10):
//!
//! | fault | guarantee | test |
//! |---|---|---|
//! | `kill -9` while the run waits for its probe (mta2 defers it) | the lock is free; every report (systest.log, JUnit, last-run.json, results) is whole and parses, systest.log keeps its old content; the next run exits 0, appends (old content is a prefix) and reaps the killed run's probe mail (reaped = left behind, mailbox empty) | `kill_9_mid_run_loses_nothing_and_the_next_run_reaps_its_probes` (real site, exclusive) |
//! | reports directory on a full file system | exit 4 with a clear error, no panic; every previous report byte-identical; no temp file left | `full_reports_filesystem_exits_4_and_keeps_previous_reports` (tmpfs) |
//! | two runs started at the same instant | exactly one runs, the other exits 2 with "another run of this suite holds the lock" | `two_runs_started_at_once_exactly_one_runs` |
//! | wall clock stepped back 1 h and forward 1 day during a run | durations come from the monotonic clock: case, phase and run durations match the real elapsed time | `wall_clock_steps_do_not_bend_durations` (libfaketime on CLOCK_REALTIME only) |
//!
//! Clock steps: the system clock of the machine is never touched (other
//! tests share it). `libfaketime` (Debian package `libfaketime`) is preloaded
//! into the healthmon process with `DONT_FAKE_MONOTONIC=1`, and its offset
//! file is rewritten while the run waits on a slow server, so `SystemTime`
//! really jumps inside healthmon while `Instant` does not.

#[path = "run_support.rs"]
mod support;

mod mailprobe;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use healthmon::result::{RunSummary, Status};
use support::*;

// ------------------------------------------------------------------ helpers

/// Every regular file under `dir` (relative path → bytes), sorted.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_path_buf();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Every report in `dir` is whole: JUnit parses as XML with `cases`
/// testcases, last-run.json and each results file parse as a run.
fn assert_reports_whole(dir: &Path, cases: usize) -> RunSummary {
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("junit.xml: {e}"));
    // Cases not selected are listed as skipped; count the ones that ran.
    let n = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter(|n| !n.children().any(|c| c.has_tag_name("skipped")))
        .count();
    assert_eq!(n, cases, "testcases that ran, in junit.xml");
    for e in std::fs::read_dir(dir.join("results")).unwrap() {
        let p = e.unwrap().path();
        healthmon::report::json::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    // systest.log has rows for round trips only.
    if let Ok(log) = std::fs::read_to_string(dir.join("systest.log")) {
        assert!(log.ends_with('\n'), "systest.log ends mid-line");
    }
    last_run(dir)
}

fn no_panic(o: &Output) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("stack backtrace"),
        "{}",
        show(o)
    );
}

/// A loopback server that answers every connection with `220 ...` after
/// `delay` and keeps it open until the client goes.
fn slow_banner(delay: Duration) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let _ = s.write_all(b"220 slow.example.test ESMTP\r\n");
                let mut sink = [0u8; 512];
                while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
            });
        }
    });
    port
}

/// One host with a port check of `port` (banner `^220`).
fn port_suite(dir: &Path, port: u16) -> PathBuf {
    let p = dir.join("port.yaml");
    std::fs::write(
        &p,
        format!(
            "site: faults\ndefaults:\n  timeout: 10s\n  step_timeout: 5s\nhosts:\n  slow:\n    roles: [mta]\n    \
             address: 127.0.0.1\n    endpoints:\n      smtp: {{port: {port}}}\n    checks:\n      \
             - port: {{endpoint: smtp, banner: \"^220\"}}\n"
        ),
    )
    .unwrap();
    p
}

fn run_cmd(suite: &Path, reports: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("run")
        .arg(suite)
        .arg("--reports")
        .arg(reports)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

// ------------------------------------------------------------------ kill -9

/// A case id only this test uses (a path added to a copy of local.yaml), so
/// no other test's run of the same case reaps our leftovers first.
const KILLED_CASE: &str = "rndtrip/ims4/mta2.submission/store2/pop3";

fn killable_suite() -> (tempfile::TempDir, PathBuf) {
    suite_copy(|t| {
        // Thresholds out of the way: the point is the run, not the latency.
        t.replace(
            "total: {warning: 5s, critical: 15s}",
            "total: {warning: 25s, critical: 29s}",
        )
        .replace(
            "delivery: {warning: 3s, critical: 10s}",
            "delivery: {warning: 20s, critical: 25s}",
        )
        .replace(
            "connect: {warning: 500ms, critical: 2s}",
            "connect: {warning: 4s, critical: 5s}",
        )
        .replace(
            "  paths:\n",
            "  paths:\n    - {account: ims4, submit: mta2, via: submission, retrieve: store2, protocol: pop3}\n",
        )
    })
}

/// Probe messages of KILLED_CASE in ims4's mailbox on store2.
fn leftovers() -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = mailprobe::RawImap::login("store2", "ims4").await;
        // The header may be folded: read it raw, unfold with the probe's parser.
        let rs = c
            .ok("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (X-HEALTHMON-PROBE)])")
            .await;
        let n = rs
            .iter()
            .flat_map(|r| &r.literals)
            .flat_map(|h| healthmon::probe::probe_msg::probe_header_values(h))
            .filter(|v| v.ends_with(&format!(" {KILLED_CASE}")))
            .count();
        c.logout().await;
        n
    })
}

/// Messages in mta2's deferred queue.
fn mta2_deferred() -> u64 {
    mailsite(&["queue", "mta2"])
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("deferred=")?.parse().ok())
        .expect("deferred=N in `mailsite queue mta2`")
}

/// Repairs the `defer` fault on mta2 when dropped (also on panic).
struct Undefer;
impl Drop for Undefer {
    fn drop(&mut self) {
        let _ = Command::new(root().join("tests/site/mailsite"))
            .args(["repair", "defer", "mta2"])
            .status();
    }
}

#[test]
fn kill_9_mid_run_loses_nothing_and_the_next_run_reaps_its_probes() {
    // Exclusive: mta2 defers mail while the run to be killed waits for it.
    let _g = site_exclusive();
    let (_d, suite) = killable_suite();
    let reports = tempfile::tempdir().unwrap();
    let rep = reports.path();
    let only = [
        "--only",
        KILLED_CASE,
        "--only",
        "rndtrip/ims4/mta1/store2/*",
    ];

    // Run A: a complete run, the "previous reports".
    let a = run(&suite, rep, &only);
    assert_eq!(a.status.code(), Some(0), "{}", show(&a));
    let run_a = assert_reports_whole(rep, 3);
    assert!(run_a.results.iter().any(|r| r.id == KILLED_CASE));
    let log_a = std::fs::read(rep.join("systest.log")).unwrap();
    // (Leftovers of earlier, interrupted runs of this test are reaped by A.)
    assert_eq!(leftovers(), 0, "run A left probe mail of {KILLED_CASE}");

    // Run B, killed with SIGKILL in the middle: mta2 accepts its probe but
    // defers delivery, so B is polling the mailbox when it dies.
    let queued = mta2_deferred();
    let undefer = Undefer;
    mailsite(&["fault", "defer", "mta2"]);
    let mut b = run_cmd(&suite, rep);
    b.args(only);
    let mut child = b.spawn().unwrap();
    let t = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    while mta2_deferred() <= queued {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "run B never submitted its probe"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(child.try_wait().unwrap().is_none(), "run B already ended");
    // SAFETY: kill(2) on the pid of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let st = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&st),
        Some(libc::SIGKILL)
    );
    assert!(!run_locked(rep), "the killed run's lock is still held");
    // Every report is whole; systest.log kept its old content.
    assert_reports_whole(rep, 3);
    let log_b = std::fs::read(rep.join("systest.log")).unwrap();
    assert!(log_b.starts_with(&log_a), "systest.log lost content");

    // Postfix now delivers the killed run's probe: a leftover in the mailbox.
    drop(undefer);
    let t = Instant::now();
    let mut left = 0;
    while left == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the killed run's probe never arrived"
        );
        std::thread::sleep(Duration::from_millis(250));
        left = leftovers();
    }

    // Run C: starts cleanly, appends, reaps the killed run's probe.
    let c = run(&suite, rep, &only);
    assert_eq!(c.status.code(), Some(0), "{}", show(&c));
    no_panic(&c);
    let run_c = assert_reports_whole(rep, 3);
    assert_ne!(run_c.run_id, run_a.run_id);
    let log_c = std::fs::read(rep.join("systest.log")).unwrap();
    assert!(
        log_c.starts_with(&log_b) && log_c.len() > log_b.len(),
        "systest.log was not appended to:\n{}",
        String::from_utf8_lossy(&log_c)
    );
    let r = run_c.results.iter().find(|r| r.id == KILLED_CASE).unwrap();
    assert_eq!(r.status, Status::Pass, "{}", r.message);
    let reaped = r.observation.metric_value("reaped").unwrap_or(0.0);
    assert_eq!(
        reaped, left as f64,
        "run C reaped {reaped} of {left} left behind; facts {:?}",
        r.observation.facts
    );
    assert_eq!(
        leftovers(),
        0,
        "probe mail of the killed run is still there"
    );
}

// ------------------------------------------------------------------ full disk

/// A small tmpfs, unmounted on drop (also on panic).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount (needs root)");
        assert!(st.success(), "mount -t tmpfs failed (the test needs root)");
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Fill the file system of `dir` until a write fails with ENOSPC.
fn fill(dir: &Path) {
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let chunk = [0u8; 1024];
    loop {
        match f.write_all(&chunk).and_then(|_| f.sync_all()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => return,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
}

#[test]
fn full_reports_filesystem_exits_4_and_keeps_previous_reports() {
    let _g = site_shared();
    let (_d, suite) = killable_suite();
    let d = tempfile::tempdir().unwrap();
    let mnt = d.path().join("reports");
    let _fs = Tmpfs::mount(&mnt, "256k");
    // One round trip: it writes a systest.log row, JUnit, JSON results.
    let only = ["--only", "rndtrip/ims1/mta1/store1/pop3"];

    // Previous reports, written by a real run.
    let first = run(&suite, &mnt, &only);
    assert_eq!(first.status.code(), Some(0), "{}", show(&first));
    let before = files(&mnt);
    for f in ["systest.log", "junit.xml", "last-run.json"] {
        assert!(before.iter().any(|(p, _)| p.ends_with(f)), "no {f}");
    }

    fill(&mnt);
    let o = run(&suite, &mnt, &only);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(4), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("No space left on device") && err.contains("report failed"),
        "{err}"
    );
    let after: Vec<_> = files(&mnt)
        .into_iter()
        .filter(|(p, _)| !p.ends_with("filler"))
        .collect();
    assert_eq!(
        after.iter().map(|x| &x.0).collect::<Vec<_>>(),
        before.iter().map(|x| &x.0).collect::<Vec<_>>(),
        "files appeared or vanished (temp files left behind?)"
    );
    for ((p, new), (_, old)) in after.iter().zip(&before) {
        assert!(new == old, "{} changed", p.display());
    }
}

// ------------------------------------------------------------------ two at once

#[test]
fn two_runs_started_at_once_exactly_one_runs() {
    let d = tempfile::tempdir().unwrap();
    // The banner comes after 1.5 s: the winner holds the lock that long.
    let suite = port_suite(d.path(), slow_banner(Duration::from_millis(1500)));
    for round in 0..3 {
        let reports = d.path().join(format!("reports-{round}"));
        let a = run_cmd(&suite, &reports).spawn().unwrap();
        let b = run_cmd(&suite, &reports).spawn().unwrap();
        let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let codes: Vec<_> = outs.iter().map(|o| o.status.code()).collect();
        let ran: Vec<&Output> = outs.iter().filter(|o| o.status.code() == Some(0)).collect();
        let refused: Vec<&Output> = outs
            .iter()
            .filter(|o| {
                o.status.code() == Some(healthmon::exit::ERROR)
                    && String::from_utf8_lossy(&o.stderr)
                        .contains("another run of this suite holds the lock")
            })
            .collect();
        assert_eq!(
            (ran.len(), refused.len()),
            (1, 1),
            "round {round}: exits {codes:?}\n{}\n{}",
            show(&outs[0]),
            show(&outs[1])
        );
        outs.iter().for_each(no_panic);
        let n = std::fs::read_dir(reports.join("results")).unwrap().count();
        assert_eq!(n, 1, "round {round}: results of more than one run");
        assert_reports_whole(&reports, 1);
    }
}

// ------------------------------------------------------------------ clock

const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

#[test]
fn wall_clock_steps_do_not_bend_durations() {
    assert!(
        Path::new(FAKETIME).exists(),
        "{FAKETIME} is missing: apt-get install libfaketime"
    );
    let d = tempfile::tempdir().unwrap();
    let delay = Duration::from_millis(2000);
    let suite = port_suite(d.path(), slow_banner(delay));
    let reports = d.path().join("reports");
    let offset = d.path().join("faketime");
    std::fs::write(&offset, "+0").unwrap();

    let t = Instant::now();
    let child = run_cmd(&suite, &reports)
        .env("LD_PRELOAD", FAKETIME)
        .env("FAKETIME_TIMESTAMP_FILE", &offset)
        .env("FAKETIME_NO_CACHE", "1")
        .env("DONT_FAKE_MONOTONIC", "1")
        .spawn()
        .unwrap();
    // While the run waits for the banner: one hour back, then a day ahead.
    std::thread::sleep(Duration::from_millis(600));
    std::fs::write(&offset, "-3600").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    std::fs::write(&offset, "+86400").unwrap();
    let o = child.wait_with_output().unwrap();
    let real_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    no_panic(&o);

    let run = last_run(&reports);
    // The steps did reach healthmon: its wall clock moved by about a day.
    let wall = (run.finished_at - run.started_at).num_seconds();
    assert!(
        (86_000..87_000).contains(&wall),
        "wall clock inside healthmon moved {wall} s: faketime not in effect"
    );
    let delay_ms = delay.as_secs_f64() * 1000.0;
    assert!(
        run.duration_ms >= delay_ms && run.duration_ms <= real_ms,
        "run duration {} ms (real {real_ms} ms)",
        run.duration_ms
    );
    assert_eq!(run.results.len(), 1);
    let r = &run.results[0];
    assert!(
        r.duration_ms >= delay_ms && r.duration_ms <= run.duration_ms,
        "case duration {} ms, banner after {delay_ms} ms",
        r.duration_ms
    );
    assert!(!r.observation.phases.is_empty());
    for p in &r.observation.phases {
        assert!(
            p.ms >= 0.0 && p.ms <= r.duration_ms,
            "phase {} = {} ms",
            p.phase,
            p.ms
        );
    }
    let banner = r
        .observation
        .phases
        .iter()
        .map(|p| p.ms)
        .fold(0.0, f64::max);
    assert!(banner >= delay_ms - 50.0, "slowest phase {banner} ms");
    // Every duration in the JSON record is finite and non-negative.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.join("last-run.json")).unwrap()).unwrap();
    let mut stack = vec![(String::new(), &json)];
    while let Some((k, v)) = stack.pop() {
        match v {
            serde_json::Value::Object(m) => stack.extend(m.iter().map(|(k, v)| (k.clone(), v))),
            serde_json::Value::Array(a) => stack.extend(a.iter().map(|v| (k.clone(), v))),
            serde_json::Value::Number(n) if k.ends_with("ms") => {
                let x = n.as_f64().unwrap();
                assert!(x.is_finite() && (0.0..=real_ms).contains(&x), "{k} = {x}");
            }
            _ => {}
        }
    }
}
