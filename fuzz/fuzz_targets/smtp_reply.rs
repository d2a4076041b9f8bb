//! SMTP reply parsing and the text handling around it: reply lines, queue
//! ids, AUTH mechanisms, dot-stuffing, sanitising server text.
#![no_main]

use healthmon::probe::smtp::{auth_mechs, dot_stuff, parse_queue_id, parse_reply_line};
use healthmon::probe::wire::{redact_command, sanitize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Ok((code, _more, text)) = parse_reply_line(line) {
            assert!((200..600).contains(&code));
            assert!(text.len() + 3 <= line.len());
        }
    }
    let text = String::from_utf8_lossy(data);
    if let Some(id) = parse_queue_id(&text) {
        assert!(!id.is_empty() && id.len() <= 64);
    }
    let exts: Vec<String> = text.lines().map(str::to_string).collect();
    let _ = auth_mechs(&exts);
    let _ = redact_command(&text);

    // Sanitised text is one printable line that cannot close a CDATA section.
    let s = sanitize(data, 200);
    assert!(!s.contains("]]>"), "{s:?}");
    assert!(!s.chars().any(char::is_control), "{s:?}");
    assert!(s.len() <= 200 + "…[truncated]".len());

    // A stuffed body never contains the end-of-data line before its end.
    let stuffed = dot_stuff(data);
    let body = stuffed.strip_suffix(b".\r\n").unwrap_or(&stuffed);
    assert!(!body.windows(5).any(|w| w == b"\r\n.\r\n"));
    assert!(!body.starts_with(b".\r\n"));
});
