//! Subcommands: one file each, `Args` (clap) + `run(args) -> exit code`.

pub mod agent;
pub mod alert;
pub mod check;
pub mod completions;
pub mod cron;
pub mod daemon;
pub mod init;
pub mod list;
pub mod logstats;
pub mod man;
pub mod render;
pub mod report;
pub mod run;
pub mod select;
pub mod validate;
