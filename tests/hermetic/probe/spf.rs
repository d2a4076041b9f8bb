//! SPF and DMARC at the external side of an outbound probe, without DNS:
//! the record parsers (src/suite/spf.rs, src/suite/dmarc.rs), the evaluator
//! and alignment (src/probe/spf.rs, src/probe/dmarc.rs), and the facts
//! probe::signed records on the message OpenDKIM signed on variant b (its
//! Received headers hold the site's real addresses: mta1 is 127.1.1.1).

use healthmon::probe::dmarc::{aligned, evaluate};
use healthmon::probe::signed::{Published, record};
use healthmon::probe::spf::{SpfResult, check_host, in_network};
use healthmon::result::Observation;
use healthmon::suite::model::{DkimSpec, DmarcSpec, SpfSpec};
use healthmon::suite::{dmarc, spf};
use std::net::IpAddr;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The result for `client` under `record`, and the deciding directive.
fn check(record: &str, client: &str) -> (SpfResult, Option<String>) {
    let rec = spf::parse(record).unwrap_or_else(|e| panic!("{record}: {e}"));
    let (r, d) = check_host(ip(client), &rec);
    (r, d.map(|d| d.text.clone()))
}

#[test]
fn cidr_edges() {
    let net = ip("127.1.1.0");
    assert!(in_network(ip("127.1.1.0"), net, 24));
    assert!(in_network(ip("127.1.1.255"), net, 24));
    assert!(!in_network(ip("127.1.2.0"), net, 24));
    assert!(!in_network(ip("127.1.0.255"), net, 24));
    assert!(in_network(ip("127.1.1.1"), ip("127.1.1.1"), 32));
    assert!(!in_network(ip("127.1.1.2"), ip("127.1.1.1"), 32));
    assert!(in_network(ip("127.1.1.3"), ip("127.1.1.2"), 31));
    assert!(in_network(ip("10.9.8.7"), ip("0.0.0.0"), 0));
    assert!(in_network(ip("2001:db8::1"), ip("::"), 0));
    assert!(in_network(ip("2001:db8:0:ffff::1"), ip("2001:db8::"), 32));
    assert!(!in_network(ip("2001:db9::1"), ip("2001:db8::"), 32));
    assert!(in_network(ip("2001:db8::1"), ip("2001:db8::1"), 128));
    assert!(!in_network(ip("2001:db8::2"), ip("2001:db8::1"), 128));
    // Families never match each other.
    assert!(!in_network(ip("::"), ip("0.0.0.0"), 0));
    assert!(!in_network(ip("127.0.0.1"), ip("::"), 0));
}

#[test]
fn qualifiers_decide_at_the_first_match() {
    let r = "v=spf1 ip4:127.1.1.1 ~ip4:127.1.1.0/24 ?ip4:127.1.0.0/16 -all";
    assert_eq!(
        check(r, "127.1.1.1"),
        (SpfResult::Pass, Some("ip4:127.1.1.1".into()))
    );
    assert_eq!(check(r, "127.1.1.9").0, SpfResult::SoftFail);
    assert_eq!(check(r, "127.1.9.9").0, SpfResult::Neutral);
    assert_eq!(check(r, "10.0.0.1"), (SpfResult::Fail, Some("-all".into())));
    assert_eq!(
        check("v=spf1 +ip4:10.0.0.0/8 ~all", "10.1.2.3").0,
        SpfResult::Pass
    );
    assert_eq!(
        check("v=spf1 -ip4:10.0.0.1 +all", "10.0.0.1").0,
        SpfResult::Fail
    );
    assert_eq!(check("v=spf1 ?all", "10.0.0.1").0, SpfResult::Neutral);
    // Mechanism names are case-insensitive; exp= and unknown modifiers are
    // ignored.
    assert_eq!(
        check(
            "V=SPF1 IP4:10.0.0.1 exp=explain.example.test x-y=z -ALL",
            "10.0.0.1"
        )
        .0,
        SpfResult::Pass
    );
}

#[test]
fn ip6_and_mapped_ipv4() {
    let r = "v=spf1 ip6:2001:db8::/32 ip4:192.0.2.0/24 -all";
    assert_eq!(check(r, "2001:db8:1::25").0, SpfResult::Pass);
    assert_eq!(check(r, "2001:db9::25").0, SpfResult::Fail);
    // An IPv4 client on an IPv6 socket is its IPv4 address.
    assert_eq!(check(r, "::ffff:192.0.2.7").0, SpfResult::Pass);
    assert_eq!(check(r, "192.0.2.7").0, SpfResult::Pass);
}

#[test]
fn no_match_is_neutral() {
    assert_eq!(
        check("v=spf1 ip4:127.1.1.1", "127.9.9.9"),
        (SpfResult::Neutral, None)
    );
    assert_eq!(check("v=spf1", "127.9.9.9"), (SpfResult::Neutral, None));
}

#[test]
fn records_healthmon_cannot_evaluate_are_refused_with_the_term() {
    assert!(
        spf::parse("ip4:127.0.0.1 -all")
            .unwrap_err()
            .contains("v=spf1")
    );
    assert!(spf::parse("v=spf2 -all").unwrap_err().contains("v=spf1"));
    assert!(spf::parse("").unwrap_err().contains("v=spf1"));
    for t in [
        "include:_spf.example.test",
        "a",
        "mx",
        "a:mail.example.test",
        "mx/24",
        "ptr",
        "exists:%{i}.x.test",
        "redirect=_spf.example.test",
        "-mx",
    ] {
        let e = spf::parse(&format!("v=spf1 {t} -all")).unwrap_err();
        assert_eq!(e, format!("`{t}` needs DNS"));
    }
    for t in [
        "ip4:127.0.0.1/33",
        "ip4:::1",
        "ip6:127.0.0.1",
        "ip6:::1/129",
        "ip4",
        "ip4:",
        "all:x",
        "foo",
    ] {
        let e = spf::parse(&format!("v=spf1 {t} -all")).unwrap_err();
        assert!(e.starts_with(&format!("`{t}` is not")), "{t}: {e}");
    }
}

#[test]
fn dmarc_records() {
    let d = dmarc::parse("v=DMARC1; p=reject; adkim=s; aspf=r; rua=mailto:x@example.test").unwrap();
    assert_eq!(
        (d.policy.as_str(), d.strict_dkim, d.strict_spf),
        ("reject", true, false)
    );
    let d = dmarc::parse("v=DMARC1;p=none").unwrap();
    assert_eq!(
        (d.policy.as_str(), d.strict_dkim, d.strict_spf),
        ("none", false, false)
    );
    for (record, says) in [
        ("p=reject", "v=DMARC1"),
        ("v=DMARC1; adkim=r", "no policy"),
        ("v=DMARC1; p=block", "p=block"),
        ("v=DMARC1; p=none; aspf=x", "aspf=x"),
        ("v=DMARC1; p=none; junk", "NAME=VALUE"),
    ] {
        let e = dmarc::parse(record).unwrap_err();
        assert!(e.contains(says), "{record}: {e}");
    }
}

#[test]
fn alignment_relaxed_and_strict_with_subdomains() {
    let org = "example.test";
    assert!(aligned("example.test", "example.test", org, true));
    assert!(aligned("Example.Test", "example.test", org, true));
    assert!(!aligned("example.test", "mail.example.test", org, true));
    assert!(aligned("example.test", "mail.example.test", org, false));
    assert!(aligned("a.example.test", "b.example.test", org, false));
    assert!(!aligned("a.example.test", "b.example.test", org, true));
    assert!(!aligned("example.test", "example.org", org, false));
    // A look-alike is not a subdomain.
    assert!(!aligned("example.test", "badexample.test", org, false));

    let rec = |r: &str| dmarc::parse(r).unwrap();
    let relaxed = rec("v=DMARC1; p=reject");
    let strict = rec("v=DMARC1; p=quarantine; adkim=s; aspf=s");
    let from = Some("example.test");
    // (DKIM d=, SPF domain, record) → fact.
    for (dkim, spf, rec, fact) in [
        (Some("example.test"), None, &relaxed, "pass (dkim aligned)"),
        (
            Some("mail.example.test"),
            Some("example.test"),
            &relaxed,
            "pass (dkim, spf aligned)",
        ),
        (
            Some("mail.example.test"),
            Some("example.test"),
            &strict,
            "pass (spf aligned)",
        ),
        (
            Some("mail.example.test"),
            Some("bounce.example.test"),
            &strict,
            "fail: neither DKIM nor SPF aligned with example.test (p=quarantine)",
        ),
        (
            Some("example.org"),
            None,
            &relaxed,
            "fail: neither DKIM nor SPF aligned with example.test (p=reject)",
        ),
    ] {
        assert_eq!(
            evaluate(from, dkim, spf, org, rec),
            fact,
            "{dkim:?} {spf:?}"
        );
    }
    assert!(evaluate(Some("example.org"), None, None, org, &relaxed).starts_with("none:"));
    assert!(evaluate(None, None, None, org, &relaxed).starts_with("none:"));
}

fn fixture() -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dkim/signed-by-opendkim.eml");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The facts for the fixture message under these published records.
fn facts(
    raw: &str,
    spf_record: Option<&str>,
    dmarc_record: Option<&str>,
    dkim: bool,
) -> Observation {
    let msg = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    let k = DkimSpec {
        domain: "example.test".into(),
        selector: "hm".into(),
        key_file: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/dkim/hm.txt"),
    };
    let s = spf_record.map(|r| SpfSpec {
        domain: "example.test".into(),
        record: r.into(),
    });
    let d = dmarc_record.map(|r| DmarcSpec {
        domain: "example.test".into(),
        record: r.into(),
    });
    let p = Published {
        dkim: dkim.then_some(&k),
        spf: s.as_ref(),
        dmarc: d.as_ref(),
    };
    let mut o = Observation::default();
    record(raw.as_bytes(), &msg, &p, &mut o);
    o
}

/// Variant b's message: mta1 (127.1.1.1) handed it to rmx, which passed it
/// to rstore over LMTP (the topmost Received, from 127.2.1.1): SPF is
/// checked for mta1's address, not for the external side's own hop.
#[test]
fn the_opendkim_fixture_passes_spf_and_dmarc_for_variant_bs_mtas() {
    let raw = fixture();
    let site = "v=spf1 ip4:127.1.1.1 ip4:127.1.1.2 -all";
    let o = facts(
        &raw,
        Some(site),
        Some("v=DMARC1; p=reject; adkim=r; aspf=r"),
        true,
    );
    assert_eq!(o.facts["spf"], "pass ip=127.1.1.1 domain=example.test");
    assert_eq!(o.facts["dkim"], "pass d=example.test s=hm");
    assert_eq!(o.facts["dmarc"], "pass (dkim, spf aligned)");

    // Sent from an address the record does not list.
    let o = facts(
        &raw,
        Some("v=spf1 ip4:127.1.1.2 -all"),
        Some("v=DMARC1; p=reject"),
        true,
    );
    assert_eq!(
        o.facts["spf"],
        "fail: 127.1.1.1 not allowed by v=spf1 ip4:127.1.1.2 -all (-all)"
    );
    assert_eq!(o.facts["dmarc"], "pass (dkim aligned)");
    let o = facts(&raw, Some("v=spf1 ip4:127.1.1.2 ~all"), None, false);
    assert!(
        o.facts["spf"].starts_with("softfail: 127.1.1.1"),
        "{:?}",
        o.facts
    );
    assert!(!o.facts.contains_key("dmarc") && !o.facts.contains_key("dkim"));

    // Neither DKIM (not checked) nor SPF: DMARC fails with the policy.
    let o = facts(
        &raw,
        Some("v=spf1 ip4:127.1.1.2 -all"),
        Some("v=DMARC1; p=reject"),
        false,
    );
    assert_eq!(
        o.facts["dmarc"],
        "fail: neither DKIM nor SPF aligned with example.test (p=reject)"
    );

    // Another envelope domain: the record does not apply.
    let other = raw.replacen(
        "Return-Path: <ims1@example.test>",
        "Return-Path: <b@bounce.test>",
        1,
    );
    let o = facts(&other, Some(site), None, false);
    assert_eq!(
        o.facts["spf"],
        "none: envelope sender domain bounce.test is not example.test"
    );
    let null = raw.replacen("Return-Path: <ims1@example.test>", "Return-Path: <>", 1);
    assert!(facts(&null, Some(site), None, false).facts["spf"].starts_with("none: no envelope"));
}
