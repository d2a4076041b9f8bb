//! Optional access control for the status page and its API: HTTP basic
//! auth and/or a bearer token, secrets by reference (`*_env` / `*_file`).
//!
//! Configured in the daemon's schedule file (its `status:` section holds an
//! [`AuthSpec`]):
//!
//! ```yaml
//! status:
//!   auth:
//!     basic: {user: ops, password_file: /etc/healthmon/status.pass}
//!     bearer: {token_env: HEALTHMON_STATUS_TOKEN}
//! ```
//!
//! Either credential is accepted when both are configured. Secrets are read
//! on every request (a rotated file applies at once) and compared in constant
//! time; when a configured secret cannot be read the routes answer 503 rather
//! than open up (fail closed).

use std::path::{Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;

use super::Source;
use crate::secret::{SecretError, SecretRef};

/// `status.auth` in the daemon's schedule file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    #[serde(default)]
    pub basic: Option<BasicSpec>,
    #[serde(default)]
    pub bearer: Option<BearerSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicSpec {
    pub user: String,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BearerSpec {
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

/// Exactly one of env/file, as a reference.
fn reference(env: &Option<String>, file: &Option<PathBuf>) -> Result<SecretRef, String> {
    match (env, file) {
        (Some(e), None) => Ok(SecretRef::Env(e.clone())),
        (None, Some(f)) => Ok(SecretRef::File(f.clone())),
        _ => Err("give exactly one of `*_env` or `*_file`".into()),
    }
}

fn rebase(p: &mut Option<PathBuf>, base: &Path) {
    if let Some(f) = p.as_mut().filter(|f| f.is_relative()) {
        *f = base.join(&*f);
    }
}

/// Why a configured secret cannot serve, if it cannot.
fn secret_problem(what: &str, r: Result<SecretRef, String>) -> Option<String> {
    let r = match r {
        Err(e) => return Some(format!("auth.{what}: {e}")),
        Ok(r) => r,
    };
    if let Err(e) = r.resolve() {
        return Some(format!("auth.{what}: {} ({e})", r.describe()));
    }
    match &r {
        SecretRef::File(p) if crate::secret::too_open(p) => Some(format!(
            "auth.{what}: {} is readable by others (chmod 600)",
            p.display()
        )),
        _ => None,
    }
}

impl AuthSpec {
    /// Secret files relative to the schedule file's directory.
    pub fn rebased(&self, base: &Path) -> AuthSpec {
        let mut a = self.clone();
        if let Some(b) = a.basic.as_mut() {
            rebase(&mut b.password_file, base);
        }
        if let Some(b) = a.bearer.as_mut() {
            rebase(&mut b.token_file, base);
        }
        a
    }

    /// Problems, one line each (`auth.basic: ...`); secrets are resolved
    /// once so that a missing file is found at load, not at the first visit.
    pub fn problems(&self) -> Vec<String> {
        let mut out = vec![];
        if self.basic.is_none() && self.bearer.is_none() {
            out.push("auth: give `basic`, `bearer` or both (or drop `auth`)".into());
        }
        if let Some(b) = &self.basic {
            if b.user.is_empty() || b.user.contains(':') {
                out.push("auth.basic.user: not empty, no `:`".into());
            }
            out.extend(secret_problem(
                "basic",
                reference(&b.password_env, &b.password_file),
            ));
        }
        if let Some(b) = &self.bearer {
            out.extend(secret_problem(
                "bearer",
                reference(&b.token_env, &b.token_file),
            ));
        }
        out
    }
}

/// Outcome of checking one request's credentials.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    Allowed,
    Denied,
    /// A configured secret could not be read: deny, and say why in the log.
    Unavailable(String),
}

/// Equal in time independent of where the first difference is.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut d = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        d |= (x ^ b.get(i).copied().unwrap_or(0)) as usize;
    }
    d == 0
}

fn resolve(r: Result<SecretRef, String>) -> Result<crate::secret::Secret, String> {
    let r = r?;
    r.resolve()
        .map_err(|e: SecretError| format!("{}: {e}", r.describe()))
}

impl AuthSpec {
    /// Check the request's `Authorization` header.
    pub fn check(&self, headers: &HeaderMap) -> Access {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (scheme, cred) = given.split_once(' ').unwrap_or((given, ""));
        let cred = cred.trim();
        let mut problem = None;
        if let Some(b) = &self.basic
            && scheme.eq_ignore_ascii_case("basic")
        {
            match resolve(reference(&b.password_env, &b.password_file)) {
                Ok(pw) => {
                    let want = format!("{}:{}", b.user, pw.expose());
                    let got = base64::engine::general_purpose::STANDARD
                        .decode(cred)
                        .unwrap_or_default();
                    if ct_eq(&got, want.as_bytes()) {
                        return Access::Allowed;
                    }
                }
                Err(e) => problem = Some(e),
            }
        }
        if let Some(b) = &self.bearer
            && scheme.eq_ignore_ascii_case("bearer")
        {
            match resolve(reference(&b.token_env, &b.token_file)) {
                Ok(tok) => {
                    if ct_eq(cred.as_bytes(), tok.expose().as_bytes()) {
                        return Access::Allowed;
                    }
                }
                Err(e) => problem = Some(e),
            }
        }
        match problem {
            Some(p) => Access::Unavailable(p),
            None => Access::Denied,
        }
    }

    fn challenge(&self) -> &'static str {
        if self.basic.is_some() {
            "Basic realm=\"healthmon status\", charset=\"UTF-8\""
        } else {
            "Bearer realm=\"healthmon status\""
        }
    }
}

/// Middleware on every status route.
pub async fn require(State(state): State<Source>, req: Request, next: Next) -> Response {
    match gate(state.auth().as_ref(), &req) {
        None => next.run(req).await,
        Some(refused) => refused,
    }
}

/// The answer refusing `req` under `auth`, or None to let it through (also
/// when `auth` is None). A refusal is logged with the peer and the path,
/// never with what was presented. Shared by every route of the listener
/// that is behind auth (status page, agent API, optionally /metrics).
pub fn gate(auth: Option<&AuthSpec>, req: &Request) -> Option<Response> {
    let auth = auth?;
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "?".into());
    let path = req.uri().path();
    match auth.check(req.headers()) {
        Access::Allowed => None,
        Access::Denied => {
            let how = if req.headers().contains_key(header::AUTHORIZATION) {
                "wrong credentials"
            } else {
                "no credentials"
            };
            tracing::warn!("http: refused {path} from {peer}: {how}");
            let mut r = (StatusCode::UNAUTHORIZED, "authentication required\n").into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(auth.challenge()),
            );
            Some(r)
        }
        Access::Unavailable(why) => {
            tracing::error!("http: credential unavailable, denying {path} to {peer}: {why}");
            Some(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "credentials unavailable (see the daemon's log)\n",
                )
                    .into_response(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn basic_and_bearer_from_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("pw"), "s3cret\n").unwrap();
        std::fs::write(d.path().join("tok"), "t0ken").unwrap();
        let spec: AuthSpec = serde_yaml::from_str(
            "basic: {user: ops, password_file: pw}\nbearer: {token_file: tok}\n",
        )
        .unwrap();
        let spec = spec.rebased(d.path());
        let a = spec.clone();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            a.check(&headers(&format!("Basic {}", b64("ops:s3cret")))),
            Access::Allowed
        );
        assert_eq!(
            a.check(&headers(&format!("Basic {}", b64("ops:s3cre")))),
            Access::Denied
        );
        assert_eq!(
            a.check(&headers(&format!("Basic {}", b64("root:s3cret")))),
            Access::Denied
        );
        assert_eq!(a.check(&headers("Bearer t0ken")), Access::Allowed);
        assert_eq!(a.check(&headers("bearer t0ken")), Access::Allowed);
        assert_eq!(a.check(&headers("Bearer t0ke")), Access::Denied);
        assert_eq!(a.check(&headers("Bearer t0kenX")), Access::Denied);
        assert_eq!(a.check(&HeaderMap::new()), Access::Denied);
        // Files are readable by the test's umask: the too-open check speaks.
        use std::os::unix::fs::PermissionsExt;
        for f in ["pw", "tok"] {
            std::fs::set_permissions(d.path().join(f), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        assert_eq!(spec.problems(), Vec::<String>::new());
        // Secret gone: fail closed, and the reason names the file, not a value.
        std::fs::remove_file(d.path().join("tok")).unwrap();
        match a.check(&headers("Bearer t0ken")) {
            Access::Unavailable(why) => assert!(why.contains("tok"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(spec.problems().iter().any(|p| p.starts_with("auth.bearer")));
    }

    #[test]
    fn config_errors() {
        let spec: AuthSpec =
            serde_yaml::from_str("basic: {user: ops, password_env: A, password_file: b}\n")
                .unwrap();
        assert!(
            spec.problems()[0].contains("exactly one"),
            "{:?}",
            spec.problems()
        );
        let spec: AuthSpec = serde_yaml::from_str("{}\n").unwrap();
        assert!(spec.problems()[0].contains("basic"));
        assert!(serde_yaml::from_str::<AuthSpec>("{token: x}\n").is_err());
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"ab", b"abc"));
    }
}
