//! Cost of the central monitor's pull of the agents, on the live loopback
//! site (`tests/site/mailsite up`, as root: each agent gets its own hostname
//! with `unshare --uts`). Eight agents, one per site host (mta1's over
//! https). Baseline, measured in the same run: a bare `GET /healthz` on the
//! same listeners (HTTP round trip, no work). Then:
//! - one pull (`probe::agent::pull`) per agent: median ms and bytes;
//! - a whole central pull (`healthmon run --only 'host/*' --only 'agent/*'`)
//!   with all agents up, with one dead (connection refused) and with one
//!   hung (SIGSTOP: it costs the step deadline, the others are unaffected).
//!
//! Run: `cargo bench --bench agent_pull`.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::time::{Duration, Instant};

use support::agents;
use support::modes::http_get_bearer;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median wall time (ms) of `n` central pulls and the last run's agent cases.
fn central(suite: &std::path::Path, reports: &std::path::Path, n: usize) -> (f64, Vec<String>) {
    let mut t = Vec::new();
    let mut last = serde_json::Value::Null;
    for _ in 0..n {
        let t0 = Instant::now();
        last = agents::central_run(suite, reports, &["--only", "host/*", "--only", "agent/*"]);
        t.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let bad = last["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"].as_str().unwrap().starts_with("agent/") && r["status"] != "pass")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    (median(t), bad)
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let d = tempfile::tempdir().unwrap();
    let port = agents::free_port_on_all();
    let suite_path = agents::agent_suite(d.path(), port);
    let mut running = agents::start_all(d.path(), &suite_path, port);
    let (suites, _) = healthmon::suite::load_all(std::slice::from_ref(&suite_path)).unwrap();
    let spec = &suites[0].spec;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let deadline = Duration::from_secs(5);
    // Wait for every agent's first run.
    for (h, _) in agents::HOSTS {
        let a = spec.hosts[h].agent.clone().unwrap();
        let t0 = Instant::now();
        while rt
            .block_on(healthmon::probe::agent::pull(&a, deadline))
            .map(|p| p.body.run.is_none())
            .unwrap_or(true)
        {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "{h}'s agent has no results"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    const N: usize = 30;
    println!(
        "{:<8} {:>12} {:>10} {:>8} {:>7}",
        "agent", "baseline ms", "pull ms", "ratio", "bytes"
    );
    let (mut all_pull, mut all_bytes) = (Vec::new(), 0usize);
    for (h, _) in agents::HOSTS {
        let a = spec.hosts[h].agent.clone().unwrap();
        let addr = a.parsed_url().unwrap();
        let addr = format!("{}:{}", addr.host, addr.port);
        let base = (h != "mta1").then(|| {
            median(
                (0..N)
                    .map(|_| {
                        let t0 = Instant::now();
                        let (st, _) = http_get_bearer(&addr, "/healthz", Some(agents::TOKEN));
                        assert_eq!(st, 200);
                        t0.elapsed().as_secs_f64() * 1000.0
                    })
                    .collect(),
            )
        });
        let mut bytes = 0;
        let pull = median(
            (0..N)
                .map(|_| {
                    let p = rt
                        .block_on(healthmon::probe::agent::pull(&a, deadline))
                        .unwrap();
                    bytes = p.bytes;
                    p.ms
                })
                .collect(),
        );
        all_pull.push(pull);
        all_bytes += bytes;
        match base {
            Some(b) => println!(
                "{h:<8} {b:>12.2} {pull:>10.2} {:>7.1}x {bytes:>7}",
                pull / b
            ),
            None => println!(
                "{h:<8} {:>12} {pull:>10.2} {:>8} {bytes:>7}",
                "(https)", "-"
            ),
        }
    }
    println!(
        "per agent: median pull {:.2} ms, {} bytes on average ({} bytes for all 8)",
        median(all_pull),
        all_bytes / agents::HOSTS.len(),
        all_bytes
    );
    let reports = d.path().join("central");
    let (up, bad) = central(&suite_path, &reports, 10);
    assert!(bad.is_empty(), "{bad:?}");
    println!(
        "central pull, 8 agents up:            {up:>8.1} ms (whole `healthmon run`, median of 10)"
    );
    // One dead agent: connection refused.
    let i = running.iter().position(|a| a.host == "store2").unwrap();
    drop(running.remove(i));
    let (dead, bad) = central(&suite_path, &reports, 10);
    assert_eq!(bad, ["agent/store2"]);
    println!(
        "central pull, store2's agent dead:    {dead:>8.1} ms ({:.2}x all up)",
        dead / up
    );
    // One hung agent: it costs the step deadline, once, concurrently.
    let mta2 = running.iter().find(|a| a.host == "mta2").unwrap();
    mta2.proc.signal(libc::SIGSTOP);
    let (hung, bad) = central(&suite_path, &reports, 3);
    mta2.proc.signal(libc::SIGCONT);
    assert_eq!(bad, ["agent/mta2", "agent/store2"]);
    println!(
        "central pull, mta2's agent hung too:  {hung:>8.1} ms (step_timeout {:?}: the deadline, not a sum)",
        spec.step_timeout()
    );
}
