//! Secrets: read from `*_env` / `*_file` references, never printed.
//!
//! `Secret` has no Display and a redacting Debug, so a secret cannot reach a
//! log line or a report by accident. Transcripts redact AUTH/LOGIN/PASS lines
//! separately (see `probe::wire::redact_command`).

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The only way to the value: call sites are greppable.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where a secret comes from, as written in the suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
    /// Inline value in the suite (allowed, warned about by validate).
    Inline(Secret),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    EnvUnset(String),
    FileMissing(PathBuf, String),
    Empty,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::EnvUnset(v) => write!(f, "environment variable {v} is not set"),
            SecretError::FileMissing(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            SecretError::Empty => write!(f, "secret is empty"),
        }
    }
}

impl SecretRef {
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        let v = match self {
            SecretRef::Env(name) => {
                std::env::var(name).map_err(|_| SecretError::EnvUnset(name.clone()))?
            }
            SecretRef::File(p) => std::fs::read_to_string(p)
                .map_err(|e| SecretError::FileMissing(p.clone(), e.to_string()))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
            SecretRef::Inline(s) => s.0.clone(),
        };
        if v.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Secret(v))
    }

    /// Human description without the value: `env HM_PASS` / `file /x`.
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Env(n) => format!("env {n}"),
            SecretRef::File(p) => format!("file {}", p.display()),
            SecretRef::Inline(_) => "inline value".into(),
        }
    }
}

/// True when a secret file is readable by group or others (ssh's rule).
pub fn too_open(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o077 != 0)
        .unwrap_or(false)
}
