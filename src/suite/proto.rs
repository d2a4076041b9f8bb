//! Endpoint protocols a suite names, their default ports and TLS modes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Smtp,
    Submission,
    Smtps,
    Lmtp,
    Pop3,
    Pop3s,
    Imap,
    Imaps,
    Ldap,
    Ldaps,
    Http,
    Https,
}

impl Proto {
    pub const ALL: [Proto; 12] = [
        Proto::Smtp,
        Proto::Submission,
        Proto::Smtps,
        Proto::Lmtp,
        Proto::Pop3,
        Proto::Pop3s,
        Proto::Imap,
        Proto::Imaps,
        Proto::Ldap,
        Proto::Ldaps,
        Proto::Http,
        Proto::Https,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Smtp => "smtp",
            Proto::Submission => "submission",
            Proto::Smtps => "smtps",
            Proto::Lmtp => "lmtp",
            Proto::Pop3 => "pop3",
            Proto::Pop3s => "pop3s",
            Proto::Imap => "imap",
            Proto::Imaps => "imaps",
            Proto::Ldap => "ldap",
            Proto::Ldaps => "ldaps",
            Proto::Http => "http",
            Proto::Https => "https",
        }
    }
    pub fn default_port(self) -> u16 {
        match self {
            Proto::Smtp => 25,
            Proto::Submission => 587,
            Proto::Smtps => 465,
            Proto::Lmtp => 24,
            Proto::Pop3 => 110,
            Proto::Pop3s => 995,
            Proto::Imap => 143,
            Proto::Imaps => 993,
            Proto::Ldap => 389,
            Proto::Ldaps => 636,
            Proto::Http => 80,
            Proto::Https => 443,
        }
    }
    pub fn default_tls(self) -> TlsMode {
        match self {
            Proto::Smtps | Proto::Pop3s | Proto::Imaps | Proto::Ldaps | Proto::Https => {
                TlsMode::Implicit
            }
            _ => TlsMode::None,
        }
    }
    /// The wire protocol spoken (smtps speaks smtp after TLS).
    pub fn family(self) -> &'static str {
        match self {
            Proto::Smtp | Proto::Submission | Proto::Smtps => "smtp",
            Proto::Lmtp => "lmtp",
            Proto::Pop3 | Proto::Pop3s => "pop3",
            Proto::Imap | Proto::Imaps => "imap",
            Proto::Ldap | Proto::Ldaps => "ldap",
            Proto::Http | Proto::Https => "http",
        }
    }
}

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain text (STARTTLS is not attempted).
    #[default]
    None,
    /// STARTTLS/STLS required: a server that does not offer it fails the case
    /// (never a silent downgrade).
    Starttls,
    /// TLS from the first byte (465, 993, 995, 636).
    Implicit,
}
