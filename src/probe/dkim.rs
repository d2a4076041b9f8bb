//! A focused DKIM verifier (RFC 6376, RFC 8463) for probes that left the
//! site: did the site sign this message for its domain, and does the
//! signature still hold at the other end? rsa-sha256 and ed25519-sha256,
//! simple and relaxed canonicalization, on `ring`; the public key comes from
//! the suite (the TXT record's text in a file), never from DNS here.
//!
//! Why not `mail-auth`: it pulls a whole DNS resolver stack (and its own
//! crypto choices) into a monitor that must verify one signature against a
//! key the operator names; this file is the part we need, on the crypto
//! provider we already trust. Bounded: at most 8 signatures and 64 signed
//! headers are looked at.

use base64::Engine;
use ring::digest;
use ring::signature::{ED25519, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const MAX_SIGNATURES: usize = 8;
const MAX_SIGNED_HEADERS: usize = 64;

/// A public key as published in `<selector>._domainkey.<domain>` TXT.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicKey {
    pub ed25519: bool,
    /// RSA: the RSAPublicKey DER (out of the SubjectPublicKeyInfo); Ed25519:
    /// the 32 raw bytes.
    pub der: Vec<u8>,
}

impl PublicKey {
    /// From the TXT record's text: `v=DKIM1; k=rsa; p=MIIB…`, also as
    /// `opendkim-genkey` writes it (zone-file syntax, quoted pieces).
    pub fn from_record(text: &str) -> Result<Self, String> {
        let joined: String = if text.contains('"') {
            text.split('"').skip(1).step_by(2).collect()
        } else {
            text.to_string()
        };
        let tags = tags(&joined);
        let get = |k: &str| tags.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let k = get("k").unwrap_or("rsa");
        let p: String = get("p")
            .ok_or("the key record has no p= tag")?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if p.is_empty() {
            return Err("the key is revoked (empty p=)".into());
        }
        let raw = B64
            .decode(p.as_bytes())
            .map_err(|e| format!("p= is not base64: {e}"))?;
        match k {
            "ed25519" if raw.len() == 32 => Ok(PublicKey {
                ed25519: true,
                der: raw,
            }),
            "ed25519" => Err("an ed25519 key is 32 bytes".into()),
            "rsa" => {
                use x509_parser::prelude::FromDer;
                let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&raw)
                    .map_err(|e| format!("p= is not a SubjectPublicKeyInfo: {e}"))?;
                Ok(PublicKey {
                    ed25519: false,
                    der: spki.subject_public_key.data.to_vec(),
                })
            }
            other => Err(format!("unsupported key type k={other}")),
        }
    }
}

/// What verification found, for a fact and the judge.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A valid signature of `domain` (selector `selector`).
    Pass { domain: String, selector: String },
    /// No DKIM-Signature of the domain.
    Missing,
    /// A signature of the domain that does not verify: why.
    Fail(String),
}

/// Verify `raw`'s DKIM-Signature for `domain` (and `selector` when given)
/// with `key`.
pub fn verify(raw: &[u8], domain: &str, selector: Option<&str>, key: &PublicKey) -> Outcome {
    let (headers, body) = split(raw);
    let mut last_err = None;
    let sigs = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("dkim-signature"))
        .take(MAX_SIGNATURES);
    for h in sigs {
        let t = tags(&String::from_utf8_lossy(h.value));
        let get = |k: &str| t.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let d = get("d").unwrap_or_default();
        let s = get("s").unwrap_or_default();
        if !d.eq_ignore_ascii_case(domain) || selector.is_some_and(|x| x != s) {
            continue;
        }
        match check_one(&headers, body, h, &get, key) {
            Ok(()) => {
                return Outcome::Pass {
                    domain: d,
                    selector: s,
                };
            }
            Err(e) => last_err = Some(e),
        }
    }
    match last_err {
        Some(e) => Outcome::Fail(e),
        None => Outcome::Missing,
    }
}

fn check_one(
    headers: &[Header<'_>],
    body: &[u8],
    sig: &Header<'_>,
    get: &dyn Fn(&str) -> Option<String>,
    key: &PublicKey,
) -> Result<(), String> {
    if get("v").as_deref() != Some("1") {
        return Err("v= is not 1".into());
    }
    let a = get("a").unwrap_or_default();
    let want_ed = match a.as_str() {
        "rsa-sha256" => false,
        "ed25519-sha256" => true,
        other => return Err(format!("unsupported algorithm a={other}")),
    };
    if want_ed != key.ed25519 {
        return Err(format!("a={a} does not match the key's type"));
    }
    let c = get("c").unwrap_or_else(|| "simple/simple".into());
    let (hc, bc) = c.split_once('/').unwrap_or((c.as_str(), "simple"));
    let (h_relaxed, b_relaxed) = (relaxed(hc)?, relaxed(bc)?);
    let strip = |s: String| -> String { s.chars().filter(|c| !c.is_whitespace()).collect() };
    let bh = B64
        .decode(strip(get("bh").ok_or("no bh= tag")?))
        .map_err(|_| "bh= is not base64")?;
    let b = B64
        .decode(strip(get("b").ok_or("no b= tag")?))
        .map_err(|_| "b= is not base64")?;
    let mut cbody = if b_relaxed {
        body_relaxed(body)
    } else {
        body_simple(body)
    };
    if let Some(l) = get("l") {
        let l: usize = l.trim().parse().map_err(|_| "l= is not a number")?;
        if l > cbody.len() {
            return Err("l= is longer than the body".into());
        }
        cbody.truncate(l);
    }
    if digest::digest(&digest::SHA256, &cbody).as_ref() != bh.as_slice() {
        return Err("body hash mismatch: the body changed after signing".into());
    }
    let data = header_data(headers, sig, &get("h").ok_or("no h= tag")?, h_relaxed);
    let ok = if key.ed25519 {
        let hash = digest::digest(&digest::SHA256, &data);
        UnparsedPublicKey::new(&ED25519, &key.der).verify(hash.as_ref(), &b)
    } else {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key.der).verify(&data, &b)
    };
    ok.map_err(|_| {
        "signature does not verify: a signed header changed, or another key signed it".into()
    })
}

/// What the signature covers: the headers named in `h=`, each name taking
/// the next instance from the bottom, then the signature field itself
/// with an empty b= and no final CRLF.
fn header_data(headers: &[Header<'_>], sig: &Header<'_>, names: &str, relaxed: bool) -> Vec<u8> {
    let mut used = vec![false; headers.len()];
    let mut data = Vec::new();
    for name in names.split(':').map(str::trim).take(MAX_SIGNED_HEADERS) {
        let pick = (0..headers.len())
            .rev()
            .find(|&i| !used[i] && headers[i].name.eq_ignore_ascii_case(name));
        if let Some(i) = pick {
            used[i] = true;
            canon_header(&headers[i], relaxed, &mut data);
            data.extend_from_slice(b"\r\n");
        }
    }
    let unsigned = Header {
        name: sig.name,
        raw: &empty_b(sig.raw),
        value: &[],
    };
    canon_header(&unsigned, relaxed, &mut data);
    data
}

fn relaxed(c: &str) -> Result<bool, String> {
    match c {
        "simple" => Ok(false),
        "relaxed" => Ok(true),
        o => Err(format!("unknown canonicalization {o}")),
    }
}

/// One header field: name, the whole raw field (folded, without the final
/// CRLF), and its value.
struct Header<'a> {
    name: &'a str,
    raw: &'a [u8],
    value: &'a [u8],
}

fn split(raw: &[u8]) -> (Vec<Header<'_>>, &[u8]) {
    let mut out: Vec<Header<'_>> = Vec::new();
    let mut i = 0;
    let mut start = 0;
    let body;
    loop {
        let end = raw[i..].iter().position(|&b| b == b'\n').map(|p| i + p);
        let Some(nl) = end else {
            body = &raw[raw.len()..];
            break;
        };
        let line = &raw[i..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            body = &raw[nl + 1..];
            break;
        }
        let cont = matches!(line.first(), Some(b' ' | b'\t'));
        if !cont && i > start {
            push(&mut out, &raw[start..i]);
            start = i;
        }
        i = nl + 1;
    }
    if i > start {
        push(&mut out, &raw[start..i.min(raw.len())]);
    }
    (out, body)
}

fn push<'a>(out: &mut Vec<Header<'a>>, field: &'a [u8]) {
    let field = trim_crlf(field);
    let Some(colon) = field.iter().position(|&b| b == b':') else {
        return;
    };
    let Ok(name) = std::str::from_utf8(&field[..colon]) else {
        return;
    };
    out.push(Header {
        name: name.trim_end(),
        raw: field,
        value: &field[colon + 1..],
    });
}

fn trim_crlf(mut b: &[u8]) -> &[u8] {
    while let Some(x) = b.strip_suffix(b"\n").or_else(|| b.strip_suffix(b"\r")) {
        b = x;
    }
    b
}

/// The DKIM-Signature field with the b= value removed (RFC 6376 3.7).
fn empty_b(raw: &[u8]) -> Vec<u8> {
    let s = String::from_utf8_lossy(raw);
    let Some(colon) = s.find(':') else {
        return raw.to_vec();
    };
    let (head, value) = s.split_at(colon + 1);
    let parts: Vec<String> = value
        .split(';')
        .map(|t| {
            let name = t.split('=').next().unwrap_or("").trim();
            if name == "b" {
                let eq = t.find('=').map(|p| p + 1).unwrap_or(t.len());
                t[..eq].to_string()
            } else {
                t.to_string()
            }
        })
        .collect();
    format!("{head}{}", parts.join(";")).into_bytes()
}

fn canon_header(h: &Header<'_>, relaxed: bool, out: &mut Vec<u8>) {
    if !relaxed {
        out.extend_from_slice(h.raw);
        return;
    }
    out.extend(h.name.to_ascii_lowercase().bytes());
    out.push(b':');
    let colon = h.raw.iter().position(|&b| b == b':').unwrap_or(0);
    let mut v = Vec::new();
    let mut ws = false;
    for &b in &h.raw[colon + 1..] {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => ws = true,
            _ => {
                if ws && !v.is_empty() {
                    v.push(b' ');
                }
                ws = false;
                v.push(b);
            }
        }
    }
    out.extend_from_slice(&v);
}

fn lines(body: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    if body.ends_with(b"\n") {
        v.pop();
    }
    v
}

fn finish(mut ls: Vec<Vec<u8>>, empty_is_crlf: bool) -> Vec<u8> {
    while ls.last().is_some_and(|l| l.is_empty()) {
        ls.pop();
    }
    if ls.is_empty() {
        return if empty_is_crlf {
            b"\r\n".to_vec()
        } else {
            vec![]
        };
    }
    let mut out = Vec::new();
    for l in ls {
        out.extend_from_slice(&l);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn body_simple(body: &[u8]) -> Vec<u8> {
    finish(lines(body).into_iter().map(<[u8]>::to_vec).collect(), true)
}

fn body_relaxed(body: &[u8]) -> Vec<u8> {
    let ls = lines(body)
        .into_iter()
        .map(|l| {
            let mut v = Vec::new();
            let mut ws = false;
            for &b in l {
                if b == b' ' || b == b'\t' {
                    ws = true;
                } else {
                    if ws {
                        v.push(b' ');
                    }
                    ws = false;
                    v.push(b);
                }
            }
            v
        })
        .collect();
    finish(ls, false)
}

/// `k=v; k2=v2` tag lists (values trimmed, folding whitespace kept inside).
fn tags(s: &str) -> Vec<(String, String)> {
    s.split(';')
        .filter_map(|t| {
            let (k, v) = t.split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// Test and tooling support: the data an ed25519-sha256 signer signs and
/// the body hash, with the same canonicalization the verifier applies.
pub fn signing_input(raw_with_sig: &[u8], relaxed_headers: bool) -> Option<Vec<u8>> {
    let (headers, _) = split(raw_with_sig);
    let sig = headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("dkim-signature"))?;
    let t = tags(&String::from_utf8_lossy(sig.value));
    let names = &t.iter().find(|(n, _)| n == "h")?.1;
    let data = header_data(&headers, sig, names, relaxed_headers);
    Some(data)
}

/// The relaxed/simple body hash, base64 (for signers in tests).
pub fn body_hash(body: &[u8], relaxed: bool) -> String {
    let c = if relaxed {
        body_relaxed(body)
    } else {
        body_simple(body)
    };
    B64.encode(digest::digest(&digest::SHA256, &c))
}
