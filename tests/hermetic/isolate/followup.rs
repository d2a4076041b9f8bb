//! Isolation's LDAP follow-up asks the directory the way the suite's ldap
//! check on that host does: a directory that hides entries from anonymous
//! searches (as many do) answers the bound, filtered lookup; without an
//! ldap check the lookup stays anonymous. A fake LDAP server on 127.0.0.1
//! shows entries only after a bind with the right DN and password.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::fakes::FakeServer;
use crate::support::fakes::ldap::*;
use healthmon::isolate::evidence::{Check, Outcome};
use healthmon::isolate::followup;

const BIND_DN: &str = "cn=monitor,dc=example,dc=test";
const BIND_PW: &str = "Ld4p-Followup-Secret";
const ENTRY: &str = "uid=ims1,ou=people,dc=example,dc=test";

/// Binds (DN, password) the fake saw, and the filters' raw bytes it got.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

async fn directory() -> (FakeServer, Seen) {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let f = FakeServer::start(move |mut p| {
        let seen = s2.clone();
        async move {
            let mut bound = false;
            while let Some((id, op)) = request_op(&mut p).await {
                match op[0] {
                    BIND_REQUEST => {
                        let (dn, pw) = simple_bind(&op).unwrap_or_default();
                        bound = dn == BIND_DN && pw == BIND_PW;
                        seen.lock().unwrap().push((dn, pw));
                        let code = if bound { 0 } else { 49 };
                        p.send(&message(id, &result(BIND_RESPONSE, code, b"")))
                            .await;
                    }
                    SEARCH_REQUEST => {
                        // ACLs: entries only for the bound monitor, and
                        // only for the uid filter the suite declares.
                        let by_uid = op.windows(3).any(|w| w == b"uid")
                            && op.windows(4).any(|w| w == b"ims1");
                        if bound && by_uid {
                            p.send(&search_entry(id, ENTRY, "mail", "ims1@example.test"))
                                .await;
                        }
                        p.send(&message(id, &result(SEARCH_DONE, 0, b""))).await;
                    }
                    _ => return,
                }
            }
        }
    })
    .await;
    (f, seen)
}

/// A suite with ldap1 at the fake, one account, and `check` (YAML) as
/// ldap1's checks.
fn suite(dir: &Path, port: u16, checks: &str) -> healthmon::suite::LoadedSuite {
    let secret = |name: &str, value: &str| {
        let p = dir.join(name);
        std::fs::write(&p, value).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p.display().to_string()
    };
    let text = format!(
        r#"
site: followup
hosts:
  ldap1:
    roles: [ldap]
    address: 127.0.0.1
    endpoints: {{ldap: {{port: {port}}}}}
    checks: {checks}
  store1: {{roles: [store], address: 127.0.0.1}}
accounts:
  ims1: {{address: ims1@example.test, store: store1, login: ims1, password_file: {}}}
"#,
        secret("ims1.pass", "account-password")
    )
    .replace("BIND_PW_FILE", &secret("ldap.pass", BIND_PW));
    let p = dir.join("followup.yaml");
    std::fs::write(&p, text).unwrap();
    match healthmon::suite::load(&p) {
        Ok((s, _)) => s,
        Err(d) => panic!("{d:?}"),
    }
}

async fn lookup(s: &healthmon::suite::LoadedSuite) -> Outcome {
    let c = Check::Ldap {
        host: "ldap1".into(),
        account: "ims1".into(),
    };
    let mut ev = followup::run(&s.spec, vec![c.clone()], Duration::from_secs(2)).await;
    ev.0.remove(&c).expect("the check ran")
}

#[tokio::test]
async fn the_ldap_follow_up_binds_and_filters_like_the_suites_ldap_check() {
    let (f, seen) = directory().await;
    let d = tempfile::tempdir().unwrap();
    let s = suite(
        d.path(),
        f.addr.port(),
        &format!(
            "[{{ldap: {{base: 'dc=example,dc=test', bind_dn: '{BIND_DN}', password_file: BIND_PW_FILE, filter: '(uid={{uid}})'}}}}]"
        ),
    );
    let o = lookup(&s).await;
    assert_eq!(o, Outcome::Ok(format!("{ENTRY} found")));
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [(BIND_DN.to_string(), BIND_PW.to_string())],
        "one bind, as the suite's ldap check"
    );
}

#[tokio::test]
async fn without_an_ldap_check_the_lookup_is_anonymous() {
    let (f, seen) = directory().await;
    let d = tempfile::tempdir().unwrap();
    let s = suite(d.path(), f.addr.port(), "[]");
    // The directory answers (no entry for an anonymous search): an answer,
    // not "unavailable" — the rules do not blame a directory for that.
    match lookup(&s).await {
        Outcome::Fail { kind, message } => {
            assert_eq!(kind, healthmon::result::ErrorKind::PermReject);
            assert!(message.contains("(mail=ims1@example.test)"), "{message}");
        }
        o => panic!("{o:?}"),
    }
    assert!(seen.lock().unwrap().is_empty(), "no bind without a bind_dn");
}
