//! Nagios / Icinga plugin output (`run --format nagios`, `healthmon check`),
//! per the monitoring-plugins development guidelines:
//!
//! ```text
//! HEALTHMON CRITICAL - 2 of 32 cases failed: store1 imap, mta2 smtp | 'cases'=32;;;0; 'failed'=2;;;0;
//! CRITICAL rndtrip/ims1/mta1/store1/imap: retrieve: ... (store1)
//! 32 cases run, 30 passed, 0 skipped in 12.3s | 'warning'=0;;;0; 'critical'=1;;;0;
//! 'error'=1;;;0; 'rndtrip total max'=812ms;5000;15000;0; ...
//! ```
//!
//! Perfdata is a summary by default (counts, the worst and median round
//! trip, the worst delivery): a few hundred bytes whatever the suite's size.
//! `--perfdata cases` adds one item per case, phase and metric (a full
//! local run: ≈ 1,400 items, ≈ 94 KB — needs NRPE v3+ and `--max-output
//! 0`). The long text is cut to `--max-output` bytes (default 1,024, NRPE
//! v2's packet: the strictest transport) with a `+N more` line; the status
//! line and the perfdata are never cut.
//!
//! The state comes from `RunSummary::nagios_state` (0 OK, 1 WARNING,
//! 2 CRITICAL, 3 UNKNOWN; a site that cannot be reached is CRITICAL, UNKNOWN
//! is healthmon's own failure); the status word always matches the exit
//! code. A run that ends before it measures (bad arguments, configuration,
//! lock, timeout) prints one [`unknown`] line.

use std::collections::BTreeMap;

use super::{Outputs, Reporter};
use crate::nagios_range::{Range, num};
use crate::result::{CaseResult, NagiosState, RunSummary, Status};

/// Items named in the status line before `+N more`.
const STATUS_ITEMS: usize = 4;
/// RRD (pnp4nagios, Icinga) keeps the first 19 characters of a label.
const LABEL_UNIQUE: usize = 19;

/// (warning, critical) of one perfdata item.
type Ranges = (Option<Range>, Option<Range>);

/// Default `--max-output`: NRPE v2's fixed packet (v3+ carries 64 KiB).
pub const DEFAULT_MAX_OUTPUT: usize = 1024;

/// Which perfdata the plugin prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Perfdata {
    /// Counts and the worst/median round trip: small whatever the suite.
    #[default]
    Summary,
    /// Also one item per case, phase and metric.
    Cases,
}

/// The reporter: a pure function of the finished run (the limits each case
/// was judged against travel in its result).
#[derive(Debug, Clone, Copy)]
pub struct Nagios {
    pub perfdata: Perfdata,
    /// Bytes the whole output may take (0: no limit); the long text gives way.
    pub max_output: usize,
}

impl Default for Nagios {
    fn default() -> Self {
        Nagios {
            perfdata: Perfdata::Summary,
            max_output: DEFAULT_MAX_OUTPUT,
        }
    }
}

/// Warn/crit fields of one phase of a case: the suite's limit, and on the
/// total time the `--warning/--critical` ranges where given.
fn limits_of(r: &CaseResult, phase: &str) -> Ranges {
    let l = &r.limits;
    let range = |d: Option<crate::suite::duration::Dur>| d.map(|d| Range::upto(d.ms()));
    let (w, c) = l
        .phases
        .get(phase)
        .map(|p| (range(p.warning), range(p.critical)))
        .unwrap_or((None, None));
    if phase == "total" {
        (l.total.0.or(w), l.total.1.or(c))
    } else {
        (w, c)
    }
}

impl Nagios {
    pub fn render(&self, run: &RunSummary) -> String {
        self.render_with(run, &[]).0
    }

    /// The output and state of a finished run that also met `problems` of
    /// healthmon's own after measuring (a report that could not be written):
    /// they make the state at least UNKNOWN (never OK) and are named in the
    /// status line — first when they decide the state, after the run's
    /// headline when the run itself is WARNING or CRITICAL.
    pub fn render_with(&self, run: &RunSummary, problems: &[String]) -> (String, NagiosState) {
        let mut state = run.nagios_state();
        let ran: Vec<&CaseResult> = run
            .results
            .iter()
            .filter(|r| r.status != Status::Skipped)
            .collect();
        let bad: Vec<&CaseResult> = ran.iter().copied().filter(|r| r.status.is_bad()).collect();
        let mut head = headline(run, &ran, &bad);
        if let Some(first) = problems.first() {
            let mut p = first.clone();
            if problems.len() > 1 {
                p.push_str(&format!(", +{} more", problems.len() - 1));
            }
            let p = text(&p);
            state = state.worst(NagiosState::Unknown);
            head = match state {
                NagiosState::Unknown => format!("{p}; {head}"),
                _ => format!("{head}; {p}"),
            };
        }
        let mut out = format!("HEALTHMON {} - {head}", state.word());
        out.push_str(&format!(
            " | 'cases'={};;;0; 'failed'={};;;0; 'duration'={}ms;;;0;\n",
            ran.len(),
            bad.len(),
            num(run.duration_ms)
        ));
        let mut long = Vec::new();
        for r in &bad {
            let why = match &r.verdict {
                Some(v) => format!(" ({v})"),
                None => String::new(),
            };
            long.push(text(&format!(
                "{} {}: {}{why}",
                r.nagios_state().word(),
                r.id,
                r.message
            )));
        }
        for p in problems {
            long.push(text(&format!("UNKNOWN {p}")));
        }
        for v in &run.verdicts {
            long.push(text(&format!("verdict {}", v.line())));
        }
        let skipped = run.results.len() - ran.len();
        let mut tail = format!(
            "{} cases run, {} passed, {skipped} skipped in {:.1}s",
            ran.len(),
            ran.len() - bad.len(),
            run.duration_ms / 1000.0
        );
        let mut perf = summary_perf(&ran);
        if self.perfdata == Perfdata::Cases {
            perf.extend(self.perfdata(&ran));
        }
        let mut first = true;
        for item in perf {
            tail.push_str(if first { " | " } else { "\n" });
            tail.push_str(&item);
            first = false;
        }
        tail.push('\n');
        if self.max_output > 0 {
            fit(
                &mut long,
                self.max_output.saturating_sub(out.len() + tail.len()),
            );
        }
        for l in long {
            out.push_str(&l);
            out.push('\n');
        }
        out.push_str(&tail);
        (out, state)
    }

    /// One item per case (total time), per recorded phase and per metric.
    fn perfdata(&self, ran: &[&CaseResult]) -> Vec<String> {
        let mut raw: Vec<(String, String, Ranges)> = Vec::new();
        for r in ran {
            let o = &r.observation;
            let total = o.phase_ms("total").unwrap_or(r.duration_ms);
            raw.push((
                r.id.clone(),
                format!("{}ms", num(total)),
                limits_of(r, "total"),
            ));
            let mut seen: Vec<&str> = Vec::new();
            for p in &o.phases {
                if p.phase == "total" || seen.contains(&p.phase.as_str()) {
                    continue;
                }
                seen.push(&p.phase);
                let ms = o.phase_ms(&p.phase).unwrap_or(p.ms);
                raw.push((
                    format!("{} {}", r.id, p.phase),
                    format!("{}ms", num(ms)),
                    limits_of(r, &p.phase),
                ));
            }
            for m in &o.metrics {
                let uom = if UOMS.contains(&m.unit.as_str()) {
                    m.unit.as_str()
                } else {
                    ""
                };
                raw.push((
                    format!("{} {}", r.id, m.name),
                    format!("{}{uom}", num(m.value)),
                    metric_limits(r, &m.name),
                ));
            }
        }
        let labels = unique_labels(raw.iter().map(|(l, _, _)| l.clone()).collect());
        raw.into_iter()
            .zip(labels)
            .map(|((_, value, (w, c)), label)| {
                let f = |r: Option<Range>| r.map(|r| r.to_string()).unwrap_or_default();
                let min = if value.ends_with("ms") { "0" } else { "" };
                format!("{}={value};{};{};{min};", quote(&label), f(w), f(c))
            })
            .collect()
    }
}

/// Keep the long-text lines that fit in `budget` bytes (each with its
/// newline); when some are dropped, a last `+N more` line says so.
fn fit(lines: &mut Vec<String>, budget: usize) {
    let size = |ls: &[String]| ls.iter().map(|l| l.len() + 1).sum::<usize>();
    if size(lines) <= budget {
        return;
    }
    let total = lines.len();
    while lines.pop().is_some() {
        let more = format!(
            "+{} more (every case: <reports>/last-run.json)",
            total - lines.len()
        );
        if size(lines) + more.len() < budget {
            lines.push(more);
            return;
        }
    }
}

/// The summary perfdata: counts by state and, when round trips ran, the
/// worst and median total time (with the limits of the worst case) and the
/// worst delivery time.
fn summary_perf(ran: &[&CaseResult]) -> Vec<String> {
    let count = |s: Status| ran.iter().filter(|r| r.status == s).count();
    let mut out = vec![
        format!("'warning'={};;;0;", count(Status::Warning)),
        format!("'critical'={};;;0;", count(Status::Critical)),
        format!("'error'={};;;0;", count(Status::Error)),
    ];
    let mut trips: Vec<(&CaseResult, f64)> = ran
        .iter()
        .filter(|r| r.kind == "roundtrip")
        .filter_map(|r| r.observation.phase_ms("total").map(|t| (*r, t)))
        .collect();
    if trips.is_empty() {
        return out;
    }
    trips.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (worst, max) = trips[trips.len() - 1];
    let median = trips[(trips.len() - 1) / 2].1;
    let f = |r: Option<Range>| r.map(|r| r.to_string()).unwrap_or_default();
    let (w, c) = limits_of(worst, "total");
    out.push(format!(
        "'rndtrip total max'={}ms;{};{};0;",
        num(max),
        f(w),
        f(c)
    ));
    out.push(format!("'rndtrip total p50'={}ms;;;0;", num(median)));
    let delivery = ran
        .iter()
        .filter_map(|r| r.observation.phase_ms("delivery"))
        .fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.max(d))));
    if let Some(d) = delivery {
        out.push(format!("'delivery max'={}ms;;;0;", num(d)));
    }
    out
}

/// Warn/crit of a host-check metric from the check's limits (`warning`,
/// `critical` above; `*_below` below).
fn metric_limits(r: &CaseResult, metric: &str) -> Ranges {
    let Some(l) = r.limits.metrics.get(metric) else {
        return (None, None);
    };
    let range = |below: Option<f64>, above: Option<f64>| {
        (below.is_some() || above.is_some()).then_some(Range {
            start: below.or(above.map(|_| 0.0)),
            end: above,
            inside: false,
        })
    };
    (
        range(l.warning_below, l.warning),
        range(l.critical_below, l.critical),
    )
}

/// Units of measure the guidelines allow.
const UOMS: &[&str] = &["", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"];

/// The whole output of a plugin run that ended before it had a run to
/// report (bad arguments, invalid configuration, the run lock, the plugin's
/// timeout, an internal error): one UNKNOWN status line. `reason` must hold
/// no secret; details belong on stderr.
pub fn unknown(reason: &str) -> String {
    format!("HEALTHMON UNKNOWN - {}\n", text(reason))
}

/// `2 of 32 cases failed: store1 imap, rndtrip/...` — root causes (verdicts)
/// first, then failing cases no verdict explains.
fn headline(run: &RunSummary, ran: &[&CaseResult], bad: &[&CaseResult]) -> String {
    if ran.is_empty() {
        return "no case selected (check --only/--skip/--rotate/--host/--shard)".into();
    }
    if bad.is_empty() {
        return format!("{} of {} cases passed", ran.len(), ran.len());
    }
    let mut items: Vec<String> = run
        .verdicts
        .iter()
        .map(|v| format!("{} {}", v.host, v.protocol))
        .collect();
    items.extend(
        bad.iter()
            .filter(|r| r.verdict.is_none())
            .map(|r| r.id.clone()),
    );
    let more = items.len().saturating_sub(STATUS_ITEMS);
    items.truncate(STATUS_ITEMS);
    let mut s = format!(
        "{} of {} cases failed: {}",
        bad.len(),
        ran.len(),
        items.join(", ")
    );
    if more > 0 {
        s.push_str(&format!(", +{more} more"));
    }
    text(&s)
}

/// Plugin text: one line, no `|` (it starts perfdata).
fn text(s: &str) -> String {
    super::one_line(s).replace('|', "/")
}

/// Quote a perfdata label per the guidelines: `=` is not allowed in a label
/// (replaced by `_`); a label with a space or `'` is single-quoted, with `'`
/// doubled. Control characters become spaces.
pub fn quote(label: &str) -> String {
    let l: String = label
        .chars()
        .map(|c| match c {
            '=' => '_',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    if l.contains([' ', '\'']) {
        format!("'{}'", l.replace('\'', "''"))
    } else {
        l
    }
}

/// Make the first 19 characters of every label unique. Labels that share
/// their 19-character prefix get a `#xxxxxx ` prefix, a hash of the label:
/// stable from run to run (the label names an RRD data source), unlike a
/// position. Should two hashes clash, those labels get `#N ` positions.
pub fn unique_labels(labels: Vec<String>) -> Vec<String> {
    let key = |l: &str| l.chars().take(LABEL_UNIQUE).collect::<String>();
    let tagged = |ls: Vec<String>, hash_too: bool, tag: &dyn Fn(usize, &str) -> String| {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for l in &ls {
            *count.entry(key(l)).or_default() += 1;
        }
        ls.iter()
            .enumerate()
            .map(|(i, l)| {
                // A label of the input that starts with `#` could pose as a tag.
                if count[&key(l)] > 1 || (hash_too && l.starts_with('#')) {
                    tag(i, l)
                } else {
                    l.clone()
                }
            })
            .collect::<Vec<String>>()
    };
    let hashed = tagged(labels, true, &|_, l| {
        format!("#{:06x} {l}", fnv(l) & 0xff_ffff)
    });
    tagged(hashed, false, &|i, l| format!("#{} {l}", i + 1))
}

fn fnv(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

impl Reporter for Nagios {
    fn name(&self) -> &'static str {
        "nagios"
    }
    fn report(&self, run: &RunSummary, _out: &Outputs) -> Result<(), String> {
        use std::io::Write as _;
        let mut o = std::io::stdout().lock();
        o.write_all(self.render(run).as_bytes())
            .and_then(|_| o.flush())
            .map_err(|e| format!("stdout: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::fixtures::{case as result, summary};

    #[test]
    fn quoting_and_numbers() {
        assert_eq!(quote("rndtrip/ims1"), "rndtrip/ims1");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it''s'");
        assert_eq!(quote("a=b"), "a_b");
        assert_eq!(num(812.34567), "812.346");
        assert_eq!(num(10.0), "10");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(f64::NAN), "0");
    }

    #[test]
    fn labels_unique_in_19_chars() {
        let l = unique_labels(vec![
            "rndtrip/ims1/mta1/mmp1/pop3".into(),
            "rndtrip/ims1/mta1/mmp1/pop3 connect".into(),
            "short".into(),
        ]);
        assert_eq!(l[2], "short");
        assert!(
            l[0].starts_with('#') && l[0].ends_with(" rndtrip/ims1/mta1/mmp1/pop3"),
            "{l:?}"
        );
        assert_eq!(l[0].matches('#').count(), 1, "{l:?}");
        // Stable: the same label gets the same prefix in another set.
        let again = unique_labels(vec![
            "rndtrip/ims1/mta1/mmp1/pop3".into(),
            "rndtrip/ims1/mta1/mmp1/pop3 delivery".into(),
        ]);
        assert_eq!(again[0], l[0]);
        let keys: std::collections::BTreeSet<String> =
            l.iter().map(|x| x.chars().take(19).collect()).collect();
        assert_eq!(keys.len(), 3);
    }

    #[test]
    fn an_unreachable_site_is_critical_our_own_problem_unknown() {
        use crate::result::ErrorKind;
        let run = summary(vec![
            result("host/mta1/port", Status::Error, Some(ErrorKind::Refused)),
            result("host/mta2/port", Status::Pass, None),
        ]);
        let (out, state) = Nagios::default().render_with(&run, &[]);
        assert_eq!(state, NagiosState::Critical);
        assert!(
            out.starts_with("HEALTHMON CRITICAL - 1 of 2 cases failed: host/mta1/port |"),
            "{out}"
        );
        assert!(
            out.contains("\nCRITICAL host/mta1/port: connect: refused\n"),
            "{out}"
        );
        let run = summary(vec![
            result("rndtrip/a", Status::Error, Some(ErrorKind::Local)),
            result("host/mta2/port", Status::Pass, None),
        ]);
        let (out, state) = Nagios::default().render_with(&run, &[]);
        assert_eq!(state, NagiosState::Unknown);
        assert!(out.starts_with("HEALTHMON UNKNOWN - 1 of 2 cases failed: rndtrip/a"));
        assert!(out.contains("\nUNKNOWN rndtrip/a: "), "{out}");
    }

    #[test]
    fn nothing_run_is_unknown() {
        let run = summary(vec![result("a", Status::Skipped, None)]);
        let (out, state) = Nagios::default().render_with(&run, &[]);
        assert_eq!(state, NagiosState::Unknown);
        assert!(
            out.starts_with("HEALTHMON UNKNOWN - no case selected"),
            "{out}"
        );
    }

    /// A report that could not be written never leaves the state OK; it
    /// comes first when it decides the state, after the headline otherwise.
    #[test]
    fn own_problems_after_the_run_are_at_least_unknown() {
        let problems = ["json report failed: results: Not a directory".to_string()];
        let ok = summary(vec![result("a", Status::Pass, None)]);
        let (out, state) = Nagios::default().render_with(&ok, &problems);
        assert_eq!(state, NagiosState::Unknown);
        assert!(
            out.starts_with(
                "HEALTHMON UNKNOWN - json report failed: results: Not a directory; 1 of 1 cases passed |"
            ),
            "{out}"
        );
        assert!(out.contains("\nUNKNOWN json report failed: "), "{out}");
        let warn = summary(vec![result("a", Status::Warning, None)]);
        let (out, state) = Nagios::default().render_with(&warn, &problems);
        assert_eq!(state, NagiosState::Warning);
        assert!(
            out.starts_with("HEALTHMON WARNING - 1 of 1 cases failed: a; json report failed"),
            "{out}"
        );
        let two = [problems[0].clone(), "textfile: x".into()];
        let (out, _) = Nagios::default().render_with(&ok, &two);
        assert!(out.contains("Not a directory, +1 more; "), "{out}");
        assert_eq!(
            unknown("a | b\nc"),
            "HEALTHMON UNKNOWN - a / b c\n",
            "one line, no perfdata separator"
        );
    }

    #[test]
    fn warn_and_crit_fields_come_from_the_result() {
        use crate::result::{CaseLimits, Observation};
        use crate::suite::duration::Dur;
        use crate::suite::model::Limit;
        let mut o = Observation::default();
        o.phase("delivery", 300.0);
        o.phase("total", 812.0);
        let lim = |w, c| Limit {
            warning: Some(Dur::from_ms(w)),
            critical: Some(Dur::from_ms(c)),
        };
        let r = CaseResult {
            id: "rndtrip/a".into(),
            kind: "roundtrip".into(),
            site: "s".into(),
            suite: "s".into(),
            labels: Default::default(),
            started_at: chrono::Utc::now(),
            duration_ms: 900.0,
            status: Status::Pass,
            message: String::new(),
            observation: o,
            verdict: None,
            limits: CaseLimits {
                phases: [
                    ("total".to_string(), lim(5000, 15000)),
                    ("delivery".to_string(), lim(3000, 10000)),
                ]
                .into(),
                // `--warning 100` replaces the suite's total warning only.
                total: (Some("100".parse().unwrap()), None),
                metrics: Default::default(),
            },
        };
        let perf = Nagios::default().perfdata(&[&r]);
        assert_eq!(
            perf,
            [
                "rndtrip/a=812ms;100;15000;0;",
                "'rndtrip/a delivery'=300ms;3000;10000;0;"
            ]
        );
    }

    fn trip(id: &str, status: Status, total: f64, delivery: f64) -> CaseResult {
        let mut r = result(id, status, None);
        r.kind = "roundtrip".into();
        r.observation.phase("delivery", delivery);
        r.observation.phase("total", total);
        r
    }

    #[test]
    fn summary_perfdata_by_default_cases_on_request() {
        let run = summary(vec![
            trip("rndtrip/a", Status::Pass, 800.0, 300.0),
            trip("rndtrip/b", Status::Critical, 20_000.0, 700.0),
            trip("rndtrip/c", Status::Pass, 900.0, 400.0),
            result(
                "host/mta1/port",
                Status::Error,
                Some(crate::result::ErrorKind::Refused),
            ),
        ]);
        let (out, _) = Nagios::default().render_with(&run, &[]);
        let tail = &out[out.find("cases run").unwrap()..];
        assert_eq!(
            tail.split_once(" | ")
                .unwrap()
                .1
                .trim_end()
                .replace('\n', " "),
            "'warning'=0;;;0; 'critical'=1;;;0; 'error'=1;;;0; 'rndtrip total max'=20000ms;;;0; \
             'rndtrip total p50'=900ms;;;0; 'delivery max'=700ms;;;0;",
            "{out}"
        );
        assert!(
            !out.contains("rndtrip/a="),
            "no per-case items by default: {out}"
        );
        let cases = Nagios {
            perfdata: Perfdata::Cases,
            max_output: 0,
        };
        let (out, _) = cases.render_with(&run, &[]);
        assert!(out.contains("rndtrip/a=800ms"), "{out}");
        assert!(out.contains("'rndtrip total max'=20000ms"), "{out}");
    }

    #[test]
    fn long_text_gives_way_to_the_output_limit() {
        let many: Vec<CaseResult> = (0..200)
            .map(|i| {
                trip(
                    &format!("rndtrip/ims{i}/mta1/mmp1/pop3"),
                    Status::Critical,
                    1.0,
                    1.0,
                )
            })
            .collect();
        let run = summary(many);
        let (out, _) = Nagios::default().render_with(&run, &[]);
        assert!(out.len() <= DEFAULT_MAX_OUTPUT, "{} bytes", out.len());
        assert!(
            out.starts_with("HEALTHMON CRITICAL - 200 of 200 cases failed"),
            "{out}"
        );
        let lines: Vec<&str> = out.lines().collect();
        let tail = lines.iter().position(|l| l.contains("cases run")).unwrap();
        let more = lines[tail - 1];
        assert!(more.starts_with('+') && more.contains(" more"), "{out}");
        let kept = tail - 2;
        assert!(kept > 0, "some failing cases are shown: {out}");
        let n: usize = more[1..].split(' ').next().unwrap().parse().unwrap();
        assert_eq!(
            kept + n,
            200,
            "every failing case is shown or counted: {out}"
        );
        assert!(
            out.ends_with("'delivery max'=1ms;;;0;\n"),
            "perfdata kept: {out}"
        );
        // No limit: every line.
        let all = Nagios {
            max_output: 0,
            ..Nagios::default()
        };
        let (out, _) = all.render_with(&run, &[]);
        assert_eq!(
            out.lines().filter(|l| l.starts_with("CRITICAL ")).count(),
            200
        );
    }

    #[test]
    fn host_check_metrics_carry_their_limits() {
        use crate::suite::limit::NumLimit;
        let mut r = result("host/mta1/system", Status::Pass, None);
        r.observation.metric("cpu_busy", 42.0, "%");
        r.observation.metric("free_mb", 900.0, "");
        r.limits.metrics.insert(
            "cpu_busy".into(),
            NumLimit {
                warning: Some(80.0),
                critical: Some(95.0),
                ..Default::default()
            },
        );
        r.limits.metrics.insert(
            "free_mb".into(),
            NumLimit {
                warning_below: Some(500.0),
                critical_below: Some(100.0),
                ..Default::default()
            },
        );
        let perf = Nagios::default().perfdata(&[&r]);
        assert!(
            perf.contains(&"'host/mta1/system cpu_busy'=42%;80;95;;".to_string()),
            "{perf:?}"
        );
        assert!(
            perf.contains(&"'host/mta1/system free_mb'=900;500:;100:;;".to_string()),
            "{perf:?}"
        );
    }
}
