//! Tests that need nothing: no mail site, no root, no network beyond
//! in-process fakes and child processes on loopback. Some start Debian tools
//! that `tests/run` installs (openssl, pflogsumm, prometheus-alertmanager,
//! promtool, chromium, libfaketime). Modules mirror `src/`; see
//! tests/README.md for where a new test goes.
//!
//! `cargo test --test hermetic`, or one group: `cargo test --test hermetic suite::`.

#[path = "../support/mod.rs"]
mod support;

mod architecture;

mod alert {
    mod alertmanager;
    mod channels;
    mod deadline;
    mod flaps;
    mod smtp;
}
mod app {
    mod faults;
    mod lock;
    mod lock_note;
    mod no_dns;
    mod probe_key;
    mod remote;
    mod retention;
}
mod case {
    mod expand;
}
mod hostcheck {
    mod queue;
}
mod isolate {
    mod followup;
}
mod cmd {
    mod agent;
    mod check;
    mod completions;
    mod cron;
    mod list;
    mod render;
    mod run;
}
mod daemon {
    mod listener;
    mod metrics;
    mod process;
}
mod daily_report {
    mod heatmap;
    mod mailrate;
    mod report;
    mod send;
}
mod logstats {
    mod inputs;
    mod pflogsumm;
}
mod probe {
    mod dkim;
    /// In-process hostile servers, row by row (the matrix: `hostile::matrix`).
    mod hostile {
        mod ldap;
        mod matrix;
        mod pop3_imap;
        mod smtp;
    }
    mod security;
    mod smtp;
    mod spf;
}
mod report {
    mod junit;
    mod logs;
    mod metrics;
    mod nagios;
    mod roundtrip;
}
mod logging;
mod readme;
mod secret;
mod status {
    mod browser;
    mod render;
}
mod suite {
    mod validate;
}
