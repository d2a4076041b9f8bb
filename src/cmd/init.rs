//! `healthmon init`: a starter suite from what the servers say — goss'
//! `autoadd` for mail sites. Given an MTA, an MMP and/or a store and one
//! test account, it probes each candidate endpoint read-only (banner,
//! STARTTLS or implicit TLS, verified certificates, AUTH mechanisms — no
//! mail, no login, as `validate --resolve`), writes a commented suite with
//! what answered, and checks that the suite validates.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::exit;
use crate::probe::banner::{Discovered, discover};
use crate::suite::model::{AuthMech, Proto, TlsMode, TlsSpec};
use crate::suite::resolve::Endpoint;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    healthmon init --mta 127.0.1.1 --mmp 127.0.3.1 --store 127.0.2.1 --account ims1@example.test \\\n    \
    --password-file target/mailsite/secrets/ims1.pass --ca-file target/mailsite/ca/ca.pem -o /tmp/site.yaml\n  \
    healthmon init --mta mail.example.net --store imap.example.net --account probe@example.net --password-env HM_PROBE_PASS\n\
    Nothing is sent and nobody logs in: the account's password is only referenced.")]
pub struct Args {
    /// The MTA's address (name or IP).
    #[arg(long, value_name = "ADDRESS")]
    pub mta: String,
    /// A POP/IMAP proxy (MMP) in front of the store.
    #[arg(long, value_name = "ADDRESS")]
    pub mmp: Option<String>,
    /// The message store holding the test account's mailbox.
    #[arg(long, value_name = "ADDRESS", required_unless_present = "mmp")]
    pub store: Option<String>,
    /// The test account's mail address (its mailbox receives the probes).
    #[arg(long, value_name = "MAIL")]
    pub account: String,
    /// Login name, when it is not the address's local part.
    #[arg(long)]
    pub login: Option<String>,
    /// The account's password from this environment variable.
    #[arg(
        long,
        value_name = "VAR",
        conflicts_with = "password_file",
        required_unless_present = "password_file"
    )]
    pub password_env: Option<String>,
    /// The account's password from this file (chmod 600).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// CA bundle or the servers' own (self-signed) certificates.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Site name (default: the account's domain).
    #[arg(long)]
    pub site: Option<String>,
    /// Write the suite here (refuses to overwrite); default: stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// One endpoint that answered: how it is written in the suite.
struct Found {
    name: &'static str,
    yaml: String,
}

/// What one host showed: endpoints that answered, and comment lines.
#[derive(Default)]
struct HostReport {
    found: Vec<Found>,
    notes: Vec<String>,
}

impl HostReport {
    fn has(&self, name: &str) -> bool {
        self.found.iter().any(|f| f.name == name)
    }
}

const STEP: Duration = Duration::from_secs(5);

pub fn run(a: Args) -> i32 {
    if let Some(o) = &a.output
        && o.exists()
    {
        eprintln!("healthmon init: {} exists; not overwritten", o.display());
        return exit::CONFIG;
    }
    let tls = TlsSpec {
        ca_file: a.ca_file.as_deref().map(absolute),
        ..TlsSpec::default()
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("healthmon init: cannot start the runtime: {e}");
            return exit::INTERNAL;
        }
    };
    let (mta, mmp, store) = rt.block_on(async {
        let mta = probe_host("mta1", &a.mta, &tls, MTA).await;
        let mmp = match &a.mmp {
            Some(m) => Some(probe_host("mmp1", m, &tls, RETRIEVE).await),
            None => None,
        };
        let store = match &a.store {
            Some(s) => Some(probe_host("store1", s, &tls, &[RETRIEVE, LMTP].concat()).await),
            None => None,
        };
        (mta, mmp, store)
    });
    let text = suite_text(&a, &mta, mmp.as_ref(), store.as_ref());
    let Some(out) = &a.output else {
        print!("{text}");
        return if mta.has("smtp") || mta.has("submission") {
            exit::OK
        } else {
            exit::ERROR
        };
    };
    if let Err(e) = crate::atomic::write(out, text.as_bytes()) {
        eprintln!("healthmon init: cannot write {}: {e}", out.display());
        return exit::INTERNAL;
    }
    // The starter must validate (as `validate` would: secrets may be unset).
    match crate::suite::load::load_with(out, crate::suite::Secrets::Deferred) {
        Ok((s, warnings)) => {
            for w in &warnings {
                eprintln!("{w}");
            }
            let n = crate::case::expand::expand(&s.spec, 0).len();
            eprintln!(
                "healthmon init: wrote {} ({n} cases); it validates",
                out.display()
            );
            exit::OK
        }
        Err(errs) => {
            for e in &errs {
                eprintln!("{e}");
            }
            eprintln!(
                "healthmon init: wrote {}, but it does not validate (see above)",
                out.display()
            );
            exit::CONFIG
        }
    }
}

/// Candidates: (suite endpoint name, protocol, port, TLS modes to try in order).
type Candidates = &'static [(&'static str, Proto, u16, &'static [TlsMode])];

const MTA: Candidates = &[
    ("smtp", Proto::Smtp, 25, &[TlsMode::Starttls, TlsMode::None]),
    ("submission", Proto::Submission, 587, &[TlsMode::Starttls]),
    ("smtps", Proto::Smtps, 465, &[TlsMode::Implicit]),
];
const RETRIEVE: Candidates = &[
    (
        "pop3",
        Proto::Pop3,
        110,
        &[TlsMode::Starttls, TlsMode::None],
    ),
    (
        "imap",
        Proto::Imap,
        143,
        &[TlsMode::Starttls, TlsMode::None],
    ),
    ("pop3s", Proto::Pop3s, 995, &[TlsMode::Implicit]),
    ("imaps", Proto::Imaps, 993, &[TlsMode::Implicit]),
];
/// A store also speaks LMTP (isolation greets it when deliveries fail).
const LMTP: Candidates = &[("lmtp", Proto::Lmtp, 24, &[TlsMode::None])];

async fn probe_host(
    host: &str,
    address: &str,
    tls: &TlsSpec,
    cands: &[(&'static str, Proto, u16, &'static [TlsMode])],
) -> HostReport {
    let mut r = HostReport::default();
    for (name, proto, port, modes) in cands {
        let mut why = Vec::new();
        for mode in *modes {
            let ep = Endpoint {
                host: host.into(),
                address: address.into(),
                port: *port,
                proto: *proto,
                tls: *mode,
                tls_options: tls.clone(),
                auth: None,
            };
            match discover(&ep, STEP).await {
                Ok(d) => {
                    r.notes.push(format!("{name} {}: {}", ep.addr(), d.line));
                    r.found.push(Found {
                        name,
                        yaml: endpoint_yaml(*proto, *port, *mode, &d),
                    });
                    break;
                }
                Err(e) => why.push(format!("{}: {e}", mode_word(*mode))),
            }
        }
        if !r.has(name) {
            r.notes.push(format!(
                "{name} {address}:{port}: not used ({})",
                why.join("; ")
            ));
        }
    }
    r
}

fn mode_word(m: TlsMode) -> &'static str {
    match m {
        TlsMode::None => "plain",
        TlsMode::Starttls => "starttls",
        TlsMode::Implicit => "tls",
    }
}

/// `{port: 587, tls: starttls, auth: plain}`: the port when not the
/// protocol's default, the TLS mode, AUTH for submission endpoints.
fn endpoint_yaml(proto: Proto, port: u16, mode: TlsMode, d: &Discovered) -> String {
    let mut parts = Vec::new();
    if port != proto.default_port() {
        parts.push(format!("port: {port}"));
    }
    if mode != TlsMode::None {
        let word = if mode == TlsMode::Starttls {
            "starttls"
        } else {
            "implicit"
        };
        parts.push(format!("tls: {word}"));
    }
    if matches!(proto, Proto::Submission | Proto::Smtps) {
        let has = |m: &str| d.auth.iter().any(|a| a.eq_ignore_ascii_case(m));
        let mech = if has("PLAIN") {
            Some(AuthMech::Plain)
        } else if has("LOGIN") {
            Some(AuthMech::Login)
        } else {
            None
        };
        if let Some(m) = mech {
            parts.push(format!("auth: {}", auth_word(m)));
        }
    }
    format!("{{{}}}", parts.join(", "))
}

fn auth_word(m: AuthMech) -> &'static str {
    match m {
        AuthMech::Plain => "plain",
        AuthMech::Login => "login",
        AuthMech::User => "user",
        AuthMech::None => "none",
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// A YAML double-quoted string.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn host_block(o: &mut String, name: &str, roles: &str, address: &str, r: &HostReport) {
    let _ = writeln!(o, "  {name}:");
    for n in &r.notes {
        let _ = writeln!(o, "    # {}", crate::report::one_line(n));
    }
    let _ = writeln!(o, "    roles: [{roles}]");
    let _ = writeln!(o, "    address: {}", q(address));
    if r.found.is_empty() {
        let _ = writeln!(
            o,
            "    endpoints: {{}}   # nothing answered: check the address and firewall"
        );
        return;
    }
    let _ = writeln!(o, "    endpoints:");
    for f in &r.found {
        let _ = writeln!(o, "      {}: {}", f.name, f.yaml);
    }
}

fn suite_text(
    a: &Args,
    mta: &HostReport,
    mmp: Option<&HostReport>,
    store: Option<&HostReport>,
) -> String {
    let domain = a
        .account
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or("example");
    let site = a.site.clone().unwrap_or_else(|| domain.replace('.', "-"));
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Starter suite written by `healthmon init` on {} from what the servers said\n\
         # (read-only: no mail was sent, nobody logged in). Check it, then:\n\
         #   healthmon validate THIS_FILE && healthmon run THIS_FILE\n\
         # Add hosts, accounts, thresholds and host checks as the site grows (README: Suites).",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(o, "site: {}", q(&site));
    let _ = writeln!(o, "defaults:");
    let _ = writeln!(o, "  timeout: 30s                  # a whole round trip");
    if let Some(ca) = &a.ca_file {
        let _ = writeln!(
            o,
            "  tls: {{ca_file: {}}}",
            q(&absolute(ca).display().to_string())
        );
    }
    let _ = writeln!(o, "hosts:");
    host_block(&mut o, "mta1", "mta", &a.mta, mta);
    // Without a store address, the MMP stands for the account's store.
    let store_host = match (store, mmp) {
        (Some(_), _) => "store1",
        (None, _) => "mmp1",
    };
    if let (Some(m), Some(addr)) = (mmp, &a.mmp) {
        let roles = if store.is_none() { "mmp, store" } else { "mmp" };
        host_block(&mut o, "mmp1", roles, addr, m);
    }
    if let (Some(s), Some(addr)) = (store, &a.store) {
        host_block(&mut o, "store1", "store", addr, s);
    }
    let _ = writeln!(o, "accounts:");
    let mut acct = format!("address: {}, store: {store_host}", q(&a.account));
    if let Some(l) = &a.login {
        acct.push_str(&format!(", login: {}", q(l)));
    }
    match (&a.password_env, &a.password_file) {
        (Some(v), _) => acct.push_str(&format!(", password_env: {}", q(v))),
        (None, Some(f)) => acct.push_str(&format!(
            ", password_file: {}",
            q(&absolute(f).display().to_string())
        )),
        (None, None) => {}
    }
    let _ = writeln!(o, "  test1: {{{acct}}}");
    // Protocols every retrieve host answered.
    let retrieve: Vec<(&str, &HostReport)> = [("mmp1", mmp), ("store", store)]
        .into_iter()
        .filter_map(|(n, r)| Some((n, r?)))
        .collect();
    let protocols: Vec<&str> = ["pop3", "imap"]
        .into_iter()
        .filter(|p| retrieve.iter().all(|(_, r)| r.has(p)))
        .collect();
    let via = if mta.has("smtp") {
        None
    } else if mta.has("submission") {
        Some("submission")
    } else {
        None
    };
    let _ = writeln!(o, "roundtrip:");
    let _ = writeln!(o, "  matrix:");
    let names: Vec<&str> = retrieve
        .iter()
        .map(|(n, _)| {
            if *n == "store" && store.is_none() {
                "mmp1"
            } else {
                *n
            }
        })
        .collect();
    let _ = writeln!(o, "    - submit: [mta1]");
    let _ = writeln!(o, "      retrieve: [{}]", names.join(", "));
    let _ = writeln!(o, "      protocol: [{}]", protocols.join(", "));
    if let Some(v) = via {
        let _ = writeln!(o, "      via: {v}               # port 25 did not answer");
    }
    if mta.has("smtp") {
        let _ = writeln!(o, "security:\n  - open_relay: {{host: mta1}}");
        if mta.has("submission") {
            let _ = writeln!(o, "  - submission_without_auth: {{host: mta1}}");
        }
    }
    o
}
