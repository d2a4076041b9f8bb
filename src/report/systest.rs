//! systest.log: the seed's round-trip table, appended per run.
//!
//! Layout as the seed's (runmonitor's systest.log): a `DATE COLLECTED:` line
//! and the boxed column header whenever the date changes (or the file is
//! new), then one row per round-trip case, ordered by path within a run.
//! healthmon adds three things after the seed's columns: a wider Error
//! column (the isolation verdict first, else the failing phase and the
//! server's reply, cut at a word boundary), Proto and Verdict (the case
//! status). The retrieve column's header says `POP/IMAP:` (the seed's
//! `POP:` predates IMAP rows).

use std::path::Path;

use chrono::{DateTime, Local, Utc};

use super::{Outputs, Reporter, fit, fit_words, one_line};
use crate::result::{CaseResult, RunSummary, Status};

pub const FILE: &str = "systest.log";
const DATE_PREFIX: &str = "DATE COLLECTED: ";

/// Column content widths (each cell is ` content ` plus `|`). The first five
/// are the seed's.
const W_TIME: usize = 8;
const W_USER: usize = 9;
const W_SMTP: usize = 10;
const W_RETR: usize = 10;
const W_TOTAL: usize = 5;
const W_ERROR: usize = 48;
const W_PROTO: usize = 5;
const W_VERDICT: usize = 8;
const WIDTHS: [usize; 8] = [
    W_TIME, W_USER, W_SMTP, W_RETR, W_TOTAL, W_ERROR, W_PROTO, W_VERDICT,
];

pub struct SystestLog;

impl Reporter for SystestLog {
    fn name(&self) -> &'static str {
        "systest.log"
    }
    fn report(&self, run: &RunSummary, out: &Outputs) -> Result<(), String> {
        let path = out.reports_dir.join(FILE);
        let err = |e: std::io::Error| format!("cannot append to {}: {e}", path.display());
        let local = |t: DateTime<Utc>| t.with_timezone(&Local).naive_local();
        let mut text = render(run, last_date(&path).map_err(err)?.as_deref(), local);
        if text.is_empty() {
            return Ok(());
        }
        if out
            .rotation
            .apply(&path, text.len() as u64, Local::now())
            .map_err(err)?
        {
            text = render(run, None, local);
        }
        crate::logfile::append(&path, text.as_bytes()).map_err(err)
    }
}

/// The date of the last `DATE COLLECTED:` block near the end of the log.
/// Only the tail is read (a run's cost must not grow with the file): when
/// the last header is further back, the run writes the header again, so a
/// long day's table repeats it about once per window (64 KiB).
fn last_date(path: &Path) -> std::io::Result<Option<String>> {
    let tail = crate::logfile::tail(path, crate::logfile::HEADER_WINDOW, DATE_PREFIX)?;
    Ok(tail
        .text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(DATE_PREFIX))
        .map(|d| d.trim().to_string()))
}

/// Rows for the round-trip cases of `run` (skipped ones excluded), with a
/// date header before the first row of each new date. `local` maps a UTC
/// time to the wall clock used in the log (the seed ran from cron, local time).
pub fn render(
    run: &RunSummary,
    last_date: Option<&str>,
    local: impl Fn(DateTime<Utc>) -> chrono::NaiveDateTime,
) -> String {
    let mut out = String::new();
    let mut date = last_date.map(str::to_string);
    let mut rows: Vec<&CaseResult> = run
        .results
        .iter()
        .filter(|r| r.kind == "roundtrip" && r.status != Status::Skipped)
        .collect();
    // By path (the case id: account, submit, retrieve, protocol), not by
    // completion order: one run reads the same way every time.
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    for r in rows {
        let t = local(r.started_at);
        let d = t.format("%d %b %Y").to_string();
        if date.as_deref() != Some(d.as_str()) {
            out.push_str(&header(&d));
            date = Some(d);
        }
        let total = if r.status == Status::Error {
            "-".to_string()
        } else {
            format!("{:.0}", r.duration_ms)
        };
        let cells = [
            t.format("%H:%M:%S").to_string(),
            user_name(r),
            submit_name(r),
            retrieve_name(r),
            total,
            fit_words(&error_text(run, r), W_ERROR),
            r.label("protocol").to_string(),
            r.status.as_str().to_string(),
        ];
        out.push_str(&row(&cells));
    }
    out
}

/// The customer who sent: the account for inbound paths, `from` for the
/// outbound and echo routes (whose mailbox is outside the site or the
/// reflector's return account).
fn user_name(r: &CaseResult) -> String {
    match r.label("route") {
        "" => r.label("account").to_string(),
        _ => r.label("from").to_string(),
    }
}

/// `mta1`, or `mta1.submission` when the endpoint is not the route's usual
/// one (smtp inbound, submission for what customers send out).
fn submit_name(r: &CaseResult) -> String {
    let usual = if r.label("route").is_empty() {
        "smtp"
    } else {
        "submission"
    };
    match r.label("via") {
        "" => r.label("submit").to_string(),
        via if via == usual => r.label("submit").to_string(),
        via => format!("{}.{via}", r.label("submit")),
    }
}

/// Where the probe was read: the retrieve host, marked by route so an
/// outbound row (`out:ext1`, the external mailbox) or an echo row
/// (`echo:mmp1`) is told apart from inbound ones at a glance.
fn retrieve_name(r: &CaseResult) -> String {
    match r.label("route") {
        "" => r.label("retrieve").to_string(),
        "outbound" => format!("out:{}", r.label("account")),
        route => format!("{route}:{}", r.label("retrieve")),
    }
}

/// The isolation verdict when there is one, else why the case is not pass.
fn error_text(run: &RunSummary, r: &CaseResult) -> String {
    if let Some(v) = r.verdict.as_deref().and_then(|k| run.verdict(k)) {
        return one_line(&v.line());
    }
    if r.status == Status::Pass {
        return String::new();
    }
    one_line(&r.message)
}

fn row(cells: &[String]) -> String {
    let mut s = String::from("|");
    for (c, w) in cells.iter().zip(WIDTHS) {
        // `|` inside a cell would break the columns of anyone parsing the table.
        let c = fit(&c.replace('|', "/"), w);
        s.push_str(&format!(" {c:<w$} |"));
    }
    s.push('\n');
    s
}

fn rule(groups: &[usize]) -> String {
    let mut s = String::from("+");
    for w in groups {
        s.push_str(&"-".repeat(w + 2));
        s.push('+');
    }
    s.push('\n');
    s
}

/// `DATE COLLECTED:` and the boxed header, the seed's five columns first.
fn header(date: &str) -> String {
    // The seed's "Message Delivery time" box spans its first five columns.
    let span = W_TIME + W_USER + W_SMTP + W_RETR + W_TOTAL + 4 * 3;
    let rest = [W_ERROR, W_PROTO, W_VERDICT];
    let mut s = format!("{DATE_PREFIX}{date}\n");
    let mut top = vec![span];
    top.extend(rest);
    s.push_str(&rule(&top));
    s.push_str(&format!("| {:^span$} |", "Message Delivery time"));
    for w in rest {
        s.push_str(&format!(" {:w$} |", ""));
    }
    s.push('\n');
    s.push_str(&rule(&WIDTHS));
    let l1 = [
        "Test run",
        "Username:",
        "Msg submit",
        "Msg retr",
        "Total",
        "Error",
        "Proto",
        "Verdict",
    ];
    // The retrieve column holds POP3 and IMAP rows (the Proto column says
    // which); the seed's header said "POP:" when it only had POP3.
    let l2 = ["at time:", "", "SMTP:", "POP/IMAP:", "Time:", "", "", ""];
    for l in [l1, l2] {
        s.push_str(&row(&l.map(String::from)));
    }
    s.push_str(&rule(&WIDTHS));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::*;
    use std::collections::BTreeMap;

    pub(crate) fn case(id: &str, status: Status, msg: &str, at: &str) -> CaseResult {
        let mut labels = BTreeMap::new();
        for (k, v) in [
            ("account", "ims2"),
            ("submit", "mta1"),
            ("via", "smtp"),
            ("retrieve", "mmp1"),
            ("protocol", "pop3"),
        ] {
            labels.insert(k.to_string(), v.to_string());
        }
        CaseResult {
            id: id.into(),
            kind: "roundtrip".into(),
            site: "local".into(),
            suite: "local".into(),
            labels,
            started_at: at.parse().unwrap(),
            duration_ms: 2083.4,
            status,
            message: msg.into(),
            observation: Observation::default(),
            verdict: None,
            limits: Default::default(),
        }
    }

    fn run(results: Vec<CaseResult>) -> RunSummary {
        let t: DateTime<Utc> = "2001-01-10T00:05:04Z".parse().unwrap();
        RunSummary {
            run_id: "x".into(),
            site: "local".into(),
            suites: vec!["local".into()],
            started_at: t,
            finished_at: t,
            duration_ms: 1.0,
            results,
            verdicts: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn seed_layout() {
        let r = run(vec![case("a", Status::Pass, "", "2001-01-10T00:05:04Z")]);
        let text = render(&r, None, |t| t.naive_utc());
        let want = "\
DATE COLLECTED: 10 Jan 2001
+--------------------------------------------------------+--------------------------------------------------+-------+----------+
|                 Message Delivery time                  |                                                  |       |          |
+----------+-----------+------------+------------+-------+--------------------------------------------------+-------+----------+
| Test run | Username: | Msg submit | Msg retr   | Total | Error                                            | Proto | Verdict  |
| at time: |           | SMTP:      | POP/IMAP:  | Time: |                                                  |       |          |
+----------+-----------+------------+------------+-------+--------------------------------------------------+-------+----------+
| 00:05:04 | ims2      | mta1       | mmp1       | 2083  |                                                  | pop3  | pass     |
";
        assert_eq!(text, want);
        // The seed's own row, cell for cell, in the first five columns.
        let seed = "| 00:05:04 | ims2      | ssmtp02    | smux01     | 2083  |";
        let ours = text.lines().last().unwrap();
        assert_eq!(ours.len() - ours[seed.len()..].len(), seed.len());
    }

    #[test]
    fn header_only_when_date_changes_and_errors_are_cut() {
        let long = format!("login: -ERR {} |\x1b[31m", "x".repeat(200));
        let r = run(vec![
            case("a", Status::Pass, "", "2001-01-10T23:59:58Z"),
            case("b", Status::Error, &long, "2001-01-11T00:00:03Z"),
        ]);
        let text = render(&r, Some("10 Jan 2001"), |t| t.naive_utc());
        assert_eq!(text.matches(DATE_PREFIX).count(), 1, "{text}");
        assert!(text.contains("DATE COLLECTED: 11 Jan 2001"));
        let widths: Vec<usize> = text
            .lines()
            .filter(|l| l.starts_with('|') || l.starts_with('+'))
            .map(|l| l.chars().count())
            .collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{text}");
        let err = text.lines().last().unwrap();
        assert!(err.contains("| -     | login: -ERR xxx"), "{err}");
        assert!(err.contains("~ | pop3  | error    |"), "{err}");
        assert!(!err.contains('\x1b'));
    }

    #[test]
    fn rows_by_path_and_messages_cut_between_words() {
        let msg = "retrieve: connect: connection refused to 127.0.2.1:110 (refused)";
        let r = run(vec![
            case(
                "rndtrip/ims2/mta2/mmp1/pop3",
                Status::Pass,
                "",
                "2001-01-10T00:05:01Z",
            ),
            case(
                "rndtrip/ims1/mta1/mmp1/pop3",
                Status::Error,
                msg,
                "2001-01-10T00:05:09Z",
            ),
            case(
                "rndtrip/ims2/mta1/mmp1/pop3",
                Status::Pass,
                "",
                "2001-01-10T00:05:02Z",
            ),
        ]);
        let text = render(&r, Some("10 Jan 2001"), |t| t.naive_utc());
        let times: Vec<&str> = text.lines().map(|l| &l[2..10]).collect();
        assert_eq!(times, ["00:05:09", "00:05:02", "00:05:01"], "{text}");
        let first = text.lines().next().unwrap();
        assert!(
            first.contains("| retrieve: connect: connection refused to~"),
            "{first}"
        );
        assert!(!first.contains("127"), "{first}");
    }

    #[test]
    fn outbound_and_echo_rows_name_the_sender_and_the_route() {
        let mut out = case(
            "outbound/ims1/mta1/ext1/imap",
            Status::Pass,
            "",
            "2001-01-10T00:05:04Z",
        );
        for (k, v) in [
            ("route", "outbound"),
            ("from", "ims1"),
            ("account", "ext1"),
            ("retrieve", "ext1"),
            ("via", "submission"),
            ("protocol", "imap"),
        ] {
            out.labels.insert(k.into(), v.into());
        }
        let mut echo = out.clone();
        echo.id = "echo/ims3/mta2.smtps/echo/mmp1/imap".into();
        for (k, v) in [
            ("route", "echo"),
            ("from", "ims3"),
            ("account", "ims2"),
            ("retrieve", "mmp1"),
            ("submit", "mta2"),
            ("via", "smtps"),
        ] {
            echo.labels.insert(k.into(), v.into());
        }
        let text = render(&run(vec![out, echo]), Some("10 Jan 2001"), |t| {
            t.naive_utc()
        });
        let rows: Vec<&str> = text.lines().map(|l| &l[..50]).collect();
        assert_eq!(
            rows,
            [
                "| 00:05:04 | ims3      | mta2.smtps | echo:mmp1  |",
                "| 00:05:04 | ims1      | mta1       | out:ext1   |",
            ],
            "{text}"
        );
    }

    #[test]
    fn verdict_line_wins_and_other_kinds_are_left_out() {
        let mut c = case("a", Status::Error, "login: refused", "2001-01-10T00:05:04Z");
        c.verdict = Some("store1".into());
        let mut h = case("h", Status::Error, "x", "2001-01-10T00:05:04Z");
        h.kind = "host".into();
        let mut r = run(vec![c, h]);
        r.verdicts.push(Verdict {
            host: "store1".into(),
            protocol: "imap".into(),
            reason: "down".into(),
            evidence: vec!["143 refused".into()],
            confidence: Confidence::Isolated,
            cases: vec!["a".into()],
        });
        let text = render(&r, Some("10 Jan 2001"), |t| t.naive_utc());
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("store1: imap: down — 143 refused"), "{text}");
    }
}
