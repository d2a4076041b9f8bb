//! Diagnostics go to stderr through tracing; results go to stdout.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Colour only on a terminal, and never with NO_COLOR set to anything
/// non-empty (no-color.org): a redirected stderr is a log file or a pipe.
fn colour(tty: bool, no_color: Option<std::ffi::OsString>) -> bool {
    tty && no_color.is_none_or(|v| v.is_empty())
}

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
        .with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("".into())));
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None));
    }
}
