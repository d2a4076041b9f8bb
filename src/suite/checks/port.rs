//! port: TCP connect + banner regex + TLS certificate expiry for any endpoint.

use serde::{Deserialize, Serialize};

use super::{CheckKind, Rules, regex_error};
use crate::suite::duration::Dur;
use crate::suite::limit::NumLimit;
use crate::suite::pos::join_key;
use crate::suite::proto::Proto;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// Endpoint of this host to check.
    #[serde(default)]
    pub endpoint: Option<Proto>,
    /// Or a bare port (no protocol).
    #[serde(default)]
    pub port: Option<u16>,
    /// Regex the banner must match.
    #[serde(default)]
    pub banner: Option<String>,
    /// Warn when the certificate expires within this many days.
    #[serde(default)]
    pub cert_expiry_warning_days: Option<u32>,
    #[serde(default)]
    pub cert_expiry_critical_days: Option<u32>,
    #[serde(default)]
    pub warning: Option<Dur>,
    #[serde(default)]
    pub critical: Option<Dur>,
}

impl CheckKind for PortSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate<R: Rules>(&self, host: &str, p: &str, r: &mut R) {
        match (self.endpoint, self.port) {
            (None, None) => r.err(
                p,
                "set `endpoint` (a protocol of this host) or `port`",
                None,
            ),
            (Some(e), _) if !r.has_endpoint(host, e) => {
                r.needs_endpoint(&join_key(p, "endpoint"), host, &[e]);
            }
            _ => {}
        }
        if let Some(re) = &self.banner
            && let Err(err) = regex::Regex::new(re)
        {
            r.err(
                &join_key(p, "banner"),
                format!("invalid regex: {}", regex_error(&err)),
                None,
            );
        }
        r.ordered(p, ("warning", self.warning), ("critical", self.critical));
    }

    /// Latency (ms) of connect + banner; certificate days left (the
    /// endpoint's or the default expiry warning applies when the check sets
    /// none: the suite knows it, not this spec).
    fn limits(&self) -> Vec<(String, NumLimit)> {
        let mut v: Vec<_> = super::latency(self.warning, self.critical).into_iter().collect();
        let (w, c) = (self.cert_expiry_warning_days, self.cert_expiry_critical_days);
        if w.is_some() || c.is_some() {
            let lim = NumLimit {
                warning_below: w.map(f64::from),
                critical_below: c.map(f64::from),
                ..NumLimit::default()
            };
            v.push(("cert_days".to_string(), lim));
        }
        v
    }

    fn limits_on_status_page(&self) -> bool {
        false
    }
}
