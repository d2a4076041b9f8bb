//! Daemon memory over many runs, against the live loopback site
//! (`tests/site/mailsite up`): 1,000 in-process runs of a small job (two
//! port checks, results files, alert processing, shared-state update — what
//! the daemon does per run). RSS after a warm-up that fills the bounded history
//! ring (350 runs) is the baseline; RSS after 1,000 more must stay flat. Goal: ratio ≤ 1.10.
//! Run: `cargo bench --bench daemon_memory`.

#[path = "../tests/support/rusage.rs"]
#[allow(dead_code)]
mod rusage;

use std::time::Instant;

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let d = tempfile::tempdir().unwrap();
    let ca = root.join("target/mailsite/ca/ca.pem");
    std::fs::write(
        d.path().join("fast.yaml"),
        format!(
            r#"site: fast
defaults:
  timeout: 10s
  step_timeout: 5s
  tls: {{ca_file: {}}}
hosts:
  mta1:
    roles: [mta]
    address: 127.0.1.1
    endpoints:
      smtp: {{port: 25, tls: starttls}}
    checks:
      - port: {{endpoint: smtp}}
  store2:
    roles: [store]
    address: 127.0.2.2
    endpoints:
      imap: {{port: 143, tls: starttls}}
    checks:
      - port: {{endpoint: imap}}
"#,
            ca.display()
        ),
    )
    .unwrap();
    let sched = d.path().join("schedule.yaml");
    std::fs::write(
        &sched,
        "reports: reports\njobs:\n  fast:\n    every: 1s\n    suites: [fast.yaml]\n",
    )
    .unwrap();
    let cfg = healthmon::daemon::schedule::load(&sched).unwrap_or_else(|e| panic!("{e:?}"));
    let job = cfg.jobs[0].clone();
    let state = healthmon::daemon::DaemonState::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut worst = 0;
    let mut run = |n: usize| {
        for _ in 0..n {
            worst = worst.max(rt.block_on(healthmon::daemon::run_job(&job, &cfg, &state)));
            // What a scrape does, so the rendering path is exercised too.
            let _ = healthmon::daemon::http::render_metrics(&state);
        }
    };
    run(healthmon::daemon::state::HISTORY_MAX + 50);
    let before = rusage::self_rss_kb();
    let t0 = Instant::now();
    let mut mid = Vec::new();
    for _ in 0..4 {
        run(250);
        mid.push(rusage::self_rss_kb());
    }
    let secs = t0.elapsed().as_secs_f64();
    let after = rusage::self_rss_kb();
    let history = state.history("fast").len();
    println!(
        "daemon_memory: 1000 runs in {secs:.1}s ({:.2} ms/run), worst exit {worst}",
        secs * 1000.0 / 1000.0
    );
    println!(
        "daemon_memory: RSS after {} warm-up runs {before} kB (every 250 runs: {mid:?} kB), after 1000 more {after} kB, ratio {:.3} (goal <= 1.10)",
        healthmon::daemon::state::HISTORY_MAX + 50,
        after as f64 / before as f64
    );
    println!(
        "daemon_memory: history ring holds {history} runs (bound {})",
        healthmon::daemon::state::HISTORY_MAX
    );
    assert_eq!(worst, 0, "runs against the site failed: is it up?");
}
