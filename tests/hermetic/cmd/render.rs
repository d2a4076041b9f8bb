//! `healthmon render`: the suite after includes, merged defaults and
//! `${ENV}`, inline secrets hidden; `--cases` shows each case's effective
//! thresholds (a path's override beats the defaults).

#[test]
fn render_shows_the_merged_suite_without_its_secrets() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("common.yaml"),
        "defaults:\n  timeout: 40s\n  thresholds:\n    total: {warning: 4s, critical: 12s}\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("s.yaml"),
        "site: r\ninclude: [common.yaml]\ndefaults:\n  helo: ${HM_RENDER_HELO}\n\
         hosts:\n  mta1: {roles: [mta], address: 127.0.0.1}\n  store1: {roles: [store], address: 127.0.0.2}\n\
         accounts:\n  a1: {address: a1@example.test, store: store1, password: hunter2-inline}\n  \
         a2: {address: a2@example.test, store: store1, password_env: HM_RENDER_UNSET}\n\
         roundtrip:\n  matrix:\n    - {submit: [mta1], retrieve: [store], protocol: [imap]}\n  \
         paths:\n    - {account: a2, submit: mta1, retrieve: store1, protocol: pop3, thresholds: {total: {warning: 9s, critical: 19s}}}\n\
         alerting:\n  channels:\n    hook: {webhook: {url: 'https://hooks.example/services/T0/SECRETPART'}}\n  routes:\n    - {name: all, channels: [hook]}\n",
    )
    .unwrap();
    let s = d.path().join("s.yaml");
    let out = std::process::Command::new(crate::support::site::bin())
        .args(["render", s.to_str().unwrap(), "--cases"])
        .env("HM_RENDER_HELO", "probe.example.test")
        .env_remove("HM_RENDER_UNSET")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("HM_RENDER_UNSET"),
        "an unset reference is a warning: {err}"
    );
    for secret in ["hunter2-inline", "SECRETPART"] {
        assert!(
            !text.contains(secret) && !err.contains(secret),
            "{secret} shown:\n{text}"
        );
    }
    assert!(text.contains("<inline secret, not shown>"), "{text}");
    assert!(text.contains("password_env: HM_RENDER_UNSET"), "{text}");
    assert!(
        text.contains("timeout: 40s"),
        "the include's defaults: {text}"
    );
    assert!(
        text.contains("helo: probe.example.test"),
        "${{ENV}} expanded: {text}"
    );
    let doc: serde_yaml::Value = serde_yaml::from_str(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    )
    .unwrap();
    let total = |id: &str| {
        let c = doc["cases"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no case {id}: {text}"));
        let k = c["kind"].clone();
        let serde_yaml::Value::Tagged(t) = k else {
            panic!("{k:?}")
        };
        serde_yaml::to_string(&t.value["thresholds"]["total"]).unwrap()
    };
    assert!(
        total("rndtrip/a1/mta1/store1/imap").contains("warning: 4s"),
        "{text}"
    );
    assert!(
        total("rndtrip/a2/mta1/store1/pop3").contains("warning: 9s"),
        "{text}"
    );
}
