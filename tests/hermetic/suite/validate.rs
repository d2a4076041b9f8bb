//! `healthmon validate` on the fixture suites: each `invalid-*.yaml` must
//! fail with exit 3 and exactly the diagnostics in its `.expected` file
//! (blackbox_exporter's invalid-config model); `warn-*.yaml` must pass with
//! exactly the warnings in its `.expected`. Also: both shipped example suites
//! validate, secrets never appear in output, file permissions are checked.
//!
//! `HM_BLESS=1 cargo test --test suite_validate` rewrites the .expected files
//! (review the diff before committing).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SECRETS: &[&str] = &[
    "fixture-secret-value",
    "hunter2",
    "secret-value-never-printed",
    "not-shown",
    "file-secret-content",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn healthmon(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_healthmon"));
    c.current_dir(cwd)
        .env("HM_FIXTURE_PASS", "fixture-secret-value")
        .env("HM_FIXTURE_HOST", "127.0.0.9")
        .env_remove("HM_FIXTURE_UNSET")
        .env_remove("RUST_LOG");
    c
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    healthmon(cwd).args(args).output().expect("run healthmon")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn assert_no_secrets(out: &Output) {
    for s in SECRETS {
        assert!(
            !text(&out.stdout).contains(s) && !text(&out.stderr).contains(s),
            "secret {s:?} leaked:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
}

/// The lines under `warnings:` in a successful validate's summary.
fn warning_lines(stdout: &str) -> String {
    stdout
        .lines()
        .skip_while(|l| *l != "warnings:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| format!("{}\n", &l[2..]))
        .collect()
}

fn fixtures(prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(root().join("tests/fixtures/suites"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".yaml"))
        .collect();
    v.sort();
    v
}

fn compare(prefix: &str, want_code: i32, actual: impl Fn(&Output) -> String) -> usize {
    let bless = std::env::var_os("HM_BLESS").is_some();
    let mut failures = Vec::new();
    let names = fixtures(prefix);
    for name in &names {
        let rel = format!("tests/fixtures/suites/{name}");
        // As `run` loads: the fixtures' missing references are errors.
        let out = run(&root(), &["validate", "--require-secrets", &rel]);
        assert_no_secrets(&out);
        let got = actual(&out);
        let exp_path = root().join(rel.replace(".yaml", ".expected"));
        if bless {
            fs::write(&exp_path, &got).unwrap();
            continue;
        }
        let want = fs::read_to_string(&exp_path)
            .unwrap_or_else(|_| panic!("missing {}", exp_path.display()));
        if out.status.code() != Some(want_code) || got != want {
            failures.push(format!(
                "== {name}: exit {:?} (want {want_code})\n-- want:\n{want}-- got:\n{got}-- stdout:\n{}",
                out.status.code(),
                text(&out.stdout)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    names.len()
}

#[test]
fn invalid_fixtures_fail_with_exact_diagnostics() {
    let n = compare("invalid-", 3, |o| {
        assert!(o.stdout.is_empty(), "stdout must stay empty on errors");
        text(&o.stderr)
    });
    assert!(n >= 20, "only {n} invalid fixtures found");
}

#[test]
fn warning_fixtures_pass_with_exact_warnings() {
    let n = compare("warn-", 0, |o| warning_lines(&text(&o.stdout)));
    assert!(n >= 1);
}

#[test]
fn isp_suite_validates_with_its_passwords_set() {
    let mut c = healthmon(&root());
    for i in 1..=4 {
        c.env(format!("HM_IMS{i}_PASS"), "fixture-secret-value");
    }
    let out = c.args(["validate", "suites/isp.yaml"]).output().unwrap();
    assert_no_secrets(&out);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout,
        text(&out.stderr)
    );
    assert!(
        stdout.starts_with("suites/isp.yaml: site isp: valid\n"),
        "{stdout}"
    );
    assert!(stdout.contains("    ims3 -> store2, password from env HM_IMS3_PASS\n"));
    assert!(stdout.contains("    mta      mta1 (mta1.example.net), mta2 (mta2.example.net), mta3 (mta3.example.net), mta4 (mta4.example.net)\n"));
    // The seed's sequence.cfg: one slot every five minutes, all twelve filled.
    let slots: Vec<&str> = stdout.lines().filter(|l| l.starts_with("    :")).collect();
    assert_eq!(slots.len(), 12, "{stdout}");
    assert_eq!(slots[0], "    :00  rndtrip/ims1/mta1/mmp1/pop3");
    assert_eq!(slots[11], "    :55  rndtrip/ims4/lb/lb/pop3");
    assert!(!stdout.contains("warnings:"), "{stdout}");
}

#[test]
fn isp_suite_without_passwords_names_every_variable() {
    let tmp = tempfile::tempdir().unwrap();
    let reports = tmp.path().to_str().unwrap();
    let without = |args: &[&str]| {
        let mut c = healthmon(&root());
        for i in 1..=4 {
            c.env_remove(format!("HM_IMS{i}_PASS"));
        }
        c.args(args).output().unwrap()
    };
    let names_all = |out: &str, warning: &str| {
        for i in 1..=4 {
            let line = format!(
                ": {warning}accounts.ims{i}.password_env: environment variable `HM_IMS{i}_PASS` is not set"
            );
            assert!(out.contains(&line), "no {line:?} in:\n{out}");
        }
    };
    // The README's dry run (a CI job has no production secrets): valid,
    // with a warning per variable.
    let out = without(&["validate", "suites/isp.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    names_all(&text(&out.stdout), "warning: ");
    // On the monitoring host, and for `run`: errors, before any connection.
    let out = without(&["validate", "--require-secrets", "suites/isp.yaml"]);
    assert_eq!(out.status.code(), Some(3));
    names_all(&text(&out.stderr), "");
    let out = without(&["run", "suites/isp.yaml", "--reports", reports]);
    assert_eq!(out.status.code(), Some(3));
    names_all(&text(&out.stderr), "");
}

/// suites/local.yaml reads the test site's CA and password files; give it a
/// private copy of that layout so this test does not depend on the site.
#[test]
fn local_suite_validates_against_a_site_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for d in [
        "suites",
        "etc",
        "target/mailsite/ca",
        "target/mailsite/secrets",
    ] {
        fs::create_dir_all(t.join(d)).unwrap();
    }
    fs::copy(
        root().join("suites/local.yaml"),
        t.join("suites/local.yaml"),
    )
    .unwrap();
    fs::copy(
        root().join("etc/defaults.yaml"),
        t.join("etc/defaults.yaml"),
    )
    .unwrap();
    for entry in fs::read_dir(root().join("etc")).unwrap() {
        let e = entry.unwrap();
        let _ = fs::copy(e.path(), t.join("etc").join(e.file_name()));
    }
    fs::write(
        t.join("target/mailsite/ca/ca.pem"),
        "not checked by validate\n",
    )
    .unwrap();
    for i in 1..=4 {
        let p = t.join(format!("target/mailsite/secrets/ims{i}.pass"));
        fs::write(&p, "file-secret-content\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = run(t, &["validate", "suites/local.yaml"]);
    assert_no_secrets(&out);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("suites/local.yaml: site local: valid\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "    ims1 -> store1, password from file suites/../target/mailsite/secrets/ims1.pass\n"
        ) || stdout.contains("ims1 -> store1, password from file /"),
        "{stdout}"
    );
}

#[test]
fn group_readable_password_file_is_a_warning_and_private_one_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(
        t.join("s.yaml"),
        "site: t\nhosts:\n  mta1: {roles: [mta], address: 127.0.0.1}\n  store1: {roles: [store], address: 127.0.0.2}\naccounts:\n  u1: {address: u1@example.test, store: store1, password_file: u1.pass}\n",
    )
    .unwrap();
    let pass = t.join("u1.pass");
    fs::write(&pass, "file-secret-content\n").unwrap();
    fs::set_permissions(&pass, fs::Permissions::from_mode(0o640)).unwrap();
    let out = run(t, &["validate", "s.yaml"]);
    assert_no_secrets(&out);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        warning_lines(&text(&out.stdout)),
        "s.yaml:6:49: warning: accounts.u1.password_file: password file `u1.pass` is readable by group or others (chmod 600 u1.pass)\n"
    );
    fs::set_permissions(&pass, fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(t, &["validate", "s.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(warning_lines(&text(&out.stdout)), "");
    fs::remove_file(&pass).unwrap();
    // A dry run on a machine without the file: a warning; as `run` would
    // load it: an error.
    let out = run(t, &["validate", "s.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        warning_lines(&text(&out.stdout)),
        "s.yaml:6:49: warning: accounts.u1.password_file: password file `u1.pass` does not exist \
         (`run` needs it on the monitoring host; `validate --require-secrets` makes this an error)\n"
    );
    let out = run(t, &["validate", "--require-secrets", "s.yaml"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        text(&out.stderr).lines().next().unwrap(),
        "s.yaml:6:49: accounts.u1.password_file: password file `u1.pass` does not exist"
    );
}

#[test]
fn json_format_carries_diagnostics_and_summary() {
    let out = run(
        &root(),
        &[
            "validate",
            "--format",
            "json",
            "tests/fixtures/suites/invalid-rotation.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["path"], "roundtrip.rotation[1].minute");
    assert_eq!(d["line"], 10);
    let out = run(
        &root(),
        &[
            "validate",
            "--format",
            "json",
            "tests/fixtures/suites/list-small.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    let s = &v["suites"][0];
    assert_eq!(s["site"], "small");
    assert_eq!(s["matrix_skipped"], 2);
    assert_eq!(s["cases"]["roundtrip"], 4);
    assert_eq!(s["cases"]["host"], 2);
    assert_eq!(s["accounts"][0]["password"], "env HM_FIXTURE_PASS");
}

#[test]
fn several_suites_report_errors_of_all_files() {
    let out = run(
        &root(),
        &[
            "validate",
            "tests/fixtures/suites/invalid-rotation.yaml",
            "tests/fixtures/suites/invalid-store-not-store.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let e = text(&out.stderr);
    assert!(e.contains("invalid-rotation.yaml:10:"), "{e}");
    assert!(e.contains("invalid-store-not-store.yaml:6:"), "{e}");
}
