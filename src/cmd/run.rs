//! `healthmon run`: run cases against the site.

use std::path::PathBuf;

use crate::exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(required = true)]
    pub suites: Vec<PathBuf>,
}

pub fn run(_args: Args) -> i32 {
    eprintln!(
        "healthmon run: the round-trip runner is not built yet (issue 4); use `healthmon validate --resolve`"
    );
    exit::INTERNAL
}
