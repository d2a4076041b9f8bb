//! Network probes: measure, never judge.
//!
//! Every probe fills a [`crate::result::Observation`] (phases from a monotonic
//! clock, facts, a redacted transcript) and returns `Result<_, ProbeError>`.
//! The shared rules live in [`wire`]: every network step has a deadline, every
//! read is bounded, server text is sanitised, secrets never reach a transcript.
//! Adding a protocol = one new file + one `pub mod` line here.

pub mod agent;
pub mod banner;
pub mod capped_relay;
pub mod dkim;
pub mod dmarc;
pub mod imap;
pub mod imap_parse;
pub mod ldap;
pub mod mailbox;
pub mod pop3;
pub mod probe_msg;
pub mod roundtrip;
pub mod route;
pub mod security;
pub mod signed;
pub mod smtp;
pub mod spf;
pub mod tls;
pub mod tls_verify;
pub mod wire;

/// A spawned task that ends with its owner: aborted on drop. For tasks a
/// library would otherwise leave running after a timed-out operation (the
/// LDAP connection driver, the capped relay's pump).
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
