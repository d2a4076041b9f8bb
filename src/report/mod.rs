//! Reporters: pure functions of a finished run (nextest/hurl split). The
//! application layer (`app`) emits events and produces a `RunSummary`; reporters only read it
//! and never drive execution.
//!
//! Adding an output format = one new file + one line in [`FORMATS`] (stdout
//! formats) or [`file_reporters`] (files written on every run).

pub mod history;
pub mod json;
pub mod junit;
pub mod junit_attrs;
pub mod metrics;
pub mod metrics_host;
pub mod nagios;
pub mod qmonitor;
pub mod systest;
pub mod terminal;
pub mod xml;

use std::path::PathBuf;

use crate::result::RunSummary;

/// Where file reporters write.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// Reports directory (systest.log, results/, last-run.json).
    pub reports_dir: PathBuf,
    /// JUnit XML file.
    pub junit: PathBuf,
    /// The machine that ran the run (JUnit's `hostname`).
    pub host: String,
    /// Rotation of systest.log and qmonitor.log.
    pub rotation: crate::logfile::Rotation,
}

/// One output of a finished run (Send + Sync: a run's reporters travel
/// with it into the daemon's tasks).
pub trait Reporter: Send + Sync {
    /// Short name (`text`, `json`, `junit` ...), used in error messages.
    fn name(&self) -> &'static str;
    /// Render/write the report. Errors are I/O problems, reported by the
    /// caller as an internal error (exit 4).
    fn report(&self, run: &RunSummary, out: &Outputs) -> Result<(), String>;
}

/// Makes a reporter (a registry entry).
pub type MakeReporter = fn() -> Box<dyn Reporter>;

/// Formats selectable with `run --format NAME` (what goes to stdout).
pub const FORMATS: &[(&str, MakeReporter)] = &[
    ("text", || Box::new(terminal::Summary)),
    ("json", || Box::new(json::Stdout)),
    ("nagios", || Box::new(nagios::Nagios::default())),
];

/// Look up a `--format` name.
pub fn format(name: &str) -> Option<Box<dyn Reporter>> {
    FORMATS.iter().find(|(n, _)| *n == name).map(|(_, f)| f())
}

/// Names accepted by `--format` (for the error message).
pub fn format_names() -> Vec<&'static str> {
    FORMATS.iter().map(|(n, _)| *n).collect()
}

/// Files written after every run, whatever the stdout format.
pub fn file_reporters() -> Vec<Box<dyn Reporter>> {
    vec![
        Box::new(systest::SystestLog),
        Box::new(junit::JunitFile),
        Box::new(json::ResultFiles),
        Box::new(history::HistoryFile),
        Box::new(qmonitor::QmonitorLog),
    ]
}

/// Make server-originated text safe for one-line, fixed-width outputs:
/// control characters become spaces, runs of whitespace collapse.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' {
            if !space && !out.is_empty() {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out.trim_end().to_string()
}

/// At most `width` characters; a cut is marked with `~` (ASCII, so the
/// table stays aligned in any terminal).
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
    t.push('~');
    t
}

/// [`fit`] at a word boundary: a long message loses whole words (an address
/// is never cut to `127~`), unless that would drop more than half the width
/// (one very long word): then it is cut inside the word.
pub fn fit_words(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let head: String = s.chars().take(width.saturating_sub(1)).collect();
    match head.rfind(' ') {
        Some(i) if head[..i].chars().count() >= width / 2 => {
            format!("{}~", head[..i].trim_end())
        }
        _ => fit(s, width),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn fit_words_cuts_between_words() {
        let m = "retrieve: connect to 127.0.2.1:110 refused";
        assert_eq!(fit_words(m, 30), "retrieve: connect to~");
        assert_eq!(fit_words(m, 100), m);
        assert_eq!(fit_words("abcdefghij", 5), "abcd~");
        assert_eq!(fit_words("a bcdefghijklmn", 8), "a bcdef~", "one long word");
        assert!(fit_words(m, 30).chars().count() <= 30);
    }

    #[test]
    fn one_line_and_fit() {
        assert_eq!(one_line("a\r\n  b\x1b[0m\tc "), "a b [0m c");
        assert_eq!(fit("abcdef", 4), "abc~");
        assert_eq!(fit("abc", 4), "abc");
        assert!(format("text").is_some() && format("json").is_some() && format("x").is_none());
    }
}
