//! Nagios plugin output, read back independently of src/report/nagios.rs:
//! the status line, long text and perfdata grammar of the
//! monitoring-plugins guidelines.

use std::collections::BTreeSet;

#[derive(Debug)]
pub struct Perf {
    pub label: String,
    pub value: String,
    pub fields: Vec<String>,
}

/// Independent perfdata parser: `'label'=value[UOM];[warn];[crit];[min];[max]`,
/// items separated by spaces or newlines; in a quoted label `''` is a quote.
pub fn parse_perf(s: &str) -> Result<Vec<Perf>, String> {
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

/// A plugin output checked against the guidelines (status word = exit
/// code, perfdata grammar, 19-character uniqueness); its perfdata items.
pub fn check_output(out: &str, code: i32) -> Vec<Perf> {
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

/// What a plugin run printed and how it ended.
#[derive(Debug)]
pub struct PluginRun {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
    pub took: std::time::Duration,
}

/// `healthmon <args>` as Nagios runs a plugin (no stdin). Panics unless it
/// exited with 0-3 and printed a status line.
pub fn plugin(args: &[&str]) -> PluginRun {
    let t0 = std::time::Instant::now();
    let o = std::process::Command::new(super::site::bin())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let r = PluginRun {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code().unwrap_or(-1),
        took: t0.elapsed(),
    };
    assert!((0..=3).contains(&r.code), "{r:#?}");
    check_output(&r.stdout, r.code);
    r
}
