//! The suite language: raw serde types, exactly what YAML can say.
//!
//! Every struct denies unknown keys (the loader turns serde's message into
//! "did you mean"); enums are externally tagged (`- queue: {...}`) because
//! internally tagged and untagged enums lose positions in serde_yaml errors.
//! Cross references (host names, roles, stores) are checked by
//! `suite::validate`, positions come from `suite::pos`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::alerting::AlertingSpec;
use super::checks::CheckSpec;
use super::duration::Dur;
pub use super::limit::{Limit, NumLimit};
pub use super::proto::{Proto, TlsMode};

/// One suite file: one site.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteSpec {
    /// Site name: used in JUnit classnames, metrics and alert labels.
    pub site: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Shared files (relative to this file) merged in: defaults, alerting, report formats.
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub defaults: Option<Defaults>,
    pub hosts: BTreeMap<String, HostSpec>,
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountSpec>,
    #[serde(default)]
    pub roundtrip: Option<RoundtripSpec>,
    /// Mailboxes outside the site (outbound paths read them).
    #[serde(default)]
    pub external: BTreeMap<String, ExternalSpec>,
    /// Addresses outside the site that send probes back in (echo paths).
    #[serde(default)]
    pub reflectors: BTreeMap<String, ReflectorSpec>,
    /// The site signs what its customers send: outbound probes are checked
    /// for a valid DKIM signature at the external side.
    #[serde(default)]
    pub dkim: Option<DkimSpec>,
    /// The site's SPF record: outbound probes are checked against it at the
    /// external side (`suite::spf`; no DNS).
    #[serde(default)]
    pub spf: Option<SpfSpec>,
    /// The site's DMARC record: the From domain aligned with a passing DKIM
    /// or SPF domain, checked at the external side.
    #[serde(default)]
    pub dmarc: Option<DmarcSpec>,
    /// Negative expectations: things the site must refuse.
    #[serde(default)]
    pub security: Vec<SecuritySpec>,
    #[serde(default)]
    pub alerting: Option<AlertingSpec>,
    #[serde(default)]
    pub reports: Option<ReportsSpec>,
}

/// What an included file (etc/*.yaml) may hold.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SharedSpec {
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub defaults: Option<Defaults>,
    #[serde(default)]
    pub alerting: Option<AlertingSpec>,
    #[serde(default)]
    pub reports: Option<ReportsSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Deadline for a whole case (default 60s).
    #[serde(default)]
    pub timeout: Option<Dur>,
    /// Deadline for each network step: connect, one reply (default 10s).
    #[serde(default)]
    pub step_timeout: Option<Dur>,
    /// Warning/critical per phase (`total`, `connect`, `delivery` ...).
    #[serde(default)]
    pub thresholds: Option<Thresholds>,
    /// Cases running at once (default 16).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Sessions at once against one host (default 4).
    #[serde(default)]
    pub per_host_concurrency: Option<usize>,
    /// TLS settings applied to every endpoint unless overridden.
    #[serde(default)]
    pub tls: Option<TlsSpec>,
    /// Envelope sender and From: of probe messages.
    #[serde(default)]
    pub sender: Option<String>,
    /// Name sent in EHLO (default: `healthmon.invalid`).
    #[serde(default)]
    pub helo: Option<String>,
}

/// Phase name -> limits. Phase names are checked by validate.
pub type Thresholds = BTreeMap<String, Limit>;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// lb, mta, mmp, store, ldap, or any free-form role (http ...).
    pub roles: Vec<String>,
    /// DNS name or IP address.
    pub address: String,
    /// Machine name for `run --host` from this host's cron (default: the key).
    #[serde(default)]
    pub hostname: Option<String>,
    /// Protocol endpoints. Empty: defaults from roles (mta: smtp 25; store/mmp:
    /// pop3 110, imap 143; ldap: ldap 389; lb: smtp, pop3, imap).
    #[serde(default)]
    pub endpoints: BTreeMap<Proto, EndpointSpec>,
    /// TLS defaults for this host's endpoints.
    #[serde(default)]
    pub tls: Option<TlsSpec>,
    /// For an lb: the hosts behind it (used by isolation).
    #[serde(default)]
    pub backends: Vec<String>,
    /// For an mmp: the stores it fronts (default: every store).
    #[serde(default)]
    pub fronts: Vec<String>,
    /// Host checks bound to this host.
    #[serde(default)]
    pub checks: Vec<CheckSpec>,
    /// Where this host's healthmon agent listens (`suite::agent`).
    #[serde(default)]
    pub agent: Option<super::agent::AgentSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// PEM CA bundle added to the system roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (explicit, reported on every run).
    #[serde(default)]
    pub insecure: Option<bool>,
    /// Name to verify and send as SNI (default: the host's address).
    #[serde(default)]
    pub server_name: Option<String>,
    /// Warn when the certificate expires within this many days (default 14).
    #[serde(default)]
    pub expiry_warning_days: Option<u32>,
    /// Trust a server certificate whose SHA-256 (of the certificate or of
    /// its public key; hex, colon-hex or base64) is listed, without a chain;
    /// its name and dates are still checked. A certificate given as
    /// `ca_file` is pinned the same way.
    #[serde(default)]
    pub pin_sha256: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: Option<TlsMode>,
    /// Authentication mechanism used with the account's credentials.
    #[serde(default)]
    pub auth: Option<AuthMech>,
    /// Per-endpoint TLS overrides (CA, insecure, server name).
    #[serde(default)]
    pub tls_options: Option<TlsSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMech {
    /// SASL PLAIN (SMTP AUTH, POP3 AUTH, IMAP AUTHENTICATE).
    Plain,
    /// SMTP AUTH LOGIN / IMAP LOGIN.
    Login,
    /// POP3 USER/PASS.
    User,
    /// No authentication.
    None,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// Mail address probes are sent to.
    pub address: String,
    /// Login name (default: the address's local part).
    #[serde(default)]
    pub login: Option<String>,
    /// The store host that holds the mailbox.
    pub store: String,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Inline password: allowed, but validate warns.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoundtripSpec {
    /// Cross products: submit × retrieve × protocol × accounts.
    #[serde(default)]
    pub matrix: Vec<MatrixSpec>,
    /// Explicit paths (override matrix settings for the same path).
    #[serde(default)]
    pub paths: Vec<PathSpec>,
    /// One path per slot of the hour (the seed's etc/sequence.cfg).
    #[serde(default)]
    pub rotation: Vec<RotationSlot>,
    /// How long to wait for arrival (default and cap: the case timeout minus
    /// one step; see `resolve::arrival_wait`).
    #[serde(default)]
    pub arrival_timeout: Option<Dur>,
    /// Site → Internet: submit as a customer, read from an external mailbox.
    #[serde(default)]
    pub outbound: Vec<OutboundSpec>,
    /// Site → reflector → site: the classic mail-loop monitor.
    #[serde(default)]
    pub echo: Vec<EchoSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixSpec {
    /// MTAs (or lbs) to submit through.
    pub submit: Vec<String>,
    /// MMPs (or lbs) to retrieve through; `store` means the account's own store directly.
    pub retrieve: Vec<String>,
    /// pop3 and/or imap.
    pub protocol: Vec<RetrProto>,
    /// Account names; omitted means every account.
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
    /// Submission endpoint: smtp (default), submission or smtps.
    #[serde(default)]
    pub via: Option<Proto>,
    #[serde(default)]
    pub thresholds: Option<Thresholds>,
    #[serde(default)]
    pub timeout: Option<Dur>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PathSpec {
    pub account: String,
    pub submit: String,
    pub retrieve: String,
    pub protocol: RetrProto,
    #[serde(default)]
    pub via: Option<Proto>,
    #[serde(default)]
    pub thresholds: Option<Thresholds>,
    #[serde(default)]
    pub timeout: Option<Dur>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RotationSlot {
    /// Minute of the hour, 0-59.
    pub minute: u32,
    pub account: String,
    pub submit: String,
    pub retrieve: String,
    #[serde(default)]
    pub protocol: RetrProto,
    #[serde(default)]
    pub via: Option<Proto>,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RetrProto {
    #[default]
    Pop3,
    Imap,
}

impl RetrProto {
    pub fn as_str(self) -> &'static str {
        match self {
            RetrProto::Pop3 => "pop3",
            RetrProto::Imap => "imap",
        }
    }
    /// Endpoints that speak this protocol, plain first.
    pub fn endpoints(self) -> [Proto; 2] {
        match self {
            RetrProto::Pop3 => [Proto::Pop3, Proto::Pop3s],
            RetrProto::Imap => [Proto::Imap, Proto::Imaps],
        }
    }
}

/// Negative expectations: the site must refuse these.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecuritySpec {
    /// Unauthenticated relay to a foreign domain must be refused.
    OpenRelay(OpenRelaySpec),
    /// Submission (587) without AUTH must be refused.
    SubmissionWithoutAuth(HostRef),
    /// Login with a wrong password must be refused.
    WrongPassword(WrongPasswordSpec),
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OpenRelaySpec {
    pub host: String,
    /// Foreign recipient, in a domain a real relay would route (default:
    /// relay-test@example.com).
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub via: Option<Proto>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostRef {
    pub host: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WrongPasswordSpec {
    pub host: String,
    pub protocol: RetrProto,
    pub account: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsSpec {
    /// Reports directory (default `reports/`, relative to the working directory).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Report formats file (default etc/report_formats.yaml).
    #[serde(default)]
    pub formats: Option<PathBuf>,
    /// Rotation of systest.log and qmonitor.log (default: daily, 14 kept).
    #[serde(default)]
    pub rotate: Option<RotateSpec>,
    /// Days of per-day results files kept (default 15: the default 14-day
    /// baseline plus the day reported).
    #[serde(default)]
    pub retention_days: Option<u32>,
}

/// `reports.rotate`: `{every: day|size|never, max_mb: N, keep: N}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RotateSpec {
    #[serde(default)]
    pub every: Option<RotateEvery>,
    /// With `every: size`: rotate before the log would exceed this (MiB).
    #[serde(default)]
    pub max_mb: Option<u64>,
    /// Rotated files kept (default 14).
    #[serde(default)]
    pub keep: Option<u32>,
}

impl RotateSpec {
    /// The rotation this asks for (validation has checked `max_mb`).
    pub fn rotation(&self) -> crate::logfile::Rotation {
        use crate::logfile::rotate::{DEFAULT_KEEP, Every};
        let every = match self.every.unwrap_or(RotateEvery::Day) {
            RotateEvery::Day => Every::Day,
            RotateEvery::Never => Every::Never,
            RotateEvery::Size => Every::Size(self.max_mb.unwrap_or(1).saturating_mul(1 << 20)),
        };
        crate::logfile::Rotation {
            every,
            keep: self.keep.unwrap_or(DEFAULT_KEEP),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RotateEvery {
    Day,
    Size,
    Never,
}

// ---- the third route: mail leaving the site -------------------------------
// Mailboxes outside the site (`external:`), reflector addresses that send a
// probe back in (`reflectors:`), and the paths through them
// (`roundtrip.outbound`, `roundtrip.echo`).

/// A mailbox the operator owns at another provider: where outbound probes
/// are read back.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSpec {
    /// Mail address outbound probes are sent to.
    pub address: String,
    /// The provider's POP3/IMAP server (DNS name or IP address).
    pub server: String,
    /// Its endpoints (default: imap 143 and pop3 110 with STARTTLS).
    #[serde(default)]
    pub endpoints: BTreeMap<Proto, EndpointSpec>,
    /// TLS settings for its endpoints (on top of `defaults.tls`).
    #[serde(default)]
    pub tls: Option<TlsSpec>,
    /// Login name (default: the address's local part).
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

/// An address outside the site that sends whatever it receives back into
/// the site, to `returns_to` (a site account whose mailbox healthmon reads).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReflectorSpec {
    pub address: String,
    pub returns_to: String,
}

/// Outbound paths: `from` (a site account, authenticating as a customer
/// does) submits through each of `submit` to each external mailbox in `to`,
/// which is read over each protocol.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundSpec {
    pub from: String,
    pub submit: Vec<String>,
    pub to: Vec<String>,
    /// Default: `imap`.
    #[serde(default)]
    pub protocol: Vec<RetrProto>,
    /// Submission endpoint (default: submission).
    #[serde(default)]
    pub via: Option<Proto>,
    #[serde(default)]
    pub thresholds: Option<Thresholds>,
    #[serde(default)]
    pub timeout: Option<Dur>,
}

/// Echo paths: `from` submits through each of `submit` to the reflector,
/// and the probe is read back from the reflector's `returns_to` account
/// through each of `retrieve` (`store`: that account's own store).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EchoSpec {
    pub from: String,
    pub submit: Vec<String>,
    pub reflector: String,
    pub retrieve: Vec<String>,
    /// Default: `imap`.
    #[serde(default)]
    pub protocol: Vec<RetrProto>,
    /// Submission endpoint (default: submission).
    #[serde(default)]
    pub via: Option<Proto>,
    #[serde(default)]
    pub thresholds: Option<Thresholds>,
    #[serde(default)]
    pub timeout: Option<Dur>,
}

/// Protocols of an outbound or echo entry: as written, else imap.
pub fn protocols(p: &[RetrProto]) -> Vec<RetrProto> {
    if p.is_empty() {
        vec![RetrProto::Imap]
    } else {
        p.to_vec()
    }
}

/// The site's DKIM signing: domain (`d=`), selector (`s=`) and the public
/// key as published (the TXT record's text, e.g. `opendkim-genkey`'s
/// `<selector>.txt`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DkimSpec {
    pub domain: String,
    pub selector: String,
    pub key_file: PathBuf,
}

/// The SPF record published for `domain` (the envelope sender's), as its
/// TXT text: `v=spf1 ip4:… -all`, DNS-free mechanisms only.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpfSpec {
    pub domain: String,
    pub record: String,
}

/// The DMARC record published at `_dmarc.<domain>`, as its TXT text. The
/// domain is also taken as the organizational domain for relaxed alignment
/// (healthmon has no public suffix list).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DmarcSpec {
    pub domain: String,
    pub record: String,
}
