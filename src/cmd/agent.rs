//! `healthmon agent SUITE [--host NAME]...`: the daemon in its agent role on
//! one site machine. It runs the host checks of the suite hosts that are
//! this machine (by hostname, or the `--host`s given) every
//! `hosts.<name>.agent.interval`, writes the local reports (qmonitor.log …)
//! as `run --host` does, and serves the latest results and the queue
//! look-up at `hosts.<name>.agent.url` for the central monitor.
//!
//! Refusals, so that a mistake is loud rather than a wrong measurement:
//! another machine's host (unless `--allow-other-host`), a host without an
//! `agent:` entry (unless `--listen`), and an address beyond loopback
//! without a token.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use crate::daemon::role::Role;
use crate::daemon::schedule::{Config, Job, JobSpec, StatusSpec, When};
use crate::exit;
use crate::status::AuthSpec;
use crate::status::auth::{BasicSpec, BearerSpec};
use crate::suite::LoadedSuite;
use crate::suite::agent::AgentSpec;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    healthmon agent /etc/healthmon/site.yaml                 # the hosts this machine is (by hostname)\n  \
    healthmon agent suites/isp.yaml --host mta1              # on mta1\n  \
    healthmon agent suites/isp.yaml --host mta1 --host ldap1 # a machine carrying both\n\
    Listens at hosts.<name>.agent.url and requires its token (token_file / token_env) beyond loopback.\n\
    SIGTERM stops it; SIGHUP is ignored (restart to apply a new suite).")]
pub struct Args {
    /// The site's suite file (the same file as the central monitor's).
    pub suite: PathBuf,
    /// Suite host(s) whose checks run here (default: the hosts this machine is, by hostname).
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
    /// Run the checks of a host that is not this machine (they measure THIS machine).
    #[arg(long)]
    pub allow_other_host: bool,
    /// Listen here instead of the address and port of hosts.<name>.agent.url.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// Reports directory (default: the suite's reports.dir, else ./reports).
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
}

fn fail(m: String) -> i32 {
    eprintln!("healthmon agent: {m}");
    exit::CONFIG
}

/// The suite hosts to serve, checked against this machine.
fn hosts(args: &Args, s: &LoadedSuite) -> Result<Vec<String>, String> {
    let (me, mine) = crate::hostcheck::this_machine(&s.spec);
    let me = me.unwrap_or_else(|| "?".into());
    if args.hosts.is_empty() {
        if mine.is_empty() {
            return Err(format!(
                "no host of {} is this machine (hostname `{me}`): give --host NAME, or set hosts.<name>.hostname",
                s.path.display()
            ));
        }
        return Ok(mine);
    }
    for h in &args.hosts {
        if !s.spec.hosts.contains_key(h) {
            return Err(format!("--host {h}: no such host in {}", s.path.display()));
        }
        if !mine.contains(h) && !args.allow_other_host {
            return Err(format!(
                "--host {h} is not this machine (hostname `{me}`, not {h} nor its hosts.{h}.hostname): \
                 its checks would measure this machine under {h}'s name. Run the agent on {h}, \
                 or pass --allow-other-host if that is really meant"
            ));
        }
    }
    Ok(args.hosts.clone())
}

/// Where to listen: `--listen`, else the agent URL's port on its address
/// (an IP), or on every address when the URL names the host by DNS name.
fn listen(args: &Args, a: Option<&AgentSpec>) -> Result<SocketAddr, String> {
    if let Some(l) = args.listen {
        return Ok(l);
    }
    let a = a.ok_or("no hosts.<name>.agent entry for the served hosts: declare one (the central monitor reads it too), or give --listen")?;
    let u = a.parsed_url()?;
    let ip = u
        .host
        .parse::<IpAddr>()
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    Ok(SocketAddr::new(ip, u.port))
}

pub fn run(args: Args) -> i32 {
    let mut suite = match crate::suite::load::load_for_cli(std::slice::from_ref(&args.suite)) {
        Ok(mut s) if s.len() == 1 => s.remove(0),
        Ok(_) => return fail("exactly one suite".into()),
        Err(code) => return code,
    };
    let hosts = match hosts(&args, &suite) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let spec: Option<AgentSpec> = hosts
        .iter()
        .find_map(|h| suite.spec.hosts.get(h).and_then(|x| x.agent.clone()));
    let addr = match listen(&args, spec.as_ref()) {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let auth = spec.as_ref().and_then(|a| match (&a.basic, a.token()) {
        (Some(b), _) => Some(AuthSpec {
            basic: Some(BasicSpec {
                user: b.user.clone(),
                password_env: b.password_env.clone(),
                password_file: b.password_file.clone(),
            }),
            bearer: None,
        }),
        (None, Some(_)) => Some(AuthSpec {
            basic: None,
            bearer: Some(BearerSpec {
                token_env: a.token_env.clone(),
                token_file: a.token_file.clone(),
            }),
        }),
        (None, None) => None,
    });
    if auth.is_none() && !addr.ip().is_loopback() {
        return fail(format!(
            "listening on {addr} (beyond loopback) needs a token: set hosts.{}.agent.token_file, token_env or basic",
            hosts[0]
        ));
    }
    if let Some(p) = auth
        .as_ref()
        .map(AuthSpec::problems)
        .filter(|p| !p.is_empty())
    {
        return fail(format!("agent token: {}", p.join("; ")));
    }
    let tls = match spec.as_ref().map(|a| (a.parsed_url().map(|u| u.tls), a)) {
        Some((Ok(true), a)) => match (a.cert_file.clone(), a.key_file.clone()) {
            (Some(c), Some(k)) => Some((c, k)),
            _ => return fail("an https agent url needs cert_file and key_file".into()),
        },
        _ => None,
    };
    let interval = spec
        .as_ref()
        .map(AgentSpec::interval)
        .unwrap_or(crate::suite::agent::DEFAULT_INTERVAL);
    let role = Role::new(suite.clone(), hosts.clone(), interval);
    // This process runs these hosts' checks itself: it must not pull them
    // from itself.
    for h in &hosts {
        if let Some(x) = suite.spec.hosts.get_mut(h) {
            x.agent = None;
        }
    }
    let job = Job {
        name: "agent".into(),
        when: When::Every(interval),
        spec: JobSpec {
            cron: None,
            every: Some(crate::suite::duration::Dur(interval)),
            suites: vec![args.suite.clone()],
            only: hosts.iter().map(|h| format!("host/{h}/*")).collect(),
            skip: vec![],
            rotate: false,
            host: None,
            shard: None,
            isolate: false,
            report: false,
            jitter: None,
            enabled: true,
            at_start: true,
        },
        suites: vec![suite],
        shard: None,
    };
    let cfg = Config {
        path: args.suite.clone(),
        listen: addr,
        grace: crate::daemon::schedule::DEFAULT_GRACE,
        reports: args.reports.clone(),
        state_dir: None,
        status: StatusSpec {
            auth_metrics: auth.is_some(),
            auth,
        },
        http: crate::daemon::serve::Limits::default(),
        tls,
        agent: Some(Arc::new(role)),
        jobs: vec![job],
    };
    tracing::info!("agent: serving host checks of {}", hosts.join(", "));
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(crate::daemon::run(cfg, None)),
        Err(e) => {
            eprintln!("healthmon agent: cannot start the async runtime: {e}");
            exit::INTERNAL
        }
    }
}
