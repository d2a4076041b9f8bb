//! [`run_once`]: one run of suites from start to finish — the run lock,
//! selection, execution, the judge step, the file reports, alerts.

use std::path::PathBuf;

use tokio::sync::mpsc::UnboundedSender;

use super::judge::TotalRanges;
use super::lock::{self, LockError};
use super::select::{self, RunOptions};
use crate::event::RunEvent;
use crate::report::{self, Outputs, Reporter};
use crate::result::RunSummary;
use crate::suite::LoadedSuite;

/// What to run and where its outputs go.
pub struct Request<'a> {
    pub suites: &'a [LoadedSuite],
    pub opts: RunOptions,
    /// Reports directory given by the caller (see [`super::reports_dir`]).
    pub reports: Option<PathBuf>,
    /// JUnit file (default `<reports>/junit.xml`).
    pub junit: Option<PathBuf>,
    /// Run the alert state machine after the reports.
    pub alerts: bool,
    /// Alert state directory (default `<reports>/state`).
    pub state_dir: Option<PathBuf>,
    /// `--warning/--critical` ranges on each case's total time.
    pub total: TotalRanges,
    /// Also write the Prometheus textfile into this directory.
    pub textfile: Option<PathBuf>,
    /// Written after the file reports, before alerts (a stdout format).
    pub stdout: Option<Box<dyn Reporter>>,
    /// The alert step ends by then at the latest (plugin mode's `-t`), so
    /// what it could not send is spooled rather than cut off mid-send.
    pub alert_until: Option<std::time::Instant>,
}

/// How a run ended.
pub enum Outcome {
    /// The run lock was not taken; nothing ran. A held lock is noted for
    /// the next run that gets it.
    Refused {
        reports_dir: PathBuf,
        error: LockError,
    },
    Finished(Finished),
}

pub struct Finished {
    pub summary: RunSummary,
    /// Reports (textfile included) that could not be written, one line each.
    pub report_errors: Vec<String>,
    /// Alert problems (state, channels), one line each.
    pub alert_errors: Vec<String>,
}

/// Lock the reports dir, select, execute, judge, write the file reports
/// (then `stdout`), run the alerts. Events go to `events` (a closed receiver
/// is fine).
pub async fn run_once(req: Request<'_>, events: UnboundedSender<RunEvent>) -> Outcome {
    let suites = req.suites;
    let reports_dir = super::reports_dir(req.reports.as_deref(), suites);
    let _lock = match lock::lock(&reports_dir) {
        Ok(l) => l,
        Err(error) => {
            if let LockError::Held(_) = error {
                // Unknown, not critical: nothing was measured. The next run
                // that gets the lock reports that this one was skipped.
                lock::note_skipped_run(&reports_dir);
            }
            return Outcome::Refused { reports_dir, error };
        }
    };
    let skipped_runs = lock::take_skipped_runs(&reports_dir);
    let (cases, skipped) = select::select(suites, &req.opts);
    let state_dir = super::state_dir(req.state_dir.as_deref(), &reports_dir);
    let key = super::probe_key::for_run(&state_dir, &cases);
    let mut summary = super::execute::run(suites, cases, skipped, &req.opts, key, events).await;
    summary.notes.extend(skipped_runs);
    super::judge::apply_total(&mut summary, req.total);

    // Files first (they are the record), then stdout.
    let out = Outputs {
        junit: req
            .junit
            .clone()
            .unwrap_or_else(|| reports_dir.join("junit.xml")),
        rotation: super::rotation(suites),
        reports_dir,
        host: crate::hostcheck::local_hostname().unwrap_or_else(|| "localhost".into()),
    };
    let mut report_errors = Vec::new();
    if let Some(dir) = &req.textfile
        && let Err(e) = report::metrics::write_textfile(
            dir,
            &summary,
            &super::textfile::selection(suites, &req.opts),
        )
    {
        report_errors.push(format!("textfile: {e}"));
    }
    let mut reporters = report::file_reporters();
    reporters.extend(req.stdout);
    for r in &reporters {
        if let Err(e) = r.report(&summary, &out) {
            report_errors.push(format!("{} report failed: {e}", r.name()));
        }
    }
    report_errors.extend(super::retention::tidy(
        &out.reports_dir,
        super::retention_days(suites),
        chrono::Utc::now(),
    ));
    // Alerts after the record is written: state machine + channels, per suite.
    let mut alert_errors = Vec::new();
    if req.alerts {
        for s in suites {
            let a = crate::alert::process(&summary, &s.spec, &state_dir, req.alert_until).await;
            alert_errors.extend(a.errors.into_iter().chain(a.failed));
        }
    }
    Outcome::Finished(Finished {
        summary,
        report_errors,
        alert_errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(dir: &std::path::Path) -> Request<'static> {
        Request {
            suites: &[],
            opts: RunOptions::default(),
            reports: Some(dir.to_path_buf()),
            junit: None,
            alerts: false,
            state_dir: None,
            total: (None, None),
            textfile: None,
            stdout: None,
            alert_until: None,
        }
    }

    /// Every caller (CLI and daemon) gets the same lock bookkeeping: a
    /// refused run is noted, and the next run that gets the lock reports it.
    #[tokio::test]
    async fn a_refused_run_is_noted_and_reported_by_the_next() {
        let d = tempfile::tempdir().unwrap();
        let held = lock::lock(d.path()).unwrap();
        let (tx, _) = tokio::sync::mpsc::unbounded_channel();
        match run_once(request(d.path()), tx.clone()).await {
            Outcome::Refused {
                error: LockError::Held(_),
                reports_dir,
            } => assert_eq!(reports_dir, d.path()),
            _ => panic!("the lock is held: the run must be refused"),
        }
        drop(held);
        let Outcome::Finished(f) = run_once(request(d.path()), tx).await else {
            panic!("the lock is free");
        };
        assert!(
            f.summary
                .notes
                .iter()
                .any(|n| n
                    .starts_with("1 earlier run(s) did not run because another run held the lock")),
            "{:?}",
            f.summary.notes
        );
        assert!(f.report_errors.is_empty(), "{:?}", f.report_errors);
        assert!(d.path().join("junit.xml").exists());
    }
}
