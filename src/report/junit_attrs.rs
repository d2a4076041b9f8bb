//! The attributes junit-report 0.9 (the user's choice) writes on
//! `<testsuites>` and `<testsuite>` do not follow what Jenkins, GitLab and
//! the Ant schema read: no `skipped` count, no aggregate counts on
//! `<testsuites>`, a testsuite `time` that is the sum of its cases (ours run
//! concurrently: the sum is many times the run), a timestamp with a zone
//! (`Z`) where Ant's pattern has none, and no `<properties>`. The crate has
//! no hook for them, so this wraps its output: each of those start tags is
//! rewritten whole from the run (every value is ours, escaped here), and
//! each testsuite gets `<properties>` naming the site. Everything between
//! the tags — the cases, which junit-report writes well — is kept byte for
//! byte.

use std::fmt::Write as _;

use crate::result::{RunSummary, Status};

/// junit-report's XML of `run`, with the suite-level attributes put right.
/// `host` is the machine that ran the run.
pub fn conventions(xml: &str, run: &RunSummary, host: &str) -> Result<String, String> {
    let wall = secs(run.duration_ms);
    let stamp = run.started_at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let counts = |suite: Option<&str>| {
        let rs = run
            .results
            .iter()
            .filter(|r| suite.is_none_or(|s| r.suite == s));
        let mut c = Counts::default();
        for r in rs {
            c.tests += 1;
            match r.status {
                Status::Warning | Status::Critical => c.failures += 1,
                Status::Error => c.errors += 1,
                Status::Skipped => c.skipped += 1,
                Status::Pass => {}
            }
        }
        c
    };
    let mut out = String::with_capacity(xml.len() + 512);
    let mut rest = xml;
    // <testsuites> (or the empty <testsuites/>).
    let (before, tag, after) = split_tag(rest, "<testsuites")?;
    out.push_str(before);
    let all = counts(None);
    let _ = write!(
        out,
        "<testsuites name=\"{}\"{} time=\"{wall}\" timestamp=\"{stamp}\"",
        esc(&format!("healthmon {}", run.site)),
        all.attrs()
    );
    out.push_str(if tag.ends_with("/>") { "/>" } else { ">" });
    rest = after;
    while let Ok((before, tag, after)) = split_tag(rest, "<testsuite ") {
        out.push_str(before);
        let name = attr(tag, "name").ok_or("junit: a testsuite without a name")?;
        let id = attr(tag, "id").unwrap_or_default();
        // Names are ours (suite names), written escaped by junit-report.
        let suite = unescape(&name);
        let c = counts(Some(&suite));
        let _ = write!(
            out,
            "<testsuite id=\"{id}\" name=\"{name}\" package=\"{}\" hostname=\"{}\"{} time=\"{wall}\" timestamp=\"{stamp}\">",
            esc(&run.site),
            esc(host),
            c.attrs()
        );
        let _ = write!(
            out,
            "<properties><property name=\"site\" value=\"{}\"/><property name=\"run_id\" value=\"{}\"/></properties>",
            esc(&run.site),
            esc(&run.run_id)
        );
        if tag.ends_with("/>") {
            out.push_str("</testsuite>");
        }
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn attrs(&self) -> String {
        format!(
            " tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"",
            self.tests, self.failures, self.errors, self.skipped
        )
    }
}

fn secs(ms: f64) -> String {
    format!("{:.3}", ms.max(0.0) / 1000.0)
}

/// (text before the tag, the tag from `<` to its `>`, text after). Attribute
/// values never hold a raw `>` (quick-xml escapes it).
fn split_tag<'a>(s: &'a str, open: &str) -> Result<(&'a str, &'a str, &'a str), String> {
    let start = s.find(open).ok_or_else(|| format!("junit: no {open}"))?;
    let end = s[start..]
        .find('>')
        .map(|i| start + i + 1)
        .ok_or_else(|| format!("junit: {open} not closed"))?;
    Ok((&s[..start], &s[start..end], &s[end..]))
}

/// The raw (still escaped) value of attribute `name` in a start tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag[i..].find('"')? + i;
    Some(tag[i..j].to_string())
}

fn esc(s: &str) -> String {
    super::xml::attr_safe(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}
