//! `json`: the whole report as data (also the body a webhook receives).

use super::DailyReport;

pub fn render(r: &DailyReport) -> String {
    let mut s = serde_json::to_string_pretty(r).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
