//! alertmanager: `POST /api/v2/alerts` to every listed Alertmanager (not
//! through a load balancer: replicas deduplicate by labels).
//!
//! Labels are the identity and never carry values: alertname=HealthmonFault,
//! site, component (the alert key), severity. Text goes in annotations.
//! Firing alerts are re-sent every run with `endsAt` = now + `ends_after`,
//! so Alertmanager keeps them active between cron runs; a resolve sends
//! `endsAt` = now.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Target;
use crate::alert::notice::{Notice, NoticeState};
use crate::suite::Severity;
use crate::suite::duration::Dur;

pub const REFRESH: bool = true;
pub const ALERTNAME: &str = "HealthmonFault";

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Base URLs, e.g. `http://127.0.0.1:9093`.
    pub urls: Vec<String>,
    /// How long a firing alert stays active without a refresh (default 30m:
    /// covers a few missed 5-minute cron runs).
    #[serde(default)]
    pub ends_after: Option<Dur>,
    #[serde(default)]
    pub timeout: Option<Dur>,
    #[serde(default)]
    pub headers_env: BTreeMap<String, String>,
    #[serde(default)]
    pub headers_file: BTreeMap<String, PathBuf>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Link shown in Alertmanager (a status page, a runbook).
    #[serde(default)]
    pub generator_url: Option<String>,
}

/// The JSON array Alertmanager receives for one notice.
pub fn body(spec: &Spec, n: &Notice) -> serde_json::Value {
    let ends = match n.state {
        NoticeState::Resolved => n.at,
        _ => {
            let d = spec.ends_after.map_or(Duration::from_secs(1800), |d| d.0);
            n.at + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::minutes(30))
        }
    };
    let mut description = n.message.clone();
    if let Some(v) = &n.verdict {
        for e in &v.evidence {
            description.push('\n');
            description.push_str(e);
        }
    }
    let cases: Vec<&str> = n.cases.iter().map(|c| c.id.as_str()).collect();
    let mut alert = serde_json::json!({
        "labels": {
            "alertname": ALERTNAME,
            "site": n.site,
            "component": n.key,
            "severity": n.severity,
        },
        "annotations": {
            "summary": format!("{} {}: {}", n.site, n.key, n.message),
            "description": description,
            "cases": cases.join(" "),
            "run_id": n.run_id,
        },
        "startsAt": n.started_at.to_rfc3339(),
        "endsAt": ends.to_rfc3339(),
    });
    if let Some(g) = &spec.generator_url {
        alert["generatorURL"] = serde_json::Value::String(g.clone());
    }
    serde_json::Value::Array(vec![alert])
}

pub async fn send(spec: &Spec, n: &Notice) -> Result<(), String> {
    if n.kind != "alert" {
        return Err(format!(
            "alertmanager carries alerts only, not a {}",
            n.kind
        ));
    }
    let timeout = spec.timeout.map_or(Duration::from_secs(10), |d| d.0);
    let client = super::http_client(timeout, spec.ca_file.as_deref())?;
    let headers = super::secret_headers(&spec.headers_env, &spec.headers_file)?;
    let b = body(spec, n);
    let mut errors = vec![];
    let mut ok = 0;
    for u in &spec.urls {
        let url = format!("{}/api/v2/alerts", u.trim_end_matches('/'));
        match client
            .post(&url)
            .headers(headers.clone())
            .json(&b)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => ok += 1,
            Ok(r) => errors.push(format!(
                "{}: HTTP {}",
                super::url_for_log(&url),
                r.status().as_u16()
            )),
            Err(e) => errors.push(format!(
                "{}: {}",
                super::url_for_log(&url),
                super::http_error(e)
            )),
        }
    }
    // Replicas gossip: one accepting Alertmanager delivers the alert; the
    // others' errors still show in the run's report via the log line.
    if ok > 0 {
        for e in &errors {
            tracing::warn!(target: "healthmon::alert", "alertmanager replica failed: {e}");
        }
        Ok(())
    } else if errors.is_empty() {
        Err("no alertmanager urls".into())
    } else {
        Err(errors.join("; "))
    }
}

/// Files this channel reads (anchored to the file that declares them).
pub fn files(spec: &mut Spec) -> Vec<&mut PathBuf> {
    spec.headers_file
        .values_mut()
        .chain(spec.ca_file.as_mut())
        .collect()
}

pub fn targets(spec: &Spec) -> Vec<Target> {
    spec.urls
        .iter()
        .enumerate()
        .filter_map(|(i, u)| super::url_target(&format!("urls[{i}]"), u))
        .collect()
}

pub fn check(spec: &Spec) -> Vec<(Severity, String)> {
    let mut out = super::check_headers(&spec.headers_env, &spec.headers_file);
    if spec.urls.is_empty() {
        out.push((
            Severity::Error,
            "urls: at least one Alertmanager URL is needed".into(),
        ));
    }
    for (i, u) in spec.urls.iter().enumerate() {
        if let Err(e) = reqwest::Url::parse(u) {
            out.push((Severity::Error, format!("urls[{i}]: invalid URL ({e})")));
        }
    }
    out
}
