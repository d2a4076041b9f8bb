//! log: one tracing line per notice. Always on (the router logs every notice
//! whether or not a route names it); declaring it lets a route log only.

use serde::{Deserialize, Serialize};

use super::Target;
use crate::suite::diag::Severity;

pub const REFRESH: bool = false;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {}

/// Files this channel reads (anchored to the file that declares them).
pub fn files(_spec: &mut Spec) -> Vec<&mut std::path::PathBuf> {
    vec![]
}

pub fn targets(_spec: &Spec) -> Vec<Target> {
    vec![]
}

pub fn check(_spec: &Spec) -> Vec<(Severity, String)> {
    vec![]
}
