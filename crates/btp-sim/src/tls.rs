//! HTTPS on the simulator's one port, beside plain HTTP: each connection's first byte tells a TLS
//! handshake (`0x16`) from an HTTP request, and the same routes serve both.
//!
//! Why: SAP's token library for Node (`@sap/xssec` 4) fetches the keys that validate an XSUAA token
//! from `https://<uaa.uaadomain>/token_keys?zid=…`, always over https (its `XsuaaService`
//! prepends `https://` to `uaadomain`). A delivered key's `uaadomain` is the simulator's
//! `127.0.0.1:PORT`, so that fetch reaches this listener. The certificate is made once per process
//! for `127.0.0.1` and `localhost` by a throw-away CA, whose certificate
//! ([`ca_certificate_pem`]) a client trusts explicitly (Node: `NODE_EXTRA_CA_CERTS`). Nothing in
//! calmctl uses https to the simulator; plain HTTP stays the default.
//!
//! Certificates come from `rcgen` and TLS from `rustls` (both with `aws-lc-rs`, already in the
//! build through calmctl's HTTP client), rather than committed certificate files that expire.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The first byte of a TLS handshake record.
const HANDSHAKE: u8 = 0x16;

/// How long a new connection may stay silent before it is dropped.
const FIRST_BYTE_WAIT: Duration = Duration::from_secs(30);

struct Identity {
    ca_pem: String,
    acceptor: TlsAcceptor,
}

fn identity() -> Result<&'static Identity, String> {
    static IDENTITY: OnceLock<Result<Identity, String>> = OnceLock::new();
    IDENTITY
        .get_or_init(make_identity)
        .as_ref()
        .map_err(Clone::clone)
}

fn make_identity() -> Result<Identity, String> {
    let err = |e: rcgen::Error| e.to_string();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "btp-sim test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(err)?).map_err(err)?;
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .map_err(err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "btp-sim");
    let key = KeyPair::generate().map_err(err)?;
    let cert = params.signed_by(&key, &ca).map_err(err)?;
    let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone(), ca.der().clone()];
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Identity {
        ca_pem: ca.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

/// The PEM certificate of the CA that signs the simulator's https certificate (made once per
/// process): what a client must trust to call the simulator over https.
pub fn ca_certificate_pem() -> Result<String, String> {
    identity().map(|i| i.ca_pem.clone())
}

/// A connection, plain or TLS.
pub enum Conn {
    /// Plain HTTP.
    Plain(TcpStream),
    /// HTTPS.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A listener that serves plain HTTP and HTTPS on one port (see the module overview).
///
/// Connections are accepted and sorted by a background task, one task per connection, so that a
/// slow handshake or a silent client never holds up the others.
pub struct DualListener {
    ready: mpsc::Receiver<(Conn, SocketAddr)>,
    local: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl DualListener {
    /// Starts sorting the connections of `listener`.
    pub fn new(listener: TcpListener) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(256);
        let acceptor = tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::debug!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Some(conn) = sort(stream).await {
                        let _ = tx.send((conn, peer)).await;
                    }
                });
            }
        });
        Ok(DualListener {
            ready,
            local,
            acceptor,
        })
    }
}

impl Drop for DualListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// Plain or TLS, by the first byte; `None` for a connection closed, silent or failing its
/// handshake.
async fn sort(stream: TcpStream) -> Option<Conn> {
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(FIRST_BYTE_WAIT, stream.peek(&mut first)).await;
    if !matches!(peeked, Ok(Ok(1))) {
        return None;
    }
    if first[0] != HANDSHAKE {
        return Some(Conn::Plain(stream));
    }
    let identity = identity()
        .map_err(|e| tracing::warn!("no https certificate: {e}"))
        .ok()?;
    match tokio::time::timeout(FIRST_BYTE_WAIT, identity.acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(Conn::Tls(Box::new(tls))),
        _ => None,
    }
}

impl axum::serve::Listener for DualListener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The sorting task only ends when aborted, i.e. when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
