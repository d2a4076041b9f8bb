//! `healthmon validate`: the dry run. Loads (parse, includes, references,
//! secrets, thresholds, expansion) and prints a summary — or every problem as
//! `file:line:column: key.path: message (hint)` and exit 3.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::exit;
use crate::suite::{Diagnostic, LoadedSuite, Secrets};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  healthmon validate suites/isp.yaml\n  healthmon validate suites/*.yaml --format json\n  healthmon validate --require-secrets suites/isp.yaml   # on the monitoring host\n  healthmon validate --resolve suites/local.yaml\n\nUnset password_env variables and missing password/CA files are warnings (a CI job\nchecking a topology has no production secrets); --require-secrets and --resolve\nmake them errors, as `run` does.\n\nExit status: 0 valid (warnings allowed), 2 with --resolve: an endpoint failed, 3 invalid."
)]
pub struct Args {
    /// Suite files.
    #[arg(required = true)]
    pub suites: Vec<PathBuf>,
    /// Also resolve names and open every endpoint (banner, TLS, AUTH; no mail, no login).
    #[arg(long)]
    pub resolve: bool,
    /// Unset password variables and missing password/CA files are errors
    /// (implied by --resolve), as for `run`.
    #[arg(long)]
    pub require_secrets: bool,
    /// text or json.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// What `validate` found out about one valid suite.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub path: PathBuf,
    pub site: String,
    /// role → [(host, address)]
    pub roles: BTreeMap<String, Vec<(String, String)>>,
    pub accounts: Vec<AccountLine>,
    /// kind → number of cases, plus `total`.
    pub cases: BTreeMap<String, usize>,
    /// Matrix combinations without a path (an MMP not fronting the store).
    pub matrix_skipped: usize,
    /// Combinations listed more than once (a value twice in a list, or in
    /// two matrices); each runs once.
    pub matrix_duplicates: usize,
    /// (minute, case id)
    pub rotation: Vec<(u32, String)>,
}

#[derive(Debug, Serialize)]
pub struct AccountLine {
    pub name: String,
    pub store: String,
    /// Where the password comes from (`env NAME`, `file PATH`), never the value.
    pub password: String,
}

pub fn summarize(s: &LoadedSuite) -> Summary {
    let spec = &s.spec;
    let mut roles: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (name, h) in &spec.hosts {
        for r in &h.roles {
            roles
                .entry(r.clone())
                .or_default()
                .push((name.clone(), h.address.clone()));
        }
    }
    let accounts = spec
        .accounts
        .iter()
        .map(|(name, a)| AccountLine {
            name: name.clone(),
            store: a.store.clone(),
            password: spec
                .secret_ref(name)
                .map_or_else(|| "none".into(), |r| r.describe()),
        })
        .collect();
    // Counted by construction: a million-case matrix is never materialised.
    let plan = crate::case::plan::Plan::new(spec, 0);
    let n = plan.count();
    let cases: BTreeMap<String, usize> = [
        ("roundtrip", n.roundtrip),
        ("security", n.security),
        ("host", n.host),
        ("total", n.total()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let rotation = plan.rotation();
    Summary {
        path: s.path.clone(),
        site: spec.site.clone(),
        roles,
        accounts,
        cases,
        matrix_skipped: n.matrix_skipped,
        matrix_duplicates: n.duplicates,
        rotation,
    }
}

fn print_summary(s: &Summary) {
    println!("{}: site {}: valid", s.path.display(), s.site);
    println!("  hosts by role:");
    for (role, hosts) in &s.roles {
        let list: Vec<String> = hosts.iter().map(|(n, a)| format!("{n} ({a})")).collect();
        println!("    {role:<8} {}", list.join(", "));
    }
    println!("  accounts:");
    for a in &s.accounts {
        println!(
            "    {} -> {}, password from {}",
            a.name, a.store, a.password
        );
    }
    println!(
        "  cases: {} (roundtrip {}, security {}, host {})",
        s.cases["total"], s.cases["roundtrip"], s.cases["security"], s.cases["host"]
    );
    if s.matrix_skipped > 0 {
        println!(
            "  matrix: {} combinations skipped (retrieve host does not reach the account's store)",
            s.matrix_skipped
        );
    }
    if s.matrix_duplicates > 0 {
        println!(
            "  matrix: {} combinations listed more than once (each runs once)",
            s.matrix_duplicates
        );
    }
    if !s.rotation.is_empty() {
        println!("  rotation:");
        for (m, id) in &s.rotation {
            println!("    :{m:02}  {id}");
        }
    }
}

#[derive(Serialize)]
struct JsonOut<'a> {
    valid: bool,
    diagnostics: &'a [Diagnostic],
    suites: Vec<Summary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    endpoints: Vec<EndpointLine>,
}

/// One endpoint's `--resolve` result.
#[derive(Debug, Serialize)]
pub struct EndpointLine {
    pub suite: PathBuf,
    pub endpoint: String,
    pub ok: bool,
    pub lines: Vec<String>,
}

pub fn run(args: Args) -> i32 {
    let json = args.format == "json";
    let secrets = if args.require_secrets || args.resolve {
        Secrets::Required
    } else {
        Secrets::Deferred
    };
    let loaded = crate::suite::load::load_all_with(&args.suites, secrets);
    let (suites, warnings) = match with_resolved(loaded) {
        Ok(x) => x,
        Err(diags) => {
            if json {
                print_json(&JsonOut {
                    valid: false,
                    diagnostics: &diags,
                    suites: vec![],
                    endpoints: vec![],
                });
            } else {
                for d in &diags {
                    eprintln!("{d}");
                }
                let n = diags
                    .iter()
                    .filter(|d| d.severity == crate::suite::Severity::Error)
                    .count();
                eprintln!("{n} error(s): the suite is not valid");
            }
            return exit::CONFIG;
        }
    };
    let summaries: Vec<Summary> = suites.iter().map(summarize).collect();
    let endpoints = if args.resolve {
        resolve(&suites)
    } else {
        vec![]
    };
    // Valid, but an endpoint did not answer as declared: that is a check
    // that could not run, not a configuration error.
    let code = if endpoints.iter().all(|e| e.ok) {
        exit::OK
    } else {
        exit::ERROR
    };
    if json {
        print_json(&JsonOut {
            valid: true,
            diagnostics: &warnings,
            suites: summaries,
            endpoints,
        });
    } else {
        for s in &summaries {
            print_summary(s);
        }
        if !warnings.is_empty() {
            println!("warnings:");
            for w in &warnings {
                println!("  {w}");
            }
        }
        if !endpoints.is_empty() {
            println!("endpoints:");
            for e in &endpoints {
                println!("  {} {}", if e.ok { "ok  " } else { "FAIL" }, e.endpoint);
                for l in &e.lines {
                    println!("       {l}");
                }
            }
        }
    }
    code
}

/// Add the route check's DNS half (loading does none) to what loading found.
#[allow(clippy::type_complexity)]
fn with_resolved(
    loaded: Result<(Vec<LoadedSuite>, Vec<Diagnostic>), Vec<Diagnostic>>,
) -> Result<(Vec<LoadedSuite>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (suites, mut diags) = loaded?;
    for s in &suites {
        diags.extend(crate::suite::validate::validate_resolved(s));
    }
    if crate::suite::load::has_errors(&diags) {
        Err(diags)
    } else {
        Ok((suites, diags))
    }
}

fn print_json<T: Serialize>(v: &T) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("healthmon: cannot encode JSON: {e}"),
    }
}

/// Every declared endpoint of every host: banner, TLS, AUTH — no mail, no
/// login. Probes run concurrently (the suite's `concurrency`), each step
/// bounded by the suite's `step_timeout`; results keep declaration order.
fn resolve(suites: &[LoadedSuite]) -> Vec<EndpointLine> {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("healthmon validate --resolve: cannot start the runtime: {e}");
            return vec![];
        }
    };
    rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        let mut n = 0;
        for s in suites {
            let spec = &s.spec;
            let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(
                spec.defaults()
                    .concurrency
                    .unwrap_or(crate::suite::resolve::DEFAULT_CONCURRENCY)
                    .max(1),
            ));
            let step = spec.step_timeout();
            let digest = crate::probe::agent::suite_digest(s);
            for (host, a) in spec
                .hosts
                .iter()
                .filter_map(|(h, x)| Some((h, x.agent.clone()?)))
            {
                let (path, i, digest) = (s.path.clone(), n, digest.clone());
                n += 1;
                let endpoint = format!("{host} agent {}", a.url);
                tasks.spawn(async move {
                    let (ok, lines) = crate::probe::agent::check(&a, &digest, step).await;
                    let (suite, endpoint) = (path, endpoint);
                    (
                        i,
                        EndpointLine {
                            suite,
                            endpoint,
                            ok,
                            lines,
                        },
                    )
                });
            }
            for host in spec.hosts.keys() {
                for proto in spec.host_protos(host) {
                    let Some(ep) = spec.endpoint(host, proto) else {
                        continue;
                    };
                    let (limit, path, i) = (limit.clone(), s.path.clone(), n);
                    n += 1;
                    tasks.spawn(async move {
                        let _permit = limit.acquire_owned().await;
                        let r = crate::probe::banner::probe_endpoint(&ep, step).await;
                        (
                            i,
                            EndpointLine {
                                suite: path,
                                endpoint: r.endpoint,
                                ok: r.ok,
                                lines: r.lines,
                            },
                        )
                    });
                }
            }
        }
        let mut out: Vec<(usize, EndpointLine)> = Vec::with_capacity(n);
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(x) => out.push(x),
                Err(e) => eprintln!("healthmon validate --resolve: probe task failed: {e}"),
            }
        }
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, l)| l).collect()
    })
}
