//! `healthmon man`: manual pages generated from the command line definition
//! itself (clap_mangen), handed in by `main` (cli sits above cmd).

use std::io::Write;
use std::path::PathBuf;

use crate::exit;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  healthmon man | man -l -\n  healthmon man --dir /usr/local/share/man/man1   # healthmon.1 and one page per subcommand"
)]
pub struct Args {
    /// Write healthmon.1 and one healthmon-<subcommand>.1 per subcommand
    /// into DIR instead of printing healthmon(1) on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run(a: Args, cli: clap::Command) -> i32 {
    let r = match &a.dir {
        Some(dir) => std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cli, dir)),
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cli)
                .render(&mut out)
                .and_then(|()| out.flush())
        }
    };
    match r {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("healthmon man: {e}");
            exit::INTERNAL
        }
    }
}
