//! `healthmon list`: the expanded cases, one id per line (or JSON).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::exit;
use crate::filter::Filter;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Globs: `*` matches any run of characters (including `/`), `?` one character.\n\nExamples:\n  healthmon list suites/local.yaml\n  healthmon list suites/local.yaml --only 'rndtrip/ims1/*' --skip '*/imap'\n  healthmon list suites/isp.yaml --format json"
)]
pub struct Args {
    #[arg(required = true)]
    pub suites: Vec<PathBuf>,
    /// Only cases whose id matches one of these globs (repeatable).
    #[arg(long)]
    pub only: Vec<String>,
    /// Skip cases whose id matches one of these globs (repeatable).
    #[arg(long)]
    pub skip: Vec<String>,
    /// text (one id per line) or json.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    kind: &'static str,
    site: &'a str,
    labels: &'a BTreeMap<String, String>,
    /// Whole-case deadline, seconds.
    timeout: f64,
    /// Rotation minute, when the case has one.
    slot: Option<u32>,
}

pub fn run(args: Args) -> i32 {
    // A preview needs the topology, not the production secrets.
    let secrets = crate::suite::Secrets::Deferred;
    let suites = match crate::suite::load::load_all_with(&args.suites, secrets) {
        Ok((suites, _)) => suites,
        Err(errs) => {
            for e in &errs {
                eprintln!("{e}");
            }
            return exit::CONFIG;
        }
    };
    let filter = Filter::new(args.only, args.skip);
    let cases: Vec<(usize, crate::case::TestCase)> = suites
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            crate::case::expand::expand(&s.spec, i)
                .into_iter()
                .map(move |c| (i, c))
        })
        .filter(|(_, c)| filter.matches(&c.id))
        .collect();
    if args.format == "json" {
        let lines: Vec<Line> = cases
            .iter()
            .map(|(i, c)| Line {
                id: &c.id,
                kind: c.kind.name(),
                site: &suites[*i].spec.site,
                labels: &c.labels,
                timeout: c.timeout.as_secs_f64(),
                slot: c.slot,
            })
            .collect();
        match serde_json::to_string_pretty(&lines) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("healthmon list: cannot encode JSON: {e}");
                return exit::INTERNAL;
            }
        }
    } else {
        for (_, c) in &cases {
            println!("{}", c.id);
        }
    }
    exit::OK
}
