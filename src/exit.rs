//! Exit codes: the one place they are defined (README "Exit codes" mirrors it).
//! The Nagios plugin (`healthmon check`) has its own, always 0-3:
//! `result::NagiosState::code`.

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
