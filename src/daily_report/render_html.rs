//! `html`: one self-contained page (inline CSS and SVG, no scripts, no
//! external assets, so it survives mail clients and offline archives):
//! a path × hour heatmap, worst first (`heatmap_svg.rs`), small multiples
//! per submit and retrieve host (`multiples_svg.rs`), queue depth over the
//! day, then the text report's sections as tables, paths worst first.

use chrono::{DateTime, Utc};

use super::escape::esc;
use super::render_text::{dev, dur, hm, ms, num, path_cells, pct};
use super::stats::{PathRow, Series};
use super::{DailyReport, heatmap_svg, multiples_svg, palette};

const W: f64 = 1000.0;
const H: f64 = 320.0;
const ML: f64 = 60.0;
const MR: f64 = 20.0;
const MT: f64 = 20.0;
const MB: f64 = 40.0;
const COLORS: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// Inline SVG line chart over one day: one polyline and one circle per
/// measured point for each series; runs without a value are red ticks on top.
pub fn chart(id: &str, title: &str, series: &[Series], day: DateTime<Utc>) -> String {
    chart_from(id, title, series, day, &|h| format!("{h:02}:00"))
}

/// [`chart`] over the 24 hours from `start`, each 3-hour tick labelled by
/// `tick(hours since start)` (the status page's rolling window shows clock times).
pub fn chart_from(
    id: &str,
    title: &str,
    series: &[Series],
    day: DateTime<Utc>,
    tick: &dyn Fn(u32) -> String,
) -> String {
    let ph = H - MT - MB;
    let ymax = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.v))
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.1;
    let unit = series.first().map_or("", |s| s.unit.as_str());
    let ylabels = [0.0, 0.5, 1.0].map(|f| {
        let v = ymax / 1.1 * f;
        (v, format!("{} {unit}", num((v * 10.0).round() / 10.0)))
    });
    // The left margin fits the longest y label (11 px, ≤ 7 px a character).
    let widest = ylabels
        .iter()
        .map(|l| l.1.chars().count())
        .max()
        .unwrap_or(0);
    let ml = ML.max(10.0 + 7.0 * widest as f64);
    let pw = W - ml - MR;
    let x = |t: DateTime<Utc>| ml + pw * ((t - day).num_seconds() as f64 / 86400.0).clamp(0.0, 1.0);
    let y = |v: f64| MT + ph * (1.0 - v / ymax);
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" aria-label=\"{}\">\n",
        esc(title),
        esc(title)
    );
    s.push_str(&format!(
        "<rect x=\"{ml}\" y=\"{MT}\" width=\"{pw}\" height=\"{ph}\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n"
    ));
    for h in (0..=24).step_by(3) {
        let gx = ml + pw * h as f64 / 24.0;
        s.push_str(&format!(
            "<line class=\"grid\" x1=\"{gx:.1}\" y1=\"{MT}\" x2=\"{gx:.1}\" y2=\"{:.1}\" stroke=\"#e5e5e5\"/><text x=\"{gx:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
            MT + ph,
            H - MB + 16.0,
            esc(&tick(h))
        ));
    }
    for (v, l) in &ylabels {
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n",
            ml - 6.0,
            y(*v) + 4.0,
            esc(l)
        ));
    }
    for (i, se) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        s.push_str(&format!(
            "<g class=\"series\" data-name=\"{}\">",
            esc(&se.name)
        ));
        let pts: Vec<String> = se
            .points
            .iter()
            .filter_map(|p| p.v.map(|v| format!("{:.1},{:.1}", x(p.t), y(v))))
            .collect();
        s.push_str(&format!(
            "<polyline class=\"line\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>",
            pts.join(" ")
        ));
        for p in &se.points {
            match p.v {
                Some(v) => s.push_str(&format!(
                    "<circle class=\"pt\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"><title>{} {} {} {}</title></circle>",
                    x(p.t),
                    y(v),
                    if p.status == "critical" { "#d62728" } else { color },
                    esc(&se.name),
                    hm(p.t),
                    num((v * 10.0).round() / 10.0),
                    esc(&se.unit)
                )),
                None => s.push_str(&format!(
                    "<rect class=\"err\" x=\"{:.1}\" y=\"{MT}\" width=\"3\" height=\"8\" fill=\"#d62728\"><title>{} {} {}</title></rect>",
                    x(p.t) - 1.5,
                    esc(&se.name),
                    hm(p.t),
                    esc(&p.status)
                )),
            }
        }
        s.push_str("</g>\n");
    }
    s.push_str("</svg><ul class=\"legend\">");
    for (i, se) in series.iter().enumerate() {
        s.push_str(&format!(
            "<li><span style=\"background:{}\"></span>{}</li>",
            COLORS[i % COLORS.len()],
            esc(&se.name)
        ));
    }
    s.push_str("</ul></figure>\n");
    s
}

fn table(title: &str, head: &[&str], rows: Vec<Vec<String>>) -> String {
    format!("<h2>{}</h2>{}", esc(title), table_only(head, rows))
}

/// [`table`] whose rows from `fold` on are behind a `<details>` saying how
/// many `what` it hides (an open/close without a script).
fn table_folded(
    title: &str,
    head: &[&str],
    mut rows: Vec<Vec<String>>,
    fold: usize,
    what: &str,
) -> String {
    let rest = rows.split_off(fold.min(rows.len()));
    let mut s = table(title, head, rows);
    if !rest.is_empty() {
        s.push_str(&format!(
            "<details class=\"fold\"><summary>{} more {}</summary>{}</details>\n",
            rest.len(),
            esc(what),
            table_only(head, rest)
        ));
    }
    s
}

fn table_only(head: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in head {
        s.push_str(&format!("<th>{}</th>", esc(h)));
    }
    s.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        s.push_str(&format!(
            "<tr><td colspan=\"{}\">(none)</td></tr>",
            head.len()
        ));
    }
    for r in rows {
        let bad = r.last().is_some_and(|c| c.starts_with('!'));
        s.push_str(if bad { "<tr class=\"dev\">" } else { "<tr>" });
        for c in r {
            // Numbers, times and percentages right-aligned; text left.
            let numeric = c.starts_with(|ch: char| ch.is_ascii_digit()) && !c.contains(' ');
            let class = if numeric { " class=\"n\"" } else { "" };
            s.push_str(&format!("<td{class}>{}</td>", esc(&c)));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>\n");
    s
}

const CSS: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin-bottom:1em}\
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}td.n{text-align:right}\
tr.dev{background:#fde2e2}figure{margin:0 0 1.5em 0}figcaption{font-weight:bold;margin-bottom:4px}\
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:12px;font-size:12px}\
.legend span{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle;border:1px solid #ccc}\
.heat{overflow-x:auto}.lbl,.more,.ax{font:11px monospace;text-anchor:end}.more{fill:#555}\
.hd{font:bold 12px sans-serif}.hr{font:10px sans-serif;text-anchor:middle;fill:#555}\
.multiples{display:flex;flex-wrap:wrap;gap:10px 18px}.mult{margin:0;width:270px}\
.mult figcaption{font-size:13px;overflow-wrap:anywhere}.mult small{font-weight:normal;color:#555;display:block}\
details.fold summary{cursor:pointer;margin-bottom:6px}";

/// The path table, in the heatmap's order (worst first); paths fine all
/// day and without a baseline deviation fold away.
fn paths_table(r: &DailyReport) -> String {
    let rank: std::collections::BTreeMap<&str, (usize, bool)> = r
        .heat
        .paths
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), (i, p.healthy(r.heat.latency_factor))))
        .collect();
    let at = |p: &PathRow| {
        let (i, fine) = rank
            .get(p.path.as_str())
            .copied()
            .unwrap_or((usize::MAX, true));
        (fine && p.deviations.is_empty(), i)
    };
    let mut rows: Vec<&PathRow> = r.paths.iter().collect();
    rows.sort_by_key(|p| at(p));
    let fold = rows.iter().take_while(|p| !at(p).0).count();
    table_folded(
        "Paths, worst first: availability and latency (ms)",
        &[
            "Path",
            "Runs",
            "Fail",
            "Avail",
            "min",
            "p50",
            "p95",
            "max",
            "Base p50",
            "Base avail",
            "Dev",
        ],
        rows.into_iter().map(path_cells).collect(),
        fold,
        "healthy paths",
    )
}

pub fn render(r: &DailyReport) -> String {
    let day = r.day_start();
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>healthmon {} {}</title><style>{CSS}</style></head><body>\n",
        esc(&r.site),
        r.date
    );
    s.push_str(&format!(
        "<h1>healthmon daily report — {} — {}</h1><p>{} runs; baseline: {} days, {} runs (same hours, UTC).</p>\n",
        esc(&r.site),
        r.date.format("%d %b %Y"),
        r.runs,
        r.baseline_days,
        r.baseline_runs
    ));
    let factor = r.heat.latency_factor;
    s.push_str("<h2>Paths by hour, worst first</h2>\n");
    s.push_str(&palette::legend(factor));
    s.push_str(&format!(
        "<div class=\"heat\">{}</div>\n",
        heatmap_svg::heatmap(&r.heat.paths, factor)
    ));
    s.push_str(&multiples_svg::multiples(
        "submit-hosts",
        "Submit hosts: p95 and availability by hour",
        &r.heat.submit_hosts,
        factor,
    ));
    s.push_str(&multiples_svg::multiples(
        "retrieve-hosts",
        "Retrieve hosts: p95 and availability by hour",
        &r.heat.retrieve_hosts,
        factor,
    ));
    if r.queues.is_empty() {
        s.push_str("<h2>Queue depth over the day</h2><p>(no queue samples)</p>\n");
    } else {
        s.push_str(&chart("queues", "Queue depth over the day", &r.queues, day));
    }
    s.push_str(&paths_table(r));
    s.push_str(&table(
        "Hour by hour against the baseline",
        &[
            "Hour",
            "Runs",
            "Fail",
            "Avail",
            "p50",
            "Base p50",
            "Base avail",
            "Dev",
        ],
        r.hours
            .iter()
            .map(|h| {
                vec![
                    format!("{:02}:00", h.hour),
                    h.runs.to_string(),
                    h.failures.to_string(),
                    pct(h.availability),
                    ms(h.p50_ms),
                    ms(h.base_p50_ms),
                    pct(h.base_availability),
                    dev(&h.deviations),
                ]
            })
            .collect(),
    ));
    s.push_str(&table(
        "Failures by root cause",
        &[
            "Start", "End", "Duration", "Runs", "Severity", "Key", "Reason",
        ],
        r.incidents
            .iter()
            .map(|i| {
                vec![
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
                ]
            })
            .collect(),
    ));
    s.push_str(&table(
        "Host-check failures",
        &[
            "Check",
            "Host",
            "Worst",
            "Count",
            "First",
            "Last",
            "Last message",
        ],
        r.host_failures
            .iter()
            .map(|h| {
                vec![
                    h.case.clone(),
                    h.host.clone(),
                    h.worst.clone(),
                    h.count.to_string(),
                    hm(h.first),
                    hm(h.last),
                    h.message.clone(),
                ]
            })
            .collect(),
    ));
    s.push_str(&table(
        "Queue and system peaks",
        &["Host", "Metric", "Max", "At", "Min", "Last", "Unit"],
        r.peaks
            .iter()
            .map(|p| {
                vec![
                    p.host.clone(),
                    p.metric.clone(),
                    num(p.max),
                    hm(p.max_at),
                    num(p.min),
                    num(p.last),
                    p.unit.clone(),
                ]
            })
            .collect(),
    ));
    if !r.open_alerts.is_empty() {
        s.push_str(&table(
            "Open alerts",
            &["Key", "Status", "Since", "Severity", "Message"],
            r.open_alerts
                .iter()
                .map(|a| {
                    vec![
                        a.key.clone(),
                        a.status.clone(),
                        a.since.clone(),
                        a.severity.clone(),
                        a.message.clone(),
                    ]
                })
                .collect(),
        ));
    }
    if let Some(m) = &r.message_rate {
        s.push_str(&table(
            &format!("Message rate ({})", m.source),
            &["Measure", "Value"],
            m.values
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect(),
        ));
    }
    for n in &r.notes {
        s.push_str(&format!("<p class=\"note\">note: {}</p>\n", esc(n)));
    }
    s.push_str("</body></html>\n");
    s
}
