//! Alert configuration checks for `healthmon validate`: unknown channel
//! names, bad values, and above all routes that depend on the monitored site
//! (the seed: "the alert should not be sent using any of the email
//! infrastructure of the site"). An SMTP relay that is a suite host — by
//! name, by address, or by resolving to one — is an error unless
//! `allow_site_relay: true`; any other channel talking to a suite host is a
//! warning.
//!
//! Loading a suite compares names and literal addresses only: the DNS half
//! ([`validate_resolved`]) runs under `healthmon validate` and once at
//! daemon start, never on a cron run or a reload (a slow resolver would
//! delay every run, 2 s per name).

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::Duration;

use super::ChannelSpec;
use crate::suite::Severity;
use crate::suite::model::SuiteSpec;

/// Budget for resolving one name: validate must stay quick when DNS is not.
const RESOLVE_BUDGET: Duration = Duration::from_secs(2);

type Finding = (String, Severity, String);

/// Addresses `name` resolves to, or empty after the budget. Answers are
/// cached for the process (the daemon checks at start; `validate` of many
/// suites shares hosts).
pub fn resolve(name: &str, port: u16) -> Vec<IpAddr> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return vec![ip];
    }
    type Cache = Mutex<HashMap<(String, u16), Vec<IpAddr>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (name.to_string(), port);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return hit;
    }
    // Tests look for this line: an ordinary run must never print it.
    tracing::debug!("resolving {name} (alert route check)");
    let (tx, rx) = mpsc::channel();
    let n = name.to_string();
    std::thread::spawn(move || {
        let r: Vec<IpAddr> = (n.as_str(), port)
            .to_socket_addrs()
            .map(|it| it.map(|a| a.ip()).collect())
            .unwrap_or_default();
        let _ = tx.send(r);
    });
    let r = rx.recv_timeout(RESOLVE_BUDGET).unwrap_or_default();
    if let Ok(mut c) = cache.lock() {
        c.insert(key, r.clone());
    }
    r
}

/// The suite host `target` is by name or literal address (no DNS).
fn named_site_host(suite: &SuiteSpec, target: &str) -> Option<(String, String)> {
    let t = target.trim_end_matches('.').to_ascii_lowercase();
    for (name, h) in &suite.hosts {
        if t == name.to_ascii_lowercase()
            || h.hostname
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(&t))
        {
            return Some((name.clone(), "is named".into()));
        }
        if t == h.address.to_ascii_lowercase() {
            return Some((name.clone(), "has the address".into()));
        }
    }
    None
}

/// The suite host `target` resolves to (DNS, 2 s per name), when it is not
/// one by name or literal address.
fn resolved_site_host(suite: &SuiteSpec, target: &str, port: u16) -> Option<(String, String)> {
    let t = target.trim_end_matches('.').to_ascii_lowercase();
    let mine: BTreeSet<IpAddr> = resolve(&t, port).into_iter().collect();
    if mine.is_empty() {
        return None;
    }
    for (name, h) in &suite.hosts {
        let theirs = resolve(&h.address, port);
        if let Some(ip) = theirs.iter().find(|ip| mine.contains(ip)) {
            return Some((name.clone(), format!("resolves to {ip}, the address of")));
        }
    }
    None
}

/// The DNS half of the route check: channel targets that are not a suite
/// host by name or address but resolve to one.
pub fn validate_resolved(suite: &SuiteSpec) -> Vec<Finding> {
    crossings(suite, |t, port| {
        if named_site_host(suite, t).is_some() {
            None
        } else {
            resolved_site_host(suite, t, port)
        }
    })
}

/// Findings for channel targets that `found` says are a suite host.
fn crossings(
    suite: &SuiteSpec,
    found: impl Fn(&str, u16) -> Option<(String, String)>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(a) = &suite.alerting else {
        return out;
    };
    for (name, ch) in &a.channels {
        let base = format!("alerting.channels.{name}.{}", ch.kind());
        for t in ch.targets() {
            let Some((host, how)) = found(&t.host, t.port) else {
                continue;
            };
            let key = format!("{base}.{}", t.key);
            match ch {
                ChannelSpec::SmtpRelay(s) if !s.allow_site_relay => out.push((
                    key,
                    Severity::Error,
                    format!(
                        "the relay {} {how} suite host {host}: alerts would fail together with the site they report on (use an external relay, or set allow_site_relay: true)",
                        t.host
                    ),
                )),
                _ => out.push((
                    key,
                    Severity::Warning,
                    format!(
                        "channel {name} depends on the monitored site: {} {how} suite host {host}",
                        t.host
                    ),
                )),
            }
        }
    }
    out
}

pub fn validate(suite: &SuiteSpec) -> Vec<Finding> {
    let mut out: Vec<Finding> = vec![];
    let Some(a) = &suite.alerting else {
        return out;
    };
    for (name, ch) in &a.channels {
        let base = format!("alerting.channels.{name}.{}", ch.kind());
        for (sev, msg) in ch.check() {
            match msg.split_once(": ") {
                Some((k, m)) if !k.contains(' ') => {
                    out.push((format!("{base}.{k}"), sev, m.to_string()))
                }
                _ => out.push((base.clone(), sev, msg)),
            }
        }
    }
    out.extend(crossings(suite, |t, _| named_site_host(suite, t)));
    let known = |c: &String| a.channels.contains_key(c);
    let mut names = BTreeSet::new();
    for (i, r) in a.routes.iter().enumerate() {
        let base = format!("alerting.routes[{i}]");
        if !names.insert(r.name.clone()) {
            out.push((
                format!("{base}.name"),
                Severity::Error,
                format!("duplicate route name {}", r.name),
            ));
        }
        if r.channels.is_empty() {
            out.push((
                format!("{base}.channels"),
                Severity::Error,
                "a route needs at least one channel".into(),
            ));
        }
        for (list, key) in [(&r.channels, "channels"), (&r.fallback, "fallback")] {
            for (j, c) in list.iter().enumerate() {
                if !known(c) {
                    out.push((
                        format!("{base}.{key}[{j}]"),
                        Severity::Error,
                        unknown_channel(c, a),
                    ));
                }
            }
        }
        for (j, s) in r.matcher.severity.iter().enumerate() {
            if !matches!(s.as_str(), "warning" | "critical" | "error") {
                out.push((
                    format!("{base}.match.severity[{j}]"),
                    Severity::Error,
                    format!("unknown severity {s} (use warning, critical or error)"),
                ));
            }
        }
        for (j, h) in r.matcher.hosts.iter().enumerate() {
            if !suite.hosts.contains_key(h) {
                out.push((
                    format!("{base}.match.hosts[{j}]"),
                    Severity::Warning,
                    format!("no host {h} in suite {}", suite.site),
                ));
            }
        }
        for (j, role) in r.matcher.roles.iter().enumerate() {
            if !suite.hosts.values().any(|h| h.roles.contains(role)) {
                out.push((
                    format!("{base}.match.roles[{j}]"),
                    Severity::Warning,
                    format!("no host has role {role}"),
                ));
            }
        }
    }
    if let Some(hb) = &a.heartbeat {
        for (j, c) in hb.channels.iter().enumerate() {
            if !known(c) {
                out.push((
                    format!("alerting.heartbeat.channels[{j}]"),
                    Severity::Error,
                    unknown_channel(c, a),
                ));
            }
        }
    }
    out
}

fn unknown_channel(c: &str, a: &super::AlertingSpec) -> String {
    let names: Vec<&str> = a.channels.keys().map(String::as_str).collect();
    format!(
        "unknown channel {c} (declared: {})",
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    )
}
