//! `healthmon completions SHELL`: generated from the command line
//! definition itself (clap_complete), so it never drifts from what the
//! binary accepts. The definition is handed in by `main` (cli sits above cmd).

use std::io::Write;

use crate::exit;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Install:\n  healthmon completions bash > /etc/bash_completion.d/healthmon\n  healthmon completions zsh > /usr/local/share/zsh/site-functions/_healthmon\n  healthmon completions fish > ~/.config/fish/completions/healthmon.fish"
)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

pub fn run(a: Args, mut cli: clap::Command) -> i32 {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(a.shell, &mut cli, "healthmon", &mut out);
    match out.flush() {
        Ok(()) => exit::OK,
        // A closed pipe (`| head`) is not worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::INTERNAL,
        Err(e) => {
            eprintln!("healthmon completions: {e}");
            exit::INTERNAL
        }
    }
}
