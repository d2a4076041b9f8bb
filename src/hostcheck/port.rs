//! port: TCP connect + banner regex + TLS certificate expiry for any endpoint.

use std::time::Instant;

use crate::fmt;
use crate::probe::wire::Conn;
use crate::result::{ErrorKind, Observation, Status};
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
    let t = Instant::now();
    let proto = if spec.endpoint.is_some() {
        ep.proto.family()
    } else {
        "tcp"
    };
    let mut conn = match Conn::connect_tcp(&ep, proto, ctx.step_timeout).await {
        Ok(c) => c,
        Err(e) => return CheckOutcome::error(obs, e),
    };
    obs.phase("connect", ms(t));
    let mut f = super::judge::Findings::default();
    if ep.tls == TlsMode::Implicit {
        let t = Instant::now();
        let info = match conn.upgrade_tls(&ep, ctx.step_timeout).await {
            Ok(i) => i,
            Err(e) => return CheckOutcome::error(obs, e),
        };
        obs.phase("tls", ms(t));
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
    if let Some(re) = &banner_re {
        let t = Instant::now();
        let line = match conn.read_line("banner", ctx.step_timeout).await {
            Ok(l) => l,
            Err(e) => return CheckOutcome::error(obs, e),
        };
        obs.phase("banner", ms(t));
        let text = crate::probe::wire::sanitize(&line, 200);
        if !re.is_match(&text) {
            f.add(
                Status::Critical,
                format!("banner `{text}` does not match /{}/", re.as_str()),
            );
        }
        obs.fact("banner", text);
    }
    conn.shutdown().await;
    let banner = banner_re.is_some();
    super::latency::judge(&mut obs, &mut f, ms(t_all), spec.warning, spec.critical, || {
        remeasure(&ep, proto, banner, ctx.step_timeout)
    })
    .await;
    CheckOutcome::judged(obs, &f)
}

/// The same steps timed once more over a new connection (connect, TLS
/// handshake, banner line), for [`super::latency::judge`].
async fn remeasure(
    ep: &Endpoint,
    proto: &'static str,
    banner: bool,
    step: std::time::Duration,
) -> Result<f64, crate::result::ProbeError> {
    let t = Instant::now();
    let mut conn = Conn::connect_tcp(ep, proto, step).await?;
    if ep.tls == TlsMode::Implicit {
        conn.upgrade_tls(ep, step).await?;
    }
    if banner {
        conn.read_line("banner", step).await?;
    }
    conn.shutdown().await;
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
