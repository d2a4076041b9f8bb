//! healthmon: a declarative health monitor for ISP-style email sites.
//!
//! Layout (see ARCHITECTURE.md for the bird's-eye view and invariants):
//! - `suite`   — the YAML suite language: model, load, validate, expand.
//! - `case`    — expanded test cases with stable ids.
//! - `probe`   — network probes (SMTP, POP3, IMAP, LDAP ...): measure, never judge.
//! - `hostcheck` — host checks (queue, system, connections, processes, files, ldap, port).
//! - `judge`   — observation + thresholds → status.
//! - `app`     — one run from selection to alerts (`run_once`): select, lock,
//!   execute (concurrently, emitting events), judge step, reports, alerts.
//! - `report`  — reporters: terminal, systest.log, qmonitor.log, JUnit, JSON ...
//! - `alert`   — alert state machine and delivery channels.
//! - `result`, `event`, `exit`, `secret`, `atomic` — shared small pieces.

pub mod alert;
pub mod app;
pub mod atomic;
pub mod case;
pub mod cli;
pub mod cmd;
pub mod daemon;
pub mod daily_report;
pub mod event;
pub mod exit;
pub mod filter;
pub mod fmt;
pub mod hostcheck;
pub mod isolate;
pub mod judge;
pub mod logfile;
pub mod logging;
pub mod logstats;
pub mod nagios_range;
pub mod probe;
pub mod report;
pub mod result;
pub mod secret;
pub mod status;
pub mod suite;
pub mod token;
