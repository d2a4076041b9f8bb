//! Tests against the real loopback mail site (`tests/site/mailsite up`,
//! root): Postfix, Dovecot, slapd and haproxy on 127.x. A test that only
//! needs the healthy site holds the site lock shared
//! (`support::site::site_shared`); a test that injects a fault holds it
//! exclusively (`site_exclusive`) and repairs in a `Drop` guard. A test fails
//! (never skips) when the site is down. Modules mirror `src/`; see
//! tests/README.md.
//!
//! `cargo test --test live`, or one group: `cargo test --test live probe::smtp`.

#[path = "../support/mod.rs"]
mod support;

mod agent {
    mod central;
    mod isolate;
    mod prometheus;
}
mod alert {
    mod site;
}
mod app {
    mod faults;
    mod run;
    mod run_cli;
    mod shard;
    mod soak;
}
mod hostcheck {
    mod connections;
    mod deferrals;
    mod files;
    mod ldap;
    mod port;
    mod processes;
    mod queue;
    mod system;
}
mod cmd {
    mod check;
    mod cron;
    mod init;
}
mod daemon {
    mod process;
}
mod isolate {
    mod faults;
    mod matrix;
    mod outbound;
    mod variant_b;
}
mod logstats {
    mod pflogsumm;
}
mod probe {
    mod mailbox;
    mod pop3_imap;
    mod roundtrip;
    mod smtp;
}
mod report {
    mod metrics;
    mod nagios;
    mod qmonitor;
}
mod secret {
    mod distinctive;
    mod quick;
}
mod status {
    mod browser;
}
mod suite {
    mod resolve;
}
