//! system: CPU split, memory, swap, page scan rate, load (check_sys).

pub use crate::suite::checks::system::{METRICS, SystemSpec};

/// Sample the shared snapshot (CPU/scan deltas over `interval`, meminfo,
/// loadavg) and judge each metric that has limits.
pub async fn check(spec: &SystemSpec, ctx: &super::Ctx<'_>) -> super::CheckOutcome {
    use crate::result::{ErrorKind, Observation};
    let mut obs = Observation::default();
    if let Some(bad) = spec
        .thresholds
        .keys()
        .find(|k| !METRICS.iter().any(|(m, _)| m == k))
    {
        let names: Vec<_> = METRICS.iter().map(|(m, _)| *m).collect();
        let e = ctx.err(
            "config",
            ErrorKind::Local,
            format!(
                "unknown system metric `{bad}` (one of: {})",
                names.join(", ")
            ),
        );
        return super::CheckOutcome::error(obs, e);
    }
    let interval = spec
        .interval
        .map(|d| d.0)
        .unwrap_or(super::snapshot::DEFAULT_INTERVAL);
    let (rates, mem, load) = tokio::join!(
        ctx.snap.rates(interval),
        ctx.snap.meminfo(),
        ctx.snap.loadavg()
    );
    let (rates, mem, load) = match (rates, mem, load) {
        (Ok(r), Ok(m), Ok(l)) => (r, m, l),
        (r, m, l) => {
            let msg = [r.err(), m.err(), l.err()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ");
            return super::CheckOutcome::error(obs, ctx.err("sample", ErrorKind::Local, msg));
        }
    };
    let values = [
        rates.user,
        rates.system,
        rates.iowait,
        rates.idle,
        rates.steal,
        mem.mem_available_kb as f64,
        mem.swap_free_kb as f64,
        rates.scan_rate,
        load.load1,
        load.load5,
        load.load15,
    ];
    let mut f = super::judge::Findings::default();
    for ((name, unit), v) in METRICS.iter().zip(values) {
        obs.metric(name, v, unit);
        if let Some(lim) = spec.thresholds.get(*name) {
            f.num(name, v, lim);
        }
    }
    obs.fact("interval_ms", format!("{}", rates.interval.as_millis()));
    obs.fact("mem_total_kb", mem.mem_total_kb.to_string());
    obs.fact("swap_total_kb", mem.swap_total_kb.to_string());
    super::CheckOutcome::judged(obs, &f)
}
