//! Diagnostics go to stderr through tracing; results go to stdout.

use tracing_subscriber::EnvFilter;

/// `-v` debug, `-vv` trace, `-q` errors only; RUST_LOG wins when set.
/// Crates that log credentials at debug/trace (lettre, async-imap, ldap3's
/// protocol dumps) are capped at info whatever the level.
pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        _ => "trace",
    };
    let base = std::env::var("RUST_LOG").unwrap_or_else(|_| format!("healthmon={level},{level}"));
    let filter = format!(
        "{base},lettre=info,async_imap=info,ldap3=info,rustls=info,hyper=info,reqwest=info"
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
