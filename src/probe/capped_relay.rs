//! A loopback relay that caps what a server may send, for a client library
//! that owns its socket.
//!
//! Why: ldap3 reads a PDU whole before decoding it, and re-parses the whole
//! buffer on every read. A server announcing a 100 MB PDU made the LDAP
//! probe hold 1.5 GB and burn seconds of CPU per read, past its step
//! timeout. ldap3 cannot be given a byte limit, but it can be given the
//! socket (`StdStream::Tcp`): we hand it one end of a loopback connection
//! and pump the server's bytes to it ourselves, counting them. Past the cap
//! both sockets close, the library sees a closed connection, and
//! [`Relay::over_cap`] says why. TLS (LDAPS, STARTTLS) runs inside the
//! library, through the relay, so the cap counts the bytes on the wire.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::AbortOnDrop;

/// The running relay; dropping it closes both connections at once.
pub struct Relay {
    _pump: AbortOnDrop,
    over: Arc<AtomicBool>,
}

impl Relay {
    /// Did the server send more than the cap (and the relay cut it off)?
    pub fn over_cap(&self) -> bool {
        self.over.load(Ordering::Relaxed)
    }
}

/// Start relaying `server`; returns the socket to give the library.
/// Setting up takes at most `within` (a loopback connect and accept).
pub async fn start(
    server: TcpStream,
    cap: u64,
    within: Duration,
) -> std::io::Result<(std::net::TcpStream, Relay)> {
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "loopback relay setup");
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let pair = async {
        let client = TcpStream::connect(addr).await?;
        let mine = client.local_addr()?;
        // Another local process could connect to the port first: accept
        // until the peer is our own client.
        loop {
            let (inner, peer) = listener.accept().await?;
            if peer == mine {
                return Ok::<_, std::io::Error>((client, inner));
            }
        }
    };
    let (client, inner) = tokio::time::timeout(within, pair)
        .await
        .map_err(|_| timed_out())??;
    drop(listener);
    let _ = client.set_nodelay(true);
    let _ = inner.set_nodelay(true);
    let over = Arc::new(AtomicBool::new(false));
    let pump = AbortOnDrop(tokio::spawn(pump(inner, server, cap, over.clone())));
    Ok((client.into_std()?, Relay { _pump: pump, over }))
}

/// Client bytes go up unchanged; server bytes come down until EOF, an
/// error, or the cap. When the down side ends, both connections close.
async fn pump(inner: TcpStream, server: TcpStream, cap: u64, over: Arc<AtomicBool>) {
    let (mut ir, mut iw) = inner.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut ir, &mut sw).await;
        let _ = sw.shutdown().await;
        // Keep relaying the server's last replies (e.g. after an unbind).
        std::future::pending::<()>().await
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        let mut total: u64 = 0;
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            total += n as u64;
            if total > cap {
                over.store(true, Ordering::Relaxed);
                break;
            }
            if iw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = iw.shutdown().await;
    };
    tokio::select! {
        _ = down => {}
        _ = up => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server writing `n` bytes then waiting; what reaches the client.
    async fn through(n: usize, cap: u64) -> (usize, bool) {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let _ = s.write_all(&vec![7u8; n]).await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let server = TcpStream::connect(addr).await.unwrap();
        let (client, relay) = start(server, cap, Duration::from_secs(2)).await.unwrap();
        client.set_nonblocking(true).unwrap();
        let mut client = TcpStream::from_std(client).unwrap();
        let mut got = Vec::new();
        let read = tokio::time::timeout(Duration::from_millis(500), client.read_to_end(&mut got));
        let closed = read.await.is_ok();
        assert!(closed || got.len() == n, "neither closed nor all through");
        (got.len(), relay.over_cap())
    }

    #[tokio::test]
    async fn under_the_cap_everything_passes_and_the_connection_stays() {
        let (got, over) = through(100_000, 1 << 20).await;
        assert_eq!((got, over), (100_000, false));
    }

    #[tokio::test]
    async fn over_the_cap_the_connection_closes_and_says_so() {
        let (got, over) = through(5 << 20, 1 << 20).await;
        assert!(over);
        assert!(got <= 1 << 20, "{got} bytes passed a 1 MiB cap");
    }

    #[tokio::test]
    async fn dropping_the_relay_closes_the_client_side() {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (_s, _) = l.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let server = TcpStream::connect(addr).await.unwrap();
        let (client, relay) = start(server, 1024, Duration::from_secs(2)).await.unwrap();
        client.set_nonblocking(true).unwrap();
        let mut client = TcpStream::from_std(client).unwrap();
        drop(relay);
        let mut got = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(2), client.read_to_end(&mut got)).await;
        assert!(matches!(r, Ok(Ok(0)) | Ok(Err(_))), "{r:?}");
    }
}
