//! `healthmon validate`: the dry run.

use std::path::PathBuf;

use crate::exit;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  healthmon validate suites/isp.yaml\n  healthmon validate --resolve suites/local.yaml"
)]
pub struct Args {
    /// Suite files.
    #[arg(required = true)]
    pub suites: Vec<PathBuf>,
    /// Also resolve names and open every endpoint (banner, TLS, AUTH; no mail, no login).
    #[arg(long)]
    pub resolve: bool,
}

pub fn run(args: Args) -> i32 {
    match crate::suite::load_all(&args.suites) {
        Ok((suites, warnings)) => {
            for w in &warnings {
                eprintln!("{w}");
            }
            for s in &suites {
                let cases = crate::suite::expand::expand(&s.spec, 0);
                println!(
                    "{}: site {}: {} hosts, {} accounts, {} cases",
                    s.path.display(),
                    s.spec.site,
                    s.spec.hosts.len(),
                    s.spec.accounts.len(),
                    cases.len()
                );
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
