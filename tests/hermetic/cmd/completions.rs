//! `healthmon completions` and `healthmon man`, generated from the command
//! line: every subcommand is there, and the bash script is valid bash.

use clap::CommandFactory;

use crate::support::run::hm;

fn subcommands() -> Vec<String> {
    healthmon::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

#[test]
fn completions_for_each_shell_name_every_subcommand() {
    let subs = subcommands();
    assert!(subs.len() >= 10, "{subs:?}");
    for (shell, marker) in [
        ("bash", "complete -F _healthmon"),
        ("zsh", "#compdef healthmon"),
        ("fish", "complete -c healthmon"),
    ] {
        let out = hm(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: no {marker:?}");
        for s in &subs {
            assert!(text.contains(s.as_str()), "{shell}: no {s}");
        }
    }
    let d = tempfile::tempdir().unwrap();
    let script = d.path().join("healthmon.bash");
    std::fs::write(&script, hm(&["completions", "bash"]).stdout).unwrap();
    let st = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(st.success(), "bash -n rejects the completion script");
    let bad = hm(&["completions", "tcsh"]);
    assert!(!bad.status.success(), "an unknown shell is refused");
}

#[test]
fn man_pages_cover_every_subcommand() {
    let out = hm(&["man"]);
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH healthmon 1"), "{page}");
    for s in subcommands() {
        assert!(page.contains(&s), "healthmon(1) does not list {s}");
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("man1");
    let out = hm(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    for s in subcommands() {
        let p = dir.join(format!("healthmon-{s}.1"));
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(
            text.contains(&format!(".TH healthmon-{s} 1")),
            "{}",
            p.display()
        );
    }
}
