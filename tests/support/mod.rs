//! Helpers shared by both test binaries (`hermetic` and `live`), included
//! once by each with `#[path = "../support/mod.rs"] mod support;`. Each
//! binary uses part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod agents;
pub mod alert;
pub mod check;
pub mod fakes;
pub mod isolate;
pub mod loggen;
pub mod mailprobe;
pub mod modes;
pub mod nagios;
pub mod pflogsumm;
pub mod run;
pub mod secrets;
pub mod site;
pub mod status;
