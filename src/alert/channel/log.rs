//! log: one tracing line per notice. Always on (the router logs every notice
//! whether or not a route names it); declaring it lets a route log only.

use serde::{Deserialize, Serialize};

use super::Target;
use crate::alert::notice::Notice;
use crate::suite::Severity;

pub const REFRESH: bool = false;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {}

pub async fn send(_spec: &Spec, n: &Notice) -> Result<(), String> {
    emit(n);
    Ok(())
}

/// The line itself: key, state, severity and the one-line message only.
pub fn emit(n: &Notice) {
    match n.kind.as_str() {
        "alert" => tracing::warn!(
            target: "healthmon::alert",
            site = %n.site,
            key = %n.key,
            state = n.state.as_str(),
            severity = %n.severity,
            run = %n.run_id,
            "alert {} {}: {}",
            n.state.as_str(),
            n.key,
            n.message
        ),
        _ => {
            tracing::info!(target: "healthmon::alert", site = %n.site, run = %n.run_id, "{}", n.subject())
        }
    }
}

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
