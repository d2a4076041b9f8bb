//! The installation's probe key on disk: `<state dir>/probe.key`, 32 random
//! bytes, created on the first run that sends a round trip (mode 0600, never
//! clobbered), then reused by every run with that state directory, loaded
//! once per run and handed to the round trips as a value. Only this file
//! reads or writes it; no message names more than its path.

use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::case::{CaseKind, TestCase};
use crate::token::{KEY_LEN, ProbeKey, fresh_key_bytes};

/// The key file's name in the state directory.
pub const KEY_FILE: &str = "probe.key";

/// The key for a run of `cases`: `None` when no round trip is among them
/// (nothing to sign: no file is created), else the loaded key or the error
/// every round trip of the run reports.
pub fn for_run(state_dir: &Path, cases: &[TestCase]) -> Option<Result<Arc<ProbeKey>, String>> {
    cases
        .iter()
        .any(|c| matches!(c.kind, CaseKind::Roundtrip(_)))
        .then(|| load_or_create(&state_dir.join(KEY_FILE)).map(Arc::new))
}

/// The key in `path`, created when there is no file yet. An existing file is
/// never replaced: one that cannot be read or has the wrong size is an error
/// for the operator to resolve, because a new key would leave every probe
/// signed with the old one behind for good.
pub fn load_or_create(path: &Path) -> Result<ProbeKey, String> {
    match read_key(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        r => return r.map_err(|e| key_err(path, e)),
    }
    let bytes = fresh_key_bytes()?;
    match crate::atomic::create_new(path, &bytes) {
        Ok(()) => Ok(ProbeKey::from_bytes(&bytes)),
        // Another run created it first: use theirs.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            read_key(path).map_err(|e| key_err(path, e))
        }
        Err(e) => Err(format!(
            "probe key {}: cannot create it: {e}",
            path.display()
        )),
    }
}

fn read_key(path: &Path) -> io::Result<ProbeKey> {
    let b = std::fs::read(path)?;
    let bytes: [u8; KEY_LEN] = b.as_slice().try_into().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("corrupt: {} bytes, a probe key has {KEY_LEN}", b.len()),
        )
    })?;
    Ok(ProbeKey::from_bytes(&bytes))
}

fn key_err(path: &Path, e: io::Error) -> String {
    format!(
        "probe key {}: {e}; not replaced automatically (leftovers signed \
         with it would stay behind): restore it, or move it away to get a new one",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASE: &str = "rndtrip/ims1/mta1/mmp1/pop3";
    const SITE: &str = "local";

    #[test]
    fn key_file_is_created_once_and_reused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state/probe.key");
        let k1 = load_or_create(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len(), KEY_LEN);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let k2 = load_or_create(&p).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "not regenerated");
        // Same key: a token of the first load verifies under the second
        // (a killed run's leftover is reaped by the next run).
        assert!(k2.verifies(&k1.mint(CASE, SITE), CASE, SITE));
        assert_eq!(format!("{k1:?}"), "ProbeKey(<redacted>)");
    }

    #[test]
    fn a_corrupt_or_unreadable_key_file_is_an_error_and_kept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("probe.key");
        std::fs::write(&p, b"short").unwrap();
        let e = load_or_create(&p).unwrap_err();
        assert!(e.contains("corrupt: 5 bytes"), "{e}");
        assert!(e.contains(&p.display().to_string()), "{e}");
        assert!(e.contains("not replaced automatically"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"short", "left as it was");

        // A directory where the key should be: unreadable, not replaced.
        let p = d.path().join("dir.key");
        std::fs::create_dir(&p).unwrap();
        let e = load_or_create(&p).unwrap_err();
        assert!(e.contains("dir.key"), "{e}");
        assert!(p.is_dir());
    }

    #[test]
    fn concurrent_first_runs_agree_on_one_key() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("probe.key");
        let keys: Vec<ProbeKey> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create(&p).unwrap()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let t = keys[0].mint(CASE, SITE);
        assert!(keys.iter().all(|k| k.verifies(&t, CASE, SITE)));
    }
}
