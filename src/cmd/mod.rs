//! Subcommands: one file each, `Args` (clap) + `run(args) -> exit code`.

pub mod list;
pub mod run;
pub mod validate;
