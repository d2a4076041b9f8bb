//! What runs every 5 minutes on every production machine: the host checks
//! of one host. Measures `healthmon run suites/local.yaml --host mta1` (peak
//! RSS and CPU time of the whole process tree, via wait4's rusage) against
//! the classic shell equivalent, in the same run:
//!
//!   sh -c 'vmstat 1 2; ss -tan || netstat -tan; postqueue -p; ps aux'
//!
//! Goals: < 20 MB peak RSS and < 100 ms CPU. Needs the test site up
//! (tests/site/mailsite up) and is run from the repository root:
//! `cargo bench --bench hostcheck`.

#[path = "../tests/support/rusage.rs"]
#[allow(dead_code)]
mod rusage;

use std::path::{Path, PathBuf};
use std::process::Command;

use rusage::{Usage, measure, median};

const ROUNDS: usize = 5;
const GOAL_RSS_MB: f64 = 20.0;
const GOAL_CPU_MS: f64 = 100.0;

fn summarize(name: &str, runs: &[Usage]) -> (f64, f64) {
    let rss = runs.iter().map(|u| u.max_rss_mb).fold(0.0, f64::max);
    let cpu = median(runs.iter().map(|u| u.cpu_ms).collect());
    let wall = median(runs.iter().map(|u| u.wall_ms).collect());
    println!(
        "{name:<10} peak RSS {rss:6.1} MB   CPU {cpu:6.1} ms (median of {ROUNDS})   wall {wall:6.0} ms"
    );
    (rss, cpu)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(&root).unwrap();
    // Same lock as the tests (tests/support/site.rs): wait while a test injects faults.
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(root.join("target/mailsite.lock"))
        .unwrap();
    lock.lock_shared().unwrap();
    let site = Command::new(root.join("tests/site/mailsite"))
        .arg("status")
        .output();
    assert!(
        site.is_ok_and(|o| o.status.success()),
        "the test site is not up: run tests/site/mailsite up"
    );
    let bin = Path::new(env!("CARGO_BIN_EXE_healthmon"));
    let reports = tempfile::tempdir().unwrap();
    let conf = root.join("target/mailsite/mta1/conf");
    let shell = format!(
        "vmstat 1 2; ss -tan || netstat -tan; postqueue -c {} -p; ps aux",
        conf.display()
    );

    let mut hm = Vec::new();
    let mut sh = Vec::new();
    for _ in 0..ROUNDS {
        let u = measure(
            Command::new(bin)
                .args([
                    "run",
                    "suites/local.yaml",
                    "--host",
                    "mta1",
                    "--format",
                    "json",
                    "--no-isolate",
                ])
                .arg("--reports")
                .arg(reports.path()),
        );
        assert!(u.ok, "healthmon run --host mta1 failed to run");
        hm.push(u);
        let u = measure(Command::new("sh").args(["-c", &shell]));
        assert!(u.ok, "shell baseline failed");
        sh.push(u);
    }
    println!("host checks of mta1, {ROUNDS} rounds each, interleaved:");
    let (hm_rss, hm_cpu) = summarize("healthmon", &hm);
    let (sh_rss, sh_cpu) = summarize("shell", &sh);
    println!(
        "ratio healthmon/shell: RSS {:.2}x   CPU {:.2}x",
        hm_rss / sh_rss,
        hm_cpu / sh_cpu
    );
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "goals: peak RSS < {GOAL_RSS_MB} MB {}; CPU < {GOAL_CPU_MS} ms {}",
        verdict(hm_rss < GOAL_RSS_MB),
        verdict(hm_cpu < GOAL_CPU_MS)
    );
}
