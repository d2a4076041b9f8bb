//! processes: expected processes with count, RSS and CPU limits (check_procs).

use crate::fmt;
use super::snapshot::ProcInfo;
use crate::result::Status;
pub use crate::suite::checks::processes::{ProcessExpect, ProcessesSpec};

/// CPU sampling interval when an expectation limits CPU percent.
const CPU_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

struct Matcher {
    label: String,
    name: Option<String>,
    cmdline: Option<regex::Regex>,
    cwd: Option<regex::Regex>,
}

impl Matcher {
    fn new(i: usize, e: &ProcessExpect) -> Result<Self, String> {
        if e.process.is_none() && e.cmdline.is_none() && e.cwd.is_none() {
            return Err(format!("expect[{i}]: give `process`, `cmdline` or `cwd`"));
        }
        let re = |r: &Option<String>, what: &str| {
            r.as_deref()
                .map(regex::Regex::new)
                .transpose()
                .map_err(|err| format!("expect[{i}]: bad {what} regex: {err}"))
        };
        Ok(Matcher {
            label: e.label(i),
            name: e.process.clone(),
            cmdline: re(&e.cmdline, "cmdline")?,
            cwd: re(&e.cwd, "cwd")?,
        })
    }
    fn matches(&self, p: &ProcInfo) -> bool {
        self.name.as_ref().is_none_or(|n| *n == p.name)
            && self.cmdline.as_ref().is_none_or(|r| r.is_match(&p.cmdline))
            && self.cwd.as_ref().is_none_or(|r| {
                p.cwd
                    .as_ref()
                    .is_some_and(|c| r.is_match(&c.to_string_lossy()))
            })
    }
}

/// A daemon that forks (Postfix's master before each child execs, a
/// pre-forking server) briefly shows a copy of itself: same name, its own
/// parent, seconds old. Counting that copy would page "2 running, expected
/// at most 1" for nothing, so a match whose parent is also a match, with the
/// same name, younger than this, is the parent's fork and not counted.
/// Long-lived same-name children (worker pools) still count.
const FRESH_FORK_S: u64 = 5;

fn count_without_fresh_forks(found: &[&ProcInfo]) -> u32 {
    let is_fork = |p: &ProcInfo| {
        p.run_time_s < FRESH_FORK_S
            && found
                .iter()
                .any(|q| Some(q.pid) == p.ppid && q.name == p.name)
    };
    found.iter().filter(|p| !is_fork(p)).count() as u32
}

/// Match the run's shared process table against each expectation: count
/// (critical outside min..max), per-process RSS and CPU (warning).
pub async fn check(spec: &ProcessesSpec, ctx: &super::Ctx<'_>) -> super::CheckOutcome {
    use crate::result::{ErrorKind, Observation};
    let mut obs = Observation::default();
    let matchers: Result<Vec<Matcher>, String> = spec
        .expect
        .iter()
        .enumerate()
        .map(|(i, e)| Matcher::new(i, e))
        .collect();
    let matchers = match matchers {
        Ok(m) => m,
        Err(e) => return super::CheckOutcome::error(obs, ctx.err("config", ErrorKind::Local, e)),
    };
    let need_cpu = spec.expect.iter().any(|e| e.max_cpu_percent.is_some());
    let procs = match ctx.snap.processes(need_cpu.then_some(CPU_INTERVAL)).await {
        Ok(p) => p,
        Err(e) => return super::CheckOutcome::error(obs, ctx.err("read", ErrorKind::Local, e)),
    };
    let mut f = super::judge::Findings::default();
    for (m, e) in matchers.iter().zip(&spec.expect) {
        let found: Vec<&ProcInfo> = procs.iter().filter(|p| m.matches(p)).collect();
        let n = count_without_fresh_forks(&found);
        obs.metric(&format!("{}_count", m.label), n as f64, "");
        let min = e.min.unwrap_or(1);
        if n < min {
            f.add(
                Status::Critical,
                format!("{}: {n} running, expected at least {min}", m.label),
            );
        }
        if let Some(max) = e.max.filter(|max| n > *max) {
            f.add(
                Status::Critical,
                format!("{}: {n} running, expected at most {max}", m.label),
            );
        }
        let top_rss = found.iter().max_by_key(|p| p.rss_bytes);
        if let Some(p) = top_rss {
            let mb = p.rss_bytes as f64 / (1024.0 * 1024.0);
            obs.metric(&format!("{}_rss_mb", m.label), mb, "MB");
            if let Some(lim) = e.max_rss_mb.filter(|l| mb > *l) {
                f.add(
                    Status::Warning,
                    format!(
                        "{} pid {}: rss {} MB > {lim} MB",
                        m.label,
                        p.pid,
                        fmt::num(mb)
                    ),
                );
            }
        }
        let top_cpu = found
            .iter()
            .filter_map(|p| p.cpu_percent.map(|c| (p.pid, c)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((pid, cpu)) = top_cpu {
            obs.metric(&format!("{}_cpu_percent", m.label), cpu, "%");
            if let Some(lim) = e.max_cpu_percent.filter(|l| cpu > *l) {
                f.add(
                    Status::Warning,
                    format!("{} pid {pid}: cpu {}% > {lim}%", m.label, fmt::num(cpu)),
                );
            }
        }
    }
    super::CheckOutcome::judged(obs, &f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32, name: &str, ppid: u32, run_time_s: u64) -> ProcInfo {
        ProcInfo {
            pid,
            name: name.into(),
            cmdline: String::new(),
            cwd: None,
            rss_bytes: 0,
            cpu_percent: None,
            ppid: Some(ppid),
            run_time_s,
        }
    }

    #[test]
    fn a_fresh_fork_of_a_matched_process_is_not_a_second_one() {
        let master = proc(100, "master", 1, 3600);
        let fork = proc(200, "master", 100, 0);
        assert_eq!(count_without_fresh_forks(&[&master, &fork]), 1);
        // A second, independent master (another parent) still counts.
        let other = proc(300, "master", 1, 0);
        assert_eq!(count_without_fresh_forks(&[&master, &other]), 2);
        // Long-lived same-name children (a worker pool) still count.
        let worker = proc(201, "master", 100, 600);
        assert_eq!(count_without_fresh_forks(&[&master, &worker]), 2);
    }
}
