//! The daemon over a simulated month: 30 days of a local-sized suite every
//! 5 minutes (8,640 runs, clock simulated, no site needed) recorded into
//! the daemon's state, and at the end of each day the status page, its API
//! document and /metrics rendered as a scrape would. After the first day
//! fills the 24-hour history, RSS and the page's size must stay flat: the
//! bench prints day 1 → day 30 and the ratios (goal ≤ 1.10 for RSS, 1.00
//! for the page). Run: `cargo bench --bench daemon_month`.

#[path = "../tests/support/rusage.rs"]
#[allow(dead_code)]
mod rusage;

#[path = "common/runs.rs"]
mod runs;
#[path = "../tests/support/site.rs"]
#[allow(dead_code)]
mod site;
#[path = "../tests/support/status.rs"]
#[allow(dead_code)]
mod status;

use std::time::Instant;

use chrono::{Duration, Utc};

const DAYS: i64 = 30;
const PER_DAY: i64 = 288;

/// Page, API document and /metrics as of `now` (bytes of each).
fn scrape(
    state: &healthmon::daemon::SharedState,
    now: chrono::DateTime<Utc>,
) -> (usize, usize, usize) {
    let mut inp = healthmon::status::gather(&**state);
    inp.now = now;
    let doc = healthmon::status::model::build(&inp);
    let hist = healthmon::status::page::history(&healthmon::status::history(&inp, &doc));
    let page = healthmon::status::page::render(&doc, &hist, healthmon::status::REFRESH_S);
    let api = serde_json::to_string(&doc).unwrap();
    let metrics = healthmon::daemon::http::render_metrics_at(state, now);
    (page.len(), api.len(), metrics.len())
}

fn main() {
    let state = healthmon::daemon::DaemonState::new();
    let start = Utc::now() - Duration::days(DAYS);
    let t = Instant::now();
    let mut days = Vec::new();
    for day in 0..DAYS {
        for k in 0..PER_DAY {
            let at = start + Duration::minutes(5 * (day * PER_DAY + k));
            state.record(runs::local_like_run(at, (day * PER_DAY + k) as usize));
        }
        let now = start + Duration::days(day + 1);
        let (page, api, metrics) = scrape(&state, now);
        days.push((rusage::self_rss_kb(), page, api, metrics));
    }
    let kept = state.history("local").len();
    println!(
        "{} runs in {:.1} s; history keeps {kept} runs",
        DAYS * PER_DAY,
        t.elapsed().as_secs_f64()
    );
    for (d, (rss, page, api, metrics)) in days.iter().enumerate() {
        if d < 2 || d % 7 == 6 || d + 1 == days.len() {
            println!(
                "day {:2}: RSS {rss:7} kB  page {page:8} B  api {api:8} B  metrics {metrics:6} B",
                d + 1
            );
        }
    }
    // Day 2 onwards the 24-hour window is full: compare with the last day.
    let (first, last) = (days[1], days[days.len() - 1]);
    let rss = last.0 as f64 / first.0 as f64;
    let page = last.1 as f64 / first.1 as f64;
    println!(
        "ratio day 30 / day 2: RSS {rss:.3} (goal <= 1.10) {}, page {page:.3} (goal <= 1.00) {}",
        if rss <= 1.10 { "OK" } else { "MISSED" },
        if page <= 1.0 + 1e-9 { "OK" } else { "MISSED" }
    );
}
