//! connections: established TCP connections per protocol (check_mconn).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::snapshot::Sock;
pub use crate::suite::checks::connections::ConnectionsSpec;
use crate::suite::proto::Proto;

/// Local port → protocol: the host's own endpoints first, then the
/// well-known ports of every protocol.
fn port_map(ctx: &super::Ctx<'_>) -> BTreeMap<u16, Proto> {
    let mut m = BTreeMap::new();
    for p in ctx.suite.host_protos(ctx.host) {
        if let Some(e) = ctx.suite.endpoint(ctx.host, p) {
            m.insert(e.port, p);
        }
    }
    for p in Proto::ALL {
        m.entry(p.default_port()).or_insert(p);
    }
    m
}

/// Count established connections per protocol (server side: by local port)
/// on the host's address, from the run's shared socket table.
pub async fn check(spec: &ConnectionsSpec, ctx: &super::Ctx<'_>) -> super::CheckOutcome {
    use crate::result::{ErrorKind, Observation};
    let mut obs = Observation::default();
    let mut report: Vec<Proto> = ctx.suite.host_protos(ctx.host);
    for k in spec.thresholds.keys() {
        match Proto::ALL.iter().find(|p| p.as_str() == k) {
            Some(p) if !report.contains(p) => report.push(*p),
            Some(_) => {}
            None => {
                let e = ctx.err(
                    "config",
                    ErrorKind::Local,
                    format!("unknown protocol `{k}` in connections thresholds"),
                );
                return super::CheckOutcome::error(obs, e);
            }
        }
    }
    let addrs = match local_addresses(spec, ctx).await {
        Ok(a) => a,
        Err(e) => return super::CheckOutcome::error(obs, e),
    };
    let socks = match ctx.snap.tcp().await {
        Ok(s) => s,
        Err(e) => return super::CheckOutcome::error(obs, ctx.err("read", ErrorKind::Local, e)),
    };
    let ports = port_map(ctx);
    let counts = count(&socks, &ports, addrs.as_deref());
    let mut f = super::judge::Findings::default();
    for p in &report {
        let n = counts.get(p).copied().unwrap_or(0) as f64;
        obs.metric(p.as_str(), n, "");
        if let Some(lim) = spec.thresholds.get(p.as_str()) {
            f.num(p.as_str(), n, lim);
        }
    }
    obs.fact(
        "address",
        match &addrs {
            None => "any".to_string(),
            Some(a) => a
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(","),
        },
    );
    super::CheckOutcome::judged(obs, &f)
}

/// None = every address.
async fn local_addresses(
    spec: &ConnectionsSpec,
    ctx: &super::Ctx<'_>,
) -> Result<Option<Vec<IpAddr>>, crate::result::ProbeError> {
    use crate::result::ErrorKind;
    let a = spec.address.as_deref().unwrap_or(ctx.address());
    if a == "any" {
        return Ok(None);
    }
    if let Ok(ip) = a.parse::<IpAddr>() {
        return Ok(Some(vec![ip]));
    }
    let found = tokio::net::lookup_host((a, 0))
        .await
        .map_err(|e| ctx.err("resolve", ErrorKind::Resolve, format!("{a}: {e}")))?;
    Ok(Some(found.map(|s| s.ip()).collect()))
}

/// Established connections per protocol whose local end is one of `addrs`.
pub fn count(
    socks: &[Sock],
    ports: &BTreeMap<u16, Proto>,
    addrs: Option<&[IpAddr]>,
) -> BTreeMap<Proto, usize> {
    let mut c = BTreeMap::new();
    for s in socks {
        if addrs.is_some_and(|a| !a.contains(&s.local.ip())) {
            continue;
        }
        if let Some(p) = ports.get(&s.local.port()) {
            *c.entry(*p).or_insert(0) += 1;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_server_side_by_local_address_and_port() {
        let s = |l: &str, r: &str| Sock {
            local: l.parse().unwrap(),
            remote: r.parse().unwrap(),
        };
        let socks = vec![
            s("127.0.3.1:110", "127.0.0.1:40000"),
            s("127.0.3.1:110", "127.0.0.1:40001"),
            s("127.0.3.2:110", "127.0.0.1:40002"),
            // client side of a connection: ephemeral local port, not counted
            s("127.0.0.1:40000", "127.0.3.1:110"),
            s("127.0.3.1:993", "127.0.0.1:40003"),
        ];
        let ports: BTreeMap<u16, Proto> =
            Proto::ALL.iter().map(|p| (p.default_port(), *p)).collect();
        let ip: IpAddr = "127.0.3.1".parse().unwrap();
        let c = count(&socks, &ports, Some(&[ip]));
        assert_eq!(c.get(&Proto::Pop3), Some(&2));
        assert_eq!(c.get(&Proto::Imaps), Some(&1));
        let all = count(&socks, &ports, None);
        assert_eq!(all.get(&Proto::Pop3), Some(&3));
    }
}
