//! Prometheus text exposition (classic format 0.0.4), hand-written: served by
//! the daemon at `/metrics` and written by `run --textfile DIR` for
//! node_exporter's textfile collector.
//!
//! Names follow blackbox_exporter (`*_probe_success`, `*_probe_duration_seconds`).
//! Labels are low-cardinality and value-free: site, suite, selection (in a
//! textfile), case, kind, component, phase, queue — never message ids or
//! error text. Host-check gauges: `metrics_host.rs`. No sample
//! timestamps (the scrape time is the sample time; the textfile collector
//! rejects them).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::result::{CaseResult, RunSummary, Status};

/// One metric family: help, type and its samples in insertion order.
struct Family {
    help: &'static str,
    kind: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// Builder that keeps families together (a family may appear only once in
/// the exposition) and in a stable order.
#[derive(Default)]
pub struct Exposition {
    order: Vec<&'static str>,
    families: BTreeMap<&'static str, Family>,
}

impl Exposition {
    pub fn add(
        &mut self,
        name: &'static str,
        kind: &'static str,
        help: &'static str,
        labels: Vec<(&'static str, String)>,
        value: f64,
    ) {
        let f = self.families.entry(name).or_insert_with(|| {
            self.order.push(name);
            Family {
                help,
                kind,
                samples: Vec::new(),
            }
        });
        f.samples.push((labels, value));
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for name in &self.order {
            let f = &self.families[name];
            let _ = writeln!(out, "# HELP {name} {}", f.help);
            let _ = writeln!(out, "# TYPE {name} {}", f.kind);
            for (labels, v) in &f.samples {
                out.push_str(name);
                if !labels.is_empty() {
                    out.push('{');
                    for (i, (k, val)) in labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let _ = write!(out, "{k}=\"{}\"", escape(val));
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {}", value(*v));
            }
        }
        out
    }
}

/// Label value escaping of the text format: `\`, `"` and newline.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o
}

fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// Nagios state of a case, as `healthmon check` judges it: 0 ok,
/// 1 warning, 2 critical (also a site that could not be reached or lost the
/// probe), 3 unknown (healthmon's own problem).
pub fn state(r: &CaseResult) -> f64 {
    r.nagios_state().code() as f64
}

/// The component a case is about: its host for host/security checks, else
/// the case kind (a round trip crosses several hosts).
fn component(r: &CaseResult) -> String {
    match r.labels.get("host") {
        Some(h) => h.clone(),
        None => r.kind.clone(),
    }
}

/// Which part of a suite a run ran, as `(key, value)` pairs in a fixed
/// order (`host`, `slot`, `shard`, `filter`); empty = the whole suite. It
/// names the run's textfile and is its series' `selection` label, so runs of
/// different parts of one site write different files whose series never
/// collide (node_exporter refuses a series that two files both carry).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection(pub Vec<(&'static str, String)>);

impl Selection {
    /// `all`, or e.g. `host=mta1,shard=2of3`.
    pub fn label(&self) -> String {
        if self.0.is_empty() {
            return "all".into();
        }
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.join(",")
    }
}

/// The run's labels: site, suite and, in a textfile, the selection.
fn base(run: &RunSummary, sel: Option<&Selection>) -> Vec<(&'static str, String)> {
    let mut b = vec![("site", run.site.clone()), ("suite", run.suite_key())];
    if let Some(s) = sel {
        b.push(("selection", s.label()));
    }
    b
}

/// Add the samples of one finished run: its own and every case's.
/// `sel`: the selection label (textfiles; the daemon merges cases instead).
pub fn add_run(e: &mut Exposition, run: &RunSummary, sel: Option<&Selection>) {
    let b = base(run, sel);
    add_run_info(e, run, &b);
    for r in &run.results {
        add_case(e, &b, r);
    }
}

/// The run-level samples: when it finished, how long it took, its verdicts.
pub fn add_run_info(e: &mut Exposition, run: &RunSummary, base: &[(&'static str, String)]) {
    e.add(
        "healthmon_last_run_timestamp_seconds",
        "gauge",
        "Unix time the last run of the suite finished.",
        base.to_vec(),
        run.finished_at.timestamp_millis() as f64 / 1000.0,
    );
    e.add(
        "healthmon_run_duration_seconds",
        "gauge",
        "Wall time of the last run of the suite.",
        base.to_vec(),
        run.duration_ms / 1000.0,
    );
    for v in &run.verdicts {
        let mut l = base.to_vec();
        l.push(("component", v.host.clone()));
        l.push(("protocol", v.protocol.clone()));
        e.add(
            "healthmon_verdict_info",
            "gauge",
            "A root cause isolated by the last run (1 while it stands).",
            l,
            1.0,
        );
    }
}

/// The samples of one case (none for a skipped one: it did not run).
pub fn add_case(e: &mut Exposition, base: &[(&'static str, String)], r: &CaseResult) {
    if r.status == Status::Skipped {
        return;
    }
    let labels = || {
        let mut l = base.to_vec();
        l.push(("case", r.id.clone()));
        l.push(("kind", r.kind.clone()));
        l.push(("component", component(r)));
        l
    };
    e.add(
        "healthmon_probe_success",
        "gauge",
        "1 if the case passed, 0 if it failed or could not run.",
        labels(),
        if r.status == Status::Pass { 1.0 } else { 0.0 },
    );
    e.add(
        "healthmon_check_state",
        "gauge",
        "Nagios state of the case: 0 ok, 1 warning, 2 critical (also unreachable), 3 unknown (healthmon's own problem).",
        labels(),
        state(r),
    );
    // When this result was measured: the daemon keeps a case's last result
    // across runs that did not include it, so its age must be visible.
    let ended = r.started_at.timestamp_millis() as f64 / 1000.0 + r.duration_ms / 1000.0;
    e.add(
        "healthmon_case_last_run_timestamp_seconds",
        "gauge",
        "Unix time the case's last run ended (its other series are from that run).",
        labels(),
        ended,
    );
    let o = &r.observation;
    e.add(
        "healthmon_probe_duration_seconds",
        "gauge",
        "Total time of the case in seconds.",
        labels(),
        o.phase_ms("total").unwrap_or(r.duration_ms) / 1000.0,
    );
    let mut seen: Vec<&str> = Vec::new();
    for p in &o.phases {
        if p.phase == "total" || seen.contains(&p.phase.as_str()) {
            continue;
        }
        seen.push(&p.phase);
        let mut l = labels();
        l.push(("phase", p.phase.clone()));
        e.add(
            "healthmon_probe_phase_duration_seconds",
            "gauge",
            "Time of one phase of the case (summed over its occurrences) in seconds.",
            l,
            o.phase_ms(&p.phase).unwrap_or(p.ms) / 1000.0,
        );
    }
    if r.label("check") == "queue" {
        for m in o.metrics.iter().filter(|m| m.unit.is_empty()) {
            let mut l = labels();
            l.push(("queue", m.name.clone()));
            e.add(
                "healthmon_queue_messages",
                "gauge",
                "Messages in a mail queue of the host.",
                l,
                m.value,
            );
        }
    }
    if let Some(t) = o
        .facts
        .get("tls_cert_not_after")
        .and_then(|t| t.parse::<i64>().ok())
    {
        e.add(
            "healthmon_tls_cert_expiry_timestamp_seconds",
            "gauge",
            "notAfter of the server certificate seen by the case, unix seconds.",
            labels(),
            t as f64,
        );
    }
    for g in super::metrics_host::gauges(r) {
        let mut l = base.to_vec();
        l.extend(g.labels);
        e.add(g.family, "gauge", g.help, l, g.value);
    }
}

/// Exposition of a set of runs (the latest per suite), without a selection
/// label.
pub fn render(runs: &[&RunSummary]) -> String {
    let mut e = Exposition::default();
    for r in runs {
        add_run(&mut e, r, None);
    }
    e.render()
}

/// Reduce to `[A-Za-z0-9_]` for a file name.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `healthmon_<site>.prom` for the whole suite, else
/// `healthmon_<site>_<key>_<value>[_<key>_<value>…].prom` (e.g.
/// `healthmon_isp_host_mta1.prom`, `healthmon_isp_slot_15.prom`), names and
/// values reduced to `[A-Za-z0-9_]`.
pub fn textfile_path(dir: &Path, site: &str, sel: &Selection) -> PathBuf {
    let mut name = format!("healthmon_{}", file_safe(site));
    for (k, v) in &sel.0 {
        name.push_str(&format!("_{k}_{}", file_safe(v)));
    }
    dir.join(format!("{name}.prom"))
}

/// Write the run's textfile atomically (temp file + rename: node_exporter
/// never reads half a file); its series carry the `selection` label.
pub fn write_textfile(dir: &Path, run: &RunSummary, sel: &Selection) -> Result<PathBuf, String> {
    let p = textfile_path(dir, &run.site, sel);
    let mut e = Exposition::default();
    add_run(&mut e, run, Some(sel));
    crate::atomic::write(&p, e.render().as_bytes()).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_values() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(value(1.5), "1.5");
        assert_eq!(value(f64::INFINITY), "+Inf");
        let all = Selection::default();
        assert_eq!(
            textfile_path(Path::new("/d"), "isp.example/x", &all).to_str(),
            Some("/d/healthmon_isp_example_x.prom")
        );
        let part = Selection(vec![("host", "mta1.isp".into()), ("shard", "2of3".into())]);
        assert_eq!(
            textfile_path(Path::new("/d"), "isp", &part).to_str(),
            Some("/d/healthmon_isp_host_mta1_isp_shard_2of3.prom")
        );
        assert_eq!(
            (all.label(), part.label()),
            ("all".to_string(), "host=mta1.isp,shard=2of3".to_string())
        );
    }

    #[test]
    fn queue_counts_and_cert_expiry_become_series() {
        use crate::result::{CaseResult, Observation};
        let mut o = Observation::default();
        o.metric("active", 3.0, "");
        o.metric("deferred", 7.0, "");
        o.metric("oldest_age", 60.0, "s");
        o.fact("tls_cert_not_after", "1900000000");
        let now = chrono::Utc::now();
        let r = CaseResult {
            id: "host/mta1/queue".into(),
            kind: "host".into(),
            site: "isp".into(),
            suite: "isp".into(),
            labels: [("host", "mta1"), ("check", "queue")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            started_at: now,
            duration_ms: 5.0,
            status: Status::Warning,
            message: "deferred 7 > warning 5 <secret text>".into(),
            observation: o,
            verdict: None,
            limits: Default::default(),
        };
        let run = RunSummary {
            run_id: "r1".into(),
            site: "isp".into(),
            suites: vec!["isp".into()],
            started_at: now,
            finished_at: now,
            duration_ms: 5.0,
            results: vec![r],
            verdicts: vec![],
            notes: vec![],
        };
        let t = render(&[&run]);
        let l = r#"{site="isp",suite="isp",case="host/mta1/queue",kind="host",component="mta1""#;
        assert!(
            t.contains(&format!(
                "healthmon_queue_messages{l},queue=\"deferred\"}} 7"
            )),
            "{t}"
        );
        assert!(
            !t.contains("queue=\"oldest_age\""),
            "ages are not message counts"
        );
        assert!(t.contains(&format!("healthmon_check_state{l}}} 1")), "{t}");
        // The same state as `healthmon check`: a site error 2, our own 3.
        let mut down = run.results[0].clone();
        down.status = Status::Error;
        down.observation.error = Some(crate::result::ProbeError {
            phase: "connect".into(),
            kind: crate::result::ErrorKind::Refused,
            message: "connection refused".into(),
            host: None,
            protocol: None,
        });
        assert_eq!(state(&down), 2.0);
        down.observation.error.as_mut().unwrap().kind = crate::result::ErrorKind::Local;
        assert_eq!(state(&down), 3.0);
        assert!(t.contains(&format!(
            "healthmon_tls_cert_expiry_timestamp_seconds{l}}} 1900000000"
        )));
        assert!(
            !t.contains("secret") && !t.contains("r1"),
            "no text, no run ids in labels"
        );
    }

    #[test]
    fn families_are_grouped() {
        let mut e = Exposition::default();
        e.add("a_x", "gauge", "h", vec![("k", "1".into())], 1.0);
        e.add("b_y", "gauge", "h", vec![], 2.0);
        e.add("a_x", "gauge", "h", vec![("k", "2".into())], 3.0);
        let t = e.render();
        assert_eq!(t.matches("# TYPE a_x").count(), 1);
        assert!(
            t.find("a_x{k=\"2\"} 3").unwrap() < t.find("# HELP b_y").unwrap(),
            "{t}"
        );
    }
}
