//! The daemon's HTTP listener (status page, `/metrics`, `/healthz`, the
//! agent API), built to face a network rather than `axum::serve`'s defaults:
//!
//! - a **header-read timeout** (hyper's timer): a client that connects and
//!   sends nothing, or drips its request line a byte at a time, is cut off;
//! - a **bound on open connections**: over it, a new connection is closed at
//!   once (counted), so idle or slow clients cannot pile up file
//!   descriptors and tasks in the very process that runs the probes;
//! - a **lifetime cap** per connection (keep-alive included) and a TLS
//!   handshake deadline, so nothing is held forever;
//! - optional **TLS** (rustls, ring).
//!
//! Each request carries the peer address (`ConnectInfo`) so a refusal can be
//! logged with where it came from (never with the credential).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// How much the listener tolerates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// A request's headers must arrive whole within this (also the TLS handshake).
    pub header_timeout: Duration,
    /// Connections open at once; more are closed on accept.
    pub max_connections: usize,
    /// Longest a connection (with keep-alive) may stay open.
    pub max_lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(5),
            max_connections: 512,
            max_lifetime: Duration::from_secs(300),
        }
    }
}

/// Counters of the listener (exported as metrics).
#[derive(Debug, Default)]
pub struct Stats {
    pub open: AtomicU64,
    pub accepted: AtomicU64,
    /// Closed on accept because `max_connections` were open.
    pub refused: AtomicU64,
}

impl Stats {
    fn get(a: &AtomicU64) -> u64 {
        a.load(Ordering::Relaxed)
    }
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            Self::get(&self.open),
            Self::get(&self.accepted),
            Self::get(&self.refused),
        )
    }
}

/// Decrements the open count when a connection task ends, however it ends.
struct Open(Arc<Stats>);
impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serve `app` on `listener` until `stop` turns true; then stop accepting,
/// let requests in flight finish for a moment, and close the rest.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            _ = stopped(&mut stop) => break,
            // Reap finished connection tasks so the set stays small.
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("http: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            drop(tcp);
            continue;
        };
        stats.open.fetch_add(1, Ordering::Relaxed);
        let open = Open(stats.clone());
        let (app, tls, stop) = (app.clone(), tls.clone(), stop.clone());
        conns.spawn(async move {
            let _slot = (permit, open);
            let _ = tcp.set_nodelay(true);
            match tls {
                None => connection(tcp, peer, app, limits, stop).await,
                Some(acc) => {
                    match tokio::time::timeout(limits.header_timeout, acc.accept(tcp)).await {
                        Ok(Ok(s)) => connection(s, peer, app, limits, stop).await,
                        Ok(Err(e)) => tracing::debug!("http: TLS handshake from {peer}: {e}"),
                        Err(_) => tracing::debug!("http: TLS handshake from {peer} timed out"),
                    }
                }
            }
        });
    }
    // Stopping: connections get a short grace to finish, then are aborted.
    let grace = tokio::time::sleep(Duration::from_secs(2));
    tokio::pin!(grace);
    loop {
        tokio::select! {
            _ = &mut grace => break,
            n = conns.join_next() => if n.is_none() { break },
        }
    }
    conns.shutdown().await;
}

/// Resolves once `stop` is true (or its sender is gone); holds no borrow.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// One HTTP/1.1 connection under the limits.
async fn connection<IO>(
    io: IO,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        // Router is always ready; its error type is Infallible.
        tower_service::Service::call(&mut app, req.map(axum::body::Body::new))
    });
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    let conn = b.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    let life = tokio::time::sleep(limits.max_lifetime);
    tokio::pin!(life);
    tokio::select! {
        r = conn.as_mut() => if let Err(e) = r {
            tracing::debug!("http: connection from {peer}: {e}");
        },
        _ = &mut life => tracing::debug!("http: connection from {peer} reached its lifetime cap"),
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
        }
    }
}

/// A TLS acceptor from PEM files (rustls with ring).
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let certs = rustls_pemfile::certs(&mut read(cert)?.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate", cert.display()));
    }
    let key_der = rustls_pemfile::private_key(&mut read(key)?.as_slice())
        .map_err(|e| format!("{}: {e}", key.display()))?
        .ok_or_else(|| format!("{}: no private key", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| format!("{} / {}: {e}", cert.display(), key.display()))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}
