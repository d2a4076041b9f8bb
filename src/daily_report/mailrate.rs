//! Optional message-rate section: the day's slice of a mail log (Postfix or
//! Sun Messaging Server), counted by `crate::logstats` in hourly intervals.

use std::path::Path;

use chrono::{Datelike, NaiveDate};

use super::MessageRate;
use crate::logstats::{self, Input, Totals};

/// Totals of the intervals that start on `date` (UTC), or an error line.
pub fn message_rate(path: &Path, date: NaiveDate) -> Result<MessageRate, String> {
    let opts = logstats::Options {
        interval: Some(3600),
        year: Some(date.year()),
        ..logstats::Options::default()
    };
    let stats = logstats::analyze(&[Input::Path(path.to_path_buf())], &opts);
    if let Some(e) = stats.input_errors.first() {
        return Err(format!("mail log {}: {e}", path.display()));
    }
    let start = date
        .and_hms_opt(0, 0, 0)
        .map_or(0, |d| d.and_utc().timestamp());
    let end = start + 86_400;
    let mut day = Totals::default();
    let mut busiest: Option<(i64, u64)> = None;
    for iv in stats
        .intervals
        .iter()
        .filter(|iv| iv.start >= start && iv.start < end)
    {
        day.merge(&iv.totals);
        if busiest.is_none_or(|(_, n)| iv.totals.received > n) {
            busiest = Some((iv.start, iv.totals.received));
        }
    }
    let kb = |b: u64| format!("{:.1} KB", b as f64 / 1024.0);
    let mut values = vec![
        ("messages received".to_string(), day.received.to_string()),
        ("recipients delivered".into(), day.delivered.to_string()),
        ("messages deferred".into(), day.deferred.to_string()),
        ("recipients bounced".into(), day.bounced.to_string()),
        ("rejected".into(), day.rejected.to_string()),
        ("bytes received".into(), kb(day.bytes_received)),
        ("mean message size".into(), kb(day.size.mean())),
        ("p95 message size".into(), kb(day.size.quantile(0.95))),
        (
            "delivery delay p50".into(),
            format!("{} ms", day.delay_ms.quantile(0.5)),
        ),
        (
            "delivery delay p95".into(),
            format!("{} ms", day.delay_ms.quantile(0.95)),
        ),
    ];
    if let Some((t, n)) = busiest.filter(|b| b.1 > 0) {
        let at = chrono::DateTime::from_timestamp(t, 0).map(|t| t.format("%H:00").to_string());
        values.push((
            "busiest hour".into(),
            format!("{} ({n} received)", at.unwrap_or_default()),
        ));
    }
    Ok(MessageRate {
        source: path.display().to_string(),
        values,
    })
}
