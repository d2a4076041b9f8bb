//! The daily report's message-rate section from a real Postfix log of the
//! test site (tests/fixtures/logstats/site-mta1.log, Nov 28): the day's
//! received count equals the smtpd `client=` lines counted independently.

use std::path::Path;

use chrono::NaiveDate;
use healthmon::daily_report::{self, formats::FormatsFile};

fn report(date: NaiveDate, log: &Path, reports: &Path) -> daily_report::DailyReport {
    let mut formats = FormatsFile::builtin();
    formats.mail_log = Some(log.to_path_buf());
    daily_report::build(&daily_report::Options {
        reports: reports.to_path_buf(),
        date,
        site: None,
        formats,
        state_dir: None,
    })
}

#[test]
fn message_rate_section_counts_the_day_of_the_mail_log() {
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logstats/site-mta1.log");
    let text = std::fs::read_to_string(&log).unwrap();
    let client_lines = text
        .lines()
        .filter(|l| l.contains("/smtpd[") && l.contains(": client="))
        .count();
    assert!(client_lines > 100);
    let d = tempfile::tempdir().unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let r = report(day, &log, d.path());
    let m = r.message_rate.as_ref().expect("message rate section");
    let get = |k: &str| {
        m.values
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("messages received"), client_lines.to_string());
    let sent = text.lines().filter(|l| l.contains(" status=sent ")).count();
    assert_eq!(get("recipients delivered"), sent.to_string());
    let txt = daily_report::render_text::render(&r);
    let row = txt
        .lines()
        .find(|l| l.starts_with("| messages received"))
        .unwrap();
    assert!(row.ends_with(&format!(" {client_lines} |")), "{txt}");

    // Another day: nothing from this log.
    let r = report(day.pred_opt().unwrap(), &log, d.path());
    let m = r.message_rate.unwrap();
    assert_eq!(
        m.values[0],
        ("messages received".to_string(), "0".to_string())
    );

    // A missing log is a note, not a failure.
    let r = report(day, &d.path().join("nope.log"), d.path());
    assert!(r.message_rate.is_none());
    assert!(
        r.notes.iter().any(|n| n.contains("nope.log")),
        "{:?}",
        r.notes
    );
}
