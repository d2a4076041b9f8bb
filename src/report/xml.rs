//! Text that stays valid XML 1.0 whatever a server sent (JUnit is the one
//! XML output).

use std::fmt::Write as _;

/// Characters XML 1.0 allows: #x9 #xA #xD [#x20-#xD7FF] [#xE000-#xFFFD]
/// [#x10000-#x10FFFF] (surrogates cannot occur in a Rust string).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Text safe for an XML attribute or element: forbidden characters shown as
/// `\xNN` / `\u{FFFE}` so the reader still sees that something was there.
pub fn xml_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if xml_char(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:X}}}", c as u32);
        }
    }
    out
}

/// Text for an attribute: [`xml_safe`] on one line (parsers turn raw tabs
/// and line breaks in attributes into spaces anyway; doing it here keeps what
/// we wrote and what a reader gets identical).
pub fn attr_safe(s: &str) -> String {
    xml_safe(s).replace(['\t', '\n', '\r'], " ")
}

/// Text safe inside `<![CDATA[...]]>`: also breaks up `]]>`, which would end
/// the section early.
pub fn cdata_safe(s: &str) -> String {
    xml_safe(s).replace("]]>", "]]&gt;")
}
