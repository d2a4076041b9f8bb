//! In-process fake servers for hostile-behaviour tests (tokio, 127.0.0.1:0).
//!
//! `FakeServer::start(|peer| async move { ... })` runs the handler once per
//! accepted connection. A [`Peer`] sends bytes, reads the client's lines
//! (recorded, so a test can assert what the client did or did NOT send),
//! upgrades to TLS, and has the usual misbehaviours ready: slow drip,
//! endless line, huge reply, garbage, close mid-reply, silence.
//! [`TestPki`] makes CA / leaf / wrong-name / expired / self-signed
//! certificates with the `openssl` command (Debian package `openssl`).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use healthmon::suite::model::{Proto, TlsMode, TlsSpec};
use healthmon::suite::resolve::Endpoint;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub mod ldap;
pub mod smtp;

/// Longest client line a fake reads (the fake is bounded too).
const FAKE_MAX_LINE: usize = 65_536;

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What a fake saw: the client's lines, bytes it sent us, connections.
#[derive(Clone, Default)]
pub struct Record {
    lines: Arc<Mutex<Vec<String>>>,
    pub sent: Arc<AtomicUsize>,
    pub connections: Arc<AtomicUsize>,
}

impl Record {
    /// Client lines, CRLF stripped, lossy UTF-8.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
    /// Did the client send a line starting with `verb` (case-insensitive)?
    pub fn saw(&self, verb: &str) -> bool {
        let v = verb.to_ascii_uppercase();
        self.lines()
            .iter()
            .any(|l| l.to_ascii_uppercase().starts_with(&v))
    }
    /// Did the client send a line with the word `verb` anywhere (an IMAP
    /// command comes after its tag)? Case-insensitive.
    pub fn saw_word(&self, verb: &str) -> bool {
        self.lines()
            .iter()
            .any(|l| l.split(' ').any(|w| w.eq_ignore_ascii_case(verb)))
    }
    /// Bytes the fake managed to hand to the kernel for the client.
    pub fn sent_bytes(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }
}

/// One accepted connection, as the handler sees it.
pub struct Peer {
    io: Option<Box<dyn Io>>,
    buf: Vec<u8>,
    pub rec: Record,
}

impl Peer {
    /// Send bytes; false once the client has gone.
    pub async fn send(&mut self, b: &[u8]) -> bool {
        let Some(io) = self.io.as_mut() else {
            return false;
        };
        let ok = io.write_all(b).await.is_ok() && io.flush().await.is_ok();
        if ok {
            self.rec.sent.fetch_add(b.len(), Ordering::Relaxed);
        }
        ok
    }

    pub async fn say(&mut self, line: &str) -> bool {
        self.send(format!("{line}\r\n").as_bytes()).await
    }

    /// Read more from the client; None on EOF or error.
    async fn fill(&mut self) -> Option<()> {
        let mut chunk = [0u8; 4096];
        let n = self.io.as_mut()?.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Some(())
    }

    /// Next raw line with its line ending; None on EOF or an over-long line.
    async fn raw_line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                return Some(self.buf.drain(..=i).collect());
            }
            if self.buf.len() > FAKE_MAX_LINE {
                return None;
            }
            self.fill().await?;
        }
    }

    /// Next client line (recorded); None on EOF or an over-long line.
    pub async fn line(&mut self) -> Option<String> {
        let raw = self.raw_line().await?;
        let s = String::from_utf8_lossy(&raw).trim_end().to_string();
        self.rec.lines.lock().unwrap().push(s.clone());
        Some(s)
    }

    /// Exactly `n` bytes (an IMAP literal, a DATA body of known size).
    pub async fn bytes(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            self.fill().await?;
        }
        Some(self.buf.drain(..n).collect())
    }

    /// Lines up to (not including) a line that is exactly `.` (SMTP DATA),
    /// raw, each with its CRLF: the body exactly as the client sent it.
    pub async fn data_body(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let raw = self.raw_line().await?;
            if raw == b".\r\n" {
                return Some(body);
            }
            body.extend_from_slice(&raw);
        }
    }

    /// Wait until the client closes (a server that never answers).
    pub async fn silence(&mut self) {
        let mut sink = [0u8; 1024];
        while let Some(io) = self.io.as_mut() {
            match io.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    /// Send `data` one byte per `every`.
    pub async fn slow_drip(&mut self, data: &[u8], every: Duration) {
        for b in data {
            if !self.send(std::slice::from_ref(b)).await {
                return;
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Send `fill` forever without a newline, until the client goes.
    pub async fn endless_line(&mut self, fill: u8) {
        let chunk = vec![fill; 16 * 1024];
        while self.send(&chunk).await {}
    }

    /// A multi-line reply of about `total` bytes: `prefix` lines of 1000
    /// bytes (e.g. `250-`), until the total is reached or the client goes.
    pub async fn huge_reply(&mut self, prefix: &str, total: usize) {
        let mut line = prefix.as_bytes().to_vec();
        line.resize(998, b'x');
        line.extend_from_slice(b"\r\n");
        let block: Vec<u8> = line.repeat(64);
        let mut sent = 0;
        while sent < total && self.send(&block).await {
            sent += block.len();
        }
    }

    /// `n` bytes of everything a parser hates: NUL, ESC, invalid UTF-8, `]]>`.
    pub async fn garbage(&mut self, n: usize) {
        let pattern = b"\x00\x1b[2J\xff\xfe]]>\x07\r\x85";
        let data: Vec<u8> = pattern.iter().copied().cycle().take(n).collect();
        self.send(&data).await;
    }

    /// Send the start of a reply, then drop the connection.
    pub async fn close_mid_reply(&mut self, partial: &[u8]) {
        self.send(partial).await;
        self.close().await;
    }

    pub async fn close(&mut self) {
        if let Some(mut io) = self.io.take() {
            let _ = io.shutdown().await;
        }
    }

    /// Server side of STARTTLS / implicit TLS; false when the handshake failed.
    pub async fn start_tls(&mut self, acceptor: &tokio_rustls::TlsAcceptor) -> bool {
        assert!(self.buf.is_empty(), "client pipelined data before TLS");
        let Some(io) = self.io.take() else {
            return false;
        };
        match acceptor.accept(io).await {
            Ok(s) => {
                self.io = Some(Box::new(s));
                true
            }
            Err(_) => false,
        }
    }
}

/// A listening fake; the accept loop stops when it is dropped.
pub struct FakeServer {
    pub addr: SocketAddr,
    pub rec: Record,
    task: JoinHandle<()>,
}

impl FakeServer {
    /// Listen on 127.0.0.1:0; `handler` runs once per connection.
    pub async fn start<F, Fut>(handler: F) -> FakeServer
    where
        F: Fn(Peer) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let rec = Record::default();
        let r2 = rec.clone();
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let _ = s.set_nodelay(true);
                r2.connections.fetch_add(1, Ordering::Relaxed);
                let p = Peer {
                    io: Some(Box::new(s)),
                    buf: Vec::new(),
                    rec: r2.clone(),
                };
                tokio::spawn(handler(p));
            }
        });
        FakeServer { addr, rec, task }
    }

    /// Keep serving until the test's runtime ends, and hand back what a
    /// test needs to talk to the fake and read its record.
    pub fn detach(self) -> (SocketAddr, Record) {
        let this = std::mem::ManuallyDrop::new(self);
        (this.addr, this.rec.clone())
    }

    /// An endpoint for this fake (host `fake`, verification as `tls_options`).
    pub fn endpoint(&self, proto: Proto, tls: TlsMode) -> Endpoint {
        endpoint(self.addr, proto, tls)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn endpoint(addr: SocketAddr, proto: Proto, tls: TlsMode) -> Endpoint {
    Endpoint {
        host: "fake".into(),
        address: addr.ip().to_string(),
        port: addr.port(),
        proto,
        tls,
        tls_options: TlsSpec::default(),
        auth: None,
    }
}

// ------------------------------------------------------------------ certificates

/// A throwaway PKI in a temp dir, made with the `openssl` command.
pub struct TestPki {
    pub dir: tempfile::TempDir,
    /// CA certificate (PEM) to put in `tls_options.ca_file`.
    pub ca: PathBuf,
    ca_key: PathBuf,
}

/// Certificate + key files of one server identity.
#[derive(Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Run `openssl` with whitespace-separated `args` in `dir`.
fn openssl(dir: &Path, args: &str) {
    let args: Vec<&str> = args.split_whitespace().collect();
    let out = Command::new("openssl")
        .args(&args)
        .current_dir(dir)
        .output()
        .expect("the openssl command is needed for TLS tests (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh P-256 key, no passphrase.
const NEW_KEY: &str = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

impl TestPki {
    pub fn new() -> TestPki {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        openssl(
            d,
            &format!(
                "req -x509 {NEW_KEY} -keyout ca.key -out ca.pem -days 30 -subj /CN=healthmon-test-CA \
                 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
            ),
        );
        TestPki {
            ca: d.join("ca.pem"),
            ca_key: d.join("ca.key"),
            dir,
        }
    }

    fn key_and_csr(&self, name: &str, sans: &[&str]) {
        let cn = sans.first().copied().unwrap_or(name);
        openssl(
            self.dir.path(),
            &format!("req {NEW_KEY} -keyout {name}.key -out {name}.csr -subj /CN={cn}"),
        );
    }

    /// `subjectAltName=DNS:a,IP:b` for the names and addresses given.
    fn san(sans: &[&str]) -> String {
        let san: Vec<String> = sans
            .iter()
            .map(|s| match s.parse::<std::net::IpAddr>() {
                Ok(_) => format!("IP:{s}"),
                Err(_) => format!("DNS:{s}"),
            })
            .collect();
        format!("subjectAltName={}", san.join(","))
    }

    fn ext_file(&self, name: &str, sans: &[&str]) -> String {
        let f = format!("{name}.ext");
        std::fs::write(
            self.dir.path().join(&f),
            format!(
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n{}\n",
                Self::san(sans)
            ),
        )
        .unwrap();
        f
    }

    fn files(&self, name: &str) -> CertFiles {
        CertFiles {
            cert: self.dir.path().join(format!("{name}.pem")),
            key: self.dir.path().join(format!("{name}.key")),
        }
    }

    /// A leaf signed by the CA, valid now, for `sans` (DNS names or IPs).
    pub fn leaf(&self, name: &str, sans: &[&str]) -> CertFiles {
        self.key_and_csr(name, sans);
        let ext = self.ext_file(name, sans);
        openssl(
            self.dir.path(),
            &format!(
                "x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 20 \
                 -extfile {ext} -out {name}.pem"
            ),
        );
        self.files(name)
    }

    /// A leaf signed by the CA whose validity ended in 2021.
    pub fn expired_leaf(&self, name: &str, sans: &[&str]) -> CertFiles {
        self.key_and_csr(name, sans);
        let ext = self.ext_file(name, sans);
        let d = self.dir.path();
        // `openssl ca` is the only 3.0 command that takes explicit dates.
        std::fs::write(d.join("index.txt"), "").unwrap();
        std::fs::write(d.join("serial"), "1000\n").unwrap();
        std::fs::write(
            d.join("ca.cnf"),
            "[ca]\ndefault_ca=c\n[c]\ndir=.\ndatabase=index.txt\nserial=serial\n\
             new_certs_dir=.\ndefault_md=sha256\npolicy=p\nunique_subject=no\n\
             [p]\ncommonName=supplied\n",
        )
        .unwrap();
        openssl(
            d,
            &format!(
                "ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in {name}.csr \
                 -out {name}.pem -startdate 20200101000000Z -enddate 20210101000000Z \
                 -extfile {ext} -notext"
            ),
        );
        self.files(name)
    }

    /// A self-signed leaf (no CA knows it; not a CA itself).
    pub fn self_signed(&self, name: &str, sans: &[&str]) -> CertFiles {
        let cn = sans.first().copied().unwrap_or(name);
        openssl(
            self.dir.path(),
            &format!(
                "req -x509 {NEW_KEY} -keyout {name}.key -out {name}.pem -days 20 -subj /CN={cn} \
                 -addext {} -addext basicConstraints=critical,CA:FALSE",
                Self::san(sans)
            ),
        );
        self.files(name)
    }
}

impl TestPki {
    /// A self-signed certificate as `openssl req -x509` makes it for a
    /// server: `CA:TRUE`, the server's names in subjectAltName.
    pub fn self_signed_ca(&self, name: &str, sans: &[&str]) -> CertFiles {
        let cn = sans.first().copied().unwrap_or(name);
        openssl(
            self.dir.path(),
            &format!(
                "req -x509 {NEW_KEY} -keyout {name}.key -out {name}.pem -days 20 -subj /CN={cn} \
                 -addext {} -addext basicConstraints=critical,CA:TRUE",
                Self::san(sans)
            ),
        );
        self.files(name)
    }
}

/// SHA-256 fingerprint of a PEM certificate as openssl prints it
/// (`AB:CD:...`), the form an operator pastes into `pin_sha256`.
pub fn fingerprint(cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    s.trim().rsplit('=').next().unwrap_or_default().to_string()
}

/// notAfter of a PEM certificate file, unix seconds (via openssl).
pub fn not_after(cert: &Path) -> i64 {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    let v = s.trim().trim_start_matches("notAfter=");
    chrono::NaiveDateTime::parse_from_str(v.trim_end_matches('Z'), "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("cannot parse {v:?}: {e}"))
        .and_utc()
        .timestamp()
}

/// A TLS acceptor serving `files` (ring provider, TLS 1.2 and 1.3).
pub fn acceptor(files: &CertFiles) -> tokio_rustls::TlsAcceptor {
    let certs: Vec<_> = rustls_pemfile::certs(&mut std::fs::read(&files.cert).unwrap().as_slice())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut std::fs::read(&files.key).unwrap().as_slice())
        .unwrap()
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}
