//! What a daemon in the agent role serves and for whom (set by
//! `healthmon agent`, read by the agent routes).

use std::time::Duration;

use tokio::sync::Semaphore;

use crate::probe::agent as wire;
use crate::suite::LoadedSuite;

/// Queue look-ups running at once (each runs `postqueue -j` over the queue).
pub const LOOKUPS_AT_ONCE: usize = 2;

/// What the agent serves and for whom.
#[derive(Debug)]
pub struct Role {
    pub suite: LoadedSuite,
    /// Suite hosts whose checks run here.
    pub hosts: Vec<String>,
    pub digest: String,
    pub interval: Duration,
    pub lookups: Semaphore,
}

impl Role {
    pub fn new(suite: LoadedSuite, hosts: Vec<String>, interval: Duration) -> Role {
        Role {
            digest: wire::suite_digest(&suite),
            suite,
            hosts,
            interval,
            lookups: Semaphore::new(LOOKUPS_AT_ONCE),
        }
    }
}
