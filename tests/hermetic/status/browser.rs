//! The status page in headless Chromium (Debian `chromium`), served
//! in-process: a hostile banner stays inert text in the browser's DOM, and
//! the script swaps the live part without a reload (the daemon against the
//! real site: live/status/browser.rs).

use healthmon::result::Status;
use healthmon::status::page;

use crate::support::status::*;

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
        dom.contains("data-key=\"store1\""),
        "verdict of the new run missing"
    );

    // Without JavaScript the page is the same server-rendered HTML (see
    // status/render.rs: every cell is in `/` itself) and its <noscript> meta
    // refresh reloads it. (Headless Chromium cannot run with script off:
    // --disable-javascript is ignored, scriptEnabled=false breaks
    // --dump-dom and --screenshot.)
    assert!(dom.contains("http-equiv=\"refresh\""));
}
