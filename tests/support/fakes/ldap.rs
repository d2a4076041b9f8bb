//! Just enough BER to play an LDAP server in a fake: encode responses, read
//! a client's request, take a simple bind apart.

use super::Peer;

/// Definite length, short or long form.
pub fn ber_len(n: usize) -> Vec<u8> {
    if n < 128 {
        return vec![n as u8];
    }
    let b = (n as u64).to_be_bytes();
    let skip = b.iter().take_while(|&&x| x == 0).count();
    let mut v = vec![0x80 | (8 - skip) as u8];
    v.extend_from_slice(&b[skip..]);
    v
}

pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend(ber_len(content.len()));
    v.extend_from_slice(content);
    v
}

/// LDAPMessage { id, op } with op already encoded.
pub fn message(id: u8, op: &[u8]) -> Vec<u8> {
    let mut c = tlv(0x02, &[id]);
    c.extend_from_slice(op);
    tlv(0x30, &c)
}

/// An LDAPResult body (resultCode, matchedDN, diagnosticMessage) under `tag`.
pub fn result(tag: u8, code: u8, text: &[u8]) -> Vec<u8> {
    let mut c = tlv(0x0a, &[code]);
    c.extend(tlv(0x04, b""));
    c.extend(tlv(0x04, text));
    tlv(tag, &c)
}

pub const BIND_REQUEST: u8 = 0x60;
pub const BIND_RESPONSE: u8 = 0x61;
pub const SEARCH_REQUEST: u8 = 0x63;
pub const SEARCH_DONE: u8 = 0x65;

pub fn search_entry(id: u8, dn: &str, attr: &str, value: &str) -> Vec<u8> {
    let vals = tlv(0x31, &tlv(0x04, value.as_bytes()));
    let mut pa = tlv(0x04, attr.as_bytes());
    pa.extend(vals);
    let attrs = tlv(0x30, &tlv(0x30, &pa));
    let mut c = tlv(0x04, dn.as_bytes());
    c.extend(attrs);
    message(id, &tlv(0x64, &c))
}

/// Read one client LDAPMessage; its message id and protocol-op tag.
pub async fn request(p: &mut Peer) -> Option<(u8, u8)> {
    request_op(p).await.map(|(id, op)| (id, op[0]))
}

/// Read one client LDAPMessage; its message id and its protocol op (tag,
/// length and content).
pub async fn request_op(p: &mut Peer) -> Option<(u8, Vec<u8>)> {
    let head = p.bytes(2).await?;
    let len = if head[1] < 128 {
        head[1] as usize
    } else {
        let n = (head[1] & 0x7f) as usize;
        p.bytes(n)
            .await?
            .iter()
            .fold(0usize, |a, &b| (a << 8) | b as usize)
    };
    let body = p.bytes(len).await?;
    // body: 02 01 ID, then the op.
    Some((body[2], body[3..].to_vec()))
}

/// One TLV: (tag, content, what follows).
fn read_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&l, rest) = rest.split_first()?;
    let (len, rest) = if l < 128 {
        (l as usize, rest)
    } else {
        let n = (l & 0x7f) as usize;
        let len = rest
            .get(..n)?
            .iter()
            .fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, &rest[n..])
    };
    Some((tag, rest.get(..len)?, &rest[len..]))
}

/// The DN and password of a simple BindRequest op
/// (`[APPLICATION 0] { version, name, [0] password }`).
pub fn simple_bind(op: &[u8]) -> Option<(String, String)> {
    let (tag, content, _) = read_tlv(op)?;
    if tag != BIND_REQUEST {
        return None;
    }
    let (_, _version, rest) = read_tlv(content)?;
    let (_, name, rest) = read_tlv(rest)?;
    let (auth, pw, _) = read_tlv(rest)?;
    (auth == 0x80).then(|| {
        (
            String::from_utf8_lossy(name).into_owned(),
            String::from_utf8_lossy(pw).into_owned(),
        )
    })
}
