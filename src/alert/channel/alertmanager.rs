//! alertmanager: `POST /api/v2/alerts` to every listed Alertmanager (not
//! through a load balancer: replicas deduplicate by labels).
//!
//! Labels are the identity and never carry values: alertname=HealthmonFault,
//! site, component (the alert key), severity. Text goes in annotations.
//! Firing alerts are re-sent every run with `endsAt` = now + `ends_after`,
//! so Alertmanager keeps them active between cron runs; a resolve sends
//! `endsAt` = now.

use std::time::Duration;



use crate::alert::notice::{Notice, NoticeState};
use crate::suite::alerting::alertmanager::Spec;

pub const ALERTNAME: &str = "HealthmonFault";


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
    let timeout = crate::suite::alerting::alertmanager::timeout(spec);
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
