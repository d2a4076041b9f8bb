//! `csv`: one row per path (RFC 4180 quoting), for spreadsheets.

use super::DailyReport;

fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x:.1}"))
}

pub fn render(r: &DailyReport) -> String {
    let mut out = String::from(
        "date,site,path,kind,runs,failures,availability_pct,min_ms,p50_ms,p95_ms,max_ms,baseline_p50_ms,baseline_availability_pct,deviations\r\n",
    );
    for p in &r.paths {
        let cells = [
            r.date.to_string(),
            r.site.clone(),
            p.path.clone(),
            p.kind.clone(),
            p.runs.to_string(),
            p.failures.to_string(),
            format!("{:.1}", p.availability),
            opt(p.min_ms),
            opt(p.p50_ms),
            opt(p.p95_ms),
            opt(p.max_ms),
            opt(p.base_p50_ms),
            opt(p.base_availability),
            p.deviations.join(" "),
        ];
        let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}
