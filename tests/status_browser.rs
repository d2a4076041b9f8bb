//! The status page in headless Chromium (Debian `chromium`):
//!
//! - against the real site: `healthmon daemon` runs the local suite's
//!   store1/store2 paths with store1 stopped; the page shows store1's
//!   failing cells and the verdict, its screenshot has blocks of the failure
//!   colour exactly where those cells are, and the API equals the run's
//!   `last-run.json`. The screenshot is kept as `reports/status-page.png`.
//! - in-process: a hostile banner stays inert text in the browser's DOM.

mod check_support;
mod common;
mod modes_support;
mod status_support;

use std::time::Duration;

use healthmon::result::{RunSummary, Status};
use healthmon::status::{model, page};
use status_support::*;

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

/// Cells of the DOM: (case id, status class).
fn dom_cells(dom: &str) -> Vec<(String, String)> {
    tags(dom)
        .into_iter()
        .filter(|(n, _)| n == "details")
        .filter_map(|(_, a)| {
            let get = |k: &str| a.iter().find(|x| x.0 == k).map(|x| x.1.clone());
            Some((get("data-case")?, get("class")?))
        })
        .collect()
}

/// `healthmon daemon SCHEDULE` from the repository root (the suite's host
/// checks name paths relative to it), logging into `dir`; waits for /healthz.
fn start_daemon(
    schedule: &std::path::Path,
    dir: &std::path::Path,
) -> (modes_support::Proc, String) {
    let addr = format!("127.0.0.1:{}", modes_support::free_port());
    let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
    let p = modes_support::Proc::spawn(
        "healthmon daemon",
        std::process::Command::new(modes_support::bin())
            .arg("daemon")
            .arg(schedule)
            .arg("--listen")
            .arg(&addr)
            .current_dir(root())
            .stdout(std::process::Stdio::null())
            .stderr(log),
    );
    let up = modes_support::wait_for(Duration::from_secs(20), || {
        modes_support::http_get(&addr, "/healthz")
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
    let _site = common::site_exclusive();
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
    let _restart = check_support::Restart("store1");
    common::mailsite(&["stop", "store1"]);
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
    let doc = modes_support::wait_for(Duration::from_secs(300), || {
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
    let (doc, run) = modes_support::wait_for(Duration::from_secs(120), || {
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
    let _ = std::fs::create_dir_all(root.join("reports"));
    std::fs::copy(&png, root.join("reports/status-page.png")).unwrap();

    daemon.signal(libc::SIGTERM);
    assert!(daemon.wait_timeout(Duration::from_secs(90)).is_some());
}

#[test]
fn hostile_banner_is_inert_in_chromium() {
    let hostile =
        "<script>document.title='pwned'</script>\"><img src=x onerror=\"document.title='pwned'\">";
    let mut c = path("ims1 store1 mta1 mmp1 imap", Status::Error, 12.0);
    c.observation.fact("banner", hostile);
    c.message = format!("greeting: {hostile}");
    if let Some(e) = c.observation.error.as_mut() {
        e.message = hostile.into();
    }
    let addr = serve(state_with(vec![run("r1", t(0), vec![c], vec![])]));
    let dom = chromium(&format!("http://{addr}/"), None);
    let t = tags(&dom);
    assert!(
        !t.iter().any(|(n, _)| n == "img"),
        "an <img> element was created"
    );
    assert_eq!(t.iter().filter(|(n, _)| n == "script").count(), 1);
    assert!(!dom.contains("pwned</title>"), "script ran");
    // The browser re-serialises text with < > & escaped: the banner is text.
    assert!(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;\"&gt;&lt;img src=x onerror=\"document.title='pwned'\"&gt;"), "{dom}");
}

#[test]
fn script_swaps_the_live_part_without_reload() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let before = path("ims1 store1 mta1 mmp1 imap", Status::Pass, 12.0);
    let after = path("ims1 store1 mta1 mmp1 imap", Status::Error, 30.0);
    let next = run(
        "r2",
        t(60),
        vec![after.clone()],
        vec![verdict("store1", "imap", &[&after])],
    );
    // Serves run r1 until the page itself was served once, then r2; counts
    // page loads and fragment fetches.
    let serve_counting = || {
        let state = state_with(vec![run("r1", t(0), vec![before.clone()], vec![])]);
        let counts = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let (st, n, next) = (state.clone(), counts.clone(), next.clone());
        let app = healthmon::status::routes(state).layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, mw: axum::middleware::Next| {
                let (st, n, next) = (st.clone(), n.clone(), next.clone());
                async move {
                    let path = req.uri().path().to_string();
                    let r = mw.run(req).await;
                    if path == "/" && n[0].fetch_add(1, Ordering::SeqCst) == 0 {
                        st.record(next);
                    }
                    if path.starts_with("/fragment/") {
                        n[1].fetch_add(1, Ordering::SeqCst);
                    }
                    r
                }
            },
        ));
        (serve_app(app), counts)
    };

    // With JavaScript, 40s of virtual time: the 30s refresh fetches the
    // live part once and swaps it into the same document.
    let (addr, counts) = serve_counting();
    let dom = chromium_dom(&format!("http://{addr}/"), &["--virtual-time-budget=40000"]);
    assert_eq!(
        counts[0].load(Ordering::SeqCst),
        1,
        "the page was loaded again"
    );
    assert!(counts[1].load(Ordering::SeqCst) >= 1, "no fragment fetched");
    assert_eq!(
        dom_cells(&dom),
        [(
            after.id.clone(),
            format!("cell {}", page::class(Status::Error))
        )],
        "the live part was not swapped"
    );
    assert!(
        dom.contains("data-key=\"store1/imap\""),
        "verdict of the new run missing"
    );

    // Without JavaScript the page is the same server-rendered HTML (see
    // status_render: every cell is in `/` itself) and its <noscript> meta
    // refresh reloads it. (Headless Chromium cannot run with script off:
    // --disable-javascript is ignored, scriptEnabled=false breaks
    // --dump-dom and --screenshot.)
    assert!(dom.contains("http-equiv=\"refresh\""));
}
