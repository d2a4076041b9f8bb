//! Runner events (nextest style): the application layer (`app::execute`) emits, reporters consume; a
//! reporter never drives execution.

use crate::result::{CaseResult, RunSummary};

#[derive(Debug, Clone)]
pub enum RunEvent {
    RunStarted {
        run_id: String,
        total: usize,
    },
    CaseStarted {
        id: String,
    },
    CaseFinished(Box<CaseResult>),
    /// Isolation is running follow-up probes.
    Diagnosing {
        failing: usize,
    },
    RunFinished(Box<RunSummary>),
}
