//! Semantic checks of a parsed suite: references, roles, endpoints, secrets,
//! thresholds, rotation. Every problem is reported with the key path it
//! belongs to; `SourceMap` turns the path into file:line:column.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use super::checks::Rules;
use super::diag::{Diagnostic, Severity};
use super::model::*;
use super::pos::{join_index, join_key};
use super::source::SourceMap;
use super::suggest::did_you_mean;

mod external;

/// Phase names thresholds may use (SMTP steps, retrieval steps, totals).
pub const PHASES: &[&str] = &[
    "total", "connect", "greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "quit",
    "submit", "login", "delivery", "fetch", "delete", "logout", "retrieve",
];

struct Ctx<'a> {
    s: &'a SuiteSpec,
    src: &'a SourceMap,
    out: Vec<Diagnostic>,
}

/// Every semantic problem of a suite (errors and warnings).
pub fn validate(s: &SuiteSpec, src: &SourceMap) -> Vec<Diagnostic> {
    let mut c = Ctx {
        s,
        src,
        out: Vec::new(),
    };
    c.top();
    c.defaults();
    for (name, h) in &s.hosts {
        c.host(name, h);
    }
    for (name, a) in &s.accounts {
        c.account(name, a);
    }
    if let Some(rt) = &s.roundtrip {
        c.roundtrip(rt);
    }
    external::check(&mut c);
    for (i, sec) in s.security.iter().enumerate() {
        c.security(&join_index("security", i), sec);
    }
    // Alert routes and channels (alerting::validate knows their rules).
    let agents = super::agent::validate(
        s.hosts
            .iter()
            .filter_map(|(n, h)| Some((n, h.agent.as_ref()?))),
    );
    for (path, sev, msg) in super::alerting::validate::validate(s)
        .into_iter()
        .chain(agents)
    {
        c.out.push(src.diag(sev, &path, msg, None));
    }
    c.out
}

/// The DNS half of the alert route check (an alert channel's target that
/// resolves to a suite host), for `healthmon validate` and daemon start:
/// loading a suite does no DNS.
pub fn validate_resolved(s: &super::LoadedSuite) -> Vec<Diagnostic> {
    super::alerting::validate::validate_resolved(&s.spec)
        .into_iter()
        .map(|(path, sev, msg)| s.pos.diag(sev, &path, msg, None))
        .collect()
}

fn id_safe(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn d(x: Duration) -> super::duration::Dur {
    super::duration::Dur(x)
}

impl Ctx<'_> {
    fn top(&mut self) {
        if self.s.site.trim().is_empty() {
            self.err("site", "site name is empty", None);
        } else if !id_safe(&self.s.site) {
            self.err(
                "site",
                format!(
                    "site name `{}` is used in reports and metric labels",
                    self.s.site
                ),
                Some("use letters, digits, `.`, `_` or `-`".into()),
            );
        }
        if self.s.hosts.is_empty() {
            self.err(
                "hosts",
                "no hosts: a suite describes at least one host",
                None,
            );
        }
        self.reports();
    }

    fn reports(&mut self) {
        let Some(r) = &self.s.reports else { return };
        if let Some(rot) = &r.rotate {
            use super::model::RotateEvery;
            match (rot.every, rot.max_mb) {
                (Some(RotateEvery::Size), None | Some(0)) => self.err(
                    "reports.rotate.max_mb",
                    "every: size needs max_mb (at least 1)",
                    None,
                ),
                (Some(RotateEvery::Day | RotateEvery::Never) | None, Some(_)) => self.err(
                    "reports.rotate.max_mb",
                    "max_mb applies only with every: size",
                    Some("write every: size".into()),
                ),
                _ => {}
            }
        }
        if r.retention_days == Some(0) {
            self.err(
                "reports.retention_days",
                "retention_days must be at least 1 (the day being written)",
                None,
            );
        }
    }

    fn defaults(&mut self) {
        let Some(df) = &self.s.defaults else { return };
        if df.concurrency == Some(0) {
            self.err(
                "defaults.concurrency",
                "concurrency must be at least 1",
                None,
            );
        }
        if df.per_host_concurrency == Some(0) {
            self.err(
                "defaults.per_host_concurrency",
                "per_host_concurrency must be at least 1",
                None,
            );
        }
        if self.s.step_timeout() > self.s.timeout() {
            self.warn(
                "defaults.step_timeout",
                format!(
                    "step_timeout {} is longer than the case timeout {}",
                    d(self.s.step_timeout()),
                    d(self.s.timeout())
                ),
                None,
            );
        }
        if let Some(t) = &df.thresholds {
            let timeout = self.s.timeout();
            self.thresholds("defaults.thresholds", t, timeout);
        }
        self.tls("defaults.tls", df.tls.as_ref());
    }

    fn tls(&mut self, path: &str, t: Option<&TlsSpec>) {
        let Some(t) = t else { return };
        if t.insecure == Some(true) {
            self.warn(
                &join_key(path, "insecure"),
                "TLS certificate verification is disabled",
                Some("reported on every run; prefer ca_file".into()),
            );
        }
        for (i, p) in t.pin_sha256.iter().flatten().enumerate() {
            if let Err(e) = crate::suite::pin::parse_pin(p) {
                self.err(
                    &join_index(&join_key(path, "pin_sha256"), i),
                    format!("pin {p:?}: {e}"),
                    Some("openssl x509 -in CERT -noout -fingerprint -sha256 prints one".into()),
                );
            }
        }
        if let Some(f) = &t.ca_file {
            if !f.is_file() {
                self.unset(
                    &join_key(path, "ca_file"),
                    format!("CA file `{}` does not exist", f.display()),
                );
            }
        }
    }

    // ---- references -------------------------------------------------------

    fn account_ref(&mut self, path: &str, name: &str) -> Option<&AccountSpec> {
        let s = self.s;
        match s.accounts.get(name) {
            Some(a) => Some(a),
            None => {
                let hint = did_you_mean(name, s.accounts.keys().map(String::as_str));
                self.err(path, format!("no account named `{name}`"), hint);
                None
            }
        }
    }

    /// A submit host and its submission endpoint.
    fn submit(&mut self, path: &str, host: &str, via: Option<Proto>, via_path: &str) {
        let via = via.unwrap_or(Proto::Smtp);
        if !matches!(via, Proto::Smtp | Proto::Submission | Proto::Smtps) {
            self.err(
                via_path,
                format!("cannot submit via `{via}`"),
                Some("via is smtp, submission or smtps".into()),
            );
            return;
        }
        if self.host_with_role(path, host, "submit", &["mta", "lb"]) {
            self.needs_endpoint(path, host, &[via]);
        }
    }

    /// A retrieve host (or `store`) for the given protocols and accounts.
    fn retrieve(&mut self, path: &str, host: &str, protos: &[RetrProto], accounts: &[&str]) {
        let s = self.s;
        if host == "store" {
            let mut seen = BTreeSet::new();
            for a in accounts {
                let Some(st) = s.accounts.get(*a).map(|a| a.store.as_str()) else {
                    continue;
                };
                if !s.has_role(st, "store") || !seen.insert(st) {
                    continue; // reported at the account
                }
                for p in protos {
                    self.needs_endpoint(path, st, &p.endpoints());
                }
            }
            return;
        }
        if self.host_with_role(path, host, "retrieve", &["mmp", "lb", "store"]) {
            for p in protos {
                self.needs_endpoint(path, host, &p.endpoints());
            }
        }
    }

    /// An explicit path (paths, rotation): the account's mailbox must be
    /// reachable through the retrieve host.
    fn reaches_mailbox(&mut self, path: &str, account: &str, retrieve: &str) {
        let s = self.s;
        let Some(a) = s.accounts.get(account) else {
            return;
        };
        let store = a.store.as_str();
        if !s.hosts.contains_key(retrieve) || !s.has_role(store, "store") {
            return;
        }
        if s.has_role(retrieve, "mmp") {
            if !s.fronted_stores(retrieve).iter().any(|x| x == store) {
                self.err(
                    path,
                    format!("`{retrieve}` does not front `{store}`, which holds `{account}`"),
                    Some(format!(
                        "add {store} to hosts.{retrieve}.fronts or retrieve through another MMP"
                    )),
                );
            }
        } else if s.has_role(retrieve, "store") && retrieve != store {
            self.err(
                path,
                format!(
                    "`{retrieve}` does not hold the mailbox of `{account}` (its store is `{store}`)"
                ),
                Some("retrieve from `store` (the account's own store) or an MMP".into()),
            );
        }
    }

    // ---- thresholds ---------------------------------------------------------

    fn thresholds(&mut self, path: &str, t: &Thresholds, timeout: Duration) {
        for (phase, lim) in t {
            let p = join_key(path, phase);
            if !PHASES.contains(&phase.as_str()) {
                let hint = did_you_mean(phase, PHASES.iter().copied())
                    .or_else(|| Some(format!("phases: {}", PHASES.join(", "))));
                self.err(&p, format!("unknown phase `{phase}`"), hint);
                continue;
            }
            self.limit(&p, lim.warning, lim.critical, Some(timeout));
        }
    }

    /// warning ≤ critical ≤ timeout.
    fn limit(
        &mut self,
        path: &str,
        warning: Option<super::duration::Dur>,
        critical: Option<super::duration::Dur>,
        timeout: Option<Duration>,
    ) {
        self.ordered(path, ("warning", warning), ("critical", critical));
        let Some(timeout) = timeout else { return };
        let (key, top) = match (critical, warning) {
            (Some(c), _) => ("critical", c),
            (None, Some(w)) => ("warning", w),
            _ => return,
        };
        if top.0 > timeout {
            self.err(
                &join_key(path, key),
                format!(
                    "{key} ({top}) exceeds the timeout ({}): it can never be reached",
                    d(timeout)
                ),
                Some("raise the timeout or lower the limit".into()),
            );
        }
    }

    /// A path with its own timeout: inherited limits must fit in it too.
    fn path_limits(
        &mut self,
        path: &str,
        own: Option<&Thresholds>,
        timeout: Option<super::duration::Dur>,
    ) {
        let t = timeout.map_or(self.s.timeout(), |d| d.0);
        if let Some(own) = own {
            self.thresholds(&join_key(path, "thresholds"), own, t);
        }
        let Some(to) = timeout else { return };
        let base = self
            .s
            .defaults
            .as_ref()
            .and_then(|d| d.thresholds.clone())
            .unwrap_or_default();
        for (phase, lim) in &base {
            let over = own.and_then(|o| o.get(phase));
            let crit = over.and_then(|o| o.critical).or(lim.critical);
            let from_defaults = over.and_then(|o| o.critical).is_none();
            if let (Some(c), true) = (crit, from_defaults) {
                if c.0 > to.0 {
                    self.err(
                        &join_key(path, "timeout"),
                        format!(
                            "timeout ({to}) is below the critical limit for `{phase}` ({c}) from defaults.thresholds"
                        ),
                        Some(format!("override thresholds.{phase}.critical for this path")),
                    );
                }
            }
        }
    }

    // ---- hosts --------------------------------------------------------------

    fn host(&mut self, name: &str, h: &HostSpec) {
        let s = self.s;
        let hp = join_key("hosts", name);
        if !id_safe(name) {
            self.err(
                &hp,
                format!("host name `{name}` is used in case ids"),
                Some("use letters, digits, `.`, `_` or `-`".into()),
            );
        }
        if name == "store" {
            self.err(
                &hp,
                "`store` is reserved: in a retrieve list it means the account's own store",
                None,
            );
        }
        if h.roles.is_empty() {
            self.err(
                &join_key(&hp, "roles"),
                "a host needs at least one role",
                Some("lb, mta, mmp, store, ldap, or your own".into()),
            );
        }
        if h.address.trim().is_empty() {
            self.err(&join_key(&hp, "address"), "address is empty", None);
        }
        self.tls(&join_key(&hp, "tls"), h.tls.as_ref());
        for (proto, e) in &h.endpoints {
            let ep = join_key(&join_key(&hp, "endpoints"), proto.as_str());
            if e.port == Some(0) {
                self.err(&join_key(&ep, "port"), "port 0 is not a port", None);
            }
            if proto.default_tls() == TlsMode::Implicit
                && e.tls.is_some_and(|t| t != TlsMode::Implicit)
            {
                self.err(
                    &join_key(&ep, "tls"),
                    format!("{proto} is TLS from the first byte: tls must be implicit"),
                    None,
                );
            }
            self.tls(&join_key(&ep, "tls_options"), e.tls_options.as_ref());
        }
        for (i, b) in h.backends.iter().enumerate() {
            let p = join_index(&join_key(&hp, "backends"), i);
            if !s.hosts.contains_key(b) {
                let hint = did_you_mean(b, s.hosts.keys().map(String::as_str));
                self.err(&p, format!("no host named `{b}`"), hint);
            }
        }
        for (i, f) in h.fronts.iter().enumerate() {
            let p = join_index(&join_key(&hp, "fronts"), i);
            self.host_with_role(&p, f, "`fronts`", &["store"]);
        }
        let mut ids: BTreeMap<String, usize> = BTreeMap::new();
        for (i, chk) in h.checks.iter().enumerate() {
            let cp = join_index(&join_key(&hp, "checks"), i);
            let id = format!("{}/{}", chk.kind(), chk.name().unwrap_or(""));
            if let Some(first) = ids.insert(id, i) {
                self.err(
                    &cp,
                    format!(
                        "a second `{}` check on `{name}` with the same name",
                        chk.kind()
                    ),
                    Some(format!(
                        "give checks[{first}] and checks[{i}] distinct `name`s"
                    )),
                );
            }
            if let Some(n) = chk.name() {
                if !id_safe(n) {
                    self.err(
                        &join_key(&join_key(&cp, chk.kind()), "name"),
                        format!("check name `{n}` is used in case ids"),
                        Some("use letters, digits, `.`, `_` or `-`".into()),
                    );
                }
            }
            chk.validate(name, &join_key(&cp, chk.kind()), self);
        }
    }

    // ---- accounts and secrets ----------------------------------------------

    fn account(&mut self, name: &str, a: &AccountSpec) {
        let s = self.s;
        let ap = join_key("accounts", name);
        if !id_safe(name) {
            self.err(
                &ap,
                format!("account name `{name}` is used in case ids"),
                Some("use letters, digits, `.`, `_` or `-`".into()),
            );
        }
        if name == "all" {
            self.err(
                &ap,
                "`all` is reserved: in a matrix it means every account",
                None,
            );
        }
        if !a.address.contains('@') {
            self.err(
                &join_key(&ap, "address"),
                format!("`{}` is not a mail address", a.address),
                None,
            );
        }
        let sp = join_key(&ap, "store");
        if let Some(h) = s.hosts.get(&a.store) {
            if !h.roles.iter().any(|r| r == "store") {
                self.err(
                    &sp,
                    format!(
                        "`{}` is not a store: its roles are [{}]",
                        a.store,
                        h.roles.join(", ")
                    ),
                    Some(format!(
                        "stores: {}",
                        s.hosts_with_role("store").collect::<Vec<_>>().join(", ")
                    )),
                );
            }
        } else {
            let hint = did_you_mean(&a.store, s.hosts_with_role("store"));
            self.err(&sp, format!("no host named `{}`", a.store), hint);
        }
        let set = [
            a.password_env.is_some(),
            a.password_file.is_some(),
            a.password.is_some(),
        ];
        match set.iter().filter(|x| **x).count() {
            0 => self.err(
                &ap,
                format!("account `{name}` has no password"),
                Some("set password_env or password_file".into()),
            ),
            1 => {}
            _ => self.err(
                &ap,
                "set only one of password_env, password_file and password",
                None,
            ),
        }
        self.secret_env(&ap, a.password_env.as_deref());
        self.secret_file(&ap, a.password_file.as_deref());
        if a.password.is_some() {
            self.warn(
                &join_key(&ap, "password"),
                "inline password in the suite",
                Some("use password_env or password_file".into()),
            );
        }
    }

    // ---- round trips --------------------------------------------------------

    fn roundtrip(&mut self, rt: &RoundtripSpec) {
        let s = self.s;
        if let Some(a) = rt.arrival_timeout {
            let cap = crate::suite::resolve::arrival_wait(None, s.timeout(), s.step_timeout());
            if a.0 > cap {
                self.warn(
                    "roundtrip.arrival_timeout",
                    format!(
                        "arrival_timeout ({a}) leaves no time within the case timeout ({}) to name the failing host",
                        d(s.timeout())
                    ),
                    Some(format!(
                        "the wait is cut at {} (one step before the case ends); omit arrival_timeout or raise timeout",
                        d(cap)
                    )),
                );
            }
        }
        for (i, m) in rt.matrix.iter().enumerate() {
            self.matrix(&join_index("roundtrip.matrix", i), m);
        }
        for (i, p) in rt.paths.iter().enumerate() {
            let pp = join_index("roundtrip.paths", i);
            self.one_path(&pp, &p.account, &p.submit, p.via, &p.retrieve, p.protocol);
            self.path_limits(&pp, p.thresholds.as_ref(), p.timeout);
        }
        let mut minutes: BTreeMap<u32, usize> = BTreeMap::new();
        for (i, r) in rt.rotation.iter().enumerate() {
            let rp = join_index("roundtrip.rotation", i);
            if r.minute > 59 {
                self.err(
                    &join_key(&rp, "minute"),
                    format!("minute {} is outside 0-59", r.minute),
                    None,
                );
            } else if let Some(first) = minutes.insert(r.minute, i) {
                self.err(
                    &join_key(&rp, "minute"),
                    format!(
                        "minute {} is already used by roundtrip.rotation[{first}]",
                        r.minute
                    ),
                    None,
                );
            }
            self.one_path(&rp, &r.account, &r.submit, r.via, &r.retrieve, r.protocol);
        }
    }

    fn one_path(
        &mut self,
        p: &str,
        account: &str,
        submit: &str,
        via: Option<Proto>,
        retrieve: &str,
        proto: RetrProto,
    ) {
        let known = self.account_ref(&join_key(p, "account"), account).is_some();
        self.submit(&join_key(p, "submit"), submit, via, &join_key(p, "via"));
        let accounts: Vec<&str> = if known { vec![account] } else { vec![] };
        let rp = join_key(p, "retrieve");
        self.retrieve(&rp, retrieve, &[proto], &accounts);
        if known && retrieve != "store" {
            self.reaches_mailbox(&rp, account, retrieve);
        }
    }

    fn matrix(&mut self, mp: &str, m: &MatrixSpec) {
        let s = self.s;
        for (key, empty) in [
            ("submit", m.submit.is_empty()),
            ("retrieve", m.retrieve.is_empty()),
            ("protocol", m.protocol.is_empty()),
            ("accounts", m.accounts.as_ref().is_some_and(Vec::is_empty)),
        ] {
            if empty {
                self.warn(
                    &join_key(mp, key),
                    "empty list: this matrix asserts nothing",
                    None,
                );
            }
        }
        let all: Vec<&str> = s.accounts.keys().map(String::as_str).collect();
        let accounts: Vec<&str> = match &m.accounts {
            Some(v) if !(v.len() == 1 && v[0] == "all") => {
                let mut ok = Vec::new();
                for (i, a) in v.iter().enumerate() {
                    if self
                        .account_ref(&join_index(&join_key(mp, "accounts"), i), a)
                        .is_some()
                    {
                        ok.push(a.as_str());
                    }
                }
                ok
            }
            _ => all,
        };
        for (i, h) in m.submit.iter().enumerate() {
            self.submit(
                &join_index(&join_key(mp, "submit"), i),
                h,
                m.via,
                &join_key(mp, "via"),
            );
        }
        for (i, h) in m.retrieve.iter().enumerate() {
            self.retrieve(
                &join_index(&join_key(mp, "retrieve"), i),
                h,
                &m.protocol,
                &accounts,
            );
        }
        self.path_limits(mp, m.thresholds.as_ref(), m.timeout);
    }

    // ---- security -----------------------------------------------------------

    fn security(&mut self, p: &str, sec: &SecuritySpec) {
        match sec {
            SecuritySpec::OpenRelay(o) => {
                let p = join_key(p, "open_relay");
                self.submit(&join_key(&p, "host"), &o.host, o.via, &join_key(&p, "via"));
            }
            SecuritySpec::SubmissionWithoutAuth(h) => {
                let p = join_key(&join_key(p, "submission_without_auth"), "host");
                if self.host_with_role(&p, &h.host, "submit", &["mta", "lb"]) {
                    self.needs_endpoint(&p, &h.host, &[Proto::Submission]);
                }
            }
            SecuritySpec::WrongPassword(w) => {
                let p = join_key(p, "wrong_password");
                self.account_ref(&join_key(&p, "account"), &w.account);
                self.retrieve(&join_key(&p, "host"), &w.host, &[w.protocol], &[]);
            }
        }
    }
}

impl Ctx<'_> {
    /// A reference the monitoring host satisfies (see [`Severity::Unset`]).
    fn unset(&mut self, path: &str, message: String) {
        let d = self.src.diag(Severity::Unset, path, message, None);
        self.out.push(d);
    }
}

/// The diagnostics API the host-check kinds validate through.
impl Rules for Ctx<'_> {
    fn err(&mut self, path: &str, message: impl Into<String>, hint: Option<String>) {
        let d = self.src.diag(Severity::Error, path, message.into(), hint);
        self.out.push(d);
    }

    fn warn(&mut self, path: &str, message: impl Into<String>, hint: Option<String>) {
        let d = self.src.diag(Severity::Warning, path, message.into(), hint);
        self.out.push(d);
    }

    fn has_role(&self, host: &str, role: &str) -> bool {
        self.s.has_role(host, role)
    }

    fn host_protos(&self, host: &str) -> Vec<Proto> {
        self.s.host_protos(host)
    }

    fn has_endpoint(&self, host: &str, proto: Proto) -> bool {
        self.s.endpoint(host, proto).is_some()
    }

    fn host_with_role(&mut self, path: &str, name: &str, what: &str, roles: &[&str]) -> bool {
        let Some(h) = self.s.hosts.get(name) else {
            let hint = did_you_mean(name, self.s.hosts.keys().map(String::as_str));
            self.err(path, format!("no host named `{name}`"), hint);
            return false;
        };
        if !h.roles.iter().any(|r| roles.contains(&r.as_str())) {
            self.err(
                path,
                format!(
                    "`{name}` has roles [{}], but {what} needs a host with role {}",
                    h.roles.join(", "),
                    roles.join(" or ")
                ),
                None,
            );
            return false;
        }
        true
    }

    fn needs_endpoint(&mut self, path: &str, host: &str, candidates: &[Proto]) {
        if self.s.endpoint_for(host, candidates).is_none() {
            let names: Vec<&str> = candidates.iter().map(|p| p.as_str()).collect();
            let declared: Vec<&str> = self
                .s
                .host_protos(host)
                .iter()
                .map(|p| p.as_str())
                .collect();
            let declared = if declared.is_empty() {
                "nothing".to_string()
            } else {
                declared.join(", ")
            };
            self.err(
                path,
                format!("`{host}` has no {} endpoint", names.join(" or ")),
                Some(format!(
                    "it declares: {declared}; add hosts.{host}.endpoints.{}",
                    names[0]
                )),
            );
        }
    }

    /// Never prints the value.
    fn secret_env(&mut self, parent: &str, var: Option<&str>) {
        let Some(var) = var else { return };
        let p = join_key(parent, "password_env");
        match std::env::var_os(var) {
            None => self.unset(&p, format!("environment variable `{var}` is not set")),
            Some(v) if v.is_empty() => {
                self.unset(&p, format!("environment variable `{var}` is empty"))
            }
            Some(_) => {}
        }
    }

    fn secret_file(&mut self, parent: &str, f: Option<&Path>) {
        let Some(f) = f else { return };
        let p = join_key(parent, "password_file");
        if !f.exists() {
            self.unset(
                &p,
                format!("password file `{}` does not exist", f.display()),
            );
        } else if let Err(e) = std::fs::File::open(f) {
            self.unset(
                &p,
                format!("cannot read password file `{}`: {e}", f.display()),
            );
        } else if crate::secret::too_open(f) {
            self.warn(
                &p,
                format!(
                    "password file `{}` is readable by group or others",
                    f.display()
                ),
                Some(format!("chmod 600 {}", f.display())),
            );
        }
    }
}
