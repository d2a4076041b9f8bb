//! The status page in headless Chromium (Debian `chromium`):
//!
//! - against the real site: `healthmon daemon` runs the local suite's
//!   store1/store2 paths with store1 stopped; the page shows store1's
//!   failing cells and the verdict, its screenshot has blocks of the failure
//!   colour exactly where those cells are, and the API equals the run's
//!   `last-run.json`. The screenshot is kept as `target/status-page.png`;
//!   with `HEALTHMON_UPDATE_README_PICTURE=1` it also replaces the README's
//!   `reports/status-page.png`.
//!
//! In-process pages (a hostile banner, the live swap): hermetic/status/browser.rs.

use crate::support::modes;
use crate::support::site;

use std::time::Duration;

use crate::support::status::*;
use healthmon::result::{RunSummary, Status};
use healthmon::status::{model, page};

const USER: &str = "ops";
const PASS: &str = "status-Pass-1";

fn basic() -> String {
    use base64::Engine as _;
    format!(
        "Authorization: Basic {}\r\n",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"))
    )
}

fn api(addr: &str) -> (model::StatusDoc, String) {
    let (code, _, body) = get(addr, "/api/v1/status", &basic());
    assert_eq!(code, 200, "{body}");
    (serde_json::from_str(&body).unwrap(), body)
}

/// `healthmon daemon SCHEDULE` from the repository root (the suite's host
/// checks name paths relative to it), logging into `dir`; waits for /healthz.
fn start_daemon(schedule: &std::path::Path, dir: &std::path::Path) -> (modes::Proc, String) {
    let addr = format!("127.0.0.1:{}", modes::free_port());
    let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
    let p = modes::Proc::spawn(
        "healthmon daemon",
        std::process::Command::new(modes::bin())
            .arg("daemon")
            .arg(schedule)
            .arg("--listen")
            .arg(&addr)
            .current_dir(root())
            .stdout(std::process::Stdio::null())
            .stderr(log),
    );
    let up = modes::wait_for(Duration::from_secs(20), || {
        modes::http_get(&addr, "/healthz")
            .ok()
            .filter(|(s, _)| *s == 200)
    });
    assert!(
        up.is_some(),
        "daemon did not start: {}",
        std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default()
    );
    (p, addr)
}

#[test]
fn daemon_page_shows_stopped_store1_in_chromium() {
    let _site = site::site_exclusive();
    let d = tempfile::tempdir().unwrap();
    let root = root();
    std::fs::write(d.path().join("status.pass"), PASS).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        d.path().join("status.pass"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    // The whole local suite (every path of the four accounts, every host
    // check); a run starts as soon as the previous one ended.
    let sched = d.path().join("schedule.yaml");
    std::fs::write(
        &sched,
        format!(
            "grace: 60s\nreports: reports\nstatus:\n  auth:\n    basic: {{user: {USER}, password_file: status.pass}}\n\
jobs:\n  paths:\n    every: 1s\n    suites: [{}]\n",
            root.join("suites/local.yaml").display()
        ),
    )
    .unwrap();
    let _restart = site::Restart("store1");
    site::mailsite(&["stop", "store1"]);
    let (mut daemon, addr) = start_daemon(&sched, d.path());

    // Auth: nothing without credentials, everything with them.
    let (code, head, _) = get(&addr, "/api/v1/status", "");
    assert_eq!(code, 401, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: basic"),
        "{head}"
    );
    assert_eq!(
        get(&addr, "/", "Authorization: Basic b3BzOm5vcGU=\r\n").0,
        401
    );

    // Two finished runs: the verdict's alert fires (failure threshold 2).
    let doc = modes::wait_for(Duration::from_secs(300), || {
        let (doc, _) = api(&addr);
        (doc.runs.first().is_some_and(|r| r.history_runs >= 2)).then_some(doc)
    })
    .unwrap_or_else(|| {
        panic!(
            "no two runs in 300s: {}",
            std::fs::read_to_string(d.path().join("daemon.log")).unwrap_or_default()
        )
    });
    let v = doc
        .verdicts
        .iter()
        .find(|v| v.open && v.verdict.host == "store1")
        .unwrap_or_else(|| panic!("no open store1 verdict: {:#?}", doc.verdicts));
    assert_eq!(v.state, "firing", "{v:#?}");
    assert_eq!(
        v.alert.as_ref().map(|a| a.status),
        Some(healthmon::alert::state::AlertStatus::Firing)
    );

    // The API is the run's structured results: same run as last-run.json.
    let (doc, run) = modes::wait_for(Duration::from_secs(120), || {
        let (doc, _) = api(&addr);
        let text = std::fs::read_to_string(d.path().join("reports/last-run.json")).ok()?;
        let run: RunSummary = serde_json::from_str(&text).ok()?;
        (doc.runs[0].run_id == run.run_id).then_some((doc, run))
    })
    .expect("API and last-run.json never showed the same run");
    let mut views: Vec<&model::CaseView> = doc
        .matrix
        .iter()
        .flat_map(|g| g.cells.iter().map(|c| &c.case))
        .collect();
    views.extend(doc.hosts.iter().flat_map(|h| &h.checks));
    views.extend(&doc.others);
    assert_eq!(views.len(), run.results.len());
    for r in run.results.iter().filter(|r| r.status != Status::Skipped) {
        let c = views.iter().find(|c| c.id == r.id).unwrap();
        assert_eq!(
            (
                c.status, &c.message, &c.phases, &c.error, &c.verdict, &c.run_id
            ),
            (
                r.status,
                &r.message,
                &r.observation.phases,
                &r.observation.error,
                &r.verdict,
                &run.run_id
            ),
            "{}",
            r.id
        );
    }
    for g in doc.matrix.iter().filter(|g| g.store == "store1") {
        assert!(
            g.cells.iter().all(|c| c.case.status.is_bad()),
            "every path of {} goes through stopped store1",
            g.account
        );
    }
    let ims1 = doc.matrix.iter().find(|g| g.account == "ims1").unwrap();
    let ims3 = doc.matrix.iter().find(|g| g.account == "ims3").unwrap();
    assert_eq!(ims1.store, "store1");
    assert!(ims1.cells.len() >= 18, "{}", ims1.cells.len());
    assert!(
        ims1.cells.iter().all(|c| c.case.status.is_bad()),
        "every ims1 path goes through stopped store1"
    );
    assert!(
        ims3.cells.iter().any(|c| c.case.status == Status::Pass),
        "ims3 (store2) has passing paths"
    );

    // The browser: DOM and screenshot (credentials in the URL: basic auth).
    let url = format!("http://{USER}:{PASS}@{addr}/");
    let png = d.path().join("status.png");
    let dom = chromium(&url, Some(&png));
    let cells = dom_cells(&dom);
    let bad_class = |s: Status| format!("cell {}", page::class(s));
    for c in &ims1.cells {
        let (_, class) = cells
            .iter()
            .find(|x| x.0 == c.case.id)
            .unwrap_or_else(|| panic!("{} not in the DOM", c.case.id));
        assert_eq!(class, &bad_class(c.case.status), "{}", c.case.id);
    }
    assert!(
        dom.contains(&format!("data-key=\"{}\" data-state=\"firing\"", v.key)),
        "verdict row missing"
    );
    assert!(
        dom.contains(
            &v.verdict
                .reason
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        )
    );

    // Pixels: every cell of a status is a solid block of its colour, at the
    // fixed cell size; as many blocks as such cells in the DOM.
    let img = Image::read(&png);
    let (w, h) = (page::CELL_W as usize, page::CELL_H as usize);
    let all: std::collections::HashMap<Status, Vec<(usize, usize)>> = [
        Status::Pass,
        Status::Warning,
        Status::Critical,
        Status::Error,
    ]
    .into_iter()
    .map(|s| (s, img.blocks(rgb(page::color(s)), w, h)))
    .collect();
    let blocks_of = |s: Status| all.get(&s).cloned().unwrap_or_default();
    for st in [Status::Error, Status::Critical, Status::Pass] {
        let want = cells.iter().filter(|c| c.1 == bad_class(st)).count();
        let blocks = blocks_of(st);
        assert_eq!(
            blocks.len(),
            want,
            "{st}: {} blocks of {} in the screenshot, {want} cells in the DOM ({blocks:?})",
            blocks.len(),
            page::color(st)
        );
    }
    // Where: ims1's grid comes first, its top-left cell (lb -> mmp1 pop3)
    // is the topmost, leftmost failure block; every other ims1 cell is a
    // block of its status colour at its (row, column) in the fixed grid.
    let mut bad: Vec<(usize, usize)> = [Status::Error, Status::Critical, Status::Warning]
        .iter()
        .flat_map(|s| blocks_of(*s))
        .collect();
    bad.sort_by_key(|b| (b.1, b.0));
    let (x0, y0) = bad[0];
    let (px, py) = (w + page::GAP as usize, h + page::GAP as usize);
    for c in &ims1.cells {
        let at = (x0 + c.col * px, y0 + c.row * py);
        let colour = blocks_of(c.case.status);
        assert!(
            colour.contains(&at),
            "{} ({}): no {} block at {at:?}; blocks: {colour:?}",
            c.case.id,
            c.case.status,
            page::color(c.case.status)
        );
    }
    // Tests write only under target/: a checkout stays clean after its own
    // tests. The README's picture is regenerated on request only.
    std::fs::copy(&png, root.join("target/status-page.png")).unwrap();
    if std::env::var_os("HEALTHMON_UPDATE_README_PICTURE").is_some() {
        std::fs::copy(&png, root.join("reports/status-page.png")).unwrap();
    }

    daemon.signal(libc::SIGTERM);
    assert!(daemon.wait_timeout(Duration::from_secs(90)).is_some());
}
