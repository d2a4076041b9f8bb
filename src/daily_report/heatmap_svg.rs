//! The HTML report's path × hour heatmap (inline SVG): one row per path,
//! worst first, two panels of 24 hour columns — availability, and p95
//! against the baseline p95 of the same path and hour.
//!
//! Why this fold: at a thousand paths an operator scans for the few that
//! are not fine. Paths fine all day (every hour they ran 100% available,
//! no p95 over the baseline factor) carry nothing but their number, so they
//! fold into one labelled band. The others keep a row each — a site-wide
//! outage still shows as a column across all of them — but only the worst
//! [`LABELLED`] are tall enough to name; the rest are 3 px rows named on
//! hover and in the table below.

use super::escape::esc;
use super::heat::{Cell, Row};
use super::palette::{self, NO_RUNS};
use super::render_text::{ms, pct};

/// Rows tall enough for a name (a 44-case suite fits whole).
pub const LABELLED: usize = 60;
/// Longest name drawn; the full one is in the row's tooltip.
const MAX_LABEL: usize = 64;
/// Advance of the 11 px monospace labels: widths are known, nothing clips.
pub const CHAR_W: f64 = 6.8;
const CW: f64 = 14.0;
const PANEL: f64 = 24.0 * CW;
const GAP: f64 = 24.0;
const TOP: f64 = 36.0;
const TALL: f64 = 14.0;
const COMPACT: f64 = 3.0;
const BAND: f64 = 18.0;

pub fn label(name: &str) -> String {
    if name.chars().count() <= MAX_LABEL {
        return name.to_string();
    }
    let cut: String = name.chars().take(MAX_LABEL - 1).collect();
    format!("{cut}…")
}

/// Runs of equal colour over the 24 hours: (first hour, hours, colour, the
/// cell when the run is one measured hour).
fn spans<'a>(
    cells: &'a [Cell],
    colour: impl Fn(&Cell) -> &'static str,
) -> Vec<(u32, u32, &'static str, Option<&'a Cell>)> {
    let at = |h: u32| cells.iter().find(|c| c.hour == h);
    let mut out: Vec<(u32, u32, &'static str, Option<&Cell>)> = vec![];
    for h in 0..24 {
        let c = at(h);
        let col = c.map_or(NO_RUNS, &colour);
        match out.last_mut() {
            Some(last) if last.2 == col => {
                last.1 += 1;
                last.3 = None;
            }
            _ => out.push((h, 1, col, c)),
        }
    }
    out
}

/// `worst hour p95 2.1× baseline`, or that there was nothing to compare.
pub fn worst(r: &Row) -> String {
    let x = r.worst_ratio();
    if x > 0.0 {
        format!("worst hour p95 {x:.1}× baseline")
    } else {
        "no p95 baseline".into()
    }
}

/// `HH:00 97.9% of 24 runs, p95 812 ms (baseline 640 ms)`.
pub fn cell_title(c: &Cell) -> String {
    format!(
        "{:02}:00 {} of {} runs, p95 {} ms (baseline {} ms)",
        c.hour,
        pct(Some(c.availability)),
        c.runs,
        ms(c.p95_ms),
        ms(c.base_p95_ms)
    )
}

struct Geom {
    label_w: f64,
    factor: f64,
}

impl Geom {
    fn x0(&self) -> f64 {
        self.label_w + 8.0
    }
    fn x1(&self) -> f64 {
        self.x0() + PANEL + GAP
    }
    fn width(&self) -> f64 {
        self.x1() + PANEL + 8.0
    }

    fn row(&self, r: &Row, y: f64, h: f64, named: bool) -> String {
        let mut s = format!(
            "<g class=\"row\" data-path=\"{}\"><title>{}: {} available, {}</title>",
            esc(&r.name),
            esc(&r.name),
            pct(Some(r.availability)),
            worst(r)
        );
        if named {
            s.push_str(&format!(
                "<text class=\"lbl\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                self.label_w,
                y + h - 3.0,
                esc(&label(&r.name))
            ));
        }
        let cell_h = if named { h - 2.0 } else { h };
        let panels: [(f64, &dyn Fn(&Cell) -> &'static str); 2] = [
            (self.x0(), &|c| palette::availability(c.availability)),
            (self.x1(), &|c| palette::latency(c, self.factor)),
        ];
        for (x, colour) in panels {
            for (h0, n, col, one) in spans(&r.cells, colour) {
                s.push_str(&format!(
                    "<rect x=\"{:.0}\" y=\"{y:.0}\" width=\"{:.0}\" height=\"{cell_h:.0}\" fill=\"{col}\">",
                    x + f64::from(h0) * CW,
                    f64::from(n) * CW
                ));
                // Hour detail only where it fits in the page's size.
                if let (true, Some(c)) = (named, one) {
                    s.push_str(&format!("<title>{}</title>", cell_title(c)));
                }
                s.push_str("</rect>");
            }
        }
        s.push_str("</g>\n");
        s
    }

    fn text(&self, y: f64, class: &str, text: &str) -> String {
        format!(
            "<text class=\"{class}\" x=\"{:.1}\" y=\"{y:.1}\">{}</text>",
            self.label_w,
            esc(text)
        )
    }
}

/// The heatmap of `paths` (worst first) as one `<svg id="heatmap">`.
pub fn heatmap(paths: &[Row], factor: f64) -> String {
    if paths.is_empty() {
        return "<p>(no paths ran)</p>\n".into();
    }
    let (shown, fine): (Vec<&Row>, Vec<&Row>) = paths.iter().partition(|r| !r.healthy(factor));
    let named = shown.len().min(LABELLED);
    let more = format!("+{} more, worst first", shown.len() - named);
    let folded = format!("{} more healthy paths", fine.len());
    let widest = shown[..named]
        .iter()
        .map(|r| label(&r.name).chars().count())
        .chain([more.chars().count(), folded.chars().count()])
        .max()
        .unwrap_or(0);
    let g = Geom {
        label_w: 4.0 + CHAR_W * widest as f64,
        factor,
    };
    let mut body = String::new();
    let mut y = TOP;
    for r in &shown[..named] {
        body.push_str(&g.row(r, y, TALL, true));
        y += TALL;
    }
    if shown.len() > named {
        y += 4.0;
        body.push_str(&g.text(y + 9.0, "more", &more));
        y += 12.0;
        for r in &shown[named..] {
            body.push_str(&g.row(r, y, COMPACT, false));
            y += COMPACT;
        }
    }
    if !fine.is_empty() {
        y += 4.0;
        body.push_str(&format!(
            "<g class=\"fold\" data-paths=\"{}\"><title>every hour they ran: 100% available, p95 within {}× the baseline (listed in the table below)</title>{}<rect x=\"{:.0}\" y=\"{y:.0}\" width=\"{PANEL}\" height=\"{}\" fill=\"{}\"/><rect x=\"{:.0}\" y=\"{y:.0}\" width=\"{PANEL}\" height=\"{}\" fill=\"{}\"/></g>\n",
            fine.len(),
            super::render_text::num(factor),
            g.text(y + BAND - 5.0, "lbl", &folded),
            g.x0(),
            BAND - 2.0,
            palette::availability(100.0),
            g.x1(),
            BAND - 2.0,
            palette::WITHIN,
        ));
        y += BAND;
    }
    let height = y + 6.0;
    let mut s = format!(
        "<svg id=\"heatmap\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.0} {height:.0}\" width=\"{w:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"availability and p95 against baseline, path by hour\">\n",
        w = g.width()
    );
    for (x, title) in [
        (g.x0(), "availability by hour (UTC)".to_string()),
        (g.x1(), "p95 ÷ baseline p95 by hour".to_string()),
    ] {
        s.push_str(&format!(
            "<text class=\"hd\" x=\"{x:.0}\" y=\"14\">{title}</text>"
        ));
        for h in (0..24).step_by(3) {
            s.push_str(&format!(
                "<text class=\"hr\" x=\"{:.0}\" y=\"30\">{h:02}</text>",
                x + (f64::from(h) + 0.5) * CW
            ));
        }
    }
    s.push('\n');
    s.push_str(&body);
    // Six-hour guides over the cells, to find an hour down a long column.
    for x in [g.x0(), g.x1()] {
        for h in [6.0, 12.0, 18.0] {
            s.push_str(&format!(
                "<line x1=\"{0:.0}\" y1=\"{TOP}\" x2=\"{0:.0}\" y2=\"{1:.0}\" stroke=\"#fff\" stroke-width=\"1\"/>",
                x + h * CW,
                y
            ));
        }
    }
    s.push_str("</svg>\n");
    s
}
