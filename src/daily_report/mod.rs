//! The daily report (`healthmon report`): one day of run summaries turned
//! into per-path availability and latency, failures by root cause, host
//! check failures, queue/system peaks and a baseline comparison (the same
//! hours over the previous days). [`DailyReport`] is pure data; renderers
//! (`render_*.rs`, registered in `formats::renderer`) are pure functions of it.
//! Days are UTC days.

pub mod baseline;
pub mod collect;
pub mod escape;
pub mod formats;
pub mod heat;
pub mod heatmap_svg;
pub mod mailrate;
pub mod multiples_svg;
pub mod palette;
pub mod render_csv;
pub mod render_html;
pub mod render_json;
pub mod render_text;
pub mod stats;
pub mod table;

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use self::formats::FormatsFile;
use self::stats::{HostFailure, HourRow, Incident, PathRow, Peak, Series};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenAlert {
    pub key: String,
    pub status: String,
    pub since: String,
    pub severity: String,
    pub message: String,
}

/// Optional message-rate section (from a mail log, when configured).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageRate {
    pub source: String,
    pub values: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyReport {
    pub site: String,
    pub date: NaiveDate,
    pub runs: usize,
    pub baseline_days: u32,
    pub baseline_runs: usize,
    pub paths: Vec<PathRow>,
    pub hours: Vec<HourRow>,
    pub incidents: Vec<Incident>,
    pub host_failures: Vec<HostFailure>,
    pub peaks: Vec<Peak>,
    /// Per path and per submit/retrieve host, hour by hour against the
    /// baseline: the HTML heatmap and small multiples.
    pub heat: heat::Heat,
    /// Latency per path (JSON only: the HTML draws `heat`), queue depth
    /// per host/queue (the HTML's line chart).
    pub latency: Vec<Series>,
    pub queues: Vec<Series>,
    pub open_alerts: Vec<OpenAlert>,
    pub message_rate: Option<MessageRate>,
    pub notes: Vec<String>,
}

impl DailyReport {
    pub fn day_start(&self) -> DateTime<Utc> {
        self.date
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc())
            .unwrap_or_default()
    }
}

pub struct Options {
    pub reports: PathBuf,
    pub date: NaiveDate,
    /// Only runs of this site (None: all).
    pub site: Option<String>,
    pub formats: FormatsFile,
    /// Where alert-state.json lives (open alerts section), if known.
    pub state_dir: Option<PathBuf>,
}

/// Build the report for `opts.date` from `<reports>/results/*.json`.
pub fn build(opts: &Options) -> DailyReport {
    let start = opts
        .date
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or_default();
    let end = start + chrono::Duration::days(1);
    let days = opts.formats.baseline.days();
    let today = collect::load(&opts.reports, start, end, opts.site.as_deref());
    let history = collect::load(
        &opts.reports,
        start - chrono::Duration::days(i64::from(days)),
        start,
        opts.site.as_deref(),
    );
    let site = opts
        .site
        .clone()
        .or_else(|| today.runs.first().map(|r| r.site.clone()))
        .unwrap_or_default();
    let mut paths = stats::paths(&today.runs);
    let mut hours = stats::hours(&today.runs);
    baseline::apply(
        &opts.formats.baseline,
        &today.runs,
        &history.runs,
        &mut paths,
        &mut hours,
    );
    let heat = heat::build(
        opts.formats.baseline.latency_factor(),
        &today.runs,
        &history.runs,
    );
    let (peaks, queues) = stats::metrics(&today.runs);
    let mut notes: Vec<String> = today
        .bad
        .iter()
        .chain(&history.bad)
        .map(|(p, e)| format!("skipped unreadable results file {}: {e}", p.display()))
        .collect();
    notes.dedup();
    if today.runs.is_empty() {
        notes.push(format!(
            "no runs found for {} in {}",
            opts.date,
            opts.reports.join(collect::RESULTS_DIR).display()
        ));
    }
    let message_rate = match &opts.formats.mail_log {
        None => None,
        Some(p) => match mailrate::message_rate(p, opts.date) {
            Ok(m) => Some(m),
            Err(e) => {
                notes.push(e);
                None
            }
        },
    };
    DailyReport {
        site: site.clone(),
        date: opts.date,
        runs: today.runs.len(),
        baseline_days: days,
        baseline_runs: history.runs.len(),
        paths,
        hours,
        incidents: stats::incidents(&today.runs),
        host_failures: stats::host_failures(&today.runs),
        peaks,
        heat,
        latency: stats::latency_series(&today.runs),
        queues,
        open_alerts: opts
            .state_dir
            .as_deref()
            .map(|d| open_alerts(d, &site))
            .unwrap_or_default(),
        message_rate,
        notes,
    }
}

/// Firing and pending alerts from the alert state file (read-only).
fn open_alerts(state_dir: &Path, site: &str) -> Vec<OpenAlert> {
    let Ok(b) = std::fs::read(crate::alert::state::StateFile::path(state_dir)) else {
        return vec![];
    };
    let Ok(f) = serde_json::from_slice::<crate::alert::state::StateFile>(&b) else {
        return vec![];
    };
    f.sites
        .get(site)
        .into_iter()
        .flatten()
        .filter(|(_, k)| k.status != crate::alert::state::AlertStatus::Ok)
        .map(|(key, k)| OpenAlert {
            key: key.clone(),
            status: format!("{:?}", k.status).to_lowercase(),
            since: k
                .first_seen
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            severity: k.severity.clone(),
            message: k.last_message.clone(),
        })
        .collect()
}

/// Write a rendered report to `<reports>/daily/<date>.<ext>` atomically.
pub fn write(reports: &Path, date: NaiveDate, ext: &str, body: &str) -> std::io::Result<PathBuf> {
    let p = reports.join("daily").join(format!("{date}.{ext}"));
    crate::atomic::write(&p, body.as_bytes())?;
    Ok(p)
}
