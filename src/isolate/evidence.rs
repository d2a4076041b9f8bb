//! Follow-up checks the diagnoser asks for, and what they found. The checks
//! are run by `followup` through the probe modules; the rules only read this.

use std::collections::BTreeMap;

use crate::result::ErrorKind;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// SMTP greeting + EHLO (+ STARTTLS) on a host's smtp endpoint.
    Smtp(String),
    /// LHLO on a store's LMTP endpoint.
    Lmtp(String),
    /// Greeting + capabilities on a host's pop3/imap endpoint (no login).
    Service { host: String, proto: String },
    /// Log in as the account on a host (no mail touched).
    Login {
        host: String,
        proto: String,
        account: String,
    },
    /// Bind and look the account up on an LDAP host.
    Ldap { host: String, account: String },
    /// Find a queue id in an MTA's queue (hold/deferred + reason).
    Queue { mta: String, queue_id: String },
    /// Is the probe message in the mailbox on the store itself?
    Present {
        host: String,
        proto: String,
        account: String,
        token: String,
    },
}

impl Check {
    pub fn describe(&self) -> String {
        match self {
            Check::Smtp(h) => format!("{h} smtp greeting"),
            Check::Lmtp(h) => format!("{h} lmtp greeting"),
            Check::Service { host, proto } => format!("{host} {proto} greeting"),
            Check::Login {
                host,
                proto,
                account,
            } => format!("{account} {proto} login on {host}"),
            Check::Ldap { host, account } => format!("{host} ldap lookup of {account}"),
            Check::Queue { mta, queue_id } => format!("{mta} queue entry {queue_id}"),
            Check::Present {
                host,
                proto,
                account,
                ..
            } => format!("probe in {account}'s mailbox on {host} ({proto})"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Worked; detail for the evidence line (banner, entry found ...).
    Ok(String),
    /// Failed the way a probe fails.
    Fail { kind: ErrorKind, message: String },
    /// A queue entry was found.
    Queued { queue: String, reason: String },
    /// Not in the queue: the MTA's log says the remote side refused it.
    Bounced { reason: String },
    /// The probe is in the mailbox; `at`: when the store received it, if it
    /// says (the check runs after the case ended, so this tells a late
    /// delivery from a probe the MMP did not show).
    Delivered {
        at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Searched and not there (queue entry gone, probe absent).
    Absent,
    /// Could not be checked from here (no endpoint, no queue access).
    Unknown(String),
}

impl Outcome {
    pub fn failed(&self) -> bool {
        matches!(self, Outcome::Fail { .. })
    }
    pub fn ok(&self) -> bool {
        matches!(self, Outcome::Ok(_) | Outcome::Delivered { .. })
    }
}

/// All follow-up results of one diagnosis.
#[derive(Debug, Clone, Default)]
pub struct Evidence(pub BTreeMap<Check, Outcome>);

impl Evidence {
    pub fn get(&self, c: &Check) -> Option<&Outcome> {
        self.0.get(c)
    }
    pub fn failed(&self, c: &Check) -> bool {
        self.get(c).is_some_and(Outcome::failed)
    }
    pub fn ok(&self, c: &Check) -> bool {
        self.get(c).is_some_and(Outcome::ok)
    }
    /// `what: message` for a failed check, for evidence lines.
    pub fn line(&self, c: &Check) -> Option<String> {
        match self.get(c)? {
            Outcome::Fail { kind, message } => {
                Some(format!("{}: {} ({})", c.describe(), message, kind.as_str()))
            }
            Outcome::Ok(d) if d.is_empty() => Some(format!("{}: ok", c.describe())),
            Outcome::Ok(d) => Some(format!("{}: ok, {d}", c.describe())),
            Outcome::Queued { queue, reason } if reason.is_empty() => {
                Some(format!("{}: in {queue} queue", c.describe()))
            }
            Outcome::Queued { queue, reason } => {
                Some(format!("{}: in {queue} queue: {reason}", c.describe()))
            }
            Outcome::Bounced { reason } => Some(format!("{}: bounced: {reason}", c.describe())),
            Outcome::Delivered { at: Some(t) } => Some(format!(
                "{}: found, received {}",
                c.describe(),
                t.format("%Y-%m-%dT%H:%M:%SZ")
            )),
            Outcome::Delivered { at: None } => Some(format!(
                "{}: found (the store gives no delivery time)",
                c.describe()
            )),
            Outcome::Absent => Some(format!("{}: not found", c.describe())),
            Outcome::Unknown(why) => Some(format!("{}: not checked ({why})", c.describe())),
        }
    }
}
