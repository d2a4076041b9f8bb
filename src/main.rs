//! Entry point: parse the command line, set up diagnostics, dispatch, exit.

use clap::{CommandFactory, Parser};
use healthmon::cli::{Cli, Command};
use healthmon::cmd;

fn main() {
    // `healthmon list | head` must end quietly, like any Unix filter.
    // SAFETY: setting a signal disposition before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let argv: Vec<String> = std::env::args_os()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            cmd::check::bad_arguments(e, &argv)
        }
    };
    healthmon::logging::init(cli.verbose, cli.quiet);
    // One crypto provider for the whole process (ring); rustls panics if it has to guess.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let code = match cli.command {
        Command::Init(a) => cmd::init::run(a),
        Command::Validate(a) => cmd::validate::run(a),
        Command::List(a) => cmd::list::run(a),
        Command::Render(a) => cmd::render::run(a),
        // The Nagios format is the plugin: `healthmon check` with its default -t.
        Command::Run(a) if a.format == "nagios" => cmd::check::run_nagios(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Alert(a) => cmd::alert::run(a),
        Command::Logstats(a) => cmd::logstats::run(a),
        Command::Daemon(a) => cmd::daemon::run(a),
        Command::Agent(a) => cmd::agent::run(a),
        Command::Cron(a) => cmd::cron::run(a),
        Command::Check(a) => cmd::check::run(a),
        Command::Completions(a) => cmd::completions::run(a, Cli::command()),
        Command::Man(a) => cmd::man::run(a, Cli::command()),
    };
    std::process::exit(code);
}
