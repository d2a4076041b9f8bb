//! `healthmon list`: the expanded cases.

use std::path::PathBuf;

use crate::exit;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  healthmon list suites/local.yaml\n  healthmon list suites/local.yaml --only 'rndtrip/ims1/*' --format json"
)]
pub struct Args {
    #[arg(required = true)]
    pub suites: Vec<PathBuf>,
    /// Only cases whose id matches one of these globs.
    #[arg(long)]
    pub only: Vec<String>,
    /// Skip cases whose id matches one of these globs.
    #[arg(long)]
    pub skip: Vec<String>,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

pub fn run(args: Args) -> i32 {
    match crate::suite::load_all(&args.suites) {
        Ok((suites, _)) => {
            for (i, s) in suites.iter().enumerate() {
                for c in crate::suite::expand::expand(&s.spec, i) {
                    println!("{}", c.id);
                }
            }
            exit::OK
        }
        Err(errs) => {
            for e in &errs {
                eprintln!("{e}");
            }
            exit::CONFIG
        }
    }
}
