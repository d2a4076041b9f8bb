//! Exit codes: the one place they are defined (README "Exit codes" mirrors it).

use crate::result::Status;

/// All cases passed (or were skipped).
pub const OK: i32 = 0;
/// At least one case failed an expectation (warning or critical).
pub const FAILED: i32 = 1;
/// At least one case could not run (error / unknown).
pub const ERROR: i32 = 2;
/// The configuration (suite, etc/ files, command line) is invalid.
pub const CONFIG: i32 = 3;
/// healthmon itself failed (I/O on reports, bug).
pub const INTERNAL: i32 = 4;

/// Exit code of a finished run from its worst status. An error outranks a
/// failure: a run that could not measure something must not look "only" failed.
pub fn for_status(worst: Status) -> i32 {
    match worst {
        Status::Pass | Status::Skipped => OK,
        Status::Warning | Status::Critical => FAILED,
        Status::Error => ERROR,
    }
}

/// Nagios plugin exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
pub fn nagios_for_status(worst: Status) -> i32 {
    match worst {
        Status::Pass | Status::Skipped => 0,
        Status::Warning => 1,
        Status::Critical => 2,
        Status::Error => 3,
    }
}
