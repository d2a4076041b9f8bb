//! Append-only logs (systest.log, qmonitor.log, the per-day results file,
//! the skipped-run journal): whole records written with `O_APPEND`, never a
//! rewrite, so a run costs what it appends whatever the file's size; and
//! their rotation.
//!
//! Crash rules: space for a record is reserved (`fallocate`, keep size)
//! before it is written, so a full disk fails the append with nothing
//! written; a crash mid-write can leave at most one partial last record,
//! which the next append detects (the file does not end in `\n`) and
//! terminates before writing its own. Existing bytes are never rewritten or
//! truncated.

pub mod append;
pub mod rotate;

pub use append::{Tail, append, tail};

/// How far back from the end a reporter looks for its last header block (a
/// table repeats its header at least this often, so the tail always holds
/// one and a run reads at most this much of a log, whatever its size).
pub const HEADER_WINDOW: u64 = 64 << 10;
pub use rotate::Rotation;
