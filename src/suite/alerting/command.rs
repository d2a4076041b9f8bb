//! command: run a program (pager gateway, SMS script) with the notice as JSON
//! on stdin and HEALTHMON_* variables; killed at the timeout; a non-zero exit
//! status is a delivery failure (so the fallback and the spool take over).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Target;
use crate::suite::diag::Severity;
use crate::suite::duration::Dur;

pub const REFRESH: bool = false;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub program: PathBuf,
    #[serde(default)]
    pub args: Vec<String>,
    /// Default 30s.
    #[serde(default)]
    pub timeout: Option<Dur>,
}

/// Files this channel reads (anchored to the file that declares them).
/// A program given with a slash is a file (anchored); a bare name is looked up in PATH.
pub fn files(spec: &mut Spec) -> Vec<&mut PathBuf> {
    if spec.program.components().count() > 1 {
        vec![&mut spec.program]
    } else {
        vec![]
    }
}

pub fn targets(_spec: &Spec) -> Vec<Target> {
    vec![]
}

pub fn check(spec: &Spec) -> Vec<(Severity, String)> {
    let p = &spec.program;
    if p.is_absolute() && !p.exists() {
        vec![(
            Severity::Warning,
            format!(
                "program: {} does not exist (alerts through this channel will fail)",
                p.display()
            ),
        )]
    } else {
        vec![]
    }
}
