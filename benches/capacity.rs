//! Capacity: how many round-trip paths one monitor sustains against the
//! loopback site, and at what memory and CPU. Runs `healthmon run` of
//! suites/local.yaml's round trips (every account × lb, mta1, mta2 × mmp1,
//! mmp2, own store × POP3, IMAP = 18 paths per account) back to back until
//! at least 1,000 paths and CAPACITY_SECONDS (default 60) have passed, then
//! prints paths/min, p50/p99 total time of a path, peak RSS (goal < 100 MB)
//! and the CPU share that 1,000 paths every 5 minutes cost (goal < 10 % of
//! one core), and the largest sustainable paths per 5 minutes (back-to-back
//! rate). Each run is measured with wait4 (whole process tree).
//!
//! Needs the site up; takes the site lock shared, as the tests do. The suite
//! uses every account the site has (`target/mailsite/secrets/ims*.pass`):
//! four by default (72 paths per run, so ≥ 1,000 paths take several runs);
//! `MAILSITE_ACCOUNTS=56 tests/site/mailsite up` gives 1,008 in one run.
//! Run: `cargo bench --bench capacity`.

#[path = "../tests/support/run.rs"]
#[allow(dead_code)]
mod run;
#[path = "../tests/support/rusage.rs"]
#[allow(dead_code)]
mod rusage;
#[path = "../tests/support/site.rs"]
#[allow(dead_code)]
mod site;

use std::process::Command;
use std::time::Instant;

const GOAL_PATHS: usize = 1_000;
const WINDOW_S: f64 = 300.0;
const GOAL_RSS_MB: f64 = 100.0;
const GOAL_CPU_SHARE: f64 = 0.10;

/// Accounts the site was set up with (ims1, ims2 …), by their password files.
fn site_accounts() -> usize {
    let dir = site::site_state().join("secrets");
    (1..)
        .take_while(|i| dir.join(format!("ims{i}.pass")).exists())
        .count()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let root = site::root();
    std::env::set_current_dir(&root).unwrap();
    let _lock = site::site_shared();
    let n = site_accounts();
    assert!(
        n >= 4,
        "the site has no test accounts: tests/site/mailsite up"
    );
    // Accounts 5..n alternate between the stores, as mailsite makes them.
    let (_d, suite) = run::suite_copy(|t| {
        let extra: String = (5..=n)
            .map(|i| {
                format!(
                    "  ims{i}: {{address: ims{i}@example.test, store: store{}, password_file: {}/secrets/ims{i}.pass}}\n",
                    (i - 1) % 2 + 1,
                    site::site_state().display()
                )
            })
            .collect();
        let at = t.find("\nroundtrip:").expect("roundtrip section");
        format!("{}\n{extra}{}", &t[..at], &t[at + 1..])
    });
    let seconds: f64 = std::env::var("CAPACITY_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60.0);
    let reports = tempfile::tempdir().unwrap();

    let t = Instant::now();
    let (mut paths, mut cpu_ms, mut rss_mb, mut runs) = (0usize, 0.0, 0.0f64, 0);
    let mut totals: Vec<f64> = Vec::new();
    let mut failed = 0;
    while paths < GOAL_PATHS || t.elapsed().as_secs_f64() < seconds {
        let u = rusage::measure(
            Command::new(site::bin())
                .args(["run", "--no-alerts", "--only", "rndtrip/*", "--reports"])
                .arg(reports.path())
                .arg(&suite),
        );
        assert!(u.ok, "healthmon run failed (exit > 2)");
        let last = run::last_run(reports.path());
        for r in last.results.iter().filter(|r| r.kind == "roundtrip") {
            if r.status == healthmon::result::Status::Skipped {
                continue;
            }
            paths += 1;
            if r.status.is_failure() || r.status == healthmon::result::Status::Error {
                failed += 1;
            }
            totals.push(r.duration_ms);
        }
        cpu_ms += u.cpu_ms;
        rss_mb = rss_mb.max(u.max_rss_mb);
        runs += 1;
    }
    let elapsed = t.elapsed().as_secs_f64();
    totals.sort_by(f64::total_cmp);
    let per_min = paths as f64 / elapsed * 60.0;
    // CPU that 1,000 paths cost, spread over the 5-minute window.
    let share = cpu_ms / 1000.0 / paths as f64 * GOAL_PATHS as f64 / WINDOW_S;
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "{n} accounts: {runs} runs, {paths} paths ({failed} not pass) in {elapsed:.1} s back to back"
    );
    println!(
        "paths/min {per_min:.0}; largest sustainable ≈ {:.0} paths per 5 min (goal >= {GOAL_PATHS}: {})",
        per_min * 5.0,
        verdict(per_min * 5.0 >= GOAL_PATHS as f64)
    );
    println!(
        "path total time p50 {:.0} ms, p99 {:.0} ms",
        percentile(&totals, 0.50),
        percentile(&totals, 0.99)
    );
    println!(
        "peak RSS {rss_mb:.1} MB (goal < {GOAL_RSS_MB}: {}); CPU {:.1} ms per path, {:.2} % of one core for 1,000 paths per 5 min (goal < {:.0} %: {}); {:.1} % while running back to back",
        verdict(rss_mb < GOAL_RSS_MB),
        cpu_ms / paths as f64,
        share * 100.0,
        GOAL_CPU_SHARE * 100.0,
        verdict(share < GOAL_CPU_SHARE),
        cpu_ms / 10.0 / elapsed
    );
}
