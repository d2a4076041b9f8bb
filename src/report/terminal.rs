//! Terminal output: a progress line on stderr while the run goes (only when
//! stderr is a terminal), then a summary table on stdout.

use std::io::{IsTerminal, Write};

use super::{Outputs, Reporter, fit, one_line};
use crate::event::RunEvent;
use crate::result::{RunSummary, Status};

/// Live progress from runner events. Never touches stdout, so `--format json`
/// stays machine-readable.
pub struct Progress {
    tty: bool,
    total: usize,
    done: usize,
    bad: usize,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            tty: std::io::stderr().is_terminal(),
            total: 0,
            done: 0,
            bad: 0,
        }
    }

    pub fn on_event(&mut self, ev: &RunEvent) {
        match ev {
            RunEvent::RunStarted { total, .. } => self.total = *total,
            RunEvent::CaseFinished(r) => {
                self.done += 1;
                if r.status.is_bad() {
                    self.bad += 1;
                }
                self.draw(&format!("{} {}", r.status, r.id));
            }
            RunEvent::Diagnosing { failing } => {
                self.draw(&format!("diagnosing {failing} failing case(s)"))
            }
            RunEvent::RunFinished(_) => {
                if self.tty {
                    eprint!("\r\x1b[2K");
                }
            }
            RunEvent::CaseStarted { .. } => {}
        }
    }

    fn draw(&self, last: &str) {
        if !self.tty {
            return;
        }
        let line = format!(
            "[{}/{}] {} not passing · {}",
            self.done,
            self.total,
            self.bad,
            one_line(last)
        );
        eprint!("\r\x1b[2K{}", fit(&line, 100));
        let _ = std::io::stderr().flush();
    }
}

/// The summary table (`--format text`, the default).
pub struct Summary;

impl Reporter for Summary {
    fn name(&self) -> &'static str {
        "text"
    }
    fn report(&self, run: &RunSummary, _out: &Outputs) -> Result<(), String> {
        let mut so = std::io::stdout().lock();
        so.write_all(render(run).as_bytes())
            .map_err(|e| format!("stdout: {e}"))
    }
}

/// Table of every case that ran (id, status, total ms, message), then
/// counts (skipped ones are only counted).
pub fn render(run: &RunSummary) -> String {
    let shown: Vec<_> = run
        .results
        .iter()
        .filter(|r| r.status != Status::Skipped)
        .collect();
    let idw = shown
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(2)
        .clamp(2, 60);
    let mut s = format!(
        "{:<idw$}  {:<8}  {:>8}  MESSAGE\n",
        "ID", "STATUS", "TOTAL_MS"
    );
    for r in shown {
        let total = format!("{:.0}", r.duration_ms);
        let mut msg = one_line(&r.message);
        if let Some(v) = r.verdict.as_deref().and_then(|k| run.verdict(k)) {
            msg = format!("{msg} [{}]", one_line(&v.line()));
        }
        s.push_str(&format!(
            "{:<idw$}  {:<8}  {:>8}  {}\n",
            fit(&r.id, idw),
            r.status.as_str(),
            total,
            fit(&msg, 160)
        ));
    }
    for v in &run.verdicts {
        s.push_str(&format!(
            "verdict ({:?}): {}\n",
            v.confidence,
            one_line(&v.line())
        ));
    }
    for n in &run.notes {
        s.push_str(&format!("note: {}\n", one_line(n)));
    }
    let counts: Vec<String> = [
        Status::Pass,
        Status::Warning,
        Status::Critical,
        Status::Error,
        Status::Skipped,
    ]
    .iter()
    .map(|st| format!("{} {}", run.count(*st), st))
    .collect();
    s.push_str(&format!(
        "{} cases in {:.1}s: {} (run {})\n",
        run.results.len(),
        run.duration_ms / 1000.0,
        counts.join(", "),
        run.run_id
    ));
    s
}
