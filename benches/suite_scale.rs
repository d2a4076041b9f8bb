//! The suite tooling at scale: `healthmon validate` and `healthmon list` of
//! a generated 10,000-host suite whose matrix is 100 MTAs × 100 MMPs × 50
//! accounts × 2 protocols = 1,000,000 round trips (plus one host check per
//! host). Prints wall time and peak RSS of each (wait4), and how list's RSS
//! compares with listing the local-sized suite (constant memory: ≈ 1×).
//! Goals: validate < 2 s and < 256 MB. Needs nothing but the release binary:
//! `cargo bench --bench suite_scale`.

#[path = "../tests/support/rusage.rs"]
#[allow(dead_code)]
mod rusage;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const MTAS: usize = 100;
const MMPS: usize = 100;
const STORES: usize = 10;
const HOSTS: usize = 10_000;
const ACCOUNTS: usize = 50;
const ROUNDS: usize = 3;

/// The suite, `accounts` accounts and `mtas` × `mmps` in the matrix.
fn generate(path: &Path, mtas: usize, mmps: usize, accounts: usize) {
    let mut y = String::from("site: scale\ndefaults: {timeout: 30s, step_timeout: 5s}\nhosts:\n");
    let addr = |i: usize| format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256 + 1);
    for n in 0..HOSTS.max(mtas + mmps + STORES) {
        let (name, role) = if n < mtas {
            (format!("mta{n}"), "mta")
        } else if n < mtas + mmps {
            (format!("mmp{}", n - mtas), "mmp")
        } else if n < mtas + mmps + STORES {
            (format!("store{}", n - mtas - mmps), "store")
        } else {
            (format!("relay{n}"), "mta")
        };
        writeln!(
            y,
            "  {name}:\n    roles: [{role}]\n    address: {}\n    checks:\n      - system: {{}}",
            addr(n)
        )
        .unwrap();
    }
    y.push_str("accounts:\n");
    for a in 0..accounts {
        writeln!(
            y,
            "  u{a}: {{address: u{a}@example.test, store: store{}, password_env: HM_SCALE_PASS}}",
            a % STORES
        )
        .unwrap();
    }
    let list = |p: &str, n: usize| {
        (0..n)
            .map(|i| format!("{p}{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(
        y,
        "roundtrip:\n  matrix:\n    - submit: [{}]\n      retrieve: [{}]\n      protocol: [pop3, imap]",
        list("mta", mtas),
        list("mmp", mmps)
    )
    .unwrap();
    std::fs::write(path, y).unwrap();
}

fn run(what: &str, suite: &Path) -> rusage::Usage {
    let mut runs: Vec<rusage::Usage> = (0..ROUNDS)
        .map(|_| {
            let u = rusage::measure(
                Command::new(env!("CARGO_BIN_EXE_healthmon"))
                    .arg(what)
                    .arg(suite)
                    .env("HM_SCALE_PASS", "x"),
            );
            assert!(u.ok, "healthmon {what} {} failed", suite.display());
            u
        })
        .collect();
    runs.sort_by(|a, b| a.wall_ms.total_cmp(&b.wall_ms));
    runs.swap_remove(ROUNDS / 2)
}

fn main() {
    let d = tempfile::tempdir().unwrap();
    let big = d.path().join("scale.yaml");
    generate(&big, MTAS, MMPS, ACCOUNTS);
    let small = d.path().join("small.yaml");
    generate(&small, 3, 2, 4); // 4 accounts × 3 × 2 × 2 = 48 round trips
    let out = Command::new(env!("CARGO_BIN_EXE_healthmon"))
        .args(["validate", "--format", "json"])
        .arg(&big)
        .env("HM_SCALE_PASS", "x")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("validate --format json");
    let cases = &v["suites"][0]["cases"];
    println!(
        "generated suite: {} hosts, {} cases (roundtrip {}, host {}), {:.1} MB of YAML",
        HOSTS,
        cases["total"],
        cases["roundtrip"],
        cases["host"],
        std::fs::metadata(&big).unwrap().len() as f64 / 1e6
    );
    assert_eq!(cases["roundtrip"], MTAS * MMPS * ACCOUNTS * 2);

    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let val = run("validate", &big);
    println!(
        "validate: {:.2} s, peak RSS {:.0} MB (median of {ROUNDS}); goals < 2 s {}, < 256 MB {}",
        val.wall_ms / 1000.0,
        val.max_rss_mb,
        verdict(val.wall_ms < 2000.0),
        verdict(val.max_rss_mb < 256.0)
    );
    let list = run("list", &big);
    let list_small = run("list", &small);
    // The small suite still has the 10,000 hosts: the ratio isolates the cases.
    println!(
        "list: {:.2} s, peak RSS {:.0} MB for 1,000,000 round trips vs {:.0} MB for 48: ratio {:.2}",
        list.wall_ms / 1000.0,
        list.max_rss_mb,
        list_small.max_rss_mb,
        list.max_rss_mb / list_small.max_rss_mb
    );
}
