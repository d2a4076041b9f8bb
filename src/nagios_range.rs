//! Nagios threshold ranges (monitoring-plugins development guidelines):
//!
//! | text     | alerts when           |
//! |----------|-----------------------|
//! | `10`     | v < 0 or v > 10       |
//! | `10:`    | v < 10                |
//! | `~:10`   | v > 10                |
//! | `10:20`  | v < 10 or v > 20      |
//! | `@10:20` | 10 <= v <= 20         |
//!
//! Used by `run --warning/--critical RANGE` (one-off limits on a case's total
//! time, **in milliseconds**, the unit of the perfdata) and to print the
//! warn/crit fields of Nagios perfdata.

use std::fmt;
use std::str::FromStr;

/// A parsed range. `start: None` is -infinity (`~`), `end: None` is +infinity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub start: Option<f64>,
    pub end: Option<f64>,
    /// `@`: alert when the value is inside (inclusive) instead of outside.
    pub inside: bool,
}

impl Range {
    /// `0:max` — the range a plain "alert above max" limit prints as (`max`).
    pub fn upto(max: f64) -> Range {
        Range {
            start: Some(0.0),
            end: Some(max),
            inside: false,
        }
    }

    /// True when `v` must raise an alert.
    pub fn alerts(&self, v: f64) -> bool {
        let below = self.start.is_some_and(|s| v < s);
        let above = self.end.is_some_and(|e| v > e);
        (below || above) != self.inside
    }
}

fn parse_num(s: &str, whole: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{whole}`: `{s}` is not a number"))?;
    if !v.is_finite() {
        return Err(format!("`{whole}`: `{s}` is not a finite number"));
    }
    Ok(v)
}

impl FromStr for Range {
    type Err = String;
    fn from_str(text: &str) -> Result<Range, String> {
        let t = text.trim();
        let (inside, body) = match t.strip_prefix('@') {
            Some(b) => (true, b),
            None => (false, t),
        };
        if body.is_empty() {
            return Err(format!(
                "`{text}`: empty range (examples: 10, 10:, ~:10, 10:20, @10:20)"
            ));
        }
        let (start, end) = match body.split_once(':') {
            None => (Some(0.0), Some(parse_num(body, text)?)),
            Some((s, e)) => {
                let start = match s {
                    "~" => None,
                    "" => Some(0.0),
                    s => Some(parse_num(s, text)?),
                };
                let end = if e.is_empty() {
                    None
                } else {
                    Some(parse_num(e, text)?)
                };
                (start, end)
            }
        };
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(format!("`{text}`: start {s} is greater than end {e}"));
        }
        Ok(Range { start, end, inside })
    }
}

/// Prints the shortest form that parses back to the same range.
impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        match (self.start, self.end) {
            (Some(s), Some(e)) if s == 0.0 && !self.inside => write!(f, "{e}"),
            (s, e) => {
                match s {
                    None => f.write_str("~")?,
                    Some(s) => write!(f, "{s}")?,
                }
                f.write_str(":")?;
                match e {
                    None => Ok(()),
                    Some(e) => write!(f, "{e}"),
                }
            }
        }
    }
}

/// A perfdata number: up to 3 decimals, no exponent, no trailing zeros
/// (`[-0-9.]+`).
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// clap value parser for `--warning/--critical`.
pub fn parse(s: &str) -> Result<Range, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Range {
        s.parse().unwrap()
    }

    #[test]
    fn guideline_table() {
        // (range, value, alerts)
        let table = [
            ("10", -1.0, true),
            ("10", 0.0, false),
            ("10", 10.0, false),
            ("10", 10.5, true),
            ("10:", 9.9, true),
            ("10:", 1e9, false),
            ("~:10", -1e9, false),
            ("~:10", 11.0, true),
            ("10:20", 9.0, true),
            ("10:20", 15.0, false),
            ("10:20", 21.0, true),
            ("@10:20", 10.0, true),
            ("@10:20", 20.0, true),
            ("@10:20", 9.0, false),
            ("@10:20", 21.0, false),
        ];
        for (s, v, want) in table {
            assert_eq!(r(s).alerts(v), want, "{s} at {v}");
        }
    }

    #[test]
    fn print_is_canonical() {
        for s in [
            "10", "10:", "~:10", "10:20", "@10:20", "~:", "@0:5", "-5:-1", "0.5",
        ] {
            assert_eq!(r(s).to_string(), s);
        }
        assert_eq!(r(":7").to_string(), "7");
        assert_eq!(Range::upto(5000.0).to_string(), "5000");
    }

    #[test]
    fn bad_ranges_are_explained() {
        for (s, why) in [
            ("", "empty"),
            ("@", "empty"),
            ("x", "not a number"),
            ("20:10", "greater"),
            ("1:2:3", "not a number"),
            ("inf", "finite"),
        ] {
            let e = s.parse::<Range>().unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }
}
