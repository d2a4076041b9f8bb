//! The repository, the healthmon binary, and the real loopback site:
//! its state directory, the site lock, the mailsite script.

use std::fs::File;
use std::path::PathBuf;

/// Repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// State directory of tests/site/mailsite.
pub fn site_state() -> PathBuf {
    std::env::var_os("MAILSITE_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/mailsite"))
}

/// Guard for the shared test site. Tests that only use the healthy site take
/// it shared; tests that inject faults take it exclusive, so a fault never
/// leaks into another test (even across test binaries run in parallel).
pub struct SiteGuard(File);

fn lock_file() -> File {
    let p = root().join("target/mailsite.lock");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(p)
        .unwrap()
}

pub fn site_shared() -> SiteGuard {
    let f = lock_file();
    f.lock_shared().unwrap();
    assert_site_up();
    SiteGuard(f)
}

pub fn site_exclusive() -> SiteGuard {
    let f = lock_file();
    f.lock().unwrap();
    assert_site_up();
    SiteGuard(f)
}

/// The site must be up: a test against the real site fails (not skips) when
/// it is missing. `tests/run` brings it up.
pub fn assert_site_up() {
    let st = std::process::Command::new(root().join("tests/site/mailsite"))
        .arg("status")
        .output();
    let ok = st.as_ref().map(|o| o.status.success()).unwrap_or(false);
    assert!(
        ok,
        "the test site is not up: run `tests/site/mailsite up` (tests/run does): {st:?}"
    );
}

/// Run the mailsite script with arguments, panicking on failure.
pub fn mailsite(args: &[&str]) -> String {
    let o = std::process::Command::new(root().join("tests/site/mailsite"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "mailsite {args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Path to the built healthmon binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_healthmon"))
}

/// True while some process holds the run lock of `reports` (probed without
/// taking it for long).
pub fn run_locked(reports: &std::path::Path) -> bool {
    let Ok(f) = File::options()
        .write(true)
        .open(reports.join(".healthmon.lock"))
    else {
        return false;
    };
    match f.try_lock() {
        Ok(()) => {
            let _ = f.unlock();
            false
        }
        Err(_) => true,
    }
}

/// Hold the run lock of `reports` as another run would (until the file is
/// dropped).
pub fn hold_run_lock(reports: &std::path::Path) -> File {
    std::fs::create_dir_all(reports).unwrap();
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(reports.join(".healthmon.lock"))
        .unwrap();
    f.lock().unwrap();
    f
}

/// Starts a stopped site host again when dropped (also on panic).
pub struct Restart(pub &'static str);

impl Drop for Restart {
    fn drop(&mut self) {
        let ok = std::process::Command::new(root().join("tests/site/mailsite"))
            .args(["start", self.0])
            .status()
            .is_ok_and(|s| s.success());
        // Never panic inside a panic; a failed restart shows in the next status.
        if !ok && !std::thread::panicking() {
            panic!("mailsite start {} failed", self.0);
        }
    }
}

/// A fault of the site (`mailsite fault …`), injected now and undone on drop
/// (also when an assertion fails): the repair verbs, then `mailsite up`.
/// Hold the variant's exclusive guard while it lives.
pub struct Fault(Variant, Vec<&'static str>);

impl Fault {
    /// A fault of variant a.
    pub fn new(inject: &[&'static str], repair: &[&'static str]) -> Self {
        Self::on(Variant::A, inject, repair)
    }

    pub fn on(v: Variant, inject: &[&'static str], repair: &[&'static str]) -> Self {
        v.mailsite(inject);
        Fault(v, repair.to_vec())
    }
}

impl Drop for Fault {
    fn drop(&mut self) {
        // Never panic here (it may run during a panic); a failed repair
        // shows in the next test's `up`.
        let run = |args: &[&str]| {
            let _ = std::process::Command::new(root().join("tests/site/mailsite"))
                .args(self.0.args())
                .args(args)
                .status();
        };
        run(&self.1);
        run(&["up"]);
    }
}

// ---------------------------------------------------------------- variant b
// The independently built second site (`tests/site/mailsite --variant b`,
// 127.1.x.y, tests/site/README.md), with its own state dir and its own lock
// (`target/mailsite-b.lock`), so tests of a and b never wait on each other.

/// State directory of variant b.
pub fn site_b_state() -> PathBuf {
    std::env::var_os("MAILSITE_STATE_B")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/mailsite-b"))
}

/// `tests/site/mailsite --variant b ARGS`, panicking on failure.
pub fn mailsite_b(args: &[&str]) -> String {
    Variant::B.mailsite(args)
}

/// Variant b taken exclusively (its own lock) and brought up: `up` is
/// idempotent, a quick no-op on a running site.
pub fn site_b_exclusive() -> SiteGuard {
    let p = root().join("target/mailsite-b.lock");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(p)
        .unwrap();
    f.lock().unwrap();
    mailsite_b(&["up"]);
    SiteGuard(f)
}

/// Which reference site (tests/site/README.md): a on 127.0.x.y, b on
/// 127.1.x.y. Address, certificate and suite helpers are in
/// `support::mailprobe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    A,
    B,
}

impl Variant {
    /// The `mailsite` arguments that select the variant.
    pub fn args(self) -> &'static [&'static str] {
        match self {
            Variant::A => &[],
            Variant::B => &["--variant", "b"],
        }
    }

    /// `tests/site/mailsite [--variant b] ARGS`, panicking on failure.
    pub fn mailsite(self, args: &[&str]) -> String {
        let mut all = self.args().to_vec();
        all.extend_from_slice(args);
        mailsite(&all)
    }

    /// The variant taken exclusively, for a test that injects faults.
    pub fn exclusive(self) -> SiteGuard {
        match self {
            Variant::A => site_exclusive(),
            Variant::B => site_b_exclusive(),
        }
    }
}
