//! Mail log lines (Postfix syslog/ISO/RFC 5424, Sun Messaging Server): the
//! framer and event parsers per line, then the whole analyzer on the input
//! as a file (queue tracking, histograms, top domains, intervals).
#![no_main]

use std::sync::OnceLock;

use healthmon::logstats::line::{Line, frame, postfix_daemon};
use healthmon::logstats::timestamp::YearTracker;
use healthmon::logstats::{Input, Options, analyze, postfix, sun};
use libfuzzer_sys::fuzz_target;

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let mut years = YearTracker::new(2025, 6);
    for raw in data.split(|&b| b == b'\n') {
        match frame(raw, &mut years) {
            Line::Syslog(f) => {
                if let Some(d) = postfix_daemon(f.prog) {
                    let _ = postfix::parse(d, f.msg);
                    let _ = postfix::classify(d, f.msg);
                }
            }
            Line::Sun(_, rest) => {
                let _ = sun::parse(rest);
            }
            Line::Malformed => {}
        }
    }
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let path = dir.path().join("mail.log");
    std::fs::write(&path, data).unwrap();
    let opts = Options {
        interval: Some(300),
        year: Some(2025),
        ..Options::default()
    };
    let _ = analyze(&[Input::Path(path)], &opts);
});
