//! Host-check measurements as Prometheus gauges in base units (`_bytes`,
//! `_seconds`, `_ratio` 0–1, plain counts), labelled by host and check, so a
//! dashboard sees the value and not only pass/fail.
//!
//! One row per metric a host check records (`src/hostcheck/<kind>.rs`). The
//! row names the unit it expects: a metric recorded in another unit is not
//! exported rather than exported wrong. Labels come from the suite (mounts,
//! paths, process labels, replicas, protocols), never from what was
//! measured: no message ids, no error text.

use crate::result::{CaseResult, Metric};

/// How a row matches a recorded metric's name; the rest of the name (a
/// mount, path, process label, cpu mode …) is the row's label value.
enum Name {
    Exact(&'static str),
    Prefix(&'static str),
    Suffix(&'static str),
    /// The whole name is the label value (connections: the protocol).
    Any,
}

struct Row {
    check: &'static str,
    name: Name,
    /// The recorded unit (`result::Metric::unit`) this row converts.
    unit: &'static str,
    family: &'static str,
    help: &'static str,
    label: Option<&'static str>,
}

const fn row(
    check: &'static str,
    name: Name,
    unit: &'static str,
    family: &'static str,
    label: Option<&'static str>,
    help: &'static str,
) -> Row {
    Row {
        check,
        name,
        unit,
        family,
        help,
        label,
    }
}

use Name::*;

#[rustfmt::skip]
const ROWS: &[Row] = &[
    row("system", Prefix("cpu_"), "%", "healthmon_host_cpu_ratio", Some("mode"),
        "Share of CPU time in a mode (user, system, iowait, idle, steal) over the check's sampling interval, 0-1."),
    row("system", Exact("mem_available_kb"), "KB", "healthmon_host_memory_available_bytes", None,
        "Memory available for new work (MemAvailable), bytes."),
    row("system", Exact("swap_free_kb"), "KB", "healthmon_host_swap_free_bytes", None,
        "Free swap, bytes."),
    row("system", Exact("scan_rate"), "", "healthmon_host_page_scans_per_second", None,
        "Pages scanned by memory reclaim per second over the check's sampling interval."),
    row("system", Prefix("load"), "", "healthmon_host_load_average", Some("minutes"),
        "Load average over 1, 5 or 15 minutes."),
    row("connections", Any, "", "healthmon_host_connections", Some("protocol"),
        "Established TCP connections to the host's service, by protocol (local port)."),
    row("queue", Exact("oldest_age"), "s", "healthmon_host_queue_oldest_message_age_seconds", None,
        "Age of the oldest message in the host's mail queue, seconds."),
    row("deferrals", Exact("deferred_domains"), "", "healthmon_host_deferred_domains", None,
        "Destination domains with deferred mail."),
    row("deferrals", Exact("worst_domain_messages"), "", "healthmon_host_deferred_worst_domain_messages", None,
        "Deferred messages to the destination domain with the most."),
    row("deferrals", Exact("oldest_deferring"), "s", "healthmon_host_deferred_oldest_age_seconds", None,
        "How long the longest-deferring destination domain has been deferring, seconds."),
    row("files", Prefix("free_percent:"), "%", "healthmon_host_filesystem_free_ratio", Some("mount"),
        "Free space of a filesystem as df shows it (available over used plus available), 0-1."),
    row("files", Prefix("inodes_free_percent:"), "%", "healthmon_host_filesystem_inodes_free_ratio", Some("mount"),
        "Free inodes of a filesystem, 0-1."),
    row("files", Prefix("age_s:"), "s", "healthmon_host_file_age_seconds", Some("path"),
        "Time since a file was last modified, seconds."),
    row("files", Prefix("size_b:"), "B", "healthmon_host_file_size_bytes", Some("path"),
        "Size of a file, bytes."),
    row("files", Prefix("count:"), "", "healthmon_host_directory_entries", Some("path"),
        "Entries in a directory."),
    row("processes", Suffix("_count"), "", "healthmon_host_processes", Some("process"),
        "Processes matching an expectation (a fresh fork of a match not counted)."),
    row("processes", Suffix("_rss_mb"), "MB", "healthmon_host_process_resident_memory_bytes", Some("process"),
        "Resident memory of the largest matching process, bytes."),
    row("processes", Suffix("_cpu_percent"), "%", "healthmon_host_process_cpu_ratio", Some("process"),
        "CPU of the busiest matching process as a share of one CPU (above 1 on several)."),
    row("ldap", Exact("accounts_found"), "", "healthmon_host_ldap_accounts_found", None,
        "Accounts the LDAP check's search found."),
    row("ldap", Exact("latency"), "ms", "healthmon_host_ldap_latency_seconds", None,
        "Time of the LDAP check's bind and search, seconds."),
    row("ldap", Prefix("replication_lag:"), "s", "healthmon_host_ldap_replication_lag_seconds", Some("replica"),
        "How far a replica's contextCSN is behind this provider's, seconds."),
    row("port", Exact("latency"), "ms", "healthmon_host_port_latency_seconds", None,
        "Time to connect (and read the banner) of the port check, seconds."),
    // The central monitor's pull of a host's agent (`agent/<host>` cases).
    row("agent", Exact("pull_ms"), "ms", "healthmon_agent_pull_duration_seconds", None,
        "Time the central monitor took to pull the host's agent, seconds."),
    row("agent", Exact("pull_bytes"), "bytes", "healthmon_agent_pull_bytes", None,
        "Size of the agent's answer to the central monitor's pull, bytes."),
    row("agent", Exact("age_s"), "s", "healthmon_agent_results_age_seconds", None,
        "Age of the agent's latest host-check run when pulled, seconds (alert when it grows: the agent stopped running its checks)."),
];

/// Facts (strings) that carry a number worth a gauge: (check, fact, unit, family, help).
#[rustfmt::skip]
const FACTS: &[(&str, &str, &str, &str, &str)] = &[
    ("system", "mem_total_kb", "KB", "healthmon_host_memory_total_bytes", "Total memory (MemTotal), bytes."),
    ("system", "swap_total_kb", "KB", "healthmon_host_swap_total_bytes", "Total swap, bytes."),
];

/// A recorded value in the base unit of its row; None for a unit the row
/// does not expect.
fn base_value(value: f64, recorded: &str, expected: &str) -> Option<f64> {
    if recorded != expected {
        return None;
    }
    Some(match recorded {
        "%" => value / 100.0,
        "KB" => value * 1024.0,
        // processes: rss_bytes / 2^20, so MiB.
        "MB" => value * 1024.0 * 1024.0,
        "ms" => value / 1000.0,
        _ => value,
    })
}

/// The label value a row takes from a metric name, `Some("")` for an exact
/// match, None if the row does not match.
fn matches<'a>(n: &Name, name: &'a str) -> Option<&'a str> {
    match n {
        Exact(e) => (name == *e).then_some(""),
        Prefix(p) => name.strip_prefix(p).filter(|r| !r.is_empty()),
        Suffix(s) => name.strip_suffix(s).filter(|r| !r.is_empty()),
        Any => Some(name),
    }
}

/// One sample: its family, help and labels past the run's own (case,
/// host, check and the row's).
pub struct Gauge {
    pub family: &'static str,
    pub help: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// The gauges of one host-check result (none for other cases).
pub fn gauges(r: &CaseResult) -> Vec<Gauge> {
    let mut out = Vec::new();
    let check = r.label("check");
    if r.kind != "host" || check.is_empty() {
        return out;
    }
    let labels = || {
        vec![
            ("case", r.id.clone()),
            ("host", r.label("host").to_string()),
            ("check", check.to_string()),
        ]
    };
    // One sample per family and label value, even if a check recorded a
    // metric twice (two disks declared on one mount): no duplicate series.
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for Metric { name, value, unit } in &r.observation.metrics {
        for row in ROWS.iter().filter(|w| w.check == check) {
            let Some(rest) = matches(&row.name, name) else {
                continue;
            };
            let Some(v) = base_value(*value, unit, row.unit) else {
                continue;
            };
            if seen.contains(&(row.family, rest)) {
                break;
            }
            seen.push((row.family, rest));
            let mut l = labels();
            if let Some(k) = row.label {
                l.push((k, rest.to_string()));
            }
            out.push(Gauge {
                family: row.family,
                help: row.help,
                labels: l,
                value: v,
            });
            break;
        }
    }
    for (_, fact, unit, family, help) in FACTS.iter().filter(|f| f.0 == check) {
        if let Some(v) = r.observation.facts.get(*fact).and_then(|v| v.parse().ok())
            && let Some(v) = base_value(v, unit, unit)
        {
            out.push(Gauge {
                family,
                help,
                labels: labels(),
                value: v,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_become_base_units_and_names_give_labels() {
        assert_eq!(base_value(25.0, "%", "%"), Some(0.25));
        assert_eq!(base_value(2.0, "KB", "KB"), Some(2048.0));
        assert_eq!(base_value(1.0, "MB", "MB"), Some(1048576.0));
        assert_eq!(base_value(1500.0, "ms", "ms"), Some(1.5));
        assert_eq!(base_value(1.0, "ms", "s"), None, "a wrong unit is dropped");
        assert_eq!(
            matches(&Prefix("count:"), "count:/var/spool"),
            Some("/var/spool")
        );
        assert_eq!(matches(&Suffix("_count"), "master_count"), Some("master"));
        assert_eq!(matches(&Suffix("_count"), "_count"), None);
        assert_eq!(matches(&Exact("latency"), "latency"), Some(""));
    }
}
