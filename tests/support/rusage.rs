//! A child process's peak RSS and CPU time (wait4's rusage), for the benches.

use std::process::{Command, Stdio};
use std::time::Instant;

pub struct Usage {
    pub max_rss_mb: f64,
    pub cpu_ms: f64,
    pub wall_ms: f64,
    /// Exited with 0..=2 (pass, failure, error of what it checked).
    pub ok: bool,
}

/// Spawn (output discarded), wait with wait4 and return the child's (and its
/// reaped descendants') peak RSS and user+system CPU.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which std cannot see
pub fn measure(cmd: &mut Command) -> Usage {
    let t = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child pid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(rc, pid, "wait4 failed");
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    Usage {
        max_rss_mb: ru.ru_maxrss as f64 / 1024.0,
        cpu_ms: tv(ru.ru_utime) + tv(ru.ru_stime),
        wall_ms: t.elapsed().as_secs_f64() * 1000.0,
        ok: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) <= 2,
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// This process's resident set now (VmRSS, kB).
pub fn self_rss_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}
