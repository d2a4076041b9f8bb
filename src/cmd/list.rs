//! `healthmon list`: the expanded cases, one id per line (or JSON).

use std::collections::BTreeMap;
use std::path::PathBuf;

use std::io::Write;

use serde::Serialize;

use crate::exit;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Globs: `*` matches any run of characters (including `/`), `?` one character.\n\nExamples:\n  healthmon list suites/local.yaml\n  healthmon list suites/local.yaml --only 'rndtrip/ims1/*' --skip '*/imap'\n  healthmon list suites/isp.yaml --shard 2/4          # what that shard's monitor runs\n  healthmon list suites/isp.yaml --slot 35            # the rotation slot of minute 35\n  healthmon list suites/isp.yaml --host mta1\n  healthmon list suites/isp.yaml --format json"
)]
pub struct Args {
    #[arg(required = true)]
    pub suites: Vec<PathBuf>,
    /// The same selection as `run`: the list is what `run` would run.
    #[command(flatten)]
    pub select: super::select::Selection,
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
    let opts = args.select.options();
    let json = args.format == "json";
    // Streamed: one case at a time from the plan, so memory does not grow
    // with the number of cases.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut first = true;
    let mut result = Ok(());
    for (i, s) in suites.iter().enumerate() {
        let sel = crate::app::Selector::new(&s.spec, &opts);
        crate::case::plan::Plan::new(&s.spec, i).for_each(|c| {
            if result.is_err() || !sel.keeps(&c) {
                return;
            }
            result = if json {
                json_item(&mut out, first, &s.spec.site, &c)
            } else {
                writeln!(out, "{}", c.id).map_err(|e| e.to_string())
            };
            first = false;
        });
    }
    if json && result.is_ok() {
        // serde_json's pretty layout of the same array.
        result = out
            .write_all(if first { b"[]\n" } else { b"\n]\n" })
            .map_err(|e| e.to_string());
    }
    match result.and_then(|()| out.flush().map_err(|e| e.to_string())) {
        Ok(()) => exit::OK,
        // A closed pipe (`| head`) is an ordinary end.
        Err(e) if e.contains("Broken pipe") => exit::OK,
        Err(e) => {
            eprintln!("healthmon list: {e}");
            exit::INTERNAL
        }
    }
}

/// One element of the pretty-printed JSON array, indented as serde_json
/// indents it inside the array.
fn json_item(
    out: &mut impl Write,
    first: bool,
    site: &str,
    c: &crate::case::TestCase,
) -> Result<(), String> {
    let line = Line {
        id: &c.id,
        kind: c.kind.name(),
        site,
        labels: &c.labels,
        timeout: c.timeout.as_secs_f64(),
        slot: c.slot,
    };
    let text =
        serde_json::to_string_pretty(&line).map_err(|e| format!("cannot encode JSON: {e}"))?;
    out.write_all(if first { b"[\n" } else { b",\n" })
        .map_err(|e| e.to_string())?;
    for (n, l) in text.lines().enumerate() {
        if n > 0 {
            out.write_all(b"\n").map_err(|e| e.to_string())?;
        }
        write!(out, "  {l}").map_err(|e| e.to_string())?;
    }
    Ok(())
}
