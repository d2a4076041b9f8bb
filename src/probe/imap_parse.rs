//! IMAP response parsing (RFC 3501/9051 subset a probe needs): tagged and
//! untagged status, CAPABILITY, SEARCH, EXISTS, FETCH with literals.
//!
//! The reader in `imap/client.rs` joins a response's line pieces into `text` and
//! stores each `{n}` literal's payload in `literals`; this module turns that
//! into values without copying payloads. Everything is bounded: list nesting
//! is capped, numbers are checked, and garbage is an `Err`, never a panic.

/// One complete server response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    /// Line pieces joined (CRLF removed), `{n}` markers kept in place.
    pub text: Vec<u8>,
    /// Literal payloads in order of their markers.
    pub literals: Vec<Vec<u8>>,
}

/// Status condition of a tagged or untagged status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    Ok,
    No,
    Bad,
    Bye,
    Preauth,
}

/// A parsed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Atom(String),
    Str(Vec<u8>),
    /// Index into `Response::literals`.
    Lit(usize),
    Nil,
    List(Vec<Val>),
}

/// What a response is.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// `+ text` (command continuation request).
    Continue(String),
    /// `TAG OK|NO|BAD [code] text`.
    Tagged {
        tag: String,
        cond: Cond,
        code: Option<String>,
        text: String,
    },
    /// `* OK|NO|BAD|BYE|PREAUTH [code] text`.
    Status {
        cond: Cond,
        code: Option<String>,
        text: String,
    },
    Capability(Vec<String>),
    Search(Vec<u32>),
    Exists(u32),
    Expunge(u32),
    /// `* n FETCH (name value ...)`; names uppercased.
    Fetch {
        seq: u32,
        items: Vec<(String, Val)>,
    },
    /// Any other untagged response (FLAGS, RECENT, EXPUNGE, LIST ...).
    Other,
}

/// Deepest parenthesised nesting accepted (hostile input guard).
pub const MAX_DEPTH: usize = 16;
/// Most values in one list.
pub const MAX_LIST: usize = 10_000;

/// If a line ends with a literal marker `{n}` or `{n+}`, its announced size
/// (`Err` when the number is malformed or absurd).
pub fn literal_len(line: &[u8]) -> Option<Result<usize, String>> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let inner = &body[open + 1..];
    let digits = inner.strip_suffix(b"+").unwrap_or(inner);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > 12 {
        return Some(Err("literal size out of range".into()));
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(usize::try_from(n).map_err(|_| "literal size out of range".into()))
}

fn cond(word: &str) -> Option<Cond> {
    Some(match word.to_ascii_uppercase().as_str() {
        "OK" => Cond::Ok,
        "NO" => Cond::No,
        "BAD" => Cond::Bad,
        "BYE" => Cond::Bye,
        "PREAUTH" => Cond::Preauth,
        _ => return None,
    })
}

/// Split `[code] text` into the code (without brackets) and the text.
fn resp_text(rest: &str) -> (Option<String>, String) {
    if let Some(r) = rest.strip_prefix('[')
        && let Some(end) = r.find(']')
    {
        return (Some(r[..end].to_string()), r[end + 1..].trim().to_string());
    }
    (None, rest.to_string())
}

/// First word of a response code, uppercased (`UNAVAILABLE`, `CAPABILITY`).
pub fn code_name(code: &str) -> String {
    code.split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// Capability words from a `CAPABILITY ...` code or response body, uppercased.
pub fn capability_words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_ascii_uppercase).collect()
}

fn split_word(s: &str) -> (&str, &str) {
    match s.find(' ') {
        Some(i) => (&s[..i], s[i + 1..].trim_start_matches(' ')),
        None => (s, ""),
    }
}

impl Response {
    /// Parse this response. Text that is not UTF-8 is read lossily (the
    /// parts a probe acts on are ASCII); literals stay bytes.
    pub fn parse(&self) -> Result<Parsed, String> {
        let text = String::from_utf8_lossy(&self.text);
        let (first, rest) = split_word(&text);
        if first == "+" || text == "+" {
            return Ok(Parsed::Continue(rest.to_string()));
        }
        if first != "*" {
            if first.is_empty() {
                return Err("empty response line".into());
            }
            let (w, rest) = split_word(rest);
            let c = cond(w).filter(|c| matches!(c, Cond::Ok | Cond::No | Cond::Bad));
            let Some(c) = c else {
                return Err("tagged response without OK/NO/BAD".into());
            };
            let (code, text) = resp_text(rest);
            return Ok(Parsed::Tagged {
                tag: first.to_string(),
                cond: c,
                code,
                text,
            });
        }
        let (w, rest2) = split_word(rest);
        if let Some(c) = cond(w) {
            let (code, text) = resp_text(rest2);
            return Ok(Parsed::Status {
                cond: c,
                code,
                text,
            });
        }
        match w.to_ascii_uppercase().as_str() {
            "CAPABILITY" => return Ok(Parsed::Capability(capability_words(rest2))),
            "SEARCH" => {
                let mut v = Vec::new();
                for n in rest2.split_whitespace() {
                    // `(MODSEQ n)` may trail a CONDSTORE search; stop there.
                    if n.starts_with('(') {
                        break;
                    }
                    v.push(n.parse::<u32>().map_err(|_| "bad SEARCH number")?);
                }
                return Ok(Parsed::Search(v));
            }
            _ => {}
        }
        if let Ok(n) = w.parse::<u32>() {
            let (what, _) = split_word(rest2);
            match what.to_ascii_uppercase().as_str() {
                "EXISTS" => return Ok(Parsed::Exists(n)),
                "EXPUNGE" => return Ok(Parsed::Expunge(n)),
                "FETCH" => {
                    // Find the byte offset of the attribute list in `self.text`.
                    let off = fetch_list_offset(&self.text).ok_or("FETCH without '('")?;
                    let mut lx = Lexer {
                        s: &self.text,
                        pos: off,
                        lit: 0,
                    };
                    let Val::List(vals) = lx.value(0)? else {
                        return Err("FETCH without attribute list".into());
                    };
                    if lx.lit > self.literals.len() {
                        return Err("FETCH literal missing".into());
                    }
                    let mut items = Vec::new();
                    let mut it = vals.into_iter();
                    while let Some(name) = it.next() {
                        let Val::Atom(name) = name else {
                            return Err("FETCH attribute name is not an atom".into());
                        };
                        let v = it.next().ok_or("FETCH attribute without value")?;
                        items.push((name.to_ascii_uppercase(), v));
                    }
                    return Ok(Parsed::Fetch { seq: n, items });
                }
                _ => {}
            }
        }
        Ok(Parsed::Other)
    }

    /// Bytes of a string-like value (quoted string or literal).
    pub fn bytes<'a>(&'a self, v: &'a Val) -> Option<&'a [u8]> {
        match v {
            Val::Str(b) => Some(b),
            Val::Lit(i) => self.literals.get(*i).map(Vec::as_slice),
            _ => None,
        }
    }
}

/// Offset of the `(` that opens a FETCH attribute list (`* n FETCH (`).
fn fetch_list_offset(text: &[u8]) -> Option<usize> {
    let upper: Vec<u8> = text.iter().take(64).map(u8::to_ascii_uppercase).collect();
    let f = upper.windows(5).position(|w| w == b"FETCH")?;
    let p = text[f + 5..].iter().position(|&b| b == b'(')?;
    Some(f + 5 + p)
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
    lit: usize,
}

impl Lexer<'_> {
    fn skip_sp(&mut self) {
        while self.s.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Val, String> {
        if depth > MAX_DEPTH {
            return Err("response nested too deeply".into());
        }
        self.skip_sp();
        match self.s.get(self.pos) {
            None => Err("unexpected end of response".into()),
            Some(b'(') => {
                self.pos += 1;
                let mut v = Vec::new();
                loop {
                    self.skip_sp();
                    match self.s.get(self.pos) {
                        None => return Err("unterminated list".into()),
                        Some(b')') => {
                            self.pos += 1;
                            return Ok(Val::List(v));
                        }
                        _ => {
                            if v.len() >= MAX_LIST {
                                return Err("list too long".into());
                            }
                            v.push(self.value(depth + 1)?);
                        }
                    }
                }
            }
            Some(b'"') => {
                self.pos += 1;
                let mut out = Vec::new();
                loop {
                    match self.s.get(self.pos) {
                        None => return Err("unterminated quoted string".into()),
                        Some(b'"') => {
                            self.pos += 1;
                            return Ok(Val::Str(out));
                        }
                        Some(b'\\') => {
                            let c = *self.s.get(self.pos + 1).ok_or("bad escape")?;
                            out.push(c);
                            self.pos += 2;
                        }
                        Some(c) => {
                            out.push(*c);
                            self.pos += 1;
                        }
                    }
                }
            }
            Some(b'{') => {
                let end = self.s[self.pos..]
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or("unterminated literal marker")?;
                let inner = &self.s[self.pos + 1..self.pos + end];
                let digits = inner.strip_suffix(b"+").unwrap_or(inner);
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return Err("bad literal marker".into());
                }
                self.pos += end + 1;
                self.lit += 1;
                Ok(Val::Lit(self.lit - 1))
            }
            Some(_) => {
                let start = self.pos;
                while let Some(&c) = self.s.get(self.pos) {
                    match c {
                        b' ' | b'(' | b')' => break,
                        b'[' => {
                            // Section spec: `BODY[HEADER.FIELDS (A B)]` holds spaces.
                            let end = self.s[self.pos..]
                                .iter()
                                .position(|&b| b == b']')
                                .ok_or("unterminated section")?;
                            self.pos += end + 1;
                        }
                        _ => self.pos += 1,
                    }
                }
                if self.pos == start {
                    return Err("unexpected character".into());
                }
                let a = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
                if a.eq_ignore_ascii_case("NIL") {
                    Ok(Val::Nil)
                } else {
                    Ok(Val::Atom(a))
                }
            }
        }
    }
}

/// How a command argument must be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// A quoted string (already quoted and escaped).
    Quoted(String),
    /// Bytes that cannot be quoted (non-ASCII, CR, LF, NUL): a literal.
    Literal(Vec<u8>),
}

/// Encode an astring argument: quoted when it is printable ASCII, else a
/// literal (passwords with 8-bit characters).
pub fn astring(s: &str) -> Arg {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        let mut q = String::with_capacity(s.len() + 2);
        q.push('"');
        for c in s.chars() {
            if c == '"' || c == '\\' {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        Arg::Quoted(q)
    } else {
        Arg::Literal(s.as_bytes().to_vec())
    }
}

/// Sequence set for a list of UIDs: `3,7,9`.
pub fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(t: &str) -> Response {
        Response {
            text: t.as_bytes().to_vec(),
            literals: vec![],
        }
    }

    #[test]
    fn literal_markers() {
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {12}"), Some(Ok(12)));
        assert_eq!(literal_len(b"a LOGIN {5+}"), Some(Ok(5)));
        assert_eq!(literal_len(b"* OK {x}"), None);
        assert_eq!(literal_len(b"* OK done"), None);
        assert_eq!(literal_len(b"{}"), None);
        assert!(matches!(
            literal_len(b"{99999999999999999999}"),
            Some(Err(_))
        ));
    }

    #[test]
    fn tagged_and_status() {
        assert_eq!(
            r("a1 OK [READ-WRITE] Select completed").parse().unwrap(),
            Parsed::Tagged {
                tag: "a1".into(),
                cond: Cond::Ok,
                code: Some("READ-WRITE".into()),
                text: "Select completed".into()
            }
        );
        assert!(matches!(
            r("a2 no [AUTHENTICATIONFAILED] x").parse().unwrap(),
            Parsed::Tagged { cond: Cond::No, .. }
        ));
        assert!(r("a2 WHAT x").parse().is_err());
        assert!(r("").parse().is_err());
        let g = r("* OK [CAPABILITY IMAP4rev1 IDLE STARTTLS] Dovecot ready.")
            .parse()
            .unwrap();
        let Parsed::Status { cond, code, text } = g else {
            panic!()
        };
        assert_eq!(cond, Cond::Ok);
        assert_eq!(code_name(code.as_deref().unwrap()), "CAPABILITY");
        assert_eq!(text, "Dovecot ready.");
        assert!(matches!(
            r("* BYE shutting down").parse().unwrap(),
            Parsed::Status {
                cond: Cond::Bye,
                ..
            }
        ));
        assert_eq!(
            r("+ idling").parse().unwrap(),
            Parsed::Continue("idling".into())
        );
        assert_eq!(r("+").parse().unwrap(), Parsed::Continue("".into()));
    }

    #[test]
    fn capability_search_exists() {
        assert_eq!(
            r("* CAPABILITY IMAP4rev1 uidplus IDLE").parse().unwrap(),
            Parsed::Capability(vec!["IMAP4REV1".into(), "UIDPLUS".into(), "IDLE".into()])
        );
        assert_eq!(
            r("* SEARCH 3 17 4294967295").parse().unwrap(),
            Parsed::Search(vec![3, 17, 4294967295])
        );
        assert_eq!(r("* SEARCH").parse().unwrap(), Parsed::Search(vec![]));
        assert_eq!(
            r("* SEARCH 2 (MODSEQ 9)").parse().unwrap(),
            Parsed::Search(vec![2])
        );
        assert!(r("* SEARCH 1 x").parse().is_err());
        assert!(r("* SEARCH 4294967296").parse().is_err());
        assert_eq!(r("* 12 EXISTS").parse().unwrap(), Parsed::Exists(12));
        assert_eq!(r("* 12 RECENT").parse().unwrap(), Parsed::Other);
        assert_eq!(r("* 3 EXPUNGE").parse().unwrap(), Parsed::Expunge(3));
        assert_eq!(r("* FLAGS (\\Seen)").parse().unwrap(), Parsed::Other);
    }

    #[test]
    fn fetch_with_literal_body() {
        let resp = Response {
            text: b"* 4 FETCH (UID 17 BODY[] {11})".to_vec(),
            literals: vec![b"hello\r\nbody".to_vec()],
        };
        let Parsed::Fetch { seq, items } = resp.parse().unwrap() else {
            panic!()
        };
        assert_eq!(seq, 4);
        assert_eq!(items[0], ("UID".into(), Val::Atom("17".into())));
        assert_eq!(items[1].0, "BODY[]");
        assert_eq!(resp.bytes(&items[1].1), Some(&b"hello\r\nbody"[..]));
    }

    #[test]
    fn fetch_header_fields_section_and_order() {
        let resp = Response {
            text: b"* 2 FETCH (BODY[HEADER.FIELDS (X-HEALTHMON-PROBE)] {40} UID 9 FLAGS (\\Seen \\Deleted))"
                .to_vec(),
            literals: vec![b"X-Healthmon-Probe: a b\r\n\r\n".to_vec()],
        };
        let Parsed::Fetch { items, .. } = resp.parse().unwrap() else {
            panic!()
        };
        assert_eq!(items[0].0, "BODY[HEADER.FIELDS (X-HEALTHMON-PROBE)]");
        assert_eq!(items[1], ("UID".into(), Val::Atom("9".into())));
        assert_eq!(
            items[2].1,
            Val::List(vec![
                Val::Atom("\\Seen".into()),
                Val::Atom("\\Deleted".into())
            ])
        );
    }

    #[test]
    fn fetch_quoted_nil_and_garbage() {
        let resp = r("* 1 FETCH (UID 3 BODY[] \"a\\\"b\" X NIL)");
        let Parsed::Fetch { items, .. } = resp.parse().unwrap() else {
            panic!()
        };
        assert_eq!(resp.bytes(&items[1].1), Some(&b"a\"b"[..]));
        assert_eq!(items[2].1, Val::Nil);
        for bad in [
            "* 1 FETCH (UID",
            "* 1 FETCH (UID 3 BODY[] \"abc",
            "* 1 FETCH UID 3",
            "* 1 FETCH (UID 3 BODY[] {5})",
            "* 1 FETCH (UID)",
            "* 1 FETCH ((a) b)",
            "* 1 FETCH (BODY[ x)",
        ] {
            assert!(r(bad).parse().is_err(), "{bad}");
        }
        let deep = format!("* 1 FETCH (X {}{})", "(".repeat(100), ")".repeat(100));
        assert!(r(&deep).parse().is_err());
        // Non-UTF-8 and control bytes in text do not panic.
        let junk = Response {
            text: b"* OK \xff\x00\x1b]]>".to_vec(),
            literals: vec![],
        };
        assert!(matches!(junk.parse().unwrap(), Parsed::Status { .. }));
    }

    #[test]
    fn astring_quotes_or_literals() {
        assert_eq!(astring("ims1"), Arg::Quoted("\"ims1\"".into()));
        assert_eq!(astring("a\"b\\c"), Arg::Quoted("\"a\\\"b\\\\c\"".into()));
        assert_eq!(
            astring("pässword"),
            Arg::Literal("pässword".as_bytes().to_vec())
        );
        assert_eq!(astring("a\r\nb"), Arg::Literal(b"a\r\nb".to_vec()));
        assert_eq!(uid_set(&[3, 7, 9]), "3,7,9");
    }

    proptest::proptest! {
        /// Whatever a server sends, parsing ends in Ok or Err, never a panic.
        #[test]
        fn parse_never_panics(text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
                              lits in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20), 0..3)) {
            let r = Response { text: text.clone(), literals: lits };
            let _ = r.parse();
            let _ = literal_len(&text);
            let mut f = b"* 1 FETCH ".to_vec();
            f.extend(&text);
            let _ = Response { text: f, literals: vec![] }.parse();
        }
    }
}
