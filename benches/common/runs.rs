//! A synthetic run shaped like the local suite every 5 minutes, for the
//! benches that need many runs without a site (include with #[path], next
//! to tests/support/status.rs as `status`).

use chrono::{DateTime, Utc};
use healthmon::result::{RunSummary, Status};

/// 111 round trips (≈ 32,000 systest rows a day) with 40-line transcripts,
/// one of them critical; 12 hosts × (queue, system, connections) checks.
pub fn local_like_run(at: DateTime<Utc>, i: usize) -> RunSummary {
    let mut results = Vec::new();
    for n in 0..111 {
        let spec = format!(
            "ims{} store{} mta{} mmp{} pop3",
            n % 4 + 1,
            n % 2 + 1,
            n % 3 + 1,
            n % 2 + 1
        );
        let status = if n == 7 {
            Status::Critical
        } else {
            Status::Pass
        };
        let mut r = super::status::path(&spec, status, 40.0 + n as f64);
        r.id = format!("{}/{n}", r.id);
        r.observation.transcript = (0..40)
            .map(|l| format!("S: +OK line {l} of a POP3 session"))
            .collect();
        r.started_at = at;
        results.push(r);
    }
    for h in 0..12 {
        let host = format!("host{h}");
        for (check, m) in [
            ("queue", ("active", 3.0)),
            ("system", ("cpu_idle", 97.0)),
            ("connections", ("smtp", 4.0)),
        ] {
            let mut r = super::status::host_check(&host, check, Status::Pass, &[m]);
            r.started_at = at;
            results.push(r);
        }
    }
    let mut run = super::status::run(
        &format!("{}-{i:06}", at.format("%Y%m%dT%H%M%SZ")),
        at,
        results,
        vec![],
    );
    run.finished_at = at + chrono::Duration::seconds(5);
    run
}
