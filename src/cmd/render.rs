//! `healthmon render SUITE`: the suite as healthmon sees it — after
//! includes, merged sections and `${ENV}`, secrets hidden — and with
//! `--cases` every case's effective settings (timeout, arrival wait,
//! thresholds, check limits), so "why does this case have that threshold"
//! has an answer.

use std::path::PathBuf;

use crate::exit;
use crate::suite::render::{hide_secrets, suite_value};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    healthmon render suites/local.yaml\n  \
    healthmon render suites/local.yaml --cases --only 'rndtrip/ims1/*'\n\
    Inline secrets are shown as <inline secret, not shown>; password_env/*_file references as written.\n\
    Unset secret references are warnings here (as for validate).")]
pub struct Args {
    /// Suite files.
    #[arg(required = true)]
    pub suites: Vec<PathBuf>,
    /// Also every case with its effective settings.
    #[arg(long)]
    pub cases: bool,
    /// With --cases: only case ids matching GLOB (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub only: Vec<String>,
}

pub fn run(args: Args) -> i32 {
    let secrets = crate::suite::Secrets::Deferred;
    let suites = match crate::suite::load::load_for_cli_with(&args.suites, secrets) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let filter = crate::filter::Filter::new(args.only.clone(), vec![]);
    let mut out = String::new();
    for (i, s) in suites.iter().enumerate() {
        let mut doc = match suite_value(&s.spec) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("healthmon render: {}: {e}", s.path.display());
                return exit::INTERNAL;
            }
        };
        if args.cases {
            let cases: Vec<_> = crate::case::expand::expand(&s.spec, i)
                .into_iter()
                .filter(|c| filter.matches(&c.id))
                .collect();
            let mut v = match serde_yaml::to_value(&cases) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("healthmon render: cases: {e}");
                    return exit::INTERNAL;
                }
            };
            hide_secrets(&mut v);
            if let serde_yaml::Value::Mapping(m) = &mut doc {
                m.insert("cases".into(), v);
            }
        }
        out.push_str(&format!(
            "# {} as healthmon sees it (includes merged, ${{ENV}} expanded, secrets hidden)\n",
            s.path.display()
        ));
        match serde_yaml::to_string(&doc) {
            Ok(t) => out.push_str(&t),
            Err(e) => {
                eprintln!("healthmon render: {e}");
                return exit::INTERNAL;
            }
        }
        if i + 1 < suites.len() {
            out.push_str("---\n");
        }
    }
    print!("{out}");
    exit::OK
}
