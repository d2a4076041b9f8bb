//! `healthmon logstats`: mail log statistics (see `crate::logstats`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::exit;
use crate::logstats::{self, Input, Options, output};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  healthmon logstats /var/log/mail.log.1.gz /var/log/mail.log\n  healthmon logstats --interval 1h --format csv /var/log/mail.log\n  journalctl -u postfix -o short-iso | healthmon logstats -\n  healthmon logstats --follow --interval 5m --format json /var/log/mail.log"
)]
pub struct Args {
    /// Log files in time order (plain or .gz); "-" or none reads stdin.
    /// Postfix syslog / maillog_file lines and Sun Messaging Server mail.log_current records.
    pub inputs: Vec<PathBuf>,
    /// Also report per interval: 5m, 15m, 1h, 1d ...
    #[arg(long)]
    pub interval: Option<String>,
    /// text, csv or json.
    #[arg(long, default_value = "text", value_parser = ["text", "csv", "json"])]
    pub format: String,
    /// Year of the first line of each input for year-less (RFC 3164) stamps
    /// (default: inferred from the file's modification time).
    #[arg(long)]
    pub year: Option<i32>,
    /// Number of top sender/recipient domains to show.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Bytes per block in Sun Messaging Server records (option.dat BLOCK_SIZE).
    #[arg(long, default_value_t = 1024)]
    pub sun_block_size: u64,
    /// Follow one file like `tail -F` (rotation-safe) and print each interval when it closes.
    #[arg(long)]
    pub follow: bool,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// No progress line (shown only when stderr is a terminal: bytes read
    /// of the total, lines, lines/s, ETA; never in a pipe, a file or cron).
    #[arg(long)]
    pub no_progress: bool,
}

pub fn run(args: Args) -> i32 {
    let interval = match args
        .interval
        .as_deref()
        .map(logstats::parse_interval)
        .transpose()
    {
        Ok(i) => i,
        Err(e) => {
            eprintln!("healthmon logstats: {e}");
            return exit::CONFIG;
        }
    };
    let opts = Options {
        interval,
        year: args.year,
        top: args.top,
        sun_block_size: args.sun_block_size.max(1),
        progress: !args.no_progress && std::io::stderr().is_terminal(),
        ..Options::default()
    };
    let mut inputs: Vec<Input> = args.inputs.iter().map(|p| Input::from_arg(p)).collect();
    if inputs.is_empty() {
        inputs.push(Input::Stdin);
    }
    // A missing file is a usage error: say so before reading anything.
    for i in &inputs {
        if let Input::Path(p) = i
            && let Err(e) = std::fs::metadata(p)
        {
            eprintln!("healthmon logstats: {}: {e}", p.display());
            return exit::CONFIG;
        }
    }
    if args.follow {
        return follow(&args, &inputs, &opts);
    }
    let stats = logstats::analyze(&inputs, &opts);
    let report = match args.format.as_str() {
        "json" => output::json(&stats),
        "csv" => output::csv(&stats),
        _ => output::text(&stats),
    };
    let written = match &args.output {
        Some(p) => {
            crate::atomic::write(p, report.as_bytes()).map_err(|e| format!("{}: {e}", p.display()))
        }
        None => std::io::stdout()
            .write_all(report.as_bytes())
            .map_err(|e| format!("stdout: {e}")),
    };
    if let Err(e) = written {
        eprintln!("healthmon logstats: {e}");
        return exit::INTERNAL;
    }
    for e in &stats.input_errors {
        eprintln!("healthmon logstats: {e}");
    }
    if stats.input_errors.is_empty() {
        exit::OK
    } else {
        exit::ERROR
    }
}

fn follow(args: &Args, inputs: &[Input], opts: &Options) -> i32 {
    let [Input::Path(path)] = inputs else {
        eprintln!("healthmon logstats: --follow takes exactly one file");
        return exit::CONFIG;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let format = args.format.clone();
    if format == "csv" {
        print!("{}", output::csv_header());
    }
    // Runs until killed; each interval is printed once a later one has begun.
    let stats = logstats::follow(path, opts, stop, |row| {
        let line = match format.as_str() {
            "json" => serde_json::to_string(&row).expect("row serialize") + "\n",
            "csv" => output::csv_interval(&row),
            _ => output::text_interval(&row),
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    });
    for e in &stats.input_errors {
        eprintln!("healthmon logstats: {e}");
    }
    exit::ERROR
}
