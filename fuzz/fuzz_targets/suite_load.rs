//! Suite loader on arbitrary bytes: never panics, never hangs (alias bombs
//! and deep nesting are rejected by `suite::pos`), and a suite that loads
//! expands to the same cases twice (expansion is deterministic).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let path = dir.path().join("suite.yaml");
    std::fs::write(&path, data).unwrap();
    match healthmon::suite::load(&path) {
        Ok((s, _warnings)) => {
            let ids = |minute| -> Vec<String> {
                healthmon::case::expand::expand(&s.spec, minute)
                    .into_iter()
                    .map(|c| c.id)
                    .collect()
            };
            assert_eq!(ids(0), ids(0));
        }
        Err(diags) => assert!(!diags.is_empty(), "a rejected suite says why"),
    }
});
