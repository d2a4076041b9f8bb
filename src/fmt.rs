//! Durations as people read them. Two spellings on purpose, each kept
//! because its output is already consumed: verdict messages (systest.log,
//! JUnit, Nagios, alerts) are compact, the HTML pages are spaced.

/// Verdict messages: `850ms`, `1.2s` (seconds from one second up).
pub fn ms_compact(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1}s", ms / 1000.0)
    } else {
        format!("{ms:.0}ms")
    }
}

/// Pages: `850 ms`, `9500 ms`, `12.3 s` (seconds from ten seconds up, so a
/// column of typical round trips reads in one unit).
pub fn ms_spaced(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

/// Numbers as people write them in messages and pages: `12`, `0.5`, `97.3`
/// (two decimals at most). Perfdata has its own spelling
/// (`nagios_range::num`, three decimals, never NaN).
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// `2027-11-28` for a unix timestamp (UTC).
pub fn day(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings() {
        assert_eq!(ms_compact(850.4), "850ms");
        assert_eq!(ms_compact(12_345.0), "12.3s");
        assert_eq!(ms_spaced(9_500.0), "9500 ms");
        assert_eq!(ms_spaced(12_345.0), "12.3 s");
        assert_eq!(num(12.0), "12");
        assert_eq!(num(0.504), "0.5");
        assert_eq!(num(97.333), "97.33");
    }
}
