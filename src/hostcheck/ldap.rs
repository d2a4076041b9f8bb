//! ldap: bind, look up each test account, compare replicas (check_ldap).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ldap3::Scope;

use crate::probe::ldap::Session;
use crate::result::{ErrorKind, Observation, ProbeError, Status};
use crate::suite::checks::ldap::DEFAULT_MAX_LAG;
pub use crate::suite::checks::ldap::LdapSpec;
use crate::suite::duration::Dur;
use crate::suite::proto::Proto;
use crate::suite::resolve::Endpoint;

/// contextCSN values of `base` (empty when the server keeps none).
async fn context_csn(s: &mut Session, base: &str) -> Result<Vec<String>, ProbeError> {
    let e = s
        .search(base, Scope::Base, "(objectClass=*)", &["contextCSN"])
        .await?;
    Ok(e.into_iter()
        .next()
        .and_then(|e| e.attrs.get("contextCSN").cloned())
        .unwrap_or_default())
}

fn ldap_endpoint(ctx: &super::Ctx<'_>, host: &str) -> Option<Endpoint> {
    ctx.suite.endpoint_for(host, &[Proto::Ldap, Proto::Ldaps])
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Bind, look up every suite account, check its attributes, time it all;
/// then compare contextCSN with the listed replicas.
pub async fn check(spec: &LdapSpec, ctx: &super::Ctx<'_>) -> super::CheckOutcome {
    use super::CheckOutcome;
    let mut obs = Observation::default();
    let Some(ep) = ldap_endpoint(ctx, ctx.host) else {
        let e = ctx.err(
            "config",
            ErrorKind::Local,
            format!("host {} has no ldap endpoint", ctx.host),
        );
        return CheckOutcome::error(obs, e);
    };
    let password = match spec
        .password_ref()
        .map(|r| r.resolve().map_err(|e| (r, e)))
        .transpose()
    {
        Ok(p) => p,
        Err((r, e)) => {
            let e = ctx.err(
                "bind",
                ErrorKind::Local,
                format!("password ({}): {e}", r.describe()),
            );
            return CheckOutcome::error(obs, e);
        }
    };
    let t_all = Instant::now();
    let t = Instant::now();
    let mut s = match Session::open(&ep, ctx.step_timeout).await {
        Ok(s) => s,
        Err(e) => return CheckOutcome::error(obs, e),
    };
    obs.phase("connect", ms(t));
    let t = Instant::now();
    if let Err(e) = bind_as(&mut s, spec, &password, ctx).await {
        s.close().await;
        return CheckOutcome::error(obs, e);
    }
    obs.phase("bind", ms(t));

    let mut f = super::judge::Findings::default();
    let want: Vec<String> = spec
        .expect_attributes
        .clone()
        .unwrap_or_else(|| vec!["mail".into(), "mailHost".into()]);
    let t = Instant::now();
    let mut found = 0usize;
    for (name, filter) in account_filters(spec, ctx) {
        let entries = match s.search(&spec.base, Scope::Subtree, &filter, &want).await {
            Ok(e) => e,
            Err(e) => {
                s.close().await;
                return CheckOutcome::error(obs, e);
            }
        };
        match entries.as_slice() {
            [] => f.add(
                Status::Critical,
                format!("{name}: {filter} not found under {}", spec.base),
            ),
            [e] => {
                found += 1;
                let missing: Vec<&str> = want
                    .iter()
                    .filter(|a| !e.attrs.keys().any(|k| k.eq_ignore_ascii_case(a)))
                    .map(String::as_str)
                    .collect();
                if !missing.is_empty() {
                    f.add(
                        Status::Critical,
                        format!("{name}: {} lacks {}", e.dn, missing.join(", ")),
                    );
                }
            }
            many => {
                found += 1;
                f.add(
                    Status::Warning,
                    format!("{name}: {filter} matches {} entries", many.len()),
                );
            }
        }
    }
    obs.phase("search", ms(t));
    obs.metric("accounts_found", found as f64, "");
    super::latency::judge(&mut obs, &mut f, ms(t_all), spec.warning, spec.critical, || {
        remeasure(&ep, spec, &password, ctx, ctx.step_timeout)
    })
    .await;

    if !spec.replicas.is_empty() {
        let mine = context_csn(&mut s, &spec.base).await;
        s.close().await;
        match mine {
            Ok(csn) if csn.is_empty() => {
                let e = ctx.err(
                    "replication",
                    ErrorKind::Protocol,
                    format!(
                        "{} has no contextCSN on {} (no syncprov?)",
                        ctx.host, spec.base
                    ),
                );
                return CheckOutcome::error(obs, e);
            }
            Ok(csn) => {
                obs.fact("contextCSN", csn.join(" "));
                let max = spec
                    .max_replication_lag
                    .map(|d| d.0)
                    .unwrap_or(DEFAULT_MAX_LAG);
                replicas(spec, ctx, &csn, max, &password, &mut obs, &mut f).await;
            }
            Err(e) => return CheckOutcome::error(obs, e),
        }
    } else {
        s.close().await;
    }
    CheckOutcome::judged(obs, &f)
}

/// Connect, bind and look up every account again, timed (results already
/// judged by the first pass).
async fn remeasure(
    ep: &Endpoint,
    spec: &LdapSpec,
    password: &Option<crate::secret::Secret>,
    ctx: &super::Ctx<'_>,
    step: Duration,
) -> Result<f64, ProbeError> {
    let t = Instant::now();
    let mut s = Session::open(ep, step).await?;
    if let Err(e) = bind_as(&mut s, spec, password, ctx).await {
        s.close().await;
        return Err(e);
    }
    let want = ["1.1".to_string()];
    for (_, filter) in account_filters(spec, ctx) {
        if let Err(e) = s.search(&spec.base, Scope::Subtree, &filter, &want).await {
            s.close().await;
            return Err(e);
        }
    }
    s.close().await;
    Ok(ms(t))
}

/// Bind as the spec says: its DN with the password, else anonymously.
async fn bind_as(
    s: &mut Session,
    spec: &LdapSpec,
    password: &Option<crate::secret::Secret>,
    ctx: &super::Ctx<'_>,
) -> Result<(), ProbeError> {
    match (&spec.bind_dn, password) {
        (Some(dn), Some(pw)) => s.bind(dn, pw.expose()).await,
        (Some(dn), None) => Err(ctx.err(
            "bind",
            ErrorKind::Local,
            format!("bind_dn {dn} needs password_env or password_file"),
        )),
        (None, _) => s.bind("", "").await,
    }
}

/// Every suite account with the search filter that finds it.
fn account_filters<'a>(
    spec: &'a LdapSpec,
    ctx: &'a super::Ctx<'_>,
) -> impl Iterator<Item = (&'a str, String)> + 'a {
    ctx.suite.accounts.iter().map(|(name, acct)| {
        let login = ctx.suite.login(name).unwrap_or_default();
        (name.as_str(), spec.filter_for(&acct.address, &login))
    })
}

/// Compare each replica's contextCSN with ours: lag beyond `max` or an
/// unreachable replica warns (it is the replica's fault, not this host's).
async fn replicas(
    spec: &LdapSpec,
    ctx: &super::Ctx<'_>,
    mine: &[String],
    max: Duration,
    password: &Option<crate::secret::Secret>,
    obs: &mut Observation,
    f: &mut super::judge::Findings,
) {
    let provider = parse_csns(mine);
    for r in &spec.replicas {
        let Some(ep) = ldap_endpoint(ctx, r) else {
            f.add(
                Status::Warning,
                format!("replica {r}: no ldap endpoint in the suite"),
            );
            continue;
        };
        let got = async {
            let mut s = Session::open(&ep, ctx.step_timeout).await?;
            match (&spec.bind_dn, password) {
                (Some(dn), Some(pw)) => s.bind(dn, pw.expose()).await?,
                _ => s.bind("", "").await?,
            }
            let c = context_csn(&mut s, &spec.base).await;
            s.close().await;
            c
        }
        .await;
        match got {
            Err(e) => f.add(Status::Warning, format!("replica {r}: {e}")),
            Ok(csn) => match replication_lag(&provider, &parse_csns(&csn)) {
                Lag::Seconds(lag) => {
                    obs.metric(&format!("replication_lag:{r}"), lag, "s");
                    if lag > max.as_secs_f64() {
                        let shown = Dur(Duration::from_secs(lag as u64));
                        f.add(
                            Status::Warning,
                            format!("replica {r} lags {shown} (max {})", Dur(max)),
                        );
                    }
                }
                Lag::MissingSid(sid) => f.add(
                    Status::Warning,
                    format!("replica {r} has no contextCSN for server id {sid}"),
                ),
            },
        }
    }
}

/// A CSN `20240101120000.123456Z#000000#001#000000` → (server id, unix seconds).
pub fn parse_csn(csn: &str) -> Option<(String, f64)> {
    let mut parts = csn.split('#');
    let ts = parts.next()?;
    let sid = parts.nth(1)?.to_string();
    let (whole, frac) = ts
        .trim_end_matches('Z')
        .split_once('.')
        .unwrap_or((ts.trim_end_matches('Z'), "0"));
    let dt = chrono::NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S").ok()?;
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    Some((sid, dt.and_utc().timestamp() as f64 + frac))
}

fn parse_csns(v: &[String]) -> BTreeMap<String, f64> {
    v.iter().filter_map(|c| parse_csn(c)).collect()
}

#[derive(Debug, PartialEq)]
pub enum Lag {
    Seconds(f64),
    MissingSid(String),
}

/// How far a replica is behind the provider: the worst server id.
pub fn replication_lag(provider: &BTreeMap<String, f64>, replica: &BTreeMap<String, f64>) -> Lag {
    let mut worst = 0.0f64;
    for (sid, t) in provider {
        match replica.get(sid) {
            None => return Lag::MissingSid(sid.clone()),
            Some(r) => worst = worst.max(t - r),
        }
    }
    Lag::Seconds(worst.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csn_parse_and_lag_per_server_id() {
        let (sid, t) = parse_csn("20240101120000.500000Z#000000#001#000000").unwrap();
        assert_eq!(sid, "001");
        assert_eq!(t, 1704110400.5);
        assert!(parse_csn("garbage").is_none());
        let p = parse_csns(&[
            "20240101120100.000000Z#000000#001#000000".into(),
            "20240101120000.000000Z#000000#002#000000".into(),
        ]);
        let r = parse_csns(&[
            "20240101120000.000000Z#000000#001#000000".into(),
            "20240101120000.000000Z#000000#002#000000".into(),
        ]);
        assert_eq!(replication_lag(&p, &r), Lag::Seconds(60.0));
        assert_eq!(replication_lag(&p, &p), Lag::Seconds(0.0));
        let only1 = parse_csns(&["20240101120100.000000Z#000000#001#000000".into()]);
        assert_eq!(replication_lag(&p, &only1), Lag::MissingSid("002".into()));
        // a replica ahead of us is not lagging
        assert_eq!(replication_lag(&r, &p), Lag::Seconds(0.0));
    }
}
