//! Secrets never reach any output of `healthmon run`: stdout, stderr at
//! trace level, systest.log, JUnit, the JSON results.

use crate::support::run::*;
use base64::Engine as _;

fn forms(login: &str, pw: &str) -> Vec<String> {
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    vec![
        pw.to_string(),
        b64(pw.to_string()),
        b64(format!("\0{login}\0{pw}")),
        b64(format!("{login}\0{login}\0{pw}")),
    ]
}

fn all_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn passwords_never_appear_in_any_output() {
    let _g = site_shared();
    let reports = tempfile::tempdir().unwrap();
    // AUTH PLAIN on 587 and 465, POP3 and IMAP logins, the wrong-password probe.
    let mut outs = Vec::new();
    for fmt in ["json", "text"] {
        let o = hm(&[
            "-vv",
            "run",
            local_suite().to_str().unwrap(),
            "--reports",
            reports.path().to_str().unwrap(),
            "--format",
            fmt,
            "--only",
            "rndtrip/ims1/mta1.submission/*",
            "--only",
            "rndtrip/ims3/mta2.smtps/*",
            "--only",
            "rndtrip/ims2/mta1/mmp2/pop3",
            "--only",
            "security/*",
        ]);
        assert!(o.status.code().is_some_and(|c| c <= 2), "{}", show(&o));
        outs.push(o);
    }
    let run = last_run(reports.path());
    assert_eq!(
        run.results
            .iter()
            .filter(|r| r.status != healthmon::result::Status::Skipped)
            .count(),
        7,
        "{}",
        show(&outs[1])
    );
    // The probes did authenticate (so the secrets were really in play).
    let sub = run
        .results
        .iter()
        .find(|r| r.id == "rndtrip/ims1/mta1.submission/mmp1/imap")
        .unwrap();
    assert!(
        sub.observation
            .transcript
            .iter()
            .any(|l| l.contains("AUTH") && l.contains("<redacted>")),
        "{:?}",
        sub.observation.transcript
    );
    let mut texts: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, o) in outs.iter().enumerate() {
        texts.push((format!("stdout #{i}"), o.stdout.clone()));
        texts.push((format!("stderr #{i}"), o.stderr.clone()));
    }
    let mut files = Vec::new();
    all_files(reports.path(), &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("junit.xml"))
            && files.iter().any(|f| f.ends_with("systest.log"))
    );
    for f in files {
        texts.push((f.display().to_string(), std::fs::read(&f).unwrap()));
    }
    for (login, pw) in passwords() {
        for needle in forms(&login, &pw) {
            for (what, data) in &texts {
                let hay = String::from_utf8_lossy(data);
                assert!(
                    !hay.contains(&needle),
                    "{login}'s password (form {needle:?}) appears in {what}"
                );
            }
        }
    }
}
