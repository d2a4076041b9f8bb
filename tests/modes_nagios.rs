//! Nagios plugin mode: the output of real runs parses per the
//! monitoring-plugins guidelines (status line, long text, perfdata grammar,
//! label quoting, 19-character uniqueness), the status word matches the exit
//! code, and --warning/--critical ranges act on the total time. Property
//! tests: range print/parse round trip, label quoting.

mod common;
mod modes_support;

use std::collections::BTreeSet;
use std::process::Command;

use healthmon::nagios_range::Range;
use healthmon::report::nagios::{quote, unique_labels};
use modes_support::*;
use proptest::prelude::*;

#[derive(Debug)]
struct Perf {
    label: String,
    value: String,
    fields: Vec<String>,
}

/// Independent perfdata parser: `'label'=value[UOM];[warn];[crit];[min];[max]`,
/// items separated by spaces or newlines; in a quoted label `''` is a quote.
fn parse_perf(s: &str) -> Result<Vec<Perf>, String> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    loop {
        while i < c.len() && (c[i] == ' ' || c[i] == '\n') {
            i += 1;
        }
        if i >= c.len() {
            return Ok(out);
        }
        let mut label = String::new();
        if c[i] == '\'' {
            i += 1;
            loop {
                match (c.get(i), c.get(i + 1)) {
                    (Some('\''), Some('\'')) => {
                        label.push('\'');
                        i += 2;
                    }
                    (Some('\''), _) => {
                        i += 1;
                        break;
                    }
                    (Some(ch), _) => {
                        label.push(*ch);
                        i += 1;
                    }
                    (None, _) => return Err(format!("unterminated quote in {s}")),
                }
            }
        } else {
            while i < c.len() && c[i] != '=' {
                if c[i] == ' ' || c[i] == '\'' {
                    return Err(format!("unquoted label with space/quote at {i}: {s}"));
                }
                label.push(c[i]);
                i += 1;
            }
        }
        if c.get(i) != Some(&'=') {
            return Err(format!("no `=` after label {label:?}"));
        }
        i += 1;
        let mut rest = String::new();
        while i < c.len() && c[i] != ' ' && c[i] != '\n' {
            rest.push(c[i]);
            i += 1;
        }
        let mut parts = rest.split(';').map(String::from);
        let value = parts.next().unwrap_or_default();
        let fields: Vec<String> = parts.collect();
        if fields.len() > 4 {
            return Err(format!("too many fields in {rest}"));
        }
        out.push(Perf {
            label,
            value,
            fields,
        });
    }
}

fn check_output(out: &str, code: i32) -> Vec<Perf> {
    let word = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][code as usize];
    let mut lines = out.lines();
    let first = lines.next().expect("empty output");
    let (status, perf1) = first.split_once(" | ").unwrap_or((first, ""));
    let re = regex::Regex::new(r"^HEALTHMON (OK|WARNING|CRITICAL|UNKNOWN) - \S.*$").unwrap();
    let m = re
        .captures(status)
        .unwrap_or_else(|| panic!("status line: {first}"));
    assert_eq!(&m[1], word, "status word vs exit code {code}: {first}");
    let mut perf = perf1.to_string();
    let mut in_perf = false;
    for l in lines {
        if in_perf {
            perf.push('\n');
            perf.push_str(l);
        } else if let Some((text, p)) = l.split_once(" | ") {
            assert!(!text.contains('|'), "{l}");
            perf.push('\n');
            perf.push_str(p);
            in_perf = true;
        } else {
            assert!(!l.contains('|'), "long text with |: {l}");
        }
    }
    let items = parse_perf(&perf).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let value = regex::Regex::new(r"^-?[0-9.]+(us|ms|s|%|B|KB|MB|TB|c)?$").unwrap();
    let range = regex::Regex::new(r"^(@?(~|-?[0-9.]+)?:?(-?[0-9.]+)?)?$").unwrap();
    let num = regex::Regex::new(r"^(-?[0-9.]+)?$").unwrap();
    let mut keys = BTreeSet::new();
    for p in &items {
        assert!(
            value.is_match(&p.value),
            "value {:?} of {}",
            p.value,
            p.label
        );
        for (i, f) in p.fields.iter().enumerate() {
            let ok = if i < 2 {
                range.is_match(f)
            } else {
                num.is_match(f)
            };
            assert!(ok, "field {i} {f:?} of {}", p.label);
        }
        assert!(!p.label.contains('='), "{}", p.label);
        let k: String = p.label.chars().take(19).collect();
        assert!(keys.insert(k.clone()), "first 19 chars not unique: {k:?}");
    }
    items
}

fn nagios_run(extra: &[&str], reports: &std::path::Path) -> (String, i32) {
    let o = Command::new(bin())
        .arg("run")
        .arg(root().join("suites/local.yaml"))
        .args(["--format", "nagios", "--only", "rndtrip/ims1/mta1/*"])
        .args(extra)
        .arg("--reports")
        .arg(reports)
        .output()
        .unwrap();
    let code = o.status.code().expect("killed by a signal");
    assert!(
        (0..=3).contains(&code),
        "exit {code}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (String::from_utf8(o.stdout).unwrap(), code)
}

#[test]
fn real_run_output_parses_per_plugin_guidelines() {
    let _site = common::site_shared();
    let d = tempfile::tempdir().unwrap();
    let (out, code) = nagios_run(&[], d.path());
    let perf = check_output(&out, code);
    // 6 paths: a total per case plus phases, with the suite's limits as ranges.
    let totals: Vec<&Perf> = perf
        .iter()
        .filter(|p| p.label.ends_with("/pop3") || p.label.ends_with("/imap"))
        .collect();
    assert_eq!(totals.len(), 6, "{out}");
    for t in &totals {
        assert!(t.value.ends_with("ms"));
        assert_eq!(&t.fields[..2], ["5000", "15000"], "{}", t.label);
    }
    assert!(perf.iter().any(|p| p.label.ends_with(" delivery")), "{out}");
    assert!(out.lines().next().unwrap().contains("of 6 cases"), "{out}");

    // --critical 1: every total above 1 ms is critical → CRITICAL, exit 2.
    let (out, code) = nagios_run(&["--critical", "1"], d.path());
    assert_eq!(code, 2, "{out}");
    check_output(&out, code);
    assert!(
        out.starts_with("HEALTHMON CRITICAL - 6 of 6 cases failed: rndtrip/ims1/mta1/"),
        "{out}"
    );
    assert!(out.contains("alerts on critical range 1"), "{out}");

    // --warning @0:3600000 (inside an hour: always) and a generous critical.
    let (out, code) = nagios_run(
        &["--warning", "@0:3600000", "--critical", "600000"],
        d.path(),
    );
    assert_eq!(code, 1, "{out}");
    let perf = check_output(&out, code);
    let t = perf
        .iter()
        .find(|p| p.label.ends_with("mmp1/pop3"))
        .unwrap();
    assert_eq!(&t.fields[..2], ["@0:3600000", "600000"]);

    // `healthmon check` is the same plugin.
    let o = Command::new(bin())
        .arg("check")
        .arg(root().join("suites/local.yaml"))
        .args(["--only", "security/*", "--reports"])
        .arg(d.path())
        .output()
        .unwrap();
    let code = o.status.code().unwrap();
    check_output(&String::from_utf8(o.stdout).unwrap(), code);
}

#[test]
fn bad_range_is_a_config_error() {
    let o = Command::new(bin())
        .args([
            "run",
            "suites/local.yaml",
            "--format",
            "nagios",
            "--critical",
            "20:10",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("greater than end"), "{e}");
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64),
        (-1e6f64..1e6),
    ]
}

proptest! {
    #[test]
    fn range_print_parse_round_trip(a in finite(), b in finite(), lo in any::<bool>(), hi in any::<bool>(), inside in any::<bool>()) {
        let (s, e) = if a <= b { (a, b) } else { (b, a) };
        let r = Range { start: lo.then_some(s), end: hi.then_some(e), inside };
        let text = r.to_string();
        let back: Range = text.parse().unwrap();
        prop_assert_eq!(back, r, "{}", text);
        for v in [s - 1.0, s, (s + e) / 2.0, e, e + 1.0] {
            prop_assert_eq!(back.alerts(v), r.alerts(v));
        }
    }

    #[test]
    fn quoted_labels_parse_back(label in "\\PC{1,40}|[ a-z'=/]{1,20}") {
        let item = format!("{}=1ms;;;0;", quote(&label));
        let parsed = parse_perf(&item).map_err(TestCaseError::fail)?;
        prop_assert_eq!(parsed.len(), 1);
        let want: String = label.chars().map(|c| if c == '=' { '_' } else if c.is_control() { ' ' } else { c }).collect();
        prop_assert_eq!(&parsed[0].label, &want);
        prop_assert_eq!(&parsed[0].value, "1ms");
    }

    #[test]
    fn unique_labels_have_unique_prefixes(labels in proptest::collection::vec("[a-z/ ]{0,30}", 1..40)) {
        let mut dedup = labels.clone();
        dedup.sort();
        dedup.dedup();
        let out = unique_labels(dedup);
        let keys: BTreeSet<String> = out.iter().map(|l| l.chars().take(19).collect()).collect();
        prop_assert_eq!(keys.len(), out.len());
    }
}
