//! Who a round trip sends as, to whom, and where it reads the probe back,
//! for each of the three routes (`case::Route`): inbound (the account
//! receives), outbound (a customer sends to an external mailbox, read at
//! the other provider) and echo (a customer sends to a reflector, the probe
//! comes back to a site account). The rest of the round trip is the same.

use crate::case::{RoundtripCase, Route};
use crate::result::{ErrorKind, ProbeError};
use crate::secret::Secret;
use crate::suite::model::SuiteSpec;
use crate::suite::resolve::Endpoint;

/// Everything a round trip needs from the suite, resolved.
pub struct Plan {
    /// Envelope sender and From:.
    pub sender: String,
    pub to: String,
    /// SMTP AUTH credentials, used when the submit endpoint has `auth`.
    pub submit_login: String,
    pub submit_password: Secret,
    pub retrieve: Endpoint,
    pub retrieve_login: String,
    pub retrieve_password: Secret,
}

pub fn plan(rt: &RoundtripCase, suite: &SuiteSpec) -> Result<Plan, ProbeError> {
    let setup = |m: String| setup_err(&rt.account, m);
    let site_account = |name: &str| -> Result<(String, String, Secret), ProbeError> {
        let a = suite
            .accounts
            .get(name)
            .ok_or_else(|| setup_err(name, format!("account {name} is not in the suite")))?;
        let login = suite.login(name).unwrap_or_default();
        Ok((a.address.clone(), login, resolve_password(suite, name)?))
    };
    let site_retrieve = || {
        suite
            .endpoint_for(&rt.retrieve, &rt.protocol.endpoints())
            .ok_or_else(|| {
                setup(format!(
                    "host {} has no {} endpoint",
                    rt.retrieve,
                    rt.protocol.as_str()
                ))
            })
    };
    match &rt.route {
        Route::Inbound => {
            let (addr, login, pw) = site_account(&rt.account)?;
            Ok(Plan {
                sender: suite.sender(),
                to: addr,
                submit_login: login.clone(),
                submit_password: pw.clone(),
                retrieve: site_retrieve()?,
                retrieve_login: login,
                retrieve_password: pw,
            })
        }
        Route::Outbound { from } => {
            // A customer's mail: the customer is the envelope sender (a
            // relay may insist that it matches the login).
            let (sender, login, pw) = site_account(from)?;
            let x = suite.external.get(&rt.account).ok_or_else(|| {
                setup(format!(
                    "external mailbox {} is not in the suite",
                    rt.account
                ))
            })?;
            let ep = rt
                .protocol
                .endpoints()
                .iter()
                .find_map(|p| suite.external_endpoint(&rt.account, *p))
                .ok_or_else(|| {
                    setup(format!(
                        "external mailbox {} has no {} endpoint",
                        rt.account,
                        rt.protocol.as_str()
                    ))
                })?;
            let (xlogin, r) = suite.external_credentials(&rt.account).unwrap_or_default();
            let r = r.ok_or_else(|| {
                setup(format!(
                    "external mailbox {} has no password reference",
                    rt.account
                ))
            })?;
            let xpw = r.resolve().map_err(|e| {
                setup(format!(
                    "password of external mailbox {} ({}): {e}",
                    rt.account,
                    r.describe()
                ))
            })?;
            Ok(Plan {
                sender,
                to: x.address.clone(),
                submit_login: login,
                submit_password: pw,
                retrieve: ep,
                retrieve_login: xlogin,
                retrieve_password: xpw,
            })
        }
        Route::Echo { from, reflector } => {
            let (sender, login, pw) = site_account(from)?;
            let r = suite
                .reflectors
                .get(reflector)
                .ok_or_else(|| setup(format!("reflector {reflector} is not in the suite")))?;
            let (_, back_login, back_pw) = site_account(&rt.account)?;
            Ok(Plan {
                sender,
                to: r.address.clone(),
                submit_login: login,
                submit_password: pw,
                retrieve: site_retrieve()?,
                retrieve_login: back_login,
                retrieve_password: back_pw,
            })
        }
    }
}

pub(super) fn setup_err(account: &str, message: String) -> ProbeError {
    ProbeError {
        phase: "setup".into(),
        kind: ErrorKind::Local,
        message,
        host: Some(format!("account:{account}")),
        protocol: None,
    }
}

/// The account's password from its `password_env`/`password_file` reference;
/// the error names the reference, never a value.
pub fn resolve_password(suite: &SuiteSpec, account: &str) -> Result<Secret, ProbeError> {
    let r = suite.secret_ref(account).ok_or_else(|| {
        setup_err(
            account,
            format!("account {account} has no password reference"),
        )
    })?;
    r.resolve().map_err(|e| {
        setup_err(
            account,
            format!("password of {account} ({}): {e}", r.describe()),
        )
    })
}
