//! The attributes junit-report 0.9 (the user's choice) writes on
//! `<testsuites>` and `<testsuite>` do not follow what Jenkins, GitLab and
//! the Ant schema read: no `skipped` count, no aggregate counts on
//! `<testsuites>`, a testsuite `time` that is the sum of its cases (ours run
//! concurrently: the sum is many times the run), a timestamp with a zone
//! (`Z`) where Ant's pattern has none, and no `<properties>`. The crate has
//! no hook for them, so this wraps its output: each of those start tags is
//! rewritten whole from the run (every value is ours, escaped here), and
//! each testsuite gets `<properties>` naming the site and is closed by the
//! suite-level `<system-out/>` and `<system-err/>` Ant's layout requires.
//! Everything between the tags — the cases, which junit-report writes well —
//! is kept byte for byte. Tests validate the result with xmllint against the
//! Ant and Jenkins layouts (tests/fixtures/junit/*.xsd).

use std::fmt::Write as _;

use crate::result::{RunSummary, Status};

/// junit-report's XML of `run`, with the suite-level attributes put right.
/// `host` is the machine that ran the run.
pub fn conventions(xml: &str, run: &RunSummary, host: &str) -> Result<String, String> {
    let ctx = Ctx {
        run,
        host,
        wall: secs(run.duration_ms),
        stamp: run.started_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
    };
    let mut out = String::with_capacity(xml.len() + 512);
    let mut root = false;
    // Server text lives in CDATA sections (whose `]]>` cdata_safe breaks
    // up), so a banner saying `<testsuite name="x">` is never taken for a
    // tag: only the markup between sections is rewritten.
    let mut rest = xml;
    while !rest.is_empty() {
        let (markup, cdata, after) = match rest.find("<![CDATA[") {
            Some(i) => {
                let end = rest[i..]
                    .find("]]>")
                    .map(|j| i + j + 3)
                    .ok_or("junit: CDATA not closed")?;
                (&rest[..i], &rest[i..end], &rest[end..])
            }
            None => (rest, "", ""),
        };
        rewrite(markup, &ctx, &mut root, &mut out)?;
        out.push_str(cdata);
        rest = after;
    }
    if !root {
        return Err("junit: no <testsuites".into());
    }
    Ok(out)
}

struct Ctx<'a> {
    run: &'a RunSummary,
    host: &'a str,
    wall: String,
    stamp: String,
}

impl Ctx<'_> {
    fn counts(&self, suite: Option<&str>) -> Counts {
        let mut c = Counts::default();
        for r in self.run.results.iter() {
            if suite.is_some_and(|s| r.suite != s) {
                continue;
            }
            c.tests += 1;
            match r.status {
                Status::Warning | Status::Critical => c.failures += 1,
                Status::Error => c.errors += 1,
                Status::Skipped => c.skipped += 1,
                Status::Pass => {}
            }
        }
        c
    }
}

/// Rewrites the `<testsuites>` and `<testsuite>` start tags in `markup` (no
/// CDATA in it) and closes each testsuite with the suite-level
/// `<system-out/>` and `<system-err/>` the Ant schema requires.
fn rewrite(markup: &str, ctx: &Ctx, root: &mut bool, out: &mut String) -> Result<(), String> {
    let mut rest = markup;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find('>')
            .map(|j| i + j + 1)
            .ok_or("junit: a tag not closed")?;
        // Attribute values never hold a raw `>` (quick-xml escapes it).
        let tag = &rest[i..end];
        let empty = tag.ends_with("/>");
        if is_start(tag, "testsuites") {
            *root = true;
            let _ = write!(
                out,
                "<testsuites name=\"{}\"{} time=\"{}\" timestamp=\"{}\"",
                esc(&format!("healthmon {}", ctx.run.site)),
                ctx.counts(None).attrs(),
                ctx.wall,
                ctx.stamp
            );
            out.push_str(if empty { "/>" } else { ">" });
        } else if is_start(tag, "testsuite") {
            let name = attr(tag, "name").ok_or("junit: a testsuite without a name")?;
            let id = attr(tag, "id").unwrap_or_default();
            // Names are ours (suite names), written escaped by junit-report.
            let c = ctx.counts(Some(&unescape(&name)));
            let _ = write!(
                out,
                "<testsuite id=\"{id}\" name=\"{name}\" package=\"{}\" hostname=\"{}\"{} time=\"{}\" timestamp=\"{}\">",
                esc(&ctx.run.site),
                esc(ctx.host),
                c.attrs(),
                ctx.wall,
                ctx.stamp
            );
            let _ = write!(
                out,
                "<properties><property name=\"site\" value=\"{}\"/><property name=\"run_id\" value=\"{}\"/></properties>",
                esc(&ctx.run.site),
                esc(&ctx.run.run_id)
            );
            if empty {
                out.push_str(SUITE_END);
            }
        } else if tag == "</testsuite>" {
            out.push_str(SUITE_END);
        } else {
            out.push_str(tag);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    Ok(())
}

const SUITE_END: &str = "<system-out/><system-err/></testsuite>";

/// `tag` opens element `name` (not one whose name merely starts with it).
fn is_start(tag: &str, name: &str) -> bool {
    tag.strip_prefix('<')
        .and_then(|t| t.strip_prefix(name))
        .is_some_and(|t| t.starts_with([' ', '>', '/']))
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
