//! Faults in healthmon's own environment (issue 10) that need no site; the
//! table of all four rows is in live/app/faults.rs.
//!
//! Clock steps: the system clock of the machine is never touched (other
//! tests share it). `libfaketime` (Debian package `libfaketime`) is preloaded
//! into the healthmon process with `DONT_FAKE_MONOTONIC=1`, and its offset
//! file is rewritten while the run waits on a slow server, so `SystemTime`
//! really jumps inside healthmon while `Instant` does not.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::run::*;

// ------------------------------------------------------------------ helpers

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
