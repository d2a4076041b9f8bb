//! Validation of the third route: external mailboxes, reflectors, and the
//! outbound and echo paths through them (`suite::external`). A child of
//! `validate` so it reports through the same context (key paths → file:line:col).

use super::{Ctx, id_safe};
use crate::suite::checks::Rules;
use crate::suite::model::*;
use crate::suite::pos::{join_index, join_key};
use crate::suite::suggest::did_you_mean;

/// Everything of the third route in a suite.
pub(super) fn check(c: &mut Ctx<'_>) {
    let s = c.s;
    for (name, x) in &s.external {
        external(c, name, x);
    }
    for (name, r) in &s.reflectors {
        reflector(c, name, r);
    }
    if let Some(k) = &s.dkim {
        dkim(c, k);
    }
    if let Some(x) = &s.spf {
        published(
            c,
            "spf",
            &x.domain,
            crate::suite::spf::parse(&x.record).err(),
        );
    }
    if let Some(x) = &s.dmarc {
        published(
            c,
            "dmarc",
            &x.domain,
            crate::suite::dmarc::parse(&x.record).err(),
        );
    }
    let Some(rt) = &s.roundtrip else { return };
    for (i, o) in rt.outbound.iter().enumerate() {
        outbound(c, &join_index("roundtrip.outbound", i), o);
    }
    for (i, e) in rt.echo.iter().enumerate() {
        echo(c, &join_index("roundtrip.echo", i), e);
    }
}

fn name_rules(c: &mut Ctx<'_>, p: &str, what: &str, name: &str) {
    if !id_safe(name) {
        c.err(
            p,
            format!("{what} name `{name}` is used in case ids"),
            Some("use letters, digits, `.`, `_` or `-`".into()),
        );
    }
}

fn address(c: &mut Ctx<'_>, p: &str, a: &str) {
    if !a.contains('@') {
        c.err(
            &join_key(p, "address"),
            format!("`{a}` is not a mail address"),
            None,
        );
    }
}

fn external(c: &mut Ctx<'_>, name: &str, x: &ExternalSpec) {
    let s = c.s;
    let p = join_key("external", name);
    name_rules(c, &p, "external mailbox", name);
    if s.hosts.contains_key(name) {
        // Verdicts name the external mailbox by its key, as they name hosts.
        c.err(
            &p,
            format!("`{name}` is also a host: verdicts could not tell them apart"),
            Some("give the external mailbox another name".into()),
        );
    }
    address(c, &p, &x.address);
    if x.server.trim().is_empty() {
        c.err(&join_key(&p, "server"), "server is empty", None);
    }
    for (proto, e) in &x.endpoints {
        let ep = join_key(&join_key(&p, "endpoints"), proto.as_str());
        if !matches!(
            proto,
            Proto::Pop3 | Proto::Pop3s | Proto::Imap | Proto::Imaps
        ) {
            c.err(
                &ep,
                format!("an external mailbox is read over pop3 or imap, not {proto}"),
                Some("endpoints: pop3, pop3s, imap, imaps".into()),
            );
        }
        if e.port == Some(0) {
            c.err(&join_key(&ep, "port"), "port 0 is not a port", None);
        }
        c.tls(&join_key(&ep, "tls_options"), e.tls_options.as_ref());
    }
    c.tls(&join_key(&p, "tls"), x.tls.as_ref());
    match (&x.password_env, &x.password_file) {
        (None, None) => c.err(
            &p,
            format!("external mailbox `{name}` has no password"),
            Some("set password_env or password_file".into()),
        ),
        (Some(_), Some(_)) => c.err(&p, "set only one of password_env and password_file", None),
        _ => {}
    }
    c.secret_env(&p, x.password_env.as_deref());
    c.secret_file(&p, x.password_file.as_deref());
}

fn dkim(c: &mut Ctx<'_>, k: &DkimSpec) {
    for (key, v) in [("domain", &k.domain), ("selector", &k.selector)] {
        if v.trim().is_empty() {
            c.err(&join_key("dkim", key), format!("{key} is empty"), None);
        }
    }
    if !k.key_file.is_file() {
        c.err(
            "dkim.key_file",
            format!("key file `{}` does not exist", k.key_file.display()),
            Some("the TXT record's text, e.g. opendkim-genkey's <selector>.txt".into()),
        );
    }
}

/// `spf:` / `dmarc:`: a domain and a record healthmon can evaluate without
/// DNS.
fn published(c: &mut Ctx<'_>, p: &str, domain: &str, bad: Option<String>) {
    if domain.trim().is_empty() {
        c.err(&join_key(p, "domain"), "domain is empty", None);
    }
    if let Some(e) = bad {
        let hint = e.contains("needs DNS").then(|| {
            "healthmon does no DNS: write the addresses it stands for as ip4:/ip6:".to_string()
        });
        c.err(&join_key(p, "record"), e, hint);
    }
}

fn reflector(c: &mut Ctx<'_>, name: &str, r: &ReflectorSpec) {
    let p = join_key("reflectors", name);
    name_rules(c, &p, "reflector", name);
    address(c, &p, &r.address);
    c.account_ref(&join_key(&p, "returns_to"), &r.returns_to);
}

/// The customer account that submits, and each submit host on `via`
/// (default submission: a customer sends with AUTH).
fn sender(c: &mut Ctx<'_>, p: &str, from: &str, submit: &[String], via: Option<Proto>) {
    c.account_ref(&join_key(p, "from"), from);
    if submit.is_empty() {
        c.warn(&join_key(p, "submit"), "empty list: no paths", None);
    }
    let via = Some(via.unwrap_or(Proto::Submission));
    for (i, h) in submit.iter().enumerate() {
        c.submit(
            &join_index(&join_key(p, "submit"), i),
            h,
            via,
            &join_key(p, "via"),
        );
    }
}

fn outbound(c: &mut Ctx<'_>, p: &str, o: &OutboundSpec) {
    let s = c.s;
    sender(c, p, &o.from, &o.submit, o.via);
    if o.to.is_empty() {
        c.warn(&join_key(p, "to"), "empty list: no paths", None);
    }
    let protos = crate::suite::model::protocols(&o.protocol);
    for (i, x) in o.to.iter().enumerate() {
        let tp = join_index(&join_key(p, "to"), i);
        if !s.external.contains_key(x) {
            let hint = did_you_mean(x, s.external.keys().map(String::as_str))
                .or_else(|| Some("declare it under `external:`".into()));
            c.err(&tp, format!("no external mailbox named `{x}`"), hint);
            continue;
        }
        for proto in &protos {
            let has = proto
                .endpoints()
                .iter()
                .any(|e| s.external_endpoint(x, *e).is_some());
            if !has {
                c.err(
                    &tp,
                    format!("external mailbox `{x}` has no {} endpoint", proto.as_str()),
                    Some(format!("add external.{x}.endpoints.{}", proto.as_str())),
                );
            }
        }
    }
    c.path_limits(p, o.thresholds.as_ref(), o.timeout);
}

fn echo(c: &mut Ctx<'_>, p: &str, e: &EchoSpec) {
    let s = c.s;
    sender(c, p, &e.from, &e.submit, e.via);
    let rp = join_key(p, "reflector");
    let Some(r) = s.reflectors.get(&e.reflector) else {
        let hint = did_you_mean(&e.reflector, s.reflectors.keys().map(String::as_str))
            .or_else(|| Some("declare it under `reflectors:`".into()));
        c.err(&rp, format!("no reflector named `{}`", e.reflector), hint);
        return;
    };
    let protos = crate::suite::model::protocols(&e.protocol);
    let back = r.returns_to.as_str();
    let accounts: Vec<&str> = if s.accounts.contains_key(back) {
        vec![back]
    } else {
        vec![]
    };
    if e.retrieve.is_empty() {
        c.warn(&join_key(p, "retrieve"), "empty list: no paths", None);
    }
    for (i, h) in e.retrieve.iter().enumerate() {
        let hp = join_index(&join_key(p, "retrieve"), i);
        c.retrieve(&hp, h, &protos, &accounts);
        if !accounts.is_empty() && h != "store" {
            c.reaches_mailbox(&hp, back, h);
        }
    }
    c.path_limits(p, e.thresholds.as_ref(), e.timeout);
}
