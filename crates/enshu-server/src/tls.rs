//! TLS for the service: certificate loading or self-signing, and a
//! listener for `axum::serve`.
//!
//! The handshake runs in its own task per connection rather than inside
//! `Listener::accept`, so one slow or silent client cannot stall the
//! accept loop for everyone else. Before it, each connection takes a
//! place per client address and in all (`fair_share`): one over a cap is
//! closed at once and counted, and a handshake not done within its
//! timeout is dropped, so half-open connections cannot pile up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
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

use crate::fair_share::{FairShare, PortalConnectionPermit};

/// How long a client may take to finish the TLS handshake, by default.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
    #[error("keeping the session's certificate in {path}")]
    Keep {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The certificate a session's server presents, kept between starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptCertificate {
    /// What the server loads (the kept PEM files).
    pub config: TlsConfig,
    /// Where the certificate (PEM) is, for clients that pin it.
    pub certificate_path: PathBuf,
    /// SHA-256 of the certificate (DER), as `AB:CD:…`, what browsers show.
    pub sha256: String,
}

/// SHA-256 fingerprint of a DER certificate, colon-separated upper-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(der)
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The fingerprint of the first certificate in a PEM file.
pub fn fingerprint_of_file(path: &std::path::Path) -> Result<String, TlsError> {
    let first = CertificateDer::pem_file_iter(path)
        .and_then(|mut certificates| certificates.next().transpose())
        .map_err(|source| TlsError::ReadCertificate {
            path: path.to_path_buf(),
            source,
        })?
        .ok_or_else(|| TlsError::NoCertificate {
            path: path.to_path_buf(),
        })?;
    Ok(fingerprint(first.as_ref()))
}

/// A self-signed certificate for `subject_names` kept in `directory`
/// (`certificate.pem`, `key.pem` 0600, `names`): made the first time, and
/// again only when the names change, so that a restarted server presents
/// the certificate trainees' browsers and the CLI already pinned.
pub fn kept_self_signed(
    directory: &std::path::Path,
    subject_names: &[String],
) -> Result<KeptCertificate, TlsError> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let keep = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Keep { path, source }
    };
    let certificate_path = directory.join("certificate.pem");
    let key_path = directory.join("key.pem");
    let names_path = directory.join("names");
    let names = subject_names.join("\n");
    let current = std::fs::read_to_string(&names_path).ok().as_deref() == Some(names.as_str())
        && certificate_path.exists()
        && key_path.exists();
    if !current {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(directory)
            .map_err(keep(directory))?;
        let certified = rcgen::generate_simple_self_signed(subject_names.to_vec())?;
        let write = |path: &std::path::Path, text: &str| -> Result<(), TlsError> {
            use std::io::Write as _;
            let temporary = path.with_extension("tmp");
            let _ = std::fs::remove_file(&temporary);
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temporary)
                .and_then(|mut file| file.write_all(text.as_bytes()))
                .and_then(|()| std::fs::rename(&temporary, path))
                .map_err(keep(path))
        };
        write(&key_path, &certified.key_pair.serialize_pem())?;
        write(&certificate_path, &certified.cert.pem())?;
        write(&names_path, &names)?;
    }
    Ok(KeptCertificate {
        sha256: fingerprint_of_file(&certificate_path)?,
        config: TlsConfig::Files {
            certificate_chain_path: certificate_path.clone(),
            private_key_path: key_path,
        },
        certificate_path,
    })
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

/// A TLS connection to the portal with its place (`fair_share`), given
/// back when the connection is dropped.
pub struct PortalStream {
    stream: TlsStream<TcpStream>,
    _permit: PortalConnectionPermit,
}

impl tokio::io::AsyncRead for PortalStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(context, buffer)
    }
}

impl tokio::io::AsyncWrite for PortalStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(context, buffer)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// A TCP listener whose connections come out already TLS-terminated.
pub struct TlsListener {
    local_address: SocketAddr,
    established: mpsc::Receiver<(PortalStream, SocketAddr)>,
}

impl TlsListener {
    /// With the default caps and handshake timeout, counted on their own.
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> TlsListener {
        TlsListener::with_limits(
            listener,
            config,
            Arc::new(FairShare::new(Default::default())),
            HANDSHAKE_TIMEOUT,
        )
    }

    /// Connections take their places in `fair_share` (and are counted
    /// there when refused); a handshake gets `handshake_timeout`.
    pub fn with_limits(
        listener: TcpListener,
        config: Arc<ServerConfig>,
        fair_share: Arc<FairShare>,
        handshake_timeout: Duration,
    ) -> TlsListener {
        let local_address = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (sender, established) = mpsc::channel(256);
        tokio::spawn(accept_and_handshake(
            listener,
            TlsAcceptor::from(config),
            fair_share,
            handshake_timeout,
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
    fair_share: Arc<FairShare>,
    handshake_timeout: Duration,
    sender: mpsc::Sender<(PortalStream, SocketAddr)>,
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
        let permit = match fair_share.admit_portal_connection(peer_address.ip()) {
            Ok(permit) => permit,
            Err(_) => {
                // Closed at once: the client sees the end, not a hang.
                drop(tcp_stream);
                tracing::debug!(%peer_address, "portal connection over its cap, closed");
                continue;
            }
        };
        let _ = tcp_stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp_stream)).await {
                Ok(Ok(stream)) => {
                    let established = PortalStream {
                        stream,
                        _permit: permit,
                    };
                    let _ = sender.send((established, peer_address)).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer_address, %error, "tls handshake failed"),
                Err(_) => tracing::debug!(%peer_address, "tls handshake timed out"),
            }
        });
    }
}

impl Listener for TlsListener {
    type Io = PortalStream;
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

/// A client configuration that accepts exactly one server certificate: the
/// one whose SHA-256 fingerprint (as [`fingerprint`] writes it) `serve`
/// printed and kept. The CLI talks to its session's server with it, so it
/// never accepts another certificate, self-signed or not, whatever name or
/// address the server is reached by.
pub fn pinned_client_config(sha256: &str) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedCertificate {
        sha256: sha256.trim().to_ascii_uppercase(),
        provider: provider.clone(),
    });
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth()
}

#[derive(Debug)]
struct PinnedCertificate {
    sha256: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if fingerprint(end_entity.as_ref()) == self.sha256 {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_kept_certificate_survives_a_restart_until_its_names_change() {
        let directory = std::env::temp_dir().join(format!("enshu-tls-kept-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        let names = vec!["localhost".to_string(), "192.0.2.7".to_string()];
        let first = kept_self_signed(&directory, &names).unwrap();
        let again = kept_self_signed(&directory, &names).unwrap();
        assert_eq!(
            first.sha256, again.sha256,
            "a restart presents the same certificate"
        );
        assert_eq!(first.sha256.len(), 32 * 3 - 1);
        let mode = |name: &str| {
            std::fs::metadata(directory.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("key.pem"), 0o600);
        assert_eq!(
            std::fs::metadata(&directory).unwrap().permissions().mode() & 0o777,
            0o700
        );
        first.config.server_config().unwrap();
        pinned_client_config(&first.sha256);
        let moved = kept_self_signed(&directory, &["localhost".to_string()]).unwrap();
        assert_ne!(moved.sha256, first.sha256, "new names, new certificate");
        let _ = std::fs::remove_dir_all(&directory);
    }
}
