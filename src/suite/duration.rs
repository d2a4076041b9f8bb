//! Human durations in suites: `250ms`, `5s`, `2m`, `1h`, `1.5s`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn ms(self) -> f64 {
        self.0.as_secs_f64() * 1000.0
    }
    pub fn from_ms(ms: u64) -> Self {
        Dur(Duration::from_millis(ms))
    }
    pub fn from_secs(s: u64) -> Self {
        Dur(Duration::from_secs(s))
    }
}

impl fmt::Debug for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms % 3_600_000 == 0 && ms > 0 {
            write!(f, "{}h", ms / 3_600_000)
        } else if ms % 60_000 == 0 && ms > 0 {
            write!(f, "{}m", ms / 60_000)
        } else if ms % 1000 == 0 {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

/// Parse `<number><unit>`; unit one of ms, s, m, h, d. A bare number is an error
/// (is `5` five seconds or five milliseconds? the suite must say).
pub fn parse(s: &str) -> Result<Dur, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "invalid duration `{s}`: expected a number with a unit, e.g. 500ms, 5s, 2m"
        ));
    }
    let n: f64 = num.parse().map_err(|_| format!("invalid duration `{s}`"))?;
    let mult = match unit.trim() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        "" => {
            return Err(format!(
                "duration `{s}` has no unit: write e.g. {s}s or {s}ms"
            ));
        }
        u => {
            return Err(format!(
                "unknown duration unit `{u}` in `{s}` (use ms, s, m, h or d)"
            ));
        }
    };
    let secs = n * mult;
    if !secs.is_finite() || secs < 0.0 || secs > 1e9 {
        return Err(format!("duration `{s}` out of range"));
    }
    Ok(Dur(Duration::from_secs_f64(secs)))
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_units() {
        assert_eq!(parse("250ms").unwrap().0, Duration::from_millis(250));
        assert_eq!(parse("1.5s").unwrap().0, Duration::from_millis(1500));
        assert_eq!(parse("2m").unwrap().0, Duration::from_secs(120));
        assert!(parse("5").unwrap_err().contains("no unit"));
        assert!(parse("5y").unwrap_err().contains("unknown duration unit"));
        assert!(parse("ms").is_err());
    }
    #[test]
    fn display_round_trips() {
        for s in ["250ms", "5s", "2m", "1h"] {
            assert_eq!(parse(s).unwrap().to_string(), s);
        }
    }
}
