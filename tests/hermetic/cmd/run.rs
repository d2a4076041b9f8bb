//! `healthmon run`'s command line.

use crate::support::run::hm;

#[test]
fn format_help_lists_every_accepted_format() {
    let out = hm(&["run", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    let line = help
        .split("--format <FORMAT>")
        .nth(1)
        .and_then(|s| s.split("--junit").next())
        .unwrap_or_else(|| panic!("no --format in the help:\n{help}"));
    for name in healthmon::report::format_names() {
        assert!(line.contains(name), "--format help lacks {name}: {line}");
    }
}
