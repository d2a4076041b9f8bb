//! The `command` alert channel as the user declares it: keys, files to anchor,
//! network targets and static checks. Delivery: `alert::channel::command`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Target;
use crate::suite::Severity;
use crate::suite::duration::Dur;

pub const REFRESH: bool = false;
/// Bytes of the program's stderr kept for the failure message.

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

/// Whole-send deadline (default 30s).
pub fn timeout(spec: &Spec) -> std::time::Duration {
    spec.timeout
        .map_or(std::time::Duration::from_secs(30), |d| d.0)
}
