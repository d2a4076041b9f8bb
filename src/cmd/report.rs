//! `healthmon report`: the daily report from the structured results.

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::daily_report::{self, formats::FormatsFile};
use crate::exit;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  healthmon report suites/local.yaml                  # yesterday (UTC), default format, to <reports>/daily/\n  healthmon report --date 2025-01-10 --format all suites/local.yaml\n  healthmon report --format html --send daily-mail suites/local.yaml\n  healthmon report --reports /var/lib/healthmon/reports --format text --stdout\n\nReads <reports>/results/*.json (one file per run). Days are UTC days; the baseline is the\nsame hours over the previous days (etc/report_formats.yaml: baseline.days, default 14)."
)]
pub struct Args {
    /// Suite file: its site, reports dir, report formats and alert routes.
    pub suite: Option<PathBuf>,
    /// Day to report, YYYY-MM-DD (default: yesterday, UTC).
    #[arg(long)]
    pub date: Option<NaiveDate>,
    /// Format name from the formats file (text, csv, json, html ...) or `all`.
    #[arg(long)]
    pub format: Option<String>,
    /// Send through this alert route (smtp relay: text/HTML body; webhook: JSON).
    #[arg(long)]
    pub send: Option<String>,
    /// Reports directory (default: the suite's reports.dir, else reports/).
    #[arg(long)]
    pub reports: Option<PathBuf>,
    /// Formats file (default: the suite's reports.formats, else etc/report_formats.yaml when present).
    #[arg(long)]
    pub formats: Option<PathBuf>,
    /// Alert state directory, for the open-alerts section (default <reports>/state).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Print to stdout instead of writing <reports>/daily/<date>.<ext>.
    #[arg(long)]
    pub stdout: bool,
}

pub fn run(args: Args) -> i32 {
    let suite = match &args.suite {
        None => None,
        Some(p) => match crate::suite::load(p) {
            Ok((s, _)) => Some(s.spec),
            Err(errs) => {
                for e in errs {
                    eprintln!("{e}");
                }
                return exit::CONFIG;
            }
        },
    };
    let reports_spec = suite
        .as_ref()
        .and_then(|s| s.reports.clone())
        .unwrap_or_default();
    let reports = args
        .reports
        .clone()
        .or(reports_spec.dir.clone())
        .unwrap_or_else(|| PathBuf::from("reports"));
    let formats_path = args
        .formats
        .clone()
        .or(reports_spec.formats.clone())
        .or_else(|| {
            let p = PathBuf::from("etc/report_formats.yaml");
            p.exists().then_some(p)
        });
    let formats = match &formats_path {
        Some(p) => match FormatsFile::load(p) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{e}");
                return exit::CONFIG;
            }
        },
        None => FormatsFile::builtin(),
    };
    let names: Vec<String> = match args.format.as_deref() {
        Some("all") => formats.formats.keys().cloned().collect(),
        Some(f) => vec![f.to_string()],
        None => vec![formats.default_name()],
    };
    let mut renderers = vec![];
    for n in &names {
        match formats.get(n) {
            Ok(r) => renderers.push((n.clone(), r)),
            Err(e) => {
                eprintln!("{e}");
                return exit::CONFIG;
            }
        }
    }
    if args.send.is_some() && suite.is_none() {
        eprintln!("--send needs a suite file (its alerting routes)");
        return exit::CONFIG;
    }
    let date = args
        .date
        .unwrap_or_else(|| (chrono::Utc::now() - chrono::Duration::days(1)).date_naive());
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| reports.join("state"));
    let opts = daily_report::Options {
        reports: reports.clone(),
        date,
        site: suite.as_ref().map(|s| s.site.clone()),
        formats,
        state_dir: Some(state_dir.clone()),
    };
    let report = daily_report::build(&opts);
    for n in &report.notes {
        tracing::warn!("{n}");
    }
    let mut code = exit::OK;
    for (name, (render, ext, mime)) in renderers {
        let body = render(&report);
        if args.stdout {
            print!("{body}");
        } else {
            match daily_report::write(&reports, date, &ext, &body) {
                Ok(p) => println!("{}", p.display()),
                Err(e) => {
                    eprintln!(
                        "cannot write the {name} report under {}: {e}",
                        reports.join("daily").display()
                    );
                    code = exit::INTERNAL;
                }
            }
        }
        if let (Some(route), Some(suite)) = (&args.send, &suite) {
            let mut n = crate::alert::notice::Notice::plain(
                "report",
                &report.site,
                "",
                &format!("daily report {date}"),
                chrono::Utc::now(),
            );
            n.body = body;
            n.body_type = mime.to_string();
            n.report = serde_json::to_value(&report).ok();
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("cannot start the async runtime: {e}");
                    return exit::INTERNAL;
                }
            };
            match rt.block_on(crate::alert::send_via_route(suite, route, &n, &state_dir)) {
                Ok(r) => {
                    for d in &r.delivered {
                        eprintln!("sent: {d}");
                    }
                    for f in r.failed.iter().chain(&r.spooled).chain(&r.errors) {
                        eprintln!("not sent: {f}");
                    }
                    if r.delivered.is_empty() {
                        code = exit::INTERNAL;
                    }
                }
                Err(e) => {
                    eprintln!("{e}");
                    return exit::CONFIG;
                }
            }
        }
    }
    code
}
