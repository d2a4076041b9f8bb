//! POP3 response lines: status, STAT, UIDL, and the bounded multi-line reader.
#![no_main]

use healthmon::probe::pop3::{MultiLine, Push, err_kind, parse_stat, parse_reply, parse_uidl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut ml = MultiLine::new(4096, 64 * 1024, 1000);
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let _ = parse_reply(line);
        let _ = parse_uidl(line);
        let text = String::from_utf8_lossy(line);
        let _ = parse_stat(&text);
        let _ = err_kind(&text, true);
        let _ = err_kind(&text, false);
        match ml.push(line) {
            Ok(Push::Done) | Err(_) => break,
            Ok(Push::More) => assert!(ml.lines() <= 1000),
        }
    }
});
