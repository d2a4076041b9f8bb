//! Signals the daemon acts on: SIGHUP reloads, SIGTERM/SIGINT stop.

use tokio::signal::unix::{Signal, SignalKind, signal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// Re-read and validate the schedule; swap only if valid.
    Reload,
    /// Stop scheduling, let running jobs finish within the grace period.
    Stop,
}

pub struct Signals {
    hup: Signal,
    term: Signal,
    int: Signal,
}

impl Signals {
    /// Install the handlers (before the daemon reports itself ready, so an
    /// early SIGHUP is never fatal).
    pub fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    pub async fn next(&mut self) -> Sig {
        tokio::select! {
            _ = self.hup.recv() => Sig::Reload,
            _ = self.term.recv() => Sig::Stop,
            _ = self.int.recv() => Sig::Stop,
        }
    }
}
