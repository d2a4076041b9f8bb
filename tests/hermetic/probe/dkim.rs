//! The DKIM verifier (src/probe/dkim.rs) on a message OpenDKIM signed on
//! variant b (tests/fixtures/dkim: the message as it arrived at
//! ext1@remote.test, and the TXT record `opendkim-genkey` wrote for its key),
//! and on ed25519-sha256 signatures made here with ring.

use healthmon::probe::dkim::{Outcome, PublicKey, body_hash, signing_input, verify};

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dkim")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn site_key() -> PublicKey {
    PublicKey::from_record(&String::from_utf8(fixture("hm.txt")).unwrap()).unwrap()
}

fn fail_reason(o: Outcome) -> String {
    match o {
        Outcome::Fail(r) => r,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn opendkim_signature_verifies_with_the_published_key() {
    let raw = fixture("signed-by-opendkim.eml");
    assert_eq!(
        verify(&raw, "example.test", Some("hm"), &site_key()),
        Outcome::Pass {
            domain: "example.test".into(),
            selector: "hm".into()
        }
    );
}

#[test]
fn a_changed_body_fails_on_the_body_hash() {
    let raw = String::from_utf8(fixture("signed-by-opendkim.eml")).unwrap();
    let (head, body) = raw.split_once("\n\n").unwrap();
    let changed = format!("{head}\n\n{}", body.replacen(' ', "  x ", 1));
    let r = fail_reason(verify(
        changed.as_bytes(),
        "example.test",
        None,
        &site_key(),
    ));
    assert!(r.contains("body hash"), "{r}");
}

#[test]
fn a_changed_signed_header_fails_the_signature() {
    let raw = String::from_utf8(fixture("signed-by-opendkim.eml")).unwrap();
    assert!(raw.contains("\nSubject: "));
    let changed = raw.replacen("\nSubject: ", "\nSubject: Re: ", 1);
    let r = fail_reason(verify(
        changed.as_bytes(),
        "example.test",
        None,
        &site_key(),
    ));
    assert!(r.contains("does not verify"), "{r}");
    // An unsigned header may change: Received lines are added on the way.
    let added = format!("X-Added-Later: yes\n{raw}");
    assert!(matches!(
        verify(added.as_bytes(), "example.test", None, &site_key()),
        Outcome::Pass { .. }
    ));
}

#[test]
fn another_key_fails_the_signature() {
    let other = PublicKey::from_record(&String::from_utf8(fixture("other.txt")).unwrap()).unwrap();
    let raw = fixture("signed-by-opendkim.eml");
    let r = fail_reason(verify(&raw, "example.test", None, &other));
    assert!(r.contains("does not verify"), "{r}");
}

#[test]
fn missing_signature_and_other_domains_are_missing() {
    let raw = String::from_utf8(fixture("signed-by-opendkim.eml")).unwrap();
    let start = raw.find("DKIM-Signature:").unwrap();
    let end = start
        + raw[start..]
            .find("\nReceived:")
            .or(raw[start..].find("\nDate:"))
            .unwrap()
        + 1;
    let unsigned = format!("{}{}", &raw[..start], &raw[end..]);
    assert!(!unsigned.contains("DKIM-Signature"));
    assert_eq!(
        verify(unsigned.as_bytes(), "example.test", None, &site_key()),
        Outcome::Missing
    );
    // Signed, but by another domain (or selector) than the suite names.
    assert_eq!(
        verify(raw.as_bytes(), "example.org", None, &site_key()),
        Outcome::Missing
    );
    assert_eq!(
        verify(raw.as_bytes(), "example.test", Some("s2"), &site_key()),
        Outcome::Missing
    );
}

#[test]
fn bad_key_records_are_explained() {
    for (rec, want) in [
        ("v=DKIM1; k=rsa; p=", "revoked"),
        ("v=DKIM1; k=rsa", "no p="),
        ("v=DKIM1; k=rsa; p=%%%", "base64"),
        ("v=DKIM1; k=dsa; p=AAAA", "unsupported"),
    ] {
        let e = PublicKey::from_record(rec).unwrap_err();
        assert!(e.contains(want), "{rec}: {e}");
    }
}

/// An ed25519-sha256 signature (RFC 8463) made with ring over the same
/// canonical form, both canonicalizations.
#[test]
fn ed25519_signatures_verify_and_tampering_fails() {
    use base64::Engine;
    use ring::signature::{Ed25519KeyPair, KeyPair};
    let b64 = base64::engine::general_purpose::STANDARD;
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let kp = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let record = format!(
        "v=DKIM1; k=ed25519; p={}",
        b64.encode(kp.public_key().as_ref())
    );
    let key = PublicKey::from_record(&record).unwrap();
    for (c, relaxed) in [("relaxed/relaxed", true), ("simple/simple", false)] {
        let body = "Hello  there \r\n\r\n\r\n";
        let bh = body_hash(body.as_bytes(), relaxed);
        let head = format!(
            "DKIM-Signature: v=1; a=ed25519-sha256; c={c}; d=example.test; s=ed;\r\n h=From:Subject; bh={bh}; b=\r\nFrom: a@example.test\r\nSubject:  probe\r\n"
        );
        let unsigned = format!("{head}\r\n{body}");
        let data = signing_input(unsigned.as_bytes(), relaxed).unwrap();
        let hash = ring::digest::digest(&ring::digest::SHA256, &data);
        let sig = b64.encode(kp.sign(hash.as_ref()).as_ref());
        let signed = unsigned.replacen("b=\r\n", &format!("b={sig}\r\n"), 1);
        assert!(
            matches!(
                verify(signed.as_bytes(), "example.test", Some("ed"), &key),
                Outcome::Pass { .. }
            ),
            "{c}"
        );
        let tampered = signed.replace("Subject:  probe", "Subject:  probe!");
        assert!(matches!(
            verify(tampered.as_bytes(), "example.test", None, &key),
            Outcome::Fail(_)
        ));
        // An RSA key for an ed25519 signature is refused with the reason.
        let r = fail_reason(verify(signed.as_bytes(), "example.test", None, &site_key()));
        assert!(r.contains("key's type"), "{r}");
    }
}

/// What an outbound probe records at the external side (probe::signed):
/// `dkim` for the suite's domain and selector, the receiver's
/// `Authentication-Results` as it wrote it, and the reason a key file
/// cannot be used.
#[test]
fn outbound_facts_name_the_signature_and_the_receivers_results() {
    use healthmon::probe::signed::Published;
    use healthmon::result::Observation;
    use healthmon::suite::model::DkimSpec;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dkim");
    let raw = String::from_utf8(fixture("signed-by-opendkim.eml")).unwrap();
    let raw = format!(
        "Authentication-Results: rmx.remote.test;\r\n\tdkim=pass header.d=example.test\r\n{raw}"
    );
    let msg = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    let spec = |sel: &str, key: &str| DkimSpec {
        domain: "example.test".into(),
        selector: sel.into(),
        key_file: dir.join(key),
    };
    let record = |spec: &DkimSpec, o: &mut Observation| {
        let p = Published {
            dkim: Some(spec),
            ..Default::default()
        };
        healthmon::probe::signed::record(raw.as_bytes(), &msg, &p, o);
    };
    let mut o = Observation::default();
    record(&spec("hm", "hm.txt"), &mut o);
    assert_eq!(o.facts["dkim"], "pass d=example.test s=hm");
    let ar = &o.facts["authentication_results"];
    assert!(
        ar.starts_with("rmx.remote.test;") && ar.contains("dkim=pass"),
        "{ar}"
    );

    let mut o = Observation::default();
    record(&spec("s2", "hm.txt"), &mut o);
    assert!(
        o.facts["dkim"].starts_with("missing: no DKIM-Signature of d=example.test s=s2"),
        "{:?}",
        o.facts
    );

    let mut o = Observation::default();
    record(&spec("hm", "no-such.txt"), &mut o);
    assert!(
        o.facts["dkim"].starts_with("fail: key file "),
        "{:?}",
        o.facts
    );
}
