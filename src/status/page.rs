//! HTML of the status page: pure functions of a [`StatusDoc`] (and of the
//! chart series for the history part). Every server-provided string goes
//! through [`esc`], in text and in attributes alike.
//!
//! Matrix cells have a fixed size in a fixed grid and a solid background per
//! status, so the page reads at a glance (and a screenshot can be checked).

use chrono::{DateTime, Duration, Utc};

use super::model::{CaseView, Grid, HostRow, MetricView, StatusDoc, VerdictRow};
use crate::daily_report::escape::esc;
use crate::daily_report::render_html::chart_from;
use crate::daily_report::stats::Series;
use crate::fmt::ms_spaced;
use crate::result::Status;
use crate::suite::model::NumLimit;

/// Cell size in CSS pixels (fixed: the grid never reflows with content).
pub const CELL_W: u32 = 112;
pub const CELL_H: u32 = 44;
/// Evidence lines shown per verdict (all of them are in the API).
const EVIDENCE_LINES: usize = 4;
/// Space between cells (the table's border-spacing).
pub const GAP: u32 = 3;

/// Background of a cell per status (solid, distinct).
pub fn color(s: Status) -> &'static str {
    match s {
        Status::Pass => "#1e8e3e",
        Status::Warning => "#f2a600",
        Status::Critical => "#d93025",
        Status::Error => "#8430ce",
        Status::Skipped => "#c4c7c5",
    }
}

/// CSS class of a status (`st-pass` ...); skipped reads "not run".
pub fn class(s: Status) -> &'static str {
    match s {
        Status::Pass => "st-pass",
        Status::Warning => "st-warning",
        Status::Critical => "st-critical",
        Status::Error => "st-error",
        Status::Skipped => "st-notrun",
    }
}

pub fn word(s: Status) -> &'static str {
    match s {
        Status::Skipped => "not run",
        s => s.as_str(),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `3 min ago` relative to the document's time.
fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let s = (now - t).num_seconds().max(0);
    match s {
        0..60 => format!("{s} s ago"),
        60..7200 => format!("{} min ago", s / 60),
        _ => format!("{} h ago", s / 3600),
    }
}

fn css() -> String {
    let mut s = String::from(
        "body{font-family:sans-serif;margin:1em 1.5em;color:#222;background:#fff}\
h1{font-size:1.4em;margin:0 0 .2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em 0}\
h3{font-size:1em;margin:.8em 0 .3em 0}.muted{color:#666;font-size:.9em}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}\
td.n{text-align:right}.grids{display:flex;flex-wrap:wrap;gap:10px 28px}\
table.matrix{table-layout:fixed;border-collapse:separate}\
table.matrix th{border:none;font-weight:normal;font-size:12px;padding:0;overflow:hidden;white-space:nowrap}\
table.matrix th.rh{width:120px;text-align:right;padding-right:4px}\
table.matrix td{border:none;padding:0;position:relative}\
details.cell>summary{list-style:none;display:block;box-sizing:border-box;cursor:pointer;overflow:hidden;\
color:#fff;font-size:12px;line-height:16px;padding:5px 6px;white-space:nowrap}\
details.cell>summary::-webkit-details-marker{display:none}\
details.cell .pop{position:absolute;z-index:10;top:100%;left:0;min-width:360px;max-width:560px;background:#fff;\
color:#222;border:1px solid #888;box-shadow:0 2px 8px rgba(0,0,0,.3);padding:6px 8px;font-size:12px;white-space:normal}\
details.cell .pop table{margin:4px 0}.pop td,.pop th{font-size:12px;padding:1px 4px}\
.none{display:block;box-sizing:border-box;border:1px dashed #ccc;background:#fff}\
.badge{display:inline-block;color:#fff;padding:0 6px;border-radius:3px;font-size:12px}\
.hosts{display:flex;flex-wrap:wrap;gap:12px}.host{border:1px solid #ddd;padding:4px 8px;max-width:640px}\
td.figs{font-size:12px;max-width:420px}.m,.host td.muted{white-space:nowrap}\
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:12px;font-size:12px}\
.legend span{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}\
figure{margin:0 0 1em 0;max-width:1000px}figcaption{font-weight:bold;margin-bottom:4px}\
.st-warning>summary,.badge.st-warning{color:#222}.st-notrun>summary,.badge.st-notrun{color:#222}\
tr.open td{background:#fff4f4}code{font-size:.95em}",
    );
    s.push_str(&format!(
        "details.cell>summary,.none{{width:{CELL_W}px;height:{CELL_H}px}}table.matrix{{border-spacing:{GAP}px}}"
    ));
    for st in [
        Status::Pass,
        Status::Warning,
        Status::Critical,
        Status::Error,
        Status::Skipped,
    ] {
        s.push_str(&format!(
            ".{c}>summary,.badge.{c}{{background:{}}}",
            color(st),
            c = class(st)
        ));
    }
    s
}

fn badge(s: Status) -> String {
    format!("<span class=\"badge {}\">{}</span>", class(s), word(s))
}

/// The whole page: head, the live part, the history part.
pub fn render(doc: &StatusDoc, history: &str, refresh_s: u32) -> String {
    let sites: Vec<String> = {
        let mut v: Vec<String> = doc.runs.iter().map(|r| r.site.clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    let title = if sites.is_empty() {
        "healthmon status".to_string()
    } else {
        format!("healthmon status — {}", sites.join(", "))
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width\">\
<title>{t}</title><noscript><meta http-equiv=\"refresh\" content=\"{refresh_s}\"></noscript>\
<style>{css}</style></head>\n<body data-refresh=\"{refresh_s}\">\n<h1>{t}</h1>\n\
<div id=\"live\">{live}</div>\n<div id=\"history\">{history}</div>\n\
<script src=\"status.js\"></script>\n</body></html>\n",
        t = esc(&title),
        css = css(),
        live = live(doc),
    )
}

/// The part that the page's script swaps every refresh (`/fragment/live`).
pub fn live(doc: &StatusDoc) -> String {
    let mut s = String::new();
    s.push_str(&runs(doc));
    s.push_str("<h2>Path matrix</h2>\n");
    if doc.matrix.is_empty() {
        s.push_str("<p class=\"muted\">No round-trip results yet.</p>\n");
    }
    s.push_str("<div class=\"grids\">");
    for g in &doc.matrix {
        s.push_str(&grid(doc, g));
    }
    s.push_str("</div>\n");
    s.push_str(&verdicts(doc));
    s.push_str(&hosts(doc));
    if !doc.others.is_empty() {
        s.push_str("<h2>Other checks</h2><table><thead><tr><th>Case</th><th>Status</th><th>Time</th><th>Message</th><th>At</th></tr></thead><tbody>");
        for c in &doc.others {
            s.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.id),
                badge(c.status),
                ms_spaced(c.total_ms),
                esc(&c.message),
                when(doc, c)
            ));
        }
        s.push_str("</tbody></table>\n");
    }
    for n in &doc.notes {
        s.push_str(&format!("<p class=\"note\">note: {}</p>\n", esc(n)));
    }
    s
}

fn when(doc: &StatusDoc, c: &CaseView) -> String {
    if c.run_id.is_empty() {
        return "not run in 24h".into();
    }
    let mut s = format!(
        "<span title=\"{}\">{}</span>",
        esc(&time(c.started_at)),
        esc(&ago(doc.generated_at, c.started_at))
    );
    if !c.current {
        s.push_str(" (not in the latest run)");
    }
    s
}

fn runs(doc: &StatusDoc) -> String {
    let mut s = format!(
        "<p class=\"muted\" id=\"generated\" data-generated=\"{}\">Generated {}.",
        esc(&doc.generated_at.to_rfc3339()),
        esc(&time(doc.generated_at))
    );
    if doc.runs.is_empty() {
        s.push_str(" No run has finished yet.");
    }
    s.push_str("</p>\n");
    if doc.runs.is_empty() {
        return s;
    }
    s.push_str("<table class=\"runs\"><thead><tr><th>Suite</th><th>Site</th><th>Worst</th><th>Cases</th><th>Last run</th><th>Took</th><th>Runs in 24h</th></tr></thead><tbody>");
    for r in &doc.runs {
        let counts: Vec<String> = r
            .counts
            .iter()
            .map(|(st, n)| format!("{n} {}", word(*st)))
            .collect();
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td title=\"{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&r.suite),
            esc(&r.site),
            badge(r.worst),
            esc(&counts.join(", ")),
            esc(&r.run_id),
            esc(&ago(doc.generated_at, r.finished_at)),
            ms_spaced(r.duration_ms),
            r.history_runs
        ));
    }
    s.push_str("</tbody></table>\n");
    for r in &doc.runs {
        for n in &r.notes {
            s.push_str(&format!(
                "<p class=\"note\">{}: {}</p>\n",
                esc(&r.suite),
                esc(n)
            ));
        }
    }
    s
}

fn row_label(submit: &str, via: &str) -> String {
    if via.is_empty() || via == "smtp" {
        esc(submit)
    } else {
        format!("{} <span class=\"muted\">{}</span>", esc(submit), esc(via))
    }
}

/// One account's grid: submit hosts down, retrieve host × protocol across.
pub fn grid(doc: &StatusDoc, g: &Grid) -> String {
    let mut s = format!(
        "<div class=\"grid\" data-account=\"{}\" data-store=\"{}\"><h3>{} <span class=\"muted\">on {} · {}</span></h3>\
<table class=\"matrix\"><thead><tr><th class=\"rh\">submit ↓ · retrieve →</th>",
        esc(&g.account),
        esc(&g.store),
        esc(&g.account),
        esc(&g.store),
        esc(&g.suite)
    );
    for c in &g.cols {
        s.push_str(&format!(
            "<th style=\"width:{CELL_W}px\">{} {}</th>",
            esc(&c.retrieve),
            esc(&c.protocol)
        ));
    }
    s.push_str("</tr></thead><tbody>");
    for (ri, r) in g.rows.iter().enumerate() {
        s.push_str(&format!(
            "<tr><th class=\"rh\">{}</th>",
            row_label(&r.submit, &r.via)
        ));
        for ci in 0..g.cols.len() {
            s.push_str("<td>");
            match g.cell(ri, ci) {
                Some(c) => s.push_str(&cell(doc, &c.case)),
                None => s.push_str("<span class=\"none\" title=\"no such path\"></span>"),
            }
            s.push_str("</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>");
    s
}

/// One-line tooltip: id, status, time, why, verdict.
fn tooltip(c: &CaseView) -> String {
    let mut t = format!("{} — {}", c.id, word(c.status));
    if !c.run_id.is_empty() {
        t.push_str(&format!(" — {}", ms_spaced(c.total_ms)));
    }
    if !c.message.is_empty() {
        t.push_str(&format!(" — {}", c.message));
    }
    if let Some(v) = &c.verdict {
        t.push_str(&format!(" — verdict {v}"));
    }
    t
}

/// A matrix cell: a fixed-size colored summary; the details (phases, last
/// error, verdict, facts) open in a box over the page.
pub fn cell(doc: &StatusDoc, c: &CaseView) -> String {
    let mut s = format!(
        "<details class=\"cell {}\" data-case=\"{}\" data-status=\"{}\"><summary title=\"{}\">{}<br>{}</summary><div class=\"pop\">",
        class(c.status),
        esc(&c.id),
        c.status.as_str(),
        esc(&tooltip(c)),
        word(c.status),
        if c.run_id.is_empty() {
            "—".to_string()
        } else {
            ms_spaced(c.total_ms)
        },
    );
    s.push_str(&format!(
        "<div><code>{}</code> {}</div><div class=\"muted\">{}</div>",
        esc(&c.id),
        badge(c.status),
        when(doc, c)
    ));
    if !c.message.is_empty() {
        s.push_str(&format!("<div>{}</div>", esc(&c.message)));
    }
    if let Some(e) = &c.error {
        s.push_str(&format!(
            "<div><b>Last error</b>: phase <code>{}</code>, {}{}: {}</div>",
            esc(&e.phase),
            esc(e.kind.as_str()),
            match (&e.host, &e.protocol) {
                (Some(h), Some(p)) => format!(" at {} {}", esc(h), esc(p)),
                (Some(h), None) => format!(" at {}", esc(h)),
                _ => String::new(),
            },
            esc(&e.message)
        ));
    }
    if let Some(v) = &c.verdict {
        let reason = doc
            .verdicts
            .iter()
            .find(|r| &r.key == v)
            .map(|r| r.verdict.reason.as_str())
            .unwrap_or("");
        s.push_str(&format!(
            "<div><b>Verdict</b>: <code>{}</code> {}</div>",
            esc(v),
            esc(reason)
        ));
    }
    if !c.phases.is_empty() {
        s.push_str("<table><thead><tr><th>Phase</th><th>ms</th></tr></thead><tbody>");
        for p in &c.phases {
            s.push_str(&format!(
                "<tr><td>{}</td><td class=\"n\">{:.1}</td></tr>",
                esc(&p.phase),
                p.ms
            ));
        }
        s.push_str("</tbody></table>");
    }
    if !c.facts.is_empty() {
        s.push_str("<table><tbody>");
        for (k, v) in &c.facts {
            s.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v)));
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</div></details>");
    s
}

fn verdict_row(doc: &StatusDoc, v: &VerdictRow) -> String {
    let ev = &v.verdict.evidence;
    let mut evidence: Vec<String> = ev.iter().take(EVIDENCE_LINES).map(|e| esc(e)).collect();
    if ev.len() > EVIDENCE_LINES {
        evidence.push(format!("(+{} more)", ev.len() - EVIDENCE_LINES));
    }
    let alert = match &v.alert {
        Some(a) => format!(
            "{}{}",
            esc(&format!("{:?}", a.status).to_lowercase()),
            a.last_notified
                .map(|t| format!(
                    " · notified <span title=\"{}\">{}</span>",
                    esc(&time(t)),
                    esc(&ago(doc.generated_at, t))
                ))
                .unwrap_or_default()
        ),
        None => "—".into(),
    };
    format!(
        "<tr class=\"{}\" data-key=\"{}\" data-state=\"{}\"><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
        if v.open { "open" } else { "resolved" },
        esc(&v.key),
        esc(&v.state),
        esc(&v.verdict.host),
        esc(&v.verdict.protocol),
        esc(&v.verdict.reason),
        if evidence.is_empty() {
            String::new()
        } else {
            format!("<div class=\"muted\">{}</div>", evidence.join("<br>"))
        },
        esc(&format!("{:?}", v.verdict.confidence).to_lowercase()),
        esc(&time(v.since)),
        esc(&ago(doc.generated_at, v.since)),
        esc(&v.state),
        alert,
        v.verdict.cases.len()
    )
}

fn verdicts(doc: &StatusDoc) -> String {
    let mut s = String::from("<h2>Verdicts</h2>");
    if doc.verdicts.is_empty() {
        s.push_str(
            "<p class=\"muted\" id=\"no-verdicts\">No isolated fault in the last 24 hours.</p>\n",
        );
        return s;
    }
    s.push_str("<table id=\"verdicts\"><thead><tr><th>Host</th><th>Protocol</th><th>Reason</th><th>Confidence</th><th>Since</th><th>State</th><th>Alert</th><th>Cases</th></tr></thead><tbody>");
    for v in &doc.verdicts {
        s.push_str(&verdict_row(doc, v));
    }
    s.push_str("</tbody></table>\n");
    s
}

fn limits(l: &NumLimit) -> String {
    let n = crate::fmt::num;
    let mut parts = vec![];
    if let Some(w) = l.warning {
        parts.push(format!("warn &gt; {}", n(w)));
    }
    if let Some(c) = l.critical {
        parts.push(format!("crit &gt; {}", n(c)));
    }
    if let Some(w) = l.warning_below {
        parts.push(format!("warn &lt; {}", n(w)));
    }
    if let Some(c) = l.critical_below {
        parts.push(format!("crit &lt; {}", n(c)));
    }
    parts.join(", ")
}

/// `deferred 3 (warn > 10, crit > 100)`, compact, one per metric.
fn metric(m: &MetricView) -> String {
    let lim = m.limits.as_ref().map(limits).unwrap_or_default();
    format!(
        "<span class=\"m\" data-metric=\"{}\">{} <b>{}{}{}</b>{}</span>",
        esc(&m.name),
        esc(&m.name),
        crate::fmt::num(m.value),
        if m.unit.is_empty() { "" } else { " " },
        esc(&m.unit),
        if lim.is_empty() {
            String::new()
        } else {
            format!(" <span class=\"muted\">({lim})</span>")
        }
    )
}

/// One host: each check on one row with its figures and their limits.
fn host(doc: &StatusDoc, h: &HostRow) -> String {
    let mut s = format!(
        "<div class=\"host\" data-host=\"{}\"><h3>{} {}</h3><table><tbody>",
        esc(&h.host),
        esc(&h.host),
        badge(h.worst)
    );
    for c in &h.checks {
        let name =
            c.id.strip_prefix(&format!("host/{}/", h.host))
                .unwrap_or(&c.id);
        let figures: Vec<String> = c.metrics.iter().map(metric).collect();
        s.push_str(&format!(
            "<tr data-case=\"{}\"><th>{}</th><td>{}</td><td class=\"figs\">{}{}</td><td class=\"muted\">{}</td></tr>",
            esc(&c.id),
            esc(name),
            badge(c.status),
            if c.message.is_empty() {
                String::new()
            } else {
                format!("<div>{}</div>", esc(&c.message))
            },
            figures.join(" · "),
            when(doc, c)
        ));
    }
    s.push_str("</tbody></table></div>");
    s
}

fn hosts(doc: &StatusDoc) -> String {
    if doc.hosts.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h2>Host checks</h2><div class=\"hosts\">");
    for h in &doc.hosts {
        s.push_str(&host(doc, h));
    }
    s.push_str("</div>\n");
    s
}

/// Chart data for the history part: latency per path (one chart per
/// account grid) and queue depth per MTA, over the 24 hours to `now`.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub now: DateTime<Utc>,
    pub latency: Vec<(String, Vec<Series>)>,
    pub queues: Vec<Series>,
}

/// The history part (`/fragment/history`): inline SVG, drawn by the daily
/// report's chart function over a rolling window.
pub fn history(h: &History) -> String {
    let start = h.now - Duration::hours(24);
    let tick = |hours: u32| {
        (start + Duration::hours(hours as i64))
            .format("%H:%M")
            .to_string()
    };
    let mut s = String::from("<h2>Last 24 hours <span class=\"muted\">(UTC)</span></h2>\n");
    if h.latency.is_empty() && h.queues.is_empty() {
        s.push_str("<p class=\"muted\">No history yet.</p>\n");
        return s;
    }
    for (i, (title, series)) in h.latency.iter().enumerate() {
        s.push_str(&chart_from(
            &format!("latency-{i}"),
            &format!("Latency per path (ms): {title}"),
            series,
            start,
            &tick,
        ));
    }
    if !h.queues.is_empty() {
        s.push_str(&chart_from(
            "queues",
            "Queue depth per MTA",
            &h.queues,
            start,
            &tick,
        ));
    }
    s
}

/// The page's only script, served same-origin as `/status.js` (the CSP
/// forbids inline scripts): every refresh it fetches `/fragment/live` and
/// swaps it in, keeping open cells open; the charts every fourth time.
pub const SCRIPT: &str = r#"(function () {
  "use strict";
  var every = (parseInt(document.body.getAttribute("data-refresh"), 10) || 30) * 1000;
  var n = 0;
  function swap(id, url) {
    return fetch(url, {cache: "no-store", credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { throw new Error(url + ": " + r.status); }
      return r.text();
    }).then(function (html) {
      var el = document.getElementById(id);
      var open = [];
      el.querySelectorAll("details[open]").forEach(function (d) { open.push(d.getAttribute("data-case")); });
      el.innerHTML = html;
      el.querySelectorAll("details").forEach(function (d) {
        if (open.indexOf(d.getAttribute("data-case")) >= 0) { d.open = true; }
      });
    });
  }
  function tick() {
    n += 1;
    var p = swap("live", "fragment/live");
    if (n % 4 === 0) { p = p.then(function () { return swap("history", "fragment/history"); }); }
    var base = document.title.replace(/^\(stale\) /, "");
    p.then(function () { document.title = base; },
           function (e) { document.title = "(stale) " + base; console.log(e); })
     .then(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
"#;
