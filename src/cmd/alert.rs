//! `healthmon alert`: test a route, show the alert state, or process a
//! results file through the alert state machine (for cron setups that run
//! the probes elsewhere, and for tests).

use std::path::PathBuf;

use crate::exit;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  healthmon alert test oncall suites/local.yaml\n  healthmon alert status suites/local.yaml\n  healthmon alert process --results reports/last-run.json suites/local.yaml"
)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Send a test notice through a route (its channels, with fallbacks).
    Test {
        route: String,
        suite: PathBuf,
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Print the alert state (firing, pending) as JSON.
    Status {
        suite: PathBuf,
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Run a results file (RunSummary JSON) through the alert state machine.
    Process {
        suite: PathBuf,
        #[arg(long)]
        results: PathBuf,
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
}

fn load(p: &std::path::Path) -> Result<crate::suite::model::SuiteSpec, i32> {
    crate::suite::load(p).map(|(s, _)| s.spec).map_err(|errs| {
        for e in errs {
            eprintln!("{e}");
        }
        exit::CONFIG
    })
}

fn state_dir(given: &Option<PathBuf>, suite: &crate::suite::model::SuiteSpec) -> PathBuf {
    given.clone().unwrap_or_else(|| {
        suite
            .reports
            .as_ref()
            .and_then(|r| r.dir.clone())
            .unwrap_or_else(|| PathBuf::from("reports"))
            .join("state")
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("cannot start the async runtime: {e}");
        exit::INTERNAL
    })
}

pub fn run(args: Args) -> i32 {
    match go(args) {
        Ok(c) | Err(c) => c,
    }
}

fn go(args: Args) -> Result<i32, i32> {
    match args.action {
        Action::Test {
            route,
            suite,
            state_dir: sd,
        } => {
            let s = load(&suite)?;
            let dir = state_dir(&sd, &s);
            let now = chrono::Utc::now();
            let mut n = crate::alert::notice::Notice::plain(
                "alert",
                &s.site,
                "test",
                "healthmon alert test: please ignore",
                now,
            );
            n.key = "healthmon/test".into();
            n.severity = "warning".into();
            match runtime()?.block_on(crate::alert::send_via_route(&s, &route, &n, &dir)) {
                Ok(r) => {
                    println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
                    Ok(if r.failed.is_empty() && r.spooled.is_empty() {
                        exit::OK
                    } else {
                        exit::FAILED
                    })
                }
                Err(e) => {
                    eprintln!("{e}");
                    Err(exit::CONFIG)
                }
            }
        }
        Action::Status {
            suite,
            state_dir: sd,
        } => {
            let s = load(&suite)?;
            let (f, warn) = crate::alert::state::StateFile::load(&state_dir(&sd, &s));
            if let Some(w) = warn {
                eprintln!("{w}");
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&f.sites.get(&s.site)).unwrap_or_default()
            );
            Ok(exit::OK)
        }
        Action::Process {
            suite,
            results,
            state_dir: sd,
        } => {
            let s = load(&suite)?;
            let summary: crate::result::RunSummary = std::fs::read(&results)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
                .map_err(|e| {
                    eprintln!("{}: {e}", results.display());
                    exit::CONFIG
                })?;
            let dir = state_dir(&sd, &s);
            let r = runtime()?.block_on(crate::alert::process(&summary, &s, &dir, None));
            println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            Ok(if r.errors.is_empty() {
                exit::OK
            } else {
                exit::INTERNAL
            })
        }
    }
}
