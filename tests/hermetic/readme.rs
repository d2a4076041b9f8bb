//! Every `healthmon …` example in the README's shell blocks that needs no
//! mail site runs as written on a fresh checkout (no site, no secrets in
//! the environment) and exits 0. Pipes and redirections are left out (the
//! test runs the healthmon part); an output directory outside the checkout
//! (`--dir`, `--reports`) becomes a temp dir. Examples that need the site, a mail log or a daemon
//! are listed, so a new subcommand must be classified here.

use std::process::Command;

use crate::support::site::{bin, root};

/// Subcommands whose examples need no site (and `--resolve`, which does, is
/// excluded below).
const NO_SITE: &[&str] = &["validate", "list", "render", "cron", "completions", "man"];
/// Subcommands whose examples need the site, a mail log or a running daemon.
const NEEDS_MORE: &[&str] = &[
    "run", "check", "logstats", "daemon", "agent", "report", "alert", "init",
];

/// The `healthmon …` lines of the README's shell code blocks, with their
/// line numbers.
fn examples() -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut lang: Option<String> = None;
    for (i, l) in text.lines().enumerate() {
        if let Some(rest) = l.strip_prefix("```") {
            lang = match lang {
                None => Some(rest.trim().to_string()),
                Some(_) => None,
            };
            continue;
        }
        if matches!(lang.as_deref(), Some("sh" | "bash" | ""))
            && l.trim_start().starts_with("healthmon ")
        {
            out.push((i + 1, l.trim().to_string()));
        }
    }
    out
}

/// The words of the healthmon part of a line: before a comment, pipe or
/// redirection; single-quoted words unquoted.
fn words(line: &str) -> Vec<String> {
    let mut w = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if !quoted && matches!(c, '#' | '|' | '>') => break,
            c if !quoted && c.is_whitespace() => {
                if any {
                    w.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        w.push(cur);
    }
    w
}

#[test]
fn readme_examples_that_need_no_site_run_as_written() {
    let all = examples();
    assert!(all.len() >= 10, "README examples: {all:?}");
    let tmp = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for (line, text) in &all {
        let mut w = words(text);
        assert_eq!(w[0], "healthmon");
        let sub = w.get(1).map(String::as_str).unwrap_or("");
        // `--resolve` opens the site's endpoints; `--require-secrets` wants
        // the monitoring host's secrets, which a fresh checkout has not.
        let needs_host = w
            .iter()
            .any(|x| x == "--resolve" || x == "--require-secrets");
        if NEEDS_MORE.contains(&sub) || needs_host {
            continue;
        }
        assert!(
            NO_SITE.contains(&sub),
            "README.md:{line}: `{sub}` is neither a no-site nor a site example: classify it here"
        );
        // Output directories outside the checkout: a temp dir instead.
        for flag in ["--dir", "--reports"] {
            if let Some(i) = w.iter().position(|x| x == flag) {
                w[i + 1] = tmp.path().join(format!("out{line}")).display().to_string();
            }
        }
        let mut cmd = Command::new(bin());
        cmd.args(&w[1..]).current_dir(root());
        // A fresh checkout's environment: no production secrets.
        for (k, _) in std::env::vars() {
            if k.starts_with("HM_") {
                cmd.env_remove(k);
            }
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "README.md:{line}: `{text}` exited {:?}:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.stdout.is_empty() || w.iter().any(|x| x == "--dir"),
            "README.md:{line}: `{text}` printed nothing"
        );
        ran += 1;
    }
    assert!(ran >= 8, "only {ran} examples ran");
    assert!(ran < all.len(), "site examples exist too");
}

#[test]
fn words_drop_comments_pipes_and_quotes() {
    assert_eq!(
        words("healthmon list s.yaml --only 'rndtrip/ims1/*' | head  # x"),
        ["healthmon", "list", "s.yaml", "--only", "rndtrip/ims1/*"]
    );
    assert_eq!(
        words("healthmon completions bash > /etc/x"),
        ["healthmon", "completions", "bash"]
    );
}
