//! The secret-leak needles catch a password inside AUTH PLAIN / LOGIN blobs,
//! and lettre is built without its `tracing` feature (which logs SMTP
//! commands, AUTH included, at trace level). The outputs themselves are
//! searched on the site: live/secret/.

use base64::Engine as _;

use crate::support::run::root;
use crate::support::secrets::needles;

#[test]
fn needles_find_the_password_inside_auth_plain_and_login() {
    let pw = "Qz1abcdef_Sec.r3t-1x";
    let n = needles(pw);
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    for blob in [
        b64(format!("\0ims1\0{pw}").as_bytes()),
        b64(format!("ims1\0ims1\0{pw}").as_bytes()),
        b64(format!("ims1@example.test\0ims1@example.test\0{pw}").as_bytes()),
        b64(pw.as_bytes()),
    ] {
        assert!(n.iter().any(|x| blob.contains(x)), "{blob} not caught");
    }
    assert!(!n.iter().any(|x| b64(b"\0ims1\0other-password").contains(x)));
}

#[test]
fn lettre_is_built_without_its_tracing_feature() {
    // lettre's `tracing` feature logs every SMTP command (AUTH included) at
    // trace level; Cargo.lock lists `tracing` among lettre's dependencies
    // exactly when the feature is on.
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let lettre = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"lettre\""))
        .expect("lettre in Cargo.lock");
    let deps = lettre.split("dependencies = [").nth(1).unwrap_or("");
    let deps = deps.split(']').next().unwrap_or("");
    assert!(
        !deps.contains("\"tracing"),
        "lettre is built with tracing: {deps}"
    );
}
