//! The HTML report's two colour scales, shared by the heatmap and the small
//! multiples so one legend reads both: availability (pale green for 100%,
//! then warmer as it drops) and p95 ÷ baseline p95 (blues to purple).
//! Discrete steps, not a gradient: a legend can name them, and equal
//! neighbouring cells merge into one rectangle.

use super::escape::esc;
use super::heat::Cell;
use super::render_text::num;

/// An hour without runs (rotation, or the day not over yet).
pub const NO_RUNS: &str = "#f4f4f4";

/// (lowest availability in the step, colour, legend text), best first.
const AVAIL: [(f64, &str, &str); 6] = [
    (100.0, "#c7e9c0", "100%"),
    (99.0, "#fee08b", "≥ 99%"),
    (95.0, "#fdae61", "≥ 95%"),
    (80.0, "#f46d43", "≥ 80%"),
    (f64::MIN_POSITIVE, "#d73027", "> 0%"),
    (0.0, "#67000d", "0%"),
];

pub fn availability(pct: f64) -> &'static str {
    AVAIL
        .iter()
        .find(|(lo, ..)| pct >= *lo)
        .map_or(AVAIL[5].1, |s| s.1)
}

const NO_BASELINE: &str = "#e0e0e0";
/// p95 within the factor of its baseline (also the heatmap's healthy fold).
pub const WITHIN: &str = "#deebf7";
const SLOW: &str = "#807dba";
const VERY_SLOW: &str = "#3f007d";

/// p95 against the baseline: within `factor` ×, over it, over twice it.
pub fn latency(c: &Cell, factor: f64) -> &'static str {
    match c.ratio() {
        None => NO_BASELINE,
        Some(r) if r > 2.0 * factor => VERY_SLOW,
        Some(r) if r > factor => SLOW,
        Some(_) => WITHIN,
    }
}

fn swatch(colour: &str, text: &str) -> String {
    format!(
        "<li><span style=\"background:{colour}\"></span>{}</li>",
        esc(text)
    )
}

/// Both scales as HTML lists, one a line (they wrap, never clip).
pub fn legend(factor: f64) -> String {
    let mut s = String::from("<ul class=\"legend\"><li><b>availability</b></li>");
    for (_, c, t) in AVAIL {
        s.push_str(&swatch(c, t));
    }
    s.push_str("</ul><ul class=\"legend\"><li><b>p95 ÷ baseline p95</b></li>");
    let f = num(factor);
    s.push_str(&swatch(WITHIN, &format!("≤ {f}×")));
    s.push_str(&swatch(SLOW, &format!("> {f}×")));
    s.push_str(&swatch(VERY_SLOW, &format!("> {}×", num(2.0 * factor))));
    s.push_str(&swatch(NO_BASELINE, "no p95 or no baseline"));
    s.push_str(&swatch(NO_RUNS, "no runs"));
    s.push_str("</ul>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_steps_and_latency_against_the_factor() {
        assert_eq!(availability(100.0), "#c7e9c0");
        assert_eq!(availability(99.5), "#fee08b");
        assert_eq!(availability(50.0), "#d73027");
        assert_eq!(availability(0.0), "#67000d");
        let c = |p, b| Cell {
            p95_ms: p,
            base_p95_ms: b,
            ..Cell::default()
        };
        assert_eq!(latency(&c(Some(150.0), Some(100.0)), 1.5), WITHIN);
        assert_eq!(latency(&c(Some(151.0), Some(100.0)), 1.5), SLOW);
        assert_eq!(latency(&c(Some(301.0), Some(100.0)), 1.5), VERY_SLOW);
        assert_eq!(latency(&c(Some(301.0), None), 1.5), NO_BASELINE);
    }
}
