//! Host checks (the seed's check_queues, check_sys, check_mconn, check_procs,
//! check_files, check_ldap): declared per host in the suite.
//!
//! Each kind's spec, validation and limits live in `suite::checks::<kind>`;
//! its file here observes the machine and judges the numbers. What many
//! checks read (processes, sockets, CPU) is taken once per run in `snapshot`
//! and shared. Adding a kind = one new file here + one line in `observers!`
//! (and its spec file + line in `suite::checks`).

use std::time::{Duration, Instant};

use crate::case::HostCase;
use crate::result::{ErrorKind, Observation, ProbeError, Status};
use crate::suite::model::SuiteSpec;

pub mod judge;
pub mod latency;
pub mod queue_lookup;
pub mod snapshot;

pub use crate::suite::checks::CheckSpec;
pub use snapshot::Snapshot;

/// The registry of observations: one line per kind, `module => Variant`
/// (the variant of `suite::checks::CheckSpec` whose spec `module::check` observes).
macro_rules! observers {
    ($($m:ident => $V:ident),* $(,)?) => {
        $(pub mod $m;)*

        /// Observe and judge one host check of any kind.
        async fn observe(spec: &CheckSpec, ctx: &Ctx<'_>) -> CheckOutcome {
            match spec {
                $(CheckSpec::$V(s) => $m::check(s, ctx).await,)*
            }
        }
    };
}

observers! {
    queue => Queue,
    system => System,
    connections => Connections,
    processes => Processes,
    files => Files,
    ldap => Ldap,
    port => Port,
    deferrals => Deferrals,
}

/// What one host check found: the status, a one-line reason (empty on pass)
/// and everything it measured.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    pub status: Status,
    pub message: String,
    pub observation: Observation,
}

impl CheckOutcome {
    /// The verdict of the findings over what was measured.
    pub fn judged(observation: Observation, f: &judge::Findings) -> Self {
        CheckOutcome {
            status: f.status(),
            message: f.message(),
            observation,
        }
    }
    /// Could not measure: `Status::Error`, the error kept in the observation.
    pub fn error(mut observation: Observation, err: ProbeError) -> Self {
        let message = err.to_string();
        observation.error = Some(err);
        CheckOutcome {
            status: Status::Error,
            message,
            observation,
        }
    }
}

/// What every kind gets to work with.
pub struct Ctx<'a> {
    /// Suite host name the check is bound to.
    pub host: &'a str,
    pub suite: &'a SuiteSpec,
    pub snap: &'a Snapshot,
    pub step_timeout: Duration,
}

impl Ctx<'_> {
    /// The host's address from the suite (empty when the host is unknown).
    pub fn address(&self) -> &str {
        self.suite
            .hosts
            .get(self.host)
            .map(|h| h.address.as_str())
            .unwrap_or("")
    }
    pub fn err(&self, phase: &str, kind: ErrorKind, message: impl Into<String>) -> ProbeError {
        ProbeError {
            phase: phase.into(),
            kind,
            message: message.into(),
            host: Some(self.host.to_string()),
            protocol: None,
        }
    }
}

/// Run one host check: observe (sharing `snap` with the other checks of the
/// run), then judge against the spec's limits.
pub async fn run(
    case: &HostCase,
    suite: &SuiteSpec,
    snap: &Snapshot,
    step_timeout: Duration,
) -> CheckOutcome {
    let ctx = Ctx {
        host: &case.host,
        suite,
        snap,
        step_timeout,
    };
    let t0 = Instant::now();
    let mut out = observe(&case.check, &ctx).await;
    out.observation
        .phase("total", t0.elapsed().as_secs_f64() * 1000.0);
    out
}

/// Which suite host this machine is, for `run --host [NAME]`.
///
/// With a name: the host of that key, else the host whose `hostname:` is
/// that name. Without: this machine's hostname matched the same way. The
/// short name (before the first dot) is tried last. None when nothing matches.
pub fn select_host(suite: &SuiteSpec, name: Option<&str>) -> Option<String> {
    let local;
    let want = match name {
        Some(n) => n,
        None => {
            local = local_hostname()?;
            &local
        }
    };
    let short = want.split('.').next().unwrap_or(want);
    let by = |n: &str| {
        suite.hosts.iter().find_map(|(k, h)| {
            let names = [Some(k.as_str()), h.hostname.as_deref()];
            names
                .into_iter()
                .flatten()
                .any(|x| x == n)
                .then(|| k.clone())
        })
    };
    by(want).or_else(|| by(short))
}

/// Every suite host this machine is (by its hostname, full or short, equal
/// to a host's key or `hostname:`): one machine may carry several.
pub fn this_machine(suite: &SuiteSpec) -> (Option<String>, Vec<String>) {
    let Some(me) = local_hostname() else {
        return (None, Vec::new());
    };
    let short = me.split('.').next().unwrap_or(&me).to_string();
    let hosts = suite
        .hosts
        .iter()
        .filter(|(k, h)| {
            [Some(k.as_str()), h.hostname.as_deref()]
                .into_iter()
                .flatten()
                .any(|n| n == me || n == short || n.split('.').next() == Some(short.as_str()))
        })
        .map(|(k, _)| k.clone())
        .collect();
    (Some(me), hosts)
}

/// This machine's host name (gethostname), `None` when it has none.
pub fn local_hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for buf.len() bytes; we stop at the first NUL.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let s = String::from_utf8_lossy(&buf[..end]).into_owned();
    (!s.is_empty()).then_some(s)
}

/// Longest output line kept from a command (longer ones are skipped).
const MAX_LINE: usize = 64 * 1024;
/// Most stdout `run_command` keeps.
const MAX_OUTPUT: usize = 1024 * 1024;

/// Run a command with a deadline; its stdout (at most 1 MB), or why it
/// could not run. Missing commands and non-zero exits are `ErrorKind::Local`.
pub(crate) async fn run_command(
    ctx: &Ctx<'_>,
    phase: &str,
    argv: &[String],
) -> Result<String, ProbeError> {
    let mut out = String::new();
    let mut too_big = false;
    command_lines(ctx, phase, argv, |l| {
        if out.len() + l.len() > MAX_OUTPUT {
            too_big = true;
        } else {
            out.push_str(l);
        }
    })
    .await?;
    if too_big {
        return Err(ctx.err(
            phase,
            ErrorKind::Local,
            format!("`{}` printed more than {MAX_OUTPUT} bytes", argv[0]),
        ));
    }
    Ok(out)
}

/// Run a command with a deadline and hand each stdout line (with its
/// newline) to `each` as it arrives: memory stays bounded however much the
/// command prints (`postqueue -j` on a queue of a million messages).
pub(crate) async fn command_lines(
    ctx: &Ctx<'_>,
    phase: &str,
    argv: &[String],
    mut each: impl FnMut(&str),
) -> Result<(), ProbeError> {
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| ctx.err(phase, ErrorKind::Local, "empty command"))?;
    let mut child = tokio::process::Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ctx.err(phase, ErrorKind::Local, format!("cannot run `{prog}`: {e}")))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let work = async {
        // Only the first 4 KiB of stderr matter (the error message).
        let err_task = tokio::spawn(async move {
            let mut b = Vec::new();
            let _ = stderr.take(4096).read_to_end(&mut b).await;
            b
        });
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        let mut overlong = false;
        loop {
            buf.clear();
            let n = (&mut r)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut buf)
                .await?;
            if n == 0 {
                break;
            }
            let complete = buf.ends_with(b"\n");
            if !overlong && complete {
                each(&String::from_utf8_lossy(&buf));
            }
            // A line longer than MAX_LINE is skipped up to its newline.
            overlong = !complete;
        }
        let status = child.wait().await?;
        let err = err_task.await.unwrap_or_default();
        Ok::<_, std::io::Error>((status, err))
    };
    let (status, err) = match tokio::time::timeout(ctx.step_timeout, work).await {
        Err(_) => {
            return Err(ctx.err(
                phase,
                ErrorKind::Timeout,
                format!("`{prog}` did not finish within {:?}", ctx.step_timeout),
            ));
        }
        Ok(Err(e)) => {
            return Err(ctx.err(phase, ErrorKind::Local, format!("`{prog}`: {e}")));
        }
        Ok(Ok(v)) => v,
    };
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        let first = err.lines().next().unwrap_or("").trim();
        return Err(ctx.err(
            phase,
            ErrorKind::Local,
            format!("`{prog}` failed ({status}): {}", bounded(first, 200)),
        ));
    }
    Ok(())
}

/// At most `n` characters (command output ends up in reports).
pub(crate) fn bounded(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::model::HostSpec;

    fn suite() -> SuiteSpec {
        let mut s = SuiteSpec::default();
        for (k, hn) in [("mta1", Some("smtp1.example.net")), ("ldap1", None)] {
            s.hosts.insert(
                k.into(),
                HostSpec {
                    roles: vec!["mta".into()],
                    address: "127.0.0.1".into(),
                    hostname: hn.map(String::from),
                    ..Default::default()
                },
            );
        }
        s
    }

    #[test]
    fn select_host_by_key_hostname_and_short_name() {
        let s = suite();
        assert_eq!(select_host(&s, Some("ldap1")).as_deref(), Some("ldap1"));
        assert_eq!(
            select_host(&s, Some("smtp1.example.net")).as_deref(),
            Some("mta1")
        );
        assert_eq!(
            select_host(&s, Some("ldap1.example.net")).as_deref(),
            Some("ldap1")
        );
        assert_eq!(select_host(&s, Some("nope")), None);
    }

    fn argv(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[tokio::test]
    async fn command_lines_bounded_timed_and_failures_explained() {
        let suite = SuiteSpec::default();
        let snap = Snapshot::new();
        let ctx = Ctx {
            host: "h",
            suite: &suite,
            snap: &snap,
            step_timeout: Duration::from_millis(2000),
        };
        // A 200 KB line is skipped whole; the lines around it arrive.
        let mut got = Vec::new();
        let script = "echo a; head -c 200000 /dev/zero | tr '\\0' x; echo; echo b";
        command_lines(&ctx, "t", &argv(script), |l| got.push(l.to_string()))
            .await
            .unwrap();
        assert_eq!(got, vec!["a\n".to_string(), "b\n".to_string()]);
        let e = run_command(&ctx, "t", &argv("echo oops >&2; exit 3"))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Local);
        assert!(e.message.contains("oops"), "{}", e.message);
        let big = "head -c 2000000 /dev/zero | tr '\\0' '\\n'";
        let e = run_command(&ctx, "t", &argv(big)).await.unwrap_err();
        assert!(e.message.contains("more than"), "{}", e.message);
        let slow = Ctx {
            step_timeout: Duration::from_millis(200),
            ..ctx
        };
        let e = run_command(&slow, "t", &argv("sleep 5")).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout);
    }
}
