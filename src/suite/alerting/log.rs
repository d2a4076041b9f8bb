//! The `log` alert channel as the user declares it: keys, files to anchor,
//! network targets and static checks. Delivery: `alert::channel::log`.

use serde::{Deserialize, Serialize};

use super::Target;
use crate::suite::Severity;

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

/// Writing one log line.
pub fn timeout(_spec: &Spec) -> std::time::Duration {
    std::time::Duration::from_secs(1)
}
