//! port: TCP connect + banner regex + TLS certificate expiry for any endpoint.

use std::time::{Duration, Instant};

use crate::fmt;
use crate::probe::tls::TlsInfo;
use crate::probe::wire::Conn;
use crate::result::{ErrorKind, Observation, ProbeError, Status};
pub use crate::suite::checks::port::PortSpec;
use crate::suite::model::{Proto, TlsMode};
use crate::suite::resolve::Endpoint;

/// Certificate expiry warning when neither the check nor the endpoint says.
const DEFAULT_EXPIRY_WARNING_DAYS: u32 = 14;

/// Connect (and handshake for implicit TLS), optionally read the banner,
/// then judge latency, banner and certificate lifetime.
pub async fn check(spec: &PortSpec, ctx: &super::Ctx<'_>) -> super::CheckOutcome {
    use super::CheckOutcome;
    let mut obs = Observation::default();
    let ep = match target(spec, ctx) {
        Ok(ep) => ep,
        Err(e) => return CheckOutcome::error(obs, ctx.err("config", ErrorKind::Local, e)),
    };
    let banner_re = match spec.banner.as_deref().map(regex::Regex::new).transpose() {
        Ok(r) => r,
        Err(e) => {
            let e = ctx.err("config", ErrorKind::Local, format!("bad banner regex: {e}"));
            return CheckOutcome::error(obs, e);
        }
    };
    let wants_expiry =
        spec.cert_expiry_warning_days.is_some() || spec.cert_expiry_critical_days.is_some();
    if wants_expiry && ep.tls != TlsMode::Implicit {
        let e = ctx.err(
            "config",
            ErrorKind::Local,
            format!(
                "certificate expiry needs an implicit-TLS endpoint; {}:{} is not",
                ep.address, ep.port
            ),
        );
        return CheckOutcome::error(obs, e);
    }
    obs.fact("target", ep.addr());
    let t_all = Instant::now();
    let proto = if spec.endpoint.is_some() {
        ep.proto.family()
    } else {
        "tcp"
    };
    let opened = match open(&ep, proto, banner_re.is_some(), ctx.step_timeout, &mut obs).await {
        Ok(o) => o,
        Err(e) => return CheckOutcome::error(obs, e),
    };
    let mut f = super::judge::Findings::default();
    if let Some(info) = &opened.tls {
        obs.fact("tls_version", info.version.clone());
        if let Some(na) = info.cert_not_after {
            let days = (na - chrono::Utc::now().timestamp()) as f64 / 86400.0;
            obs.metric("cert_days", days, "");
            obs.fact("cert_not_after", crate::probe::tls::date(na));
            // Unix seconds, as the round-trip probes record it: exported as
            // healthmon_tls_cert_expiry_timestamp_seconds (alert rules
            // subtract time(); a days-left gauge would go stale).
            obs.fact("tls_cert_not_after", na.to_string());
            let warn = spec
                .cert_expiry_warning_days
                .or(ep.tls_options.expiry_warning_days)
                .unwrap_or(DEFAULT_EXPIRY_WARNING_DAYS);
            let shown = fmt::num(days.floor());
            if let Some(c) = spec.cert_expiry_critical_days.filter(|c| days < *c as f64) {
                f.add(
                    Status::Critical,
                    format!("certificate expires in {shown} days (critical {c})"),
                );
            } else if days < warn as f64 {
                f.add(
                    Status::Warning,
                    format!("certificate expires in {shown} days (warning {warn})"),
                );
            }
        }
    }
    if let (Some(re), Some(line)) = (&banner_re, &opened.banner) {
        let text = crate::probe::wire::sanitize(line, 200);
        if !re.is_match(&text) {
            f.add(
                Status::Critical,
                format!("banner `{text}` does not match /{}/", re.as_str()),
            );
        }
        obs.fact("banner", text);
    }
    let (banner, step) = (banner_re.is_some(), ctx.step_timeout);
    super::latency::judge(&mut obs, &mut f, ms(t_all), spec.warning, spec.critical, || {
        remeasure(&ep, proto, banner, step)
    })
    .await;
    CheckOutcome::judged(obs, &f)
}

/// What one pass over the port saw.
struct Opened {
    tls: Option<TlsInfo>,
    banner: Option<Vec<u8>>,
}

/// One pass: connect, handshake for implicit TLS, read the banner line when
/// asked, close; each step's time is a phase in `obs` (kept up to a failure).
async fn open(
    ep: &Endpoint,
    proto: &'static str,
    banner: bool,
    step: Duration,
    obs: &mut Observation,
) -> Result<Opened, ProbeError> {
    let t = Instant::now();
    let mut conn = Conn::connect_tcp(ep, proto, step).await?;
    obs.phase("connect", ms(t));
    let mut opened = Opened {
        tls: None,
        banner: None,
    };
    if ep.tls == TlsMode::Implicit {
        let t = Instant::now();
        opened.tls = Some(conn.upgrade_tls(ep, step).await?);
        obs.phase("tls", ms(t));
    }
    if banner {
        let t = Instant::now();
        opened.banner = Some(conn.read_line("banner", step).await?);
        obs.phase("banner", ms(t));
    }
    conn.shutdown().await;
    Ok(opened)
}

/// The same pass timed once more over a new connection, for
/// [`super::latency::judge`].
async fn remeasure(
    ep: &Endpoint,
    proto: &'static str,
    banner: bool,
    step: Duration,
) -> Result<f64, ProbeError> {
    let t = Instant::now();
    open(ep, proto, banner, step, &mut Observation::default()).await?;
    Ok(ms(t))
}

/// The endpoint to open: a named endpoint of the host, or a bare port on
/// the host's address (plain TCP).
fn target(spec: &PortSpec, ctx: &super::Ctx<'_>) -> Result<Endpoint, String> {
    match (spec.endpoint, spec.port) {
        (Some(p), _) => ctx
            .suite
            .endpoint(ctx.host, p)
            .ok_or_else(|| format!("host {} has no {p} endpoint", ctx.host)),
        (None, Some(port)) => Ok(Endpoint {
            host: ctx.host.to_string(),
            address: ctx.address().to_string(),
            port,
            // Unused for a bare port: no protocol is spoken, TLS is off.
            proto: Proto::Http,
            tls: TlsMode::None,
            tls_options: Default::default(),
            auth: None,
        }),
        (None, None) => Err("port check needs `endpoint: PROTO` or `port: N`".into()),
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
