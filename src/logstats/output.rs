//! Reports of finished `Stats`: pure functions (text table in the seed's
//! boxed style, CSV, JSON).

use std::fmt::Write;

use super::postfix::REJECT_CLASSES;
use super::stats::{IntervalRow, Stats, Totals};
use super::timestamp::format_secs;

/// Human bytes: 614, 12.3k, 4.5M, 1.2G.
pub fn bytes(n: u64) -> String {
    const U: [(&str, f64); 3] = [("G", 1073741824.0), ("M", 1048576.0), ("k", 1024.0)];
    for (u, d) in U {
        if n as f64 >= d {
            return format!("{:.1}{u}", n as f64 / d);
        }
    }
    n.to_string()
}

/// Milliseconds as seconds with two decimals.
fn secs(ms: u64) -> String {
    format!("{:.2}", ms as f64 / 1000.0)
}

/// A boxed table like the seed's systest.log / qmonitor.log.
pub fn table(
    title: &str,
    head: &[&str],
    rows: &[Vec<String>],
    total: Option<Vec<String>>,
) -> String {
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in rows.iter().chain(total.iter()) {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let sep = |out: &mut String| {
        out.push('+');
        for x in &w {
            out.push_str(&"-".repeat(x + 2));
            out.push('+');
        }
        out.push('\n');
    };
    let line = |out: &mut String, r: &[String]| {
        out.push('|');
        for (i, c) in r.iter().enumerate() {
            if i == 0 {
                let _ = write!(out, " {c:<width$} |", width = w[i]);
            } else {
                let _ = write!(out, " {c:>width$} |", width = w[i]);
            }
        }
        out.push('\n');
    };
    let inner = w.iter().map(|x| x + 3).sum::<usize>() - 1;
    let mut out = String::new();
    let _ = writeln!(out, "+{}+", "-".repeat(inner));
    let _ = writeln!(out, "| {title:<width$} |", width = inner - 2);
    sep(&mut out);
    line(
        &mut out,
        &head.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    );
    sep(&mut out);
    for r in rows {
        line(&mut out, r);
    }
    if let Some(t) = total {
        sep(&mut out);
        line(&mut out, &t);
    }
    sep(&mut out);
    out
}

const HEAD: [&str; 13] = [
    "Period",
    "rcvd",
    "dlvd",
    "defer",
    "bounce",
    "reject",
    "bytes in",
    "bytes out",
    "size p50",
    "size p95",
    "dly p50",
    "dly p95",
    "peak/min",
];

fn row(label: String, t: &Totals) -> Vec<String> {
    vec![
        label,
        t.received.to_string(),
        t.delivered.to_string(),
        t.deferred.to_string(),
        t.bounced.to_string(),
        t.rejected.to_string(),
        bytes(t.bytes_received),
        bytes(t.bytes_delivered),
        bytes(t.size.quantile(0.5)),
        bytes(t.size.quantile(0.95)),
        secs(t.delay_ms.quantile(0.5)),
        secs(t.delay_ms.quantile(0.95)),
        t.peak_per_minute.to_string(),
    ]
}

pub fn text(s: &Stats) -> String {
    let mut out = String::new();
    let period = match (s.first, s.last) {
        (Some(a), Some(b)) => format!("{} .. {}", format_secs(a), format_secs(b)),
        _ => "no mail lines".into(),
    };
    let _ = writeln!(out, "MAIL LOG STATISTICS: {period}\n");
    let rows: Vec<Vec<String>> = s
        .intervals
        .iter()
        .map(|r| row(format_secs(r.start)[..16].to_string(), &r.totals))
        .collect();
    out += &table(
        "Message traffic (sizes in bytes, delays in seconds)",
        &HEAD,
        &rows,
        Some(row("Total".into(), &s.total)),
    );

    let t = &s.total;
    let _ = writeln!(
        out,
        "\nmax size {}  max delay {}s  deferrals {}  forwarded {}  reject warnings {}  held {}  discarded {}",
        bytes(t.size.max()),
        secs(t.delay_ms.max()),
        t.deferrals,
        t.forwarded,
        t.reject_warnings,
        t.held,
        t.discarded
    );
    if let Some(m) = t.peak_minute {
        let _ = writeln!(
            out,
            "peak minute {} ({} messages)",
            &format_secs(m)[..16],
            t.peak_per_minute
        );
    }

    let rej: Vec<Vec<String>> = REJECT_CLASSES
        .iter()
        .zip(t.rejected_by_class)
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| vec![c.to_string(), n.to_string()])
        .collect();
    if !rej.is_empty() {
        out.push('\n');
        out += &table("Rejected by reason", &["reason", "count"], &rej, None);
    }
    for (title, list) in [
        ("Top sender domains", &s.top_sender_domains),
        ("Top recipient domains", &s.top_recipient_domains),
    ] {
        if list.is_empty() {
            continue;
        }
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|h| vec![h.key.clone(), h.count.to_string(), h.error.to_string()])
            .collect();
        out.push('\n');
        out += &table(title, &["domain", "messages", "± error"], &rows, None);
    }
    if !s.hosts.is_empty() {
        let rows: Vec<Vec<String>> = s
            .hosts
            .iter()
            .map(|h| {
                row(
                    if h.host.is_empty() {
                        "-".into()
                    } else {
                        h.host.clone()
                    },
                    &h.totals,
                )
            })
            .collect();
        let mut head = HEAD;
        head[0] = "Host";
        out.push('\n');
        out += &table("Per host", &head, &rows, None);
    }
    let l = &s.lines;
    let _ = writeln!(
        out,
        "\nlines {}  mail {}  other {}  malformed {}  overlong {}  warnings {}  queue ids: peak {} open {} evicted {}",
        l.total,
        l.mail,
        l.other,
        l.malformed,
        l.overlong,
        l.problems,
        s.queue.in_flight_peak,
        s.queue.open_at_end,
        s.queue.evicted
    );
    for e in &s.input_errors {
        let _ = writeln!(out, "input error: {e}");
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_row(
    out: &mut String,
    scope: &str,
    name: &str,
    start: Option<i64>,
    seconds: Option<i64>,
    t: &Totals,
) {
    let mut f = vec![
        scope.to_string(),
        csv_field(name),
        start.map(format_secs).unwrap_or_default(),
        seconds.map(|s| s.to_string()).unwrap_or_default(),
    ];
    for v in [
        t.received,
        t.delivered,
        t.forwarded,
        t.deferred,
        t.deferrals,
        t.bounced,
        t.rejected,
        t.reject_warnings,
        t.held,
        t.discarded,
        t.bytes_received,
        t.bytes_delivered,
        t.size.quantile(0.5),
        t.size.quantile(0.95),
        t.size.max(),
        t.delay_ms.quantile(0.5),
        t.delay_ms.quantile(0.95),
        t.delay_ms.max(),
        t.peak_per_minute,
    ] {
        f.push(v.to_string());
    }
    f.extend(t.rejected_by_class.iter().map(u64::to_string));
    out.push_str(&f.join(","));
    out.push('\n');
}

/// The CSV header line.
pub fn csv_header() -> String {
    let mut out = String::from(
        "scope,name,start,seconds,received,delivered,forwarded,deferred,deferrals,bounced,rejected,reject_warnings,held,discarded,bytes_received,bytes_delivered,size_p50,size_p95,size_max,delay_p50_ms,delay_p95_ms,delay_max_ms,peak_per_minute",
    );
    for c in REJECT_CLASSES {
        let _ = write!(out, ",rejected_{c}");
    }
    out.push('\n');
    out
}

/// The CSV line of one interval (for --follow).
pub fn csv_interval(r: &IntervalRow) -> String {
    let mut out = String::new();
    csv_row(
        &mut out,
        "interval",
        "",
        Some(r.start),
        Some(r.seconds),
        &r.totals,
    );
    out
}

/// One-line text summary of one interval (for --follow).
pub fn text_interval(r: &IntervalRow) -> String {
    let t = &r.totals;
    format!(
        "{} rcvd {} dlvd {} defer {} bounce {} reject {} in {} out {} size p95 {} delay p95 {}s peak/min {}\n",
        &format_secs(r.start)[..16],
        t.received,
        t.delivered,
        t.deferred,
        t.bounced,
        t.rejected,
        bytes(t.bytes_received),
        bytes(t.bytes_delivered),
        bytes(t.size.quantile(0.95)),
        secs(t.delay_ms.quantile(0.95)),
        t.peak_per_minute
    )
}

/// One row for the whole period, one per interval, one per host.
pub fn csv(s: &Stats) -> String {
    let mut out = csv_header();
    let span = match (s.first, s.last) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    csv_row(&mut out, "total", "", s.first, span, &s.total);
    for r in &s.intervals {
        out += &csv_interval(r);
    }
    for h in &s.hosts {
        csv_row(&mut out, "host", &h.host, s.first, span, &h.totals);
    }
    out
}

pub fn json(s: &Stats) -> String {
    serde_json::to_string_pretty(s).expect("stats serialize") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_boxed_and_aligned() {
        let t = table(
            "T",
            &["a", "bb"],
            &[vec!["x".into(), "1".into()]],
            Some(vec!["Total".into(), "12".into()]),
        );
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{t}");
        assert!(lines[3].starts_with("| a     | bb |"), "{t}");
        assert!(t.contains("| Total | 12 |"));
    }

    #[test]
    fn human_bytes() {
        assert_eq!(bytes(614), "614");
        assert_eq!(bytes(2048), "2.0k");
        assert_eq!(bytes(5 << 20), "5.0M");
    }

    #[test]
    fn csv_quotes_names() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
