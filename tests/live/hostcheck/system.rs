//! system check: numbers agree with /proc read independently; one sample per
//! snapshot is shared.
//!
//! Live only because suites/local.yaml loads only where the site's files are
//! (its password files under target/mailsite, readable by root); the running
//! site is not used, so no site lock is taken.

use std::time::{Duration, Instant};

use crate::support::check::*;
use healthmon::hostcheck::Snapshot;
use healthmon::result::Status;

fn proc_kb(key: &str) -> f64 {
    let t = std::fs::read_to_string("/proc/meminfo").unwrap();
    t.lines()
        .find_map(|l| {
            l.strip_prefix(key).map(|v| {
                v.trim_start_matches(':')
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse()
                    .unwrap()
            })
        })
        .unwrap()
}

fn idle_jiffies() -> (f64, f64) {
    let t = std::fs::read_to_string("/proc/stat").unwrap();
    let v: Vec<f64> = t
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|x| x.parse().unwrap())
        .collect();
    (v[3], v.iter().sum())
}

#[tokio::test]
async fn numbers_are_sane_against_proc() {
    let suite = local_suite();
    let c = spec("system: {interval: 500ms}");
    let (i0, t0) = idle_jiffies();
    let o = run(&suite, "mta1", c).await;
    let (i1, t1) = idle_jiffies();
    assert_eq!(o.status, Status::Pass, "{o:?}");
    let cpu: f64 = [
        "cpu_user",
        "cpu_system",
        "cpu_iowait",
        "cpu_idle",
        "cpu_steal",
    ]
    .iter()
    .map(|m| metric(&o, m))
    .sum();
    assert!(
        (99.9..=100.001).contains(&cpu),
        "user+system+iowait+idle+steal = {cpu}"
    );
    // Our own idle over (almost) the same window.
    let idle = (i1 - i0) * 100.0 / (t1 - t0);
    assert!(
        (metric(&o, "cpu_idle") - idle).abs() < 20.0,
        "idle {} vs /proc {idle}",
        metric(&o, "cpu_idle")
    );
    let avail = proc_kb("MemAvailable");
    assert!(
        (metric(&o, "mem_available_kb") - avail).abs() < avail * 0.1 + 102400.0,
        "MemAvailable"
    );
    assert!(metric(&o, "swap_free_kb") <= proc_kb("SwapTotal"));
    let load: f64 = std::fs::read_to_string("/proc/loadavg")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (metric(&o, "load1") - load).abs() < 3.0,
        "load1 {} vs {load}",
        metric(&o, "load1")
    );
    assert!(metric(&o, "scan_rate") >= 0.0);
    let ms: u64 = o.observation.facts["interval_ms"].parse().unwrap();
    assert!((500..1500).contains(&ms), "{ms}");
}

#[tokio::test]
async fn one_sample_shared_and_limits_judged() {
    let suite = local_suite();
    let snap = Snapshot::new();
    let a = run_with(&suite, "mta1", spec("system: {interval: 300ms}"), &snap).await;
    let t = Instant::now();
    let b = run_with(
        &suite,
        "mta2",
        spec("system: {thresholds: {cpu_idle: {critical_below: 101}}}"),
        &snap,
    )
    .await;
    // A fresh sample would take its whole interval (1 s by default, the
    // second spec sets none); reusing the first is a lookup. The margin is
    // for a loaded CI box, not a speed target.
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "second check must reuse the sample, took {:?}",
        t.elapsed()
    );
    assert_eq!(metric(&a, "cpu_idle"), metric(&b, "cpu_idle"));
    assert_eq!(b.status, Status::Critical);
    assert!(
        b.message.starts_with("cpu_idle ") && b.message.ends_with(" < critical 101"),
        "{}",
        b.message
    );
    let e = run(
        &suite,
        "mta1",
        spec("system: {thresholds: {cpu_idel: {warning: 1}}}"),
    )
    .await;
    assert_eq!(e.status, Status::Error);
    assert!(
        e.message.contains("unknown system metric `cpu_idel`"),
        "{}",
        e.message
    );
}
