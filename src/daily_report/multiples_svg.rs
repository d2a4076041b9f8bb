//! Small multiples: one small chart per submit (retrieve) host, all its
//! paths together — p95 per hour as bars coloured against the baseline p95
//! (drawn as a tick), availability per hour as a strip under them. The
//! colours are the heatmap's (`palette`), so one legend reads both.
//!
//! Each chart has its own latency scale, its maximum written on the axis: a
//! host timing out at 30 s would flatten every other host on a shared one,
//! and "slower than usual" is already the bar's colour.

use super::escape::esc;
use super::heat::Row;
use super::heatmap_svg::{CHAR_W, cell_title, label, worst};
use super::palette::{self, NO_RUNS};
use super::render_text::{ms, pct};

const W: f64 = 270.0;
const PLOT_TOP: f64 = 6.0;
const PLOT_H: f64 = 64.0;
const STRIP_Y: f64 = 76.0;
const STRIP_H: f64 = 10.0;
const H: f64 = 104.0;

fn chart(r: &Row, factor: f64) -> String {
    let ymax = r
        .cells
        .iter()
        .flat_map(|c| [c.p95_ms, c.base_p95_ms])
        .flatten()
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.2;
    let top = format!("{} ms", ms(Some(ymax)));
    let ml = 6.0 + CHAR_W * top.chars().count().max(5) as f64;
    let bw = (W - ml - 4.0) / 24.0;
    let y = |v: f64| PLOT_TOP + PLOT_H * (1.0 - v / ymax);
    let base = PLOT_TOP + PLOT_H;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{}: p95 and availability by hour\">",
        esc(&r.name)
    );
    s.push_str(&format!(
        "<rect x=\"{ml:.1}\" y=\"{PLOT_TOP}\" width=\"{:.1}\" height=\"{PLOT_H}\" fill=\"#fafafa\" stroke=\"#ddd\"/>",
        bw * 24.0
    ));
    for (text, at) in [
        (top.as_str(), PLOT_TOP + 8.0),
        ("0", base),
        ("avail", STRIP_Y + 8.5),
    ] {
        s.push_str(&format!(
            "<text class=\"ax\" x=\"{:.1}\" y=\"{at:.1}\">{text}</text>",
            ml - 4.0
        ));
    }
    for h in 0..24u32 {
        let x = ml + bw * f64::from(h);
        let c = r.cells.iter().find(|c| c.hour == h);
        let strip = c.map_or(NO_RUNS, |c| palette::availability(c.availability));
        s.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{STRIP_Y}\" width=\"{bw:.1}\" height=\"{STRIP_H}\" fill=\"{strip}\"/>"
        ));
        let Some(c) = c else { continue };
        s.push_str(&format!(
            "<g class=\"hour\"><title>{}</title>",
            cell_title(c)
        ));
        if let Some(p) = c.p95_ms {
            s.push_str(&format!(
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" stroke=\"#6b8fb5\" stroke-width=\"0.5\"/>",
                x + 0.5,
                y(p),
                bw - 1.0,
                base - y(p),
                palette::latency(c, factor)
            ));
        }
        if let Some(b) = c.base_p95_ms {
            s.push_str(&format!(
                "<line class=\"base\" x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\" stroke=\"#222\" stroke-width=\"1.5\"/>",
                x + bw,
                y(b)
            ));
        }
        s.push_str("</g>");
    }
    for h in (0..24).step_by(6) {
        s.push_str(&format!(
            "<text class=\"hr\" x=\"{:.1}\" y=\"{:.1}\">{h:02}</text>",
            ml + bw * (f64::from(h) + 0.5),
            STRIP_Y + STRIP_H + 12.0
        ));
    }
    s.push_str("</svg>");
    s
}

/// One `<figure class="mult">` per host in `<div class="multiples" id=ID>`.
pub fn multiples(id: &str, title: &str, hosts: &[Row], factor: f64) -> String {
    let mut s = format!("<h2>{}</h2>\n", esc(title));
    if hosts.is_empty() {
        s.push_str("<p>(no round trips name one)</p>\n");
        return s;
    }
    s.push_str(&format!("<div class=\"multiples\" id=\"{id}\">\n"));
    for r in hosts {
        s.push_str(&format!(
            "<figure class=\"mult\" data-host=\"{}\"><figcaption title=\"{}\">{} <small>{} paths · {} available · {}</small></figcaption>{}</figure>\n",
            esc(&r.name),
            esc(&r.name),
            esc(&label(&r.name)),
            r.paths,
            pct(Some(r.availability)),
            worst(r),
            chart(r, factor)
        ));
    }
    s.push_str("</div>\n");
    s
}
