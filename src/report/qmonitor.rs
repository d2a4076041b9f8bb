//! qmonitor.log: one row per run of a host's checks, in the seed's layout.
//!
//! ```text
//! DATE COLLECTED: 10 Jan 2001
//! instance name = msg-smtp1
//! +---------------------------------------------------------------------------------------------------+
//! |                                 System and Queue monitoring data                                  |
//! +-----+----------------+------------+---------+----------------------------+------------------------+
//! |     | Msgs in Queue  | Available  |         |            CPU             |   TCP/IP Connections   |
//! |Time | act   | held   | swap       |Scanrate | us   | sys  | wt   | id    |smtp|imap|pop3|ldap|http|
//! +-----+-------+--------+------------+---------+------+------+------+-------+----+----+----+----+----+
//! |00:10|     0 |      0 |   2005656k |       0 |    0 |    0 |    2 |    97 |   0|  50|   0|  55|   0|
//! ```
//! The column widths are the seed's (its separator lines survive intact);
//! the seed's padding inside cells was lost, so values are right-aligned.
//! The header block is written when the file is new, the local date changes
//! or another instance writes. Values come only from the host checks in the
//! run (queue, system, connections); a column with no measurement is blank.
//!
//! Columns: act = queued messages not on hold (Postfix: total − hold; Sun,
//! Exim, command: total), held = Postfix hold queue, swap = free swap (kB),
//! Scanrate = pages scanned/s, us/sys/wt/id = CPU %, connections per
//! protocol family (smtp = smtp + submission + smtps, imap = imap + imaps ...).

use std::path::Path;

use chrono::{Local, NaiveDateTime};

use crate::result::{CaseResult, RunSummary};

pub const FILE: &str = "qmonitor.log";

/// Cell widths between the `|` of a row (the seed's separator line).
const WIDTHS: [usize; 14] = [5, 7, 8, 12, 9, 6, 6, 6, 7, 4, 4, 4, 4, 4];
const LABELS: [&str; 14] = [
    "Time", " act", " held", " swap", "Scanrate", " us", " sys", " wt", " id", "smtp", "imap",
    "pop3", "ldap", "http",
];
/// Column groups of the second header line: (cells spanned, label).
const GROUPS: [(usize, &str); 6] = [
    (1, ""),
    (2, "Msgs in Queue"),
    (1, "Available"),
    (1, ""),
    (4, "CPU"),
    (5, "TCP/IP Connections"),
];
const TITLE: &str = "System and Queue monitoring data";
/// Connection columns and the protocols each one sums.
const CONN_COLUMNS: [&[&str]; 5] = [
    &["smtp", "submission", "smtps"],
    &["imap", "imaps"],
    &["pop3", "pop3s"],
    &["ldap", "ldaps"],
    &["http", "https"],
];

/// Append this run's row for `instance` (a suite host name) to
/// `reports_dir/qmonitor.log`, with a header block when needed. Only the
/// log's tail is read (see `logfile::HEADER_WINDOW`).
pub fn append(reports_dir: &Path, instance: &str, summary: &RunSummary) -> std::io::Result<()> {
    let path = reports_dir.join(FILE);
    let tail = crate::logfile::tail(&path, crate::logfile::HEADER_WINDOW, "DATE COLLECTED:")?;
    let at = summary.started_at.with_timezone(&Local).naive_local();
    let text = render(&tail.text, instance, summary, at);
    crate::logfile::append(&path, text.as_bytes())
}

/// What to append after `existing`: maybe a header block, then one row.
pub fn render(existing: &str, instance: &str, summary: &RunSummary, at: NaiveDateTime) -> String {
    let date = at.format("%d %b %Y").to_string();
    let last = |prefix: &str| {
        existing
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(prefix).map(str::trim))
    };
    let mut out = String::new();
    if last("DATE COLLECTED:") != Some(date.as_str()) || last("instance name =") != Some(instance) {
        if !existing.is_empty() {
            out.push('\n');
        }
        header(&mut out, &date, instance);
    }
    let cells = row_values(summary, instance);
    out.push('|');
    out.push_str(&at.format("%H:%M").to_string());
    out.push('|');
    for (v, w) in cells.iter().zip(&WIDTHS[1..]) {
        out.push_str(&cell(v.as_deref(), *w));
        out.push('|');
    }
    out.push('\n');
    out
}

fn header(out: &mut String, date: &str, instance: &str) {
    let inner: usize = WIDTHS.iter().sum::<usize>() + WIDTHS.len() - 1;
    out.push_str(&format!(
        "DATE COLLECTED: {date}\ninstance name = {instance}\n"
    ));
    out.push_str(&format!("+{}+\n", "-".repeat(inner)));
    out.push_str(&format!("|{}|\n", center(TITLE, inner)));
    let mut i = 0;
    let mut spans = Vec::new();
    for (n, label) in GROUPS {
        let w: usize = WIDTHS[i..i + n].iter().sum::<usize>() + n - 1;
        spans.push((w, label));
        i += n;
    }
    let sep = |widths: &mut dyn Iterator<Item = usize>| {
        let parts: Vec<String> = widths.map(|w| "-".repeat(w)).collect();
        format!("+{}+\n", parts.join("+"))
    };
    out.push_str(&sep(&mut spans.iter().map(|(w, _)| *w)));
    let groups: Vec<String> = spans.iter().map(|(w, l)| center(l, *w)).collect();
    out.push_str(&format!("|{}|\n", groups.join("|")));
    let labels: Vec<String> = LABELS
        .iter()
        .zip(WIDTHS)
        .map(|(l, w)| format!("{l:<w$}"))
        .collect();
    out.push_str(&format!("|{}|\n", labels.join("|")));
    out.push_str(&sep(&mut WIDTHS.iter().copied()));
}

fn center(s: &str, w: usize) -> String {
    let pad = w.saturating_sub(s.len());
    let left = pad / 2;
    format!("{}{s}{}", " ".repeat(left), " ".repeat(pad - left))
}

/// Right-aligned; wide columns keep one space before the bar (the seed's
/// `| 2005656k |`), the 4-wide connection columns do not (`|  50|`). A
/// number wider than its column is printed whole, never cut.
fn cell(v: Option<&str>, w: usize) -> String {
    match v {
        None => " ".repeat(w),
        Some(v) if w > 4 => format!("{v:>0$} ", w - 1),
        Some(v) => format!("{v:>w$}"),
    }
}

/// The 13 value cells after Time, from the instance's host-check results.
fn row_values(summary: &RunSummary, instance: &str) -> Vec<Option<String>> {
    let host: Vec<&CaseResult> = summary
        .results
        .iter()
        .filter(|r| r.kind == "host" && r.label("host") == instance)
        .collect();
    let metric = |check: &str, name: &str| {
        host.iter()
            .filter(|r| r.label("check") == check)
            .find_map(|r| r.observation.metric_value(name))
    };
    let int = |v: Option<f64>| v.map(|v| format!("{}", v.round() as i64));
    let total = metric("queue", "total");
    let hold = metric("queue", "hold");
    let act = match (total, hold) {
        (Some(t), Some(h)) => Some(t - h),
        (t, _) => t,
    };
    let mut v = vec![
        int(act),
        int(hold),
        metric("system", "swap_free_kb").map(|k| format!("{}k", k.round() as i64)),
        int(metric("system", "scan_rate")),
        int(metric("system", "cpu_user")),
        int(metric("system", "cpu_system")),
        int(metric("system", "cpu_iowait")),
        int(metric("system", "cpu_idle")),
    ];
    for protos in CONN_COLUMNS {
        let found: Vec<f64> = protos
            .iter()
            .filter_map(|p| metric("connections", p))
            .collect();
        v.push(int((!found.is_empty()).then(|| found.iter().sum())));
    }
    v
}

/// File reporter: one row per host whose checks ran in this run.
pub struct QmonitorLog;

impl super::Reporter for QmonitorLog {
    fn name(&self) -> &'static str {
        "qmonitor"
    }
    fn report(&self, run: &RunSummary, out: &super::Outputs) -> Result<(), String> {
        let mut hosts: Vec<&str> = Vec::new();
        for r in run
            .results
            .iter()
            .filter(|r| r.kind == "host" && r.status != crate::result::Status::Skipped)
        {
            let h = r.label("host");
            if !h.is_empty() && !hosts.contains(&h) {
                hosts.push(h);
            }
        }
        let path = out.reports_dir.join(FILE);
        if !hosts.is_empty() {
            // Once per run, so one run's rows stay in one file; at most a
            // header block, a blank line and a row per host come in.
            let at = run.started_at.with_timezone(&Local).naive_local();
            let incoming: usize = hosts.iter().map(|h| render("", h, run, at).len() + 1).sum();
            out.rotation
                .apply(&path, incoming as u64, Local::now())
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        for h in hosts {
            append(&out.reports_dir, h, run)
                .map_err(|e| format!("{}: {e}", out.reports_dir.join(FILE).display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Observation, Status};
    use chrono::{NaiveDate, Utc};
    use std::collections::BTreeMap;

    fn host_result(host: &str, check: &str, metrics: &[(&str, f64)]) -> CaseResult {
        let mut obs = Observation::default();
        for (n, v) in metrics {
            obs.metric(n, *v, "");
        }
        let mut labels = BTreeMap::new();
        labels.insert("host".to_string(), host.to_string());
        labels.insert("check".to_string(), check.to_string());
        CaseResult {
            id: format!("host/{host}/{check}"),
            kind: "host".into(),
            site: "local".into(),
            suite: "local".into(),
            labels,
            started_at: Utc::now(),
            duration_ms: 1.0,
            status: Status::Pass,
            message: String::new(),
            observation: obs,
            verdict: None,
            limits: Default::default(),
        }
    }

    fn summary(results: Vec<CaseResult>) -> RunSummary {
        RunSummary {
            run_id: "r1".into(),
            site: "local".into(),
            suites: vec!["local".into()],
            started_at: Utc::now(),
            finished_at: Utc::now(),
            duration_ms: 1.0,
            results,
            verdicts: vec![],
            notes: vec![],
        }
    }

    fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2001, 1, d)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn seed_like() -> RunSummary {
        summary(vec![
            host_result(
                "msg-smtp1",
                "queue",
                &[
                    ("active", 0.0),
                    ("deferred", 1.0),
                    ("hold", 0.0),
                    ("total", 1.0),
                ],
            ),
            host_result(
                "msg-smtp1",
                "system",
                &[
                    ("cpu_user", 0.4),
                    ("cpu_system", 0.0),
                    ("cpu_iowait", 2.2),
                    ("cpu_idle", 97.4),
                    ("swap_free_kb", 2005656.0),
                    ("scan_rate", 0.0),
                ],
            ),
            host_result(
                "msg-smtp1",
                "connections",
                &[
                    ("smtp", 0.0),
                    ("imap", 40.0),
                    ("imaps", 10.0),
                    ("ldap", 55.0),
                    ("http", 0.0),
                    ("pop3", 0.0),
                ],
            ),
            // another host's numbers never leak into this row
            host_result("other", "queue", &[("total", 999.0)]),
        ])
    }

    const HEADER: &str = "\
DATE COLLECTED: 10 Jan 2001
instance name = msg-smtp1
+---------------------------------------------------------------------------------------------------+
|                                 System and Queue monitoring data                                  |
+-----+----------------+------------+---------+----------------------------+------------------------+
|     | Msgs in Queue  | Available  |         |            CPU             |   TCP/IP Connections   |
|Time | act   | held   | swap       |Scanrate | us   | sys  | wt   | id    |smtp|imap|pop3|ldap|http|
+-----+-------+--------+------------+---------+------+------+------+-------+----+----+----+----+----+
";

    #[test]
    fn new_file_gets_header_and_seed_shaped_row() {
        let out = render("", "msg-smtp1", &seed_like(), at(10, 0, 10));
        let row = "|00:10|     1 |      0 |   2005656k |       0 |    0 |    0 |    2 |    97 |   0|  50|   0|  55|   0|\n";
        assert_eq!(out, format!("{HEADER}{row}"));
        for l in out.lines().skip(2) {
            assert_eq!(l.len(), 101, "every table line is 101 wide: {l:?}");
        }
    }

    #[test]
    fn same_day_appends_row_only_next_day_new_header() {
        let first = render("", "msg-smtp1", &seed_like(), at(10, 0, 10));
        let second = render(&first, "msg-smtp1", &seed_like(), at(10, 0, 15));
        assert!(second.starts_with("|00:15|"), "{second}");
        assert_eq!(second.lines().count(), 1);
        let next_day = render(
            &(first.clone() + &second),
            "msg-smtp1",
            &seed_like(),
            at(11, 0, 0),
        );
        assert!(next_day.starts_with("\nDATE COLLECTED: 11 Jan 2001\ninstance name = msg-smtp1\n"));
        let other = render(&first, "mta2", &seed_like(), at(10, 0, 15));
        assert!(other.contains("instance name = mta2\n"));
    }

    #[test]
    fn columns_without_measurements_stay_blank() {
        // An LDAP host: system and connections only, no queue, only ldap served.
        let s = summary(vec![
            host_result(
                "ldap1",
                "system",
                &[
                    ("cpu_user", 1.0),
                    ("cpu_system", 2.0),
                    ("cpu_iowait", 0.0),
                    ("cpu_idle", 97.0),
                    ("swap_free_kb", 0.0),
                    ("scan_rate", 12.6),
                ],
            ),
            host_result("ldap1", "connections", &[("ldap", 3.0)]),
        ]);
        let out = render("x\n", "ldap1", &s, at(10, 9, 5));
        let row = out.lines().last().unwrap();
        assert_eq!(
            row,
            "|09:05|       |        |         0k |      13 |    1 |    2 |    0 |    97 |    |    |    |   3|    |"
        );
        // An errored check without metrics leaves its columns blank too.
        let empty = render("x\n", "nohost", &s, at(10, 9, 5));
        assert_eq!(
            empty.lines().last().unwrap(),
            format!(
                "|09:05|{}",
                WIDTHS[1..]
                    .iter()
                    .map(|w| format!("{}|", " ".repeat(*w)))
                    .collect::<String>()
            )
        );
    }

    #[test]
    fn append_writes_through_atomic_append() {
        let d = tempfile::tempdir().unwrap();
        append(d.path(), "msg-smtp1", &seed_like()).unwrap();
        append(d.path(), "msg-smtp1", &seed_like()).unwrap();
        let text = std::fs::read_to_string(d.path().join(FILE)).unwrap();
        assert_eq!(text.matches("DATE COLLECTED:").count(), 1, "{text}");
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("|") && l.contains("2005656k"))
                .count(),
            2
        );
    }
}
