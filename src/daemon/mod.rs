//! `healthmon daemon`: the built-in scheduler (the counterpart of the seed's
//! `local.schedule.*`), serving `/metrics` and `/healthz`.
//!
//! - `state`    — shared latest/history of runs, read by the HTTP routes.

pub mod state;

pub use state::{DaemonState, SharedState};
