//! Diagnostics: `file:line:column: key.path: message (hint)`.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
    /// A reference only the monitoring host can satisfy is not satisfied
    /// here: an unset `password_env`, a missing `password_file` or
    /// `ca_file`. Never leaves `load`: an error when the suite is about to
    /// run ([`Secrets::Required`]), a warning for a dry run.
    Unset,
}

/// What `load` makes of [`Severity::Unset`] diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// `run`, `check`, the daemon, `validate --resolve / --require-secrets`:
    /// a case without its password cannot run.
    Required,
    /// `validate`, `list`, `cron`: a topology check on a machine without the
    /// production secrets (a CI job) — warnings.
    Deferred,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    /// Dotted key path, e.g. `hosts.mta1.endpoints.smtp.port` or `roundtrip.matrix[0].submit[1]`.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.col)?;
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}
