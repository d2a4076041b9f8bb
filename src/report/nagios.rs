//! Nagios / Icinga plugin output (`run --format nagios`, `healthmon check`),
//! per the monitoring-plugins development guidelines:
//!
//! ```text
//! HEALTHMON CRITICAL - 2 of 32 cases failed: store1 imap, mta2 smtp | 'cases'=32;;;0; 'failed'=2;;;0;
//! CRITICAL rndtrip/ims1/mta1/store1/imap: retrieve: ... (store1)
//! 32 cases run, 30 passed, 0 skipped in 12.3s | 'rndtrip/ims1/mta1/mmp1/pop3'=812ms;5000;15000;0;
//! 'rndtrip/ims1/mta1/mmp1/pop3 delivery'=301ms;3000;10000;0;
//! ```
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

/// The reporter: a pure function of the finished run (the limits each case
/// was judged against travel in its result).
#[derive(Debug, Clone, Copy, Default)]
pub struct Nagios;

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
        for r in &bad {
            let why = match &r.verdict {
                Some(v) => format!(" ({v})"),
                None => String::new(),
            };
            out.push_str(&text(&format!(
                "{} {}: {}{why}",
                r.nagios_state().word(),
                r.id,
                r.message
            )));
            out.push('\n');
        }
        for p in problems {
            out.push_str(&text(&format!("UNKNOWN {p}")));
            out.push('\n');
        }
        for v in &run.verdicts {
            out.push_str(&text(&format!("verdict {}", v.line())));
            out.push('\n');
        }
        let skipped = run.results.len() - ran.len();
        out.push_str(&format!(
            "{} cases run, {} passed, {skipped} skipped in {:.1}s",
            ran.len(),
            ran.len() - bad.len(),
            run.duration_ms / 1000.0
        ));
        let perf = self.perfdata(&ran);
        let mut first = true;
        for item in perf {
            out.push_str(if first { " | " } else { "\n" });
            out.push_str(&item);
            first = false;
        }
        out.push('\n');
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
                    (None, None),
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
        let (out, state) = Nagios.render_with(&run, &[]);
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
        let (out, state) = Nagios.render_with(&run, &[]);
        assert_eq!(state, NagiosState::Unknown);
        assert!(out.starts_with("HEALTHMON UNKNOWN - 1 of 2 cases failed: rndtrip/a"));
        assert!(out.contains("\nUNKNOWN rndtrip/a: "), "{out}");
    }

    #[test]
    fn nothing_run_is_unknown() {
        let run = summary(vec![result("a", Status::Skipped, None)]);
        let (out, state) = Nagios.render_with(&run, &[]);
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
        let (out, state) = Nagios.render_with(&ok, &problems);
        assert_eq!(state, NagiosState::Unknown);
        assert!(
            out.starts_with(
                "HEALTHMON UNKNOWN - json report failed: results: Not a directory; 1 of 1 cases passed |"
            ),
            "{out}"
        );
        assert!(out.contains("\nUNKNOWN json report failed: "), "{out}");
        let warn = summary(vec![result("a", Status::Warning, None)]);
        let (out, state) = Nagios.render_with(&warn, &problems);
        assert_eq!(state, NagiosState::Warning);
        assert!(
            out.starts_with("HEALTHMON WARNING - 1 of 1 cases failed: a; json report failed"),
            "{out}"
        );
        let two = [problems[0].clone(), "textfile: x".into()];
        let (out, _) = Nagios.render_with(&ok, &two);
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
        let perf = Nagios.perfdata(&[&r]);
        assert_eq!(
            perf,
            [
                "rndtrip/a=812ms;100;15000;0;",
                "'rndtrip/a delivery'=300ms;3000;10000;0;"
            ]
        );
    }
}
