//! The HTML daily report at a thousand paths: a day of runs (per-run
//! results files) and three days of history (history day files), as the
//! collector reads them; the heatmap's order and fold, one small chart per
//! host, escaping of a hostile path name, the page's size, and the page in
//! headless Chromium (screenshot kept under target/tmp for a look).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use healthmon::daily_report::{self, formats::FormatsFile, heatmap_svg::LABELLED};
use healthmon::result::*;

use super::report::{rt, summary};
use crate::support::status::{Image, chromium};

const SUBMIT: [&str; 4] = ["mta1", "mta2", "mta3", "mta4"];
const RETRIEVE: [&str; 5] = ["mmp1", "mmp2", "mmp3", "mmp4", "mmp5"];
/// All day in error: the worst path, and a name a suite could hold.
const DOWN: &str = "rndtrip/<script>alert(1)</script>\"'&/mta3/mmp2/imap";
/// One failed run out of 48.
const FLAKY: &str = "rndtrip/ims3/mta1/mmp1/pop3";
/// mmp5 is down from 09:00 to 10:00: every path through it fails twice.
const OUTAGE_HOUR: u32 = 9;

/// 25 accounts × 4 submit × 5 retrieve hosts × 2 protocols.
fn paths() -> Vec<(String, &'static str, &'static str)> {
    let mut v = vec![];
    for a in 1..=25 {
        for s in SUBMIT {
            for r in RETRIEVE {
                for p in ["pop3", "imap"] {
                    let id = format!("rndtrip/ims{a}/{s}/{r}/{p}");
                    let id = if id == "rndtrip/ims7/mta3/mmp2/imap" {
                        DOWN.to_string()
                    } else {
                        id
                    };
                    v.push((id, s, r));
                }
            }
        }
    }
    v
}

/// Slow (p95 ≈ 4× baseline) from 14:00 to 17:00, all runs delivered.
fn slow(i: usize) -> bool {
    i % 100 == 42
}

fn case(id: &str, submit: &str, retrieve: &str, ok: bool, ms: f64, t: DateTime<Utc>) -> CaseResult {
    let mut c = rt(
        id,
        if ok { Status::Pass } else { Status::Error },
        ms,
        None,
        t,
    );
    c.labels = [("submit", submit), ("retrieve", retrieve)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    c
}

fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, d, 0, 0, 0).unwrap()
}

/// Today (01-10): a run every 30 minutes, one results file each. History
/// (01-07..01-09): a run every hour, in the history day files.
fn fixture(reports: &Path) {
    let ps = paths();
    let results = reports.join("results");
    std::fs::create_dir_all(&results).unwrap();
    for k in 0..48 {
        let t = day(10) + Duration::minutes(30 * k + 5);
        let h = (k / 2) as u32;
        let rs = ps
            .iter()
            .enumerate()
            .map(|(i, (id, s, r))| {
                let ok =
                    id != DOWN && !(*r == "mmp5" && h == OUTAGE_HOUR) && !(id == FLAKY && k == 30);
                let ms = if slow(i) && (14..17).contains(&h) {
                    3600.0
                } else {
                    800.0 + (i % 7) as f64
                };
                case(id, s, r, ok, ms, t)
            })
            .collect();
        let run = summary(&format!("today-{k:02}"), t, rs, vec![]);
        std::fs::write(
            results.join(format!("{}.json", run.run_id)),
            serde_json::to_vec(&run).unwrap(),
        )
        .unwrap();
    }
    let history = reports.join("history");
    std::fs::create_dir_all(&history).unwrap();
    for d in 7..10 {
        let mut lines = String::new();
        for h in 0..24 {
            let t = day(d) + Duration::minutes(60 * h + 5);
            let rs = ps
                .iter()
                .enumerate()
                .map(|(i, (id, s, r))| case(id, s, r, true, 800.0 + (i % 7) as f64, t))
                .collect();
            lines.push_str(&healthmon::report::history::line(&summary(
                &format!("hist-{d}-{h}"),
                t,
                rs,
                vec![],
            )));
        }
        let day = NaiveDate::from_ymd_opt(2025, 1, d).unwrap();
        std::fs::write(healthmon::report::history::day_file(reports, day), lines).unwrap();
    }
}

fn build(reports: &Path) -> daily_report::DailyReport {
    daily_report::build(&daily_report::Options {
        reports: reports.to_path_buf(),
        date: NaiveDate::from_ymd_opt(2025, 1, 10).unwrap(),
        site: Some("local".into()),
        formats: FormatsFile::builtin(),
        state_dir: None,
    })
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// The element `<TAG … id="ID" …>` up to its first closing `</TAG>`.
fn element<'a>(dom: &'a str, tag: &str, id: &str) -> &'a str {
    let at = dom
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {tag} {id}"));
    let start = dom[..at].rfind(&format!("<{tag}")).unwrap();
    let end = dom[start..].find(&format!("</{tag}>")).unwrap() + start;
    &dom[start..end]
}

#[test]
fn a_thousand_paths_fold_into_a_heatmap_worst_first_and_render() {
    let d = tempfile::tempdir().unwrap();
    fixture(d.path());
    let t0 = Instant::now();
    let r = build(d.path());
    let built = t0.elapsed();
    let t1 = Instant::now();
    let html = daily_report::render_html::render(&r);
    let rendered = t1.elapsed();
    eprintln!(
        "1000 paths: report built in {built:?}, HTML rendered in {rendered:?}, {} bytes",
        html.len()
    );
    assert_eq!(r.paths.len(), 1000);

    // Data: worst first — all-day error, the outage's 200 paths, the flaky
    // path, then the slow ones (fully available, p95 ~4.5× baseline).
    let heat = &r.heat;
    let order: Vec<&str> = heat.paths.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(order[0], DOWN);
    assert_eq!(heat.paths[0].availability, 0.0);
    assert!(
        order[1..201].iter().all(|p| p.contains("/mmp5/")),
        "{order:?}"
    );
    assert_eq!(order[201], FLAKY);
    let slow_paths: BTreeSet<String> = paths()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| slow(*i))
        .map(|(_, (id, ..))| id)
        .collect();
    assert_eq!(slow_paths.len(), 10);
    let next: BTreeSet<String> = order[202..212].iter().map(|p| p.to_string()).collect();
    assert_eq!(next, slow_paths);
    let slow_cell = &heat.paths[202].cells[15];
    assert_eq!(slow_cell.hour, 15);
    assert!(slow_cell.ratio().unwrap() > 4.0, "{slow_cell:?}");
    let unhealthy = 1 + 200 + 1 + 10;
    let healthy = heat
        .paths
        .iter()
        .filter(|p| p.healthy(heat.latency_factor))
        .count();
    assert_eq!(healthy, 1000 - unhealthy);
    let mmp5 = heat
        .retrieve_hosts
        .iter()
        .find(|h| h.name == "mmp5")
        .unwrap();
    assert_eq!(mmp5.paths, 200);
    assert_eq!(mmp5.cells[OUTAGE_HOUR as usize].availability, 0.0);

    // The page: self-contained, bounded, every name escaped.
    assert!(html.len() < 1_500_000, "{} bytes", html.len());
    let external = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!external.contains("http://") && !external.contains("https://"));
    assert!(!html.contains("<script") && !html.contains("src="));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;/mta3"));

    let page = d.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("daily_report");
    std::fs::create_dir_all(&keep).unwrap();
    let png = keep.join("heatmap-1000.png");
    let _ = std::fs::remove_file(&png);
    std::fs::copy(&page, keep.join("heatmap-1000.html")).unwrap();
    let t2 = Instant::now();
    let dom = chromium(&format!("file://{}", page.display()), Some(&png));
    eprintln!(
        "chromium screenshot + DOM in {:?}: {}",
        t2.elapsed(),
        png.display()
    );
    // Heatmap: a row per path that was not fine, worst first, the first
    // LABELLED named; the healthy ones folded into one counted band.
    let map = element(&dom, "svg", "heatmap");
    assert_eq!(count(map, "class=\"row\""), unhealthy);
    // The first name drawn is the hostile one, as text.
    let first = &map[map.find("class=\"lbl\"").unwrap()..];
    let first = &first[first.find('>').unwrap() + 1..];
    assert!(
        first.starts_with("rndtrip/&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{first:.80}"
    );
    assert_eq!(
        count(map, "class=\"lbl\""),
        LABELLED + 1,
        "named rows + fold"
    );
    assert!(map.contains(&format!("+{} more, worst first", unhealthy - LABELLED)));
    assert!(map.contains(&format!(
        "data-paths=\"{healthy}\"><title>every hour they ran"
    )));
    assert!(map.contains(&format!("{healthy} more healthy paths")));

    // One small chart per host.
    let submit = element(&dom, "div", "submit-hosts");
    assert_eq!(count(submit, "class=\"mult\""), SUBMIT.len());
    let retrieve = element(&dom, "div", "retrieve-hosts");
    assert_eq!(count(retrieve, "class=\"mult\""), RETRIEVE.len());
    assert_eq!(count(retrieve, "<svg"), RETRIEVE.len());

    // The table: worst first, the healthy paths behind a <details>.
    let table = &dom[dom.find("Paths, worst first").unwrap()..];
    let first_cell = table.find("<td>").unwrap() + 4;
    assert!(table[first_cell..].starts_with("rndtrip/&lt;script&gt;"));
    assert!(table.contains(&format!("<summary>{healthy} more healthy paths</summary>")));

    // The screenshot: the first row (0%) and the outage column are drawn.
    let img = Image::read(&png);
    let dark_red = [0x67, 0x00, 0x0d];
    assert!(
        !img.blocks(dark_red, 40, 10).is_empty(),
        "a whole 0% row in the heatmap"
    );
    assert!(
        !img.blocks(dark_red, 10, 100).is_empty(),
        "the 09:00 outage as a column"
    );
}
