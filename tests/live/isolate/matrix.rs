//! Issue 15's fault matrix on both site variants, each with the suite a new
//! user writes (support::isolate::new_user_suite): every fault named right
//! (host + protocol) in each of four runs, exactly one firing alert with
//! `failure_threshold: 2` and none resolved while it persists, one resolved
//! notice after the repair. a and b have their own locks, so the two tests
//! run side by side.

use crate::support::isolate::drive_matrix;
use crate::support::mailprobe::Variant;

const RUNS: usize = 4;

#[test]
fn variant_a_each_fault_one_verdict_one_alert_over_four_runs() {
    drive_matrix(Variant::A, RUNS);
}

#[test]
fn variant_b_each_fault_one_verdict_one_alert_over_four_runs() {
    drive_matrix(Variant::B, RUNS);
}
