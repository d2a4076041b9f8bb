//! `healthmon cron` prints crontab lines that parse (5 fields + absolute
//! command, MAILTO="") and run as printed against the live site.

use crate::support::site;

use std::path::Path;
use std::process::Command;

use crate::support::modes::*;

struct Line {
    fields: Vec<String>,
    command: String,
}

/// crontab(5): comments, `NAME=value` environment lines, and
/// `min hour dom mon dow command` entries.
fn parse_crontab(text: &str) -> (Vec<(String, String)>, Vec<Line>) {
    let mut env = Vec::new();
    let mut lines = Vec::new();
    for l in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let first = l.split_whitespace().next().unwrap();
        if let Some((k, v)) = l.split_once('=')
            && !first.contains(['*', '/'])
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            env.push((k.to_string(), v.to_string()));
            continue;
        }
        let mut it = l.splitn(6, char::is_whitespace);
        let fields: Vec<String> = it.by_ref().take(5).map(String::from).collect();
        let command = it.next().unwrap_or("").trim().to_string();
        lines.push(Line { fields, command });
    }
    (env, lines)
}

fn cron_field_ok(f: &str, lo: u32, hi: u32) -> bool {
    f.split(',').all(|part| {
        let (range, step) = part.split_once('/').unwrap_or((part, "1"));
        let step_ok = step.parse::<u32>().is_ok_and(|s| s > 0);
        let range_ok = range == "*"
            || range
                .split('-')
                .all(|n| n.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n)));
        step_ok && range_ok
    })
}

#[test]
fn printed_crontab_parses_and_a_line_runs_for_real() {
    let _site = site::site_shared();
    let d = tempfile::tempdir().unwrap();
    let reports = d.path().join("reports");
    let o = Command::new(bin())
        .arg("cron")
        .arg("suites/local.yaml")
        .arg("--reports")
        .arg(&reports)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let (env, lines) = parse_crontab(&text);
    assert_eq!(
        env,
        vec![("MAILTO".to_string(), "\"\"".to_string())],
        "{text}"
    );
    assert!(lines.len() >= 2, "{text}");
    let bounds = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    for l in &lines {
        assert_eq!(l.fields.len(), 5, "{}", l.command);
        for (f, (lo, hi)) in l.fields.iter().zip(bounds) {
            assert!(cron_field_ok(f, lo, hi), "bad field {f} in {text}");
        }
        let mut words = l.command.split_whitespace();
        let exe = words.next().unwrap();
        assert!(
            Path::new(exe).is_absolute() && Path::new(exe).is_file(),
            "{exe}"
        );
        let _verb = words.next().unwrap();
        let suite = words.next().unwrap();
        assert!(
            Path::new(suite).is_absolute() && Path::new(suite).is_file(),
            "{suite}"
        );
    }
    let rot = lines
        .iter()
        .find(|l| l.command.contains(" --rotate"))
        .expect("no rotation line");
    assert_eq!(rot.fields, ["*/5", "*", "*", "*", "*"]);
    let daily = lines
        .iter()
        .find(|l| l.command.contains(" report "))
        .expect("no daily report line");
    assert_eq!(daily.fields, ["59", "23", "*", "*", "*"]);
    // cron turns an unescaped % into a newline: every % must be escaped.
    assert!(
        !daily.command.replace("\\%", "").contains('%'),
        "{}",
        daily.command
    );

    // Run the rotation line as cron would: /bin/sh -c, cwd $HOME (here /),
    // a minimal PATH, no terminal.
    let st = Command::new("/bin/sh")
        .arg("-c")
        .arg(&rot.command)
        .current_dir("/")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/")
        .status()
        .unwrap();
    assert!(matches!(st.code(), Some(0..=2)), "{st:?}");
    let last: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.join("last-run.json")).unwrap()).unwrap();
    let ran: Vec<&serde_json::Value> = last["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "skipped")
        .collect();
    // --rotate: exactly the one path of the current slot was run, for real.
    assert_eq!(ran.len(), 1, "{last}");
    assert!(ran[0]["id"].as_str().unwrap().starts_with("rndtrip/"));
    assert!(ran[0]["observation"]["phases"].as_array().unwrap().len() > 2);
}

/// One machine's lines at a time for a site with agents; the plain form
/// labels each machine's block and warns against installing them together.
#[test]
fn cron_prints_one_machines_lines_and_labels_every_block() {
    let cron = |args: &[&str]| {
        let o = Command::new(bin())
            .arg("cron")
            .arg("suites/local-agents.yaml")
            .args(args)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let central = cron(&["--central"]);
    let (_, lines) = parse_crontab(&central);
    assert_eq!(lines.len(), 3, "{central}");
    assert!(lines.iter().any(|l| l.command.contains(" --rotate")));
    let pull = lines
        .iter()
        .find(|l| l.command.contains("--only 'host/*' --only 'agent/*'"))
        .expect("no pull line");
    // Off the rotation's minutes: both take the same run lock.
    assert_eq!(pull.fields[0], "2-59/5");
    assert!(
        !central.contains(" agent ") && !central.contains("--host"),
        "{central}"
    );
    let mta1 = cron(&["--host", "mta1"]);
    assert!(
        mta1.contains("===== on machine mta1 (127.0.1.1) ====="),
        "{mta1}"
    );
    assert!(
        mta1.contains(" agent ") && mta1.contains("--host mta1 "),
        "{mta1}"
    );
    assert!(
        !mta1.contains("mta2") && !mta1.contains("--rotate"),
        "{mta1}"
    );
    let all = cron(&[]);
    assert!(
        all.contains("WARNING: blocks for the central monitor and 8 site machine(s)"),
        "{all}"
    );
    assert_eq!(all.matches("===== on machine ").count(), 8, "{all}");
    let o = Command::new(bin())
        .args(["cron", "suites/local-agents.yaml", "--host", "mta9"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
}
