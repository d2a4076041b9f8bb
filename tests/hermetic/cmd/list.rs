//! `healthmon list`: ids one per line in expansion order, `--only`/`--skip`
//! globs, JSON for machines, exit 3 on an invalid suite.

use std::path::PathBuf;
use std::process::{Command, Output};

const SMALL: &str = "tests/fixtures/suites/list-small.yaml";

fn list(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_healthmon"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .env("HM_FIXTURE_PASS", "x")
        .arg("list")
        .args(args)
        .output()
        .expect("run healthmon")
}

fn lines(o: &Output) -> Vec<String> {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn lists_every_case_in_expansion_order() {
    // Matrix (u2 has no path through mmp1), explicit path, the rotation slot
    // not already covered, security, host checks.
    assert_eq!(
        lines(&list(&[SMALL])),
        [
            "rndtrip/u1/mta1/mmp1/pop3",
            "rndtrip/u1/mta2/mmp1/pop3",
            "rndtrip/u2/mta1/store2/imap",
            "rndtrip/u2/mta2/store2/pop3",
            "security/open_relay/mta1",
            "host/mta1/queue",
            "host/mta1/system",
        ]
    );
}

#[test]
fn only_and_skip_globs_filter_ids() {
    assert_eq!(
        lines(&list(&[SMALL, "--only", "rndtrip/*", "--skip", "*/mta2/*"])),
        ["rndtrip/u1/mta1/mmp1/pop3", "rndtrip/u2/mta1/store2/imap"]
    );
    assert_eq!(
        lines(&list(&[SMALL, "--only", "host/*", "--only", "security/*"])),
        [
            "security/open_relay/mta1",
            "host/mta1/queue",
            "host/mta1/system"
        ]
    );
    assert_eq!(
        lines(&list(&[SMALL, "--only", "rndtrip/u?/mta1/*/pop3"])),
        ["rndtrip/u1/mta1/mmp1/pop3"]
    );
    assert!(lines(&list(&[SMALL, "--only", "nothing*"])).is_empty());
}

#[test]
fn json_has_id_kind_labels_timeout_slot() {
    let o = list(&[SMALL, "--format", "json", "--only", "rndtrip/*"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), 4);
    assert_eq!(a[0]["id"], "rndtrip/u1/mta1/mmp1/pop3");
    assert_eq!(a[0]["kind"], "roundtrip");
    assert_eq!(a[0]["site"], "small");
    assert_eq!(a[0]["labels"]["account"], "u1");
    assert_eq!(a[0]["labels"]["retrieve"], "mmp1");
    assert_eq!(a[0]["timeout"], 60.0);
    // The rotation's minute-0 slot is the matrix's own path.
    assert_eq!(a[0]["slot"], 0);
    assert_eq!(a[1]["slot"], serde_json::Value::Null);
    assert_eq!(a[2]["timeout"], 20.0);
    assert_eq!(a[3]["slot"], 30);
}

#[test]
fn invalid_suite_exits_3_with_diagnostics() {
    let o = list(&["tests/fixtures/suites/invalid-rotation.yaml"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(o.stdout.is_empty());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(
            "invalid-rotation.yaml:10:8: roundtrip.rotation[1].minute: minute 61 is outside 0-59"
        ),
        "{e}"
    );
}

/// `list` takes `run`'s selection flags and lists exactly what `run` would
/// run (the selection `app::select` makes for those options).
#[test]
fn list_previews_shards_slots_and_hosts_as_run_selects_them() {
    let suite = "suites/isp.yaml";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(suite);
    let (suites, _) =
        healthmon::suite::load::load_all_with(&[path], healthmon::suite::Secrets::Deferred)
            .unwrap();
    let run_selects = |opts: healthmon::app::RunOptions| -> Vec<String> {
        healthmon::app::select(&suites, &opts)
            .0
            .into_iter()
            .map(|c| c.id)
            .collect()
    };
    let all = lines(&list(&[suite]));
    let mut union = Vec::new();
    for k in 1..=3 {
        let shard = lines(&list(&[suite, "--shard", &format!("{k}/3")]));
        assert!(!shard.is_empty());
        let opts = healthmon::app::RunOptions {
            shard: Some((k, 3)),
            ..Default::default()
        };
        assert_eq!(shard, run_selects(opts), "shard {k}/3");
        union.extend(shard);
    }
    union.sort();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(union, sorted, "the three shards partition the cases");

    // The rotation slot of minute 35 (README: `:35 rndtrip/ims4/mta3/mmp1/pop3`).
    assert_eq!(
        lines(&list(&[suite, "--slot", "37"])),
        ["rndtrip/ims4/mta3/mmp1/pop3"]
    );
    let host = lines(&list(&[suite, "--host", "mta1"]));
    assert!(
        !host.is_empty() && host.iter().all(|id| id.starts_with("host/mta1/")),
        "{host:?}"
    );
    let opts = healthmon::app::RunOptions {
        host: Some("mta1".into()),
        ..Default::default()
    };
    assert_eq!(host, run_selects(opts));
}
