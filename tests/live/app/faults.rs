//! Faults in healthmon's own environment (issue 10) that need the real site
//! or root; the other rows are in hermetic/app/faults.rs:
//!
//! | fault | guarantee | test |
//! |---|---|---|
//! | `kill -9` while the run waits for its probe (mta2 defers it) | the lock is free; every report (systest.log, JUnit, last-run.json, results) is whole and parses, systest.log keeps its old content; the next run exits 0, appends (old content is a prefix) and reaps the killed run's probe mail (reaped = left behind, mailbox empty) | `kill_9_mid_run_loses_nothing_and_the_next_run_reaps_its_probes` (real site, exclusive) |
//! | reports directory on a full file system | exit 4 with a clear error, no panic; every previous report byte-identical, except that an append-only log may have gained whole records (an append that fits its last block's slack succeeds); no temp file left | `full_reports_filesystem_exits_4_and_keeps_previous_reports` (tmpfs) |
//! | two runs started at the same instant | exactly one runs, the other exits 2 with "another run of this suite holds the lock" | `two_runs_started_at_once_exactly_one_runs` |
//! | wall clock stepped back 1 h and forward 1 day during a run | durations come from the monotonic clock: case, phase and run durations match the real elapsed time | `wall_clock_steps_do_not_bend_durations` (libfaketime on CLOCK_REALTIME only) |

use crate::support::mailprobe;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::run::*;
use healthmon::result::Status;

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
    // Several runs: the first appends may fit the slack of a log's last
    // block, the later ones find no space at all.
    for _ in 0..6 {
        let o = run(&suite, &mnt, &only);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(4), "{}", show(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("No space left on device") && err.contains("report failed"),
            "{err}"
        );
    }
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
        if is_append_only(p) {
            // An append may still fit in the slack of the file's last block:
            // then it lands whole; either way the old bytes are a prefix.
            assert!(new.starts_with(old), "{} lost content", p.display());
            assert!(new.ends_with(b"\n"), "{} ends mid-record", p.display());
        } else {
            assert!(new == old, "{} changed", p.display());
        }
    }
}

/// Logs written with O_APPEND records (systest.log, qmonitor.log, history).
fn is_append_only(p: &Path) -> bool {
    p.ends_with("systest.log")
        || p.ends_with("qmonitor.log")
        || p.extension().is_some_and(|x| x == "jsonl")
}
