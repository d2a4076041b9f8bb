//! `text`: the seed's boxed tables, one per section, under a
//! `DATE COLLECTED:` line as in systest.log and qmonitor.log.

use super::DailyReport;
use super::table::Table;

/// The cells of one path row, shared by the text and HTML tables.
pub fn path_cells(p: &super::PathRow) -> Vec<String> {
    vec![
        p.path.clone(),
        p.runs.to_string(),
        p.failures.to_string(),
        pct(Some(p.availability)),
        ms(p.min_ms),
        ms(p.p50_ms),
        ms(p.p95_ms),
        ms(p.max_ms),
        ms(p.base_p50_ms),
        pct(p.base_availability),
        dev(&p.deviations),
    ]
}

pub fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.0}"))
}

pub fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.1}%"))
}

pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

pub fn hm(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%H:%M").to_string()
}

pub fn dur(s: i64) -> String {
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// `!` marks plus what deviates, for the Dev column.
pub fn dev(d: &[String]) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!("! {}", d.join(","))
    }
}

pub fn render(r: &DailyReport) -> String {
    let mut out = format!("DATE COLLECTED: {}\n", r.date.format("%d %b %Y"));
    out.push_str(&format!(
        "site = {}   runs = {}   baseline = {} days, {} runs (same hours, UTC)\n",
        r.site, r.runs, r.baseline_days, r.baseline_runs
    ));
    let mut t = Table::new(
        "Path availability and latency (ms)",
        vec![
            "Path",
            ">Runs",
            ">Fail",
            ">Avail",
            ">min",
            ">p50",
            ">p95",
            ">max",
            ">Base p50",
            ">Base avail",
            "Dev",
        ],
    );
    for p in &r.paths {
        t.row(path_cells(p));
    }
    out.push('\n');
    out.push_str(&t.render());

    let mut t = Table::new(
        "Hour by hour against the baseline",
        vec![
            ">Hour",
            ">Runs",
            ">Fail",
            ">Avail",
            ">p50",
            ">Base p50",
            ">Base avail",
            "Dev",
        ],
    );
    for h in &r.hours {
        t.row(vec![
            format!("{:02}:00", h.hour),
            h.runs.to_string(),
            h.failures.to_string(),
            pct(h.availability),
            ms(h.p50_ms),
            ms(h.base_p50_ms),
            pct(h.base_availability),
            dev(&h.deviations),
        ]);
    }
    out.push('\n');
    out.push_str(&t.render());

    let mut t = Table::new(
        "Failures by root cause",
        vec![
            "Start",
            "End",
            ">Duration",
            ">Runs",
            "Severity",
            "Key",
            "Reason",
        ],
    );
    for i in &r.incidents {
        t.row(vec![
            hm(i.start),
            if i.open {
                format!("{} open", hm(i.end))
            } else {
                hm(i.end)
            },
            dur(i.duration_s),
            i.failed_runs.to_string(),
            i.severity.clone(),
            i.key.clone(),
            i.reason.clone(),
        ]);
    }
    out.push('\n');
    out.push_str(&t.render());

    let mut t = Table::new(
        "Host-check failures",
        vec![
            "Check",
            "Host",
            "Worst",
            ">Count",
            "First",
            "Last",
            "Last message",
        ],
    );
    for h in &r.host_failures {
        t.row(vec![
            h.case.clone(),
            h.host.clone(),
            h.worst.clone(),
            h.count.to_string(),
            hm(h.first),
            hm(h.last),
            h.message.clone(),
        ]);
    }
    out.push('\n');
    out.push_str(&t.render());

    let mut t = Table::new(
        "Queue and system peaks",
        vec!["Host", "Metric", ">Max", "At", ">Min", ">Last", "Unit"],
    );
    for p in &r.peaks {
        t.row(vec![
            p.host.clone(),
            p.metric.clone(),
            num(p.max),
            hm(p.max_at),
            num(p.min),
            num(p.last),
            p.unit.clone(),
        ]);
    }
    out.push('\n');
    out.push_str(&t.render());

    if !r.open_alerts.is_empty() {
        let mut t = Table::new(
            "Open alerts",
            vec!["Key", "Status", "Since", "Severity", "Message"],
        );
        for a in &r.open_alerts {
            t.row(vec![
                a.key.clone(),
                a.status.clone(),
                a.since.clone(),
                a.severity.clone(),
                a.message.clone(),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    if let Some(m) = &r.message_rate {
        let mut t = Table::new(
            format!("Message rate ({})", m.source),
            vec!["Measure", ">Value"],
        );
        for (k, v) in &m.values {
            t.row(vec![k.clone(), v.clone()]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}
