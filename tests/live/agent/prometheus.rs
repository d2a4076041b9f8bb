//! Beyond one central monitor: a real Prometheus scrapes every agent (with
//! the token; mta1's over https) and two central monitors that each run a
//! shard of the cases; the example rule in etc/prometheus/ fires on a
//! host-check failure (here: an agent the central monitor cannot reach).

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::agents::{self, HOSTS, get_with_token};
use crate::support::modes::{Proc, free_port, http_get, promtool_check, start_daemon, wait_for};
use crate::support::site::{self, root};

fn query(prom: &str, q: &str) -> Vec<serde_json::Value> {
    let q = q
        .replace('%', "%25")
        .replace(' ', "%20")
        .replace('{', "%7B")
        .replace('}', "%7D")
        .replace('"', "%22")
        .replace('=', "%3D")
        .replace('~', "%7E");
    let Ok((200, body)) = http_get(prom, &format!("/api/v1/query?query={q}")) else {
        return vec![];
    };
    serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default()["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn prometheus_scrapes_agents_and_two_sharded_central_monitors_and_the_rule_fires() {
    let _site = site::site_shared();
    let d = tempfile::tempdir().unwrap();
    let port = agents::free_port_on_all();
    let suite = agents::agent_suite(d.path(), port);
    let mut running = agents::start_all(d.path(), &suite, port);
    // Every agent's /metrics (behind the token) is clean exposition.
    for a in running.iter().filter(|a| a.host != "mta1") {
        let text = wait_for(Duration::from_secs(30), || {
            let (st, body) = get_with_token(&a.addr, "/metrics");
            (st == 200 && body.contains("healthmon_probe_success")).then_some(body)
        })
        .unwrap_or_else(|| panic!("no metrics from {}", a.host));
        promtool_check(&text).unwrap_or_else(|e| panic!("{}: {e}", a.host));
    }
    // Two central monitors, one shard each.
    let mut centrals = Vec::new();
    for k in 1..=2 {
        let dir = d.path().join(format!("central{k}"));
        std::fs::create_dir_all(&dir).unwrap();
        let sched = dir.join("schedule.yaml");
        std::fs::write(
            &sched,
            format!(
                "reports: reports\njobs:\n  pull:\n    every: 2s\n    suites: [{}]\n    only: [\"host/*\", \"agent/*\"]\n    shard: {k}/2\n",
                suite.display()
            ),
        )
        .unwrap();
        centrals.push(start_daemon(&sched, &dir));
    }
    // Prometheus with the example rules (`for:` shortened for the test).
    let rules = std::fs::read_to_string(root().join("etc/prometheus/healthmon-rules.yml"))
        .unwrap()
        .replace("for: 10m", "for: 0s");
    std::fs::write(d.path().join("rules.yml"), rules).unwrap();
    let http_targets: Vec<String> = running
        .iter()
        .filter(|a| a.host != "mta1")
        .map(|a| format!("'{}'", a.addr))
        .collect();
    let tls_target = running
        .iter()
        .find(|a| a.host == "mta1")
        .unwrap()
        .addr
        .clone();
    let central_targets: Vec<String> = centrals.iter().map(|(_, a)| format!("'{a}'")).collect();
    let tok = d.path().join("agent.token");
    let ca = site::site_state().join("ca/ca.pem");
    let cfg = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nscrape_configs:\n  - job_name: healthmon-agents\n    authorization: {{credentials_file: {tok}}}\n    static_configs: [{{targets: [{http}]}}]\n  - job_name: healthmon-agents-tls\n    scheme: https\n    authorization: {{credentials_file: {tok}}}\n    tls_config: {{ca_file: {ca}}}\n    static_configs: [{{targets: ['{tls_target}']}}]\n  - job_name: healthmon-central\n    static_configs: [{{targets: [{central}]}}]\n",
        tok = tok.display(),
        ca = ca.display(),
        http = http_targets.join(", "),
        central = central_targets.join(", "),
    );
    std::fs::write(d.path().join("prometheus.yml"), cfg).unwrap();
    let prom = format!("127.0.0.1:{}", free_port());
    let _p = Proc::spawn(
        "prometheus",
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                d.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                d.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={prom}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.path().join("prometheus.log")).unwrap()),
    );
    let log = || std::fs::read_to_string(d.path().join("prometheus.log")).unwrap_or_default();
    // Every target is up: 8 agents (one over https with the token) and 2 monitors.
    let up = wait_for(Duration::from_secs(90), || {
        let r = query(&prom, "up == 1");
        (r.len() == HOSTS.len() + 2).then_some(r)
    });
    assert!(
        up.is_some(),
        "not every target up: {:?}\n{}",
        query(&prom, "up"),
        log()
    );
    // The two shards partition the central monitors' cases: each case from
    // exactly one instance, together every host's checks and agents.
    let series = wait_for(Duration::from_secs(60), || {
        let r = query(&prom, "healthmon_probe_success{job=\"healthmon-central\"}");
        let agents_seen = r
            .iter()
            .filter(|s| {
                s["metric"]["case"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("agent/")
            })
            .count();
        (agents_seen == HOSTS.len()).then_some(r)
    })
    .unwrap_or_else(|| panic!("the central shards never reported every agent/<host>"));
    let mut by_case = std::collections::BTreeMap::<String, Vec<String>>::new();
    for s in &series {
        by_case
            .entry(s["metric"]["case"].as_str().unwrap().into())
            .or_default()
            .push(s["metric"]["instance"].as_str().unwrap().into());
    }
    for (case, inst) in &by_case {
        assert_eq!(inst.len(), 1, "{case} reported by {inst:?}");
    }
    let instances: std::collections::BTreeSet<&String> = by_case.values().flatten().collect();
    assert_eq!(instances.len(), 2, "both shards report: {instances:?}");
    for (h, _) in HOSTS {
        assert!(
            by_case.keys().any(|c| c.starts_with(&format!("host/{h}/"))),
            "{h}"
        );
    }
    // Every agent's pull is measured by the central shards: the age of its
    // results, under the example rules' staleness bound.
    let ages = wait_for(Duration::from_secs(30), || {
        let r = query(
            &prom,
            "healthmon_agent_results_age_seconds{job=\"healthmon-central\"}",
        );
        (r.len() == HOSTS.len()).then_some(r)
    })
    .unwrap_or_else(|| panic!("no agent age from the central shards: {}", log()));
    for s in &ages {
        let v: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
        assert!((0.0..900.0).contains(&v), "{s}");
    }
    // store2's agent stops: the example rule fires for agent/store2.
    let i = running.iter().position(|a| a.host == "store2").unwrap();
    drop(running.remove(i));
    let fired = wait_for(Duration::from_secs(90), || {
        let (_, body) = http_get(&prom, "/api/v1/alerts").ok()?;
        (body.contains("HealthmonHostCheckFailing")
            && body.contains("\"case\":\"agent/store2\"")
            && body.contains("\"state\":\"firing\""))
        .then_some(body)
    });
    assert!(fired.is_some(), "the rule did not fire: {}", log());
}
