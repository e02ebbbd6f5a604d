//! TLS for the service: certificate loading or self-signing, and a
//! listener for `axum::serve`.
//!
//! The handshake runs in its own task per connection rather than inside
//! `Listener::accept`, so one slow or silent client cannot stall the
//! accept loop for everyone else.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the server's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsConfig {
    /// A fresh self-signed certificate for these names (DNS names or IP
    /// addresses), generated at start-up with rcgen.
    SelfSigned { subject_names: Vec<String> },
    /// PEM files: the certificate chain and its private key.
    Files {
        certificate_chain_path: PathBuf,
        private_key_path: PathBuf,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "give both a certificate and a private key path, or neither for a self-signed certificate"
    )]
    HalfConfigured,
    #[error("reading certificate chain {path}")]
    ReadCertificate {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("certificate file {path} holds no certificate")]
    NoCertificate { path: PathBuf },
    #[error("reading private key {path}")]
    ReadPrivateKey {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("generating a self-signed certificate")]
    SelfSign(#[from] rcgen::Error),
    #[error("building the tls configuration")]
    Rustls(#[from] rustls::Error),
}

impl TlsConfig {
    /// A self-signed certificate for `localhost` and `127.0.0.1`.
    pub fn self_signed() -> TlsConfig {
        TlsConfig::SelfSigned {
            subject_names: vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
        }
    }

    /// Files when both paths are given, self-signed when neither is.
    pub fn from_paths(
        certificate_chain_path: Option<PathBuf>,
        private_key_path: Option<PathBuf>,
    ) -> Result<TlsConfig, TlsError> {
        match (certificate_chain_path, private_key_path) {
            (Some(certificate_chain_path), Some(private_key_path)) => Ok(TlsConfig::Files {
                certificate_chain_path,
                private_key_path,
            }),
            (None, None) => Ok(TlsConfig::self_signed()),
            _ => Err(TlsError::HalfConfigured),
        }
    }

    /// The rustls configuration (ring provider, HTTP/1.1 by ALPN).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let (certificate_chain, private_key) = match self {
            TlsConfig::SelfSigned { subject_names } => {
                let certified = rcgen::generate_simple_self_signed(subject_names.clone())?;
                let key = PrivateKeyDer::try_from(certified.key_pair.serialize_der())
                    .map_err(|reason| rustls::Error::General(reason.to_owned()))?;
                (vec![certified.cert.der().clone()], key)
            }
            TlsConfig::Files {
                certificate_chain_path,
                private_key_path,
            } => {
                let chain = CertificateDer::pem_file_iter(certificate_chain_path)
                    .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                    .map_err(|source| TlsError::ReadCertificate {
                        path: certificate_chain_path.clone(),
                        source,
                    })?;
                if chain.is_empty() {
                    return Err(TlsError::NoCertificate {
                        path: certificate_chain_path.clone(),
                    });
                }
                let key = PrivateKeyDer::from_pem_file(private_key_path).map_err(|source| {
                    TlsError::ReadPrivateKey {
                        path: private_key_path.clone(),
                        source,
                    }
                })?;
                (chain, key)
            }
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certificate_chain, private_key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The peer address of a connection, for per-IP login rate limiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub SocketAddr);

impl Connected<IncomingStream<'_, TlsListener>> for ClientAddress {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> ClientAddress {
        ClientAddress(*stream.remote_addr())
    }
}

/// A TCP listener whose connections come out already TLS-terminated.
pub struct TlsListener {
    local_address: SocketAddr,
    established: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> TlsListener {
        let local_address = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (sender, established) = mpsc::channel(256);
        tokio::spawn(accept_and_handshake(
            listener,
            TlsAcceptor::from(config),
            sender,
        ));
        TlsListener {
            local_address,
            established,
        }
    }
}

async fn accept_and_handshake(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    sender: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = sender.closed() => return,
        };
        let (tcp_stream, peer_address) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::debug!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp_stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp_stream)).await {
                Ok(Ok(tls_stream)) => {
                    let _ = sender.send((tls_stream, peer_address)).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer_address, %error, "tls handshake failed"),
                Err(_) => tracing::debug!(%peer_address, "tls handshake timed out"),
            }
        });
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.established.recv().await {
            Some(established) => established,
            // The accept task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_address)
    }
}
