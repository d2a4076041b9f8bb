//! One observation of the machine per run, shared by every host check
//! (goss's ProcMap idea): the CPU split is sampled once, the process table
//! and socket table are read once, however many checks ask for them.
//!
//! `Snapshot::new()` reads nothing; each section is filled on first use and
//! cached (thread-safe, concurrent callers wait for the same read). Readers
//! of /proc are small pure parsers so they are tested on fixed text.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// Default CPU / page-scan sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Snapshot {
    rates: OnceCell<Result<Rates, String>>,
    mem: OnceCell<Result<MemInfo, String>>,
    load: OnceCell<Result<LoadAvg, String>>,
    procs: OnceCell<Result<Arc<Vec<ProcInfo>>, String>>,
    procs_cpu: OnceCell<Result<Arc<Vec<ProcInfo>>, String>>,
    tcp: OnceCell<Result<Arc<Vec<Sock>>, String>>,
}

/// CPU split (percent of all CPUs) and page scan rate over one interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub user: f64,
    pub system: f64,
    pub iowait: f64,
    pub idle: f64,
    pub steal: f64,
    /// Pages scanned per second (kswapd + direct reclaim).
    pub scan_rate: f64,
    /// The interval actually measured.
    pub interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MemInfo {
    pub mem_total_kb: u64,
    pub mem_available_kb: u64,
    pub swap_total_kb: u64,
    pub swap_free_kb: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoadAvg {
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProcInfo {
    pub pid: u32,
    /// Kernel process name (`comm`, at most 15 bytes).
    pub name: String,
    /// Arguments joined by spaces.
    pub cmdline: String,
    pub cwd: Option<PathBuf>,
    pub rss_bytes: u64,
    /// Percent of one CPU over the sampling interval (None: not sampled).
    pub cpu_percent: Option<f64>,
    /// Parent process id.
    pub ppid: Option<u32>,
    /// Seconds the process has been running.
    pub run_time_s: u64,
}

/// An established TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sock {
    pub local: SocketAddr,
    pub remote: SocketAddr,
}

impl Snapshot {
    /// Cheap: nothing is read until a check asks.
    pub fn new() -> Self {
        Self::default()
    }

    /// CPU split and scan rate, sampled twice `interval` apart (the first
    /// caller's interval wins; later callers share that sample). Costs two
    /// reads of /proc/stat and /proc/vmstat — about 0.1 ms of CPU — and the
    /// interval of wall time.
    pub async fn rates(&self, interval: Duration) -> Result<Rates, String> {
        self.rates
            .get_or_init(|| sample_rates(interval))
            .await
            .clone()
    }

    pub async fn meminfo(&self) -> Result<MemInfo, String> {
        self.mem
            .get_or_init(|| async { read("/proc/meminfo").map(|t| parse_meminfo(&t))? })
            .await
            .clone()
    }

    pub async fn loadavg(&self) -> Result<LoadAvg, String> {
        self.load
            .get_or_init(|| async { read("/proc/loadavg").map(|t| parse_loadavg(&t))? })
            .await
            .clone()
    }

    /// The process table. With `cpu`, processes are read twice `cpu` apart
    /// (at least sysinfo's 200 ms minimum) so CPU percentages are filled.
    pub async fn processes(&self, cpu: Option<Duration>) -> Result<Arc<Vec<ProcInfo>>, String> {
        if let Some(iv) = cpu {
            return self
                .procs_cpu
                .get_or_init(|| read_processes(Some(iv)))
                .await
                .clone();
        }
        if let Some(p) = self.procs_cpu.get() {
            return p.clone();
        }
        self.procs
            .get_or_init(|| read_processes(None))
            .await
            .clone()
    }

    /// Established TCP connections from /proc/net/tcp and tcp6.
    pub async fn tcp(&self) -> Result<Arc<Vec<Sock>>, String> {
        self.tcp.get_or_init(read_tcp).await.clone()
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
}

async fn sample_rates(interval: Duration) -> Result<Rates, String> {
    let c0 = parse_cpu(&read("/proc/stat")?)?;
    let s0 = parse_pgscan(&read("/proc/vmstat")?);
    let t0 = Instant::now();
    tokio::time::sleep(interval).await;
    let c1 = parse_cpu(&read("/proc/stat")?)?;
    let s1 = parse_pgscan(&read("/proc/vmstat")?);
    let elapsed = t0.elapsed();
    Ok(cpu_split(&c0, &c1, s1.saturating_sub(s0), elapsed))
}

/// Jiffies of the aggregate `cpu` line of /proc/stat:
/// user nice system idle iowait irq softirq steal (guest is inside user).
pub type CpuTimes = [u64; 8];

pub fn parse_cpu(stat: &str) -> Result<CpuTimes, String> {
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .ok_or("no `cpu` line in /proc/stat")?;
    let mut t = [0u64; 8];
    for (i, f) in line.split_whitespace().skip(1).take(8).enumerate() {
        t[i] = f
            .parse()
            .map_err(|_| format!("bad /proc/stat field `{f}`"))?;
    }
    Ok(t)
}

/// vmstat's split: us = user+nice, sy = system+irq+softirq, wa, id, st.
pub fn cpu_split(a: &CpuTimes, b: &CpuTimes, scanned: u64, elapsed: Duration) -> Rates {
    let d: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| y.saturating_sub(*x) as f64)
        .collect();
    let total: f64 = d.iter().sum();
    let pct = |v: f64| if total > 0.0 { v * 100.0 / total } else { 0.0 };
    let secs = elapsed.as_secs_f64();
    Rates {
        user: pct(d[0] + d[1]),
        system: pct(d[2] + d[5] + d[6]),
        idle: pct(d[3]),
        iowait: pct(d[4]),
        steal: pct(d[7]),
        scan_rate: if secs > 0.0 {
            scanned as f64 / secs
        } else {
            0.0
        },
        interval: elapsed,
    }
}

/// Pages scanned so far: kswapd + direct reclaim (+ khugepaged), summing the
/// per-zone counters of old kernels. `pgscan_anon`/`pgscan_file` split the
/// same scans and `pgscan_direct_throttle` counts events, so both are skipped.
pub fn parse_pgscan(vmstat: &str) -> u64 {
    vmstat
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(k, _)| {
            (k.starts_with("pgscan_kswapd")
                || k.starts_with("pgscan_direct")
                || k.starts_with("pgscan_khugepaged"))
                && *k != "pgscan_direct_throttle"
        })
        .filter_map(|(_, v)| v.trim().parse::<u64>().ok())
        .sum()
}

pub fn parse_meminfo(text: &str) -> Result<MemInfo, String> {
    let mut m = MemInfo::default();
    let mut seen = 0;
    for l in text.lines() {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let n: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
        let slot = match k {
            "MemTotal" => &mut m.mem_total_kb,
            "MemAvailable" => &mut m.mem_available_kb,
            "SwapTotal" => &mut m.swap_total_kb,
            "SwapFree" => &mut m.swap_free_kb,
            _ => continue,
        };
        *slot = n;
        seen += 1;
    }
    if seen < 4 {
        return Err("/proc/meminfo lacks MemTotal/MemAvailable/SwapTotal/SwapFree".into());
    }
    Ok(m)
}

pub fn parse_loadavg(text: &str) -> Result<LoadAvg, String> {
    let v: Vec<f64> = text
        .split_whitespace()
        .take(3)
        .map(|f| f.parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("bad /proc/loadavg `{}`", text.trim()))?;
    match v[..] {
        [load1, load5, load15] => Ok(LoadAvg {
            load1,
            load5,
            load15,
        }),
        _ => Err(format!("bad /proc/loadavg `{}`", text.trim())),
    }
}

async fn read_processes(cpu: Option<Duration>) -> Result<Arc<Vec<ProcInfo>>, String> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
    let mut sys = System::new().map_err(|e| format!("cannot read processes: {e}"))?;
    let kind = ProcessRefreshKind::nothing()
        .with_memory()
        .with_cmd(UpdateKind::OnlyIfNotSet)
        .with_cwd(UpdateKind::OnlyIfNotSet)
        .without_tasks();
    let kind = if cpu.is_some() { kind.with_cpu() } else { kind };
    sys.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
    if let Some(iv) = cpu {
        // sysinfo computes CPU% from the difference between two refreshes.
        tokio::time::sleep(iv.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL)).await;
        sys.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
    }
    let list = sys
        .processes()
        .iter()
        .filter(|(_, p)| p.thread_kind().is_none())
        .map(|(pid, p)| ProcInfo {
            pid: pid.as_u32(),
            name: p.name().to_string_lossy().into_owned(),
            cmdline: p
                .cmd()
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            cwd: p.cwd().map(|c| c.to_path_buf()),
            rss_bytes: p.memory(),
            cpu_percent: cpu.map(|_| p.cpu_usage() as f64),
            ppid: p.parent().map(|pp| pp.as_u32()),
            run_time_s: p.run_time(),
        })
        .collect();
    Ok(Arc::new(list))
}

async fn read_tcp() -> Result<Arc<Vec<Sock>>, String> {
    let mut out = Vec::new();
    let v4 = procfs::net::tcp().map_err(|e| format!("cannot read /proc/net/tcp: {e}"))?;
    // A kernel without IPv6 has no tcp6 table: that is not an error.
    let v6 = procfs::net::tcp6().unwrap_or_default();
    for e in v4.into_iter().chain(v6) {
        if e.state == procfs::net::TcpState::Established {
            out.push(Sock {
                local: unmap(e.local_address),
                remote: unmap(e.remote_address),
            });
        }
    }
    Ok(Arc::new(out))
}

/// `[::ffff:127.0.3.1]:110` is 127.0.3.1:110 for address matching.
fn unmap(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), a.port()),
            None => a,
        },
        IpAddr::V4(_) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_split_matches_vmstat_columns() {
        let a = parse_cpu("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n").unwrap();
        let b = parse_cpu("cpu  130 10 60 1570 80 5 5 0 0 0\n").unwrap();
        // deltas: user 30 nice 10 system 10 idle 770 iowait 30 irq 5 softirq 5 = 860
        let r = cpu_split(&a, &b, 500, Duration::from_secs(2));
        assert!((r.user - 40.0 * 100.0 / 860.0).abs() < 1e-9);
        assert!((r.system - 20.0 * 100.0 / 860.0).abs() < 1e-9);
        assert!((r.iowait - 30.0 * 100.0 / 860.0).abs() < 1e-9);
        assert!((r.idle - 770.0 * 100.0 / 860.0).abs() < 1e-9);
        assert_eq!(r.scan_rate, 250.0);
    }

    #[test]
    fn pgscan_sums_reclaim_counters_only() {
        let t = "pgscan_kswapd 10\npgscan_direct 5\npgscan_khugepaged 1\n\
                 pgscan_direct_throttle 99\npgscan_anon 16\npgscan_file 0\npgsteal_kswapd 7\n";
        assert_eq!(parse_pgscan(t), 16);
        // 2.6-era per-zone names
        assert_eq!(
            parse_pgscan("pgscan_kswapd_dma 1\npgscan_kswapd_normal 2\npgscan_direct_normal 3\n"),
            6
        );
    }

    #[test]
    fn meminfo_and_loadavg_parse() {
        let m = parse_meminfo(
            "MemTotal:  1000 kB\nMemFree: 5 kB\nMemAvailable:   600 kB\nSwapTotal: 2048 kB\nSwapFree: 2000 kB\n",
        )
        .unwrap();
        assert_eq!(m.mem_available_kb, 600);
        assert_eq!(m.swap_free_kb, 2000);
        assert!(parse_meminfo("MemTotal: 1 kB\n").is_err());
        let l = parse_loadavg("0.52 0.40 0.33 2/345 6789\n").unwrap();
        assert_eq!((l.load1, l.load5, l.load15), (0.52, 0.40, 0.33));
        assert!(parse_loadavg("x").is_err());
    }

    #[test]
    fn unmap_v4_mapped_v6() {
        let a: SocketAddr = "[::ffff:127.0.3.1]:110".parse().unwrap();
        assert_eq!(unmap(a), "127.0.3.1:110".parse::<SocketAddr>().unwrap());
        let b: SocketAddr = "[::1]:25".parse().unwrap();
        assert_eq!(unmap(b), b);
    }
}
