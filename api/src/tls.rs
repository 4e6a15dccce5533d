//! TLS for the API: kubectl (client-go) sends a bearer token only over TLS, so the API is
//! served over it with a self-signed certificate for `127.0.0.1`, `::1` and `localhost`, made at
//! the first `serve --listen` and kept in `<state-dir>/api/tls.crt` and `tls.key` (the key
//! readable by its owner only). The kubeconfig trusts exactly that certificate
//! (`certificate-authority-data`).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub fn cert_path(state_dir: &Path) -> PathBuf {
    super::auth::api_dir(state_dir).join("tls.crt")
}

fn key_path(state_dir: &Path) -> PathBuf {
    super::auth::api_dir(state_dir).join("tls.key")
}

/// The certificate (PEM) and key (PEM) of the state directory, made when missing.
pub fn certificate(state_dir: &Path) -> Result<(String, String), String> {
    let (cert, key) = (cert_path(state_dir), key_path(state_dir));
    if let (Ok(c), Ok(k)) = (
        std::fs::read_to_string(&cert),
        std::fs::read_to_string(&key),
    ) {
        return Ok((c, k));
    }
    let names = vec![
        "127.0.0.1".to_string(),
        "::1".to_string(),
        "localhost".to_string(),
    ];
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot make the API's certificate: {e}"))?;
    let (cert_pem, key_pem) = (made.cert.pem(), made.key_pair.serialize_pem());
    let write = |path: &Path, text: &str, mode: u32| {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    std::fs::create_dir_all(super::auth::api_dir(state_dir))
        .map_err(|e| format!("{}: {e}", state_dir.display()))?;
    write(&key, &key_pem, 0o600)?;
    write(&cert, &cert_pem, 0o644)?;
    Ok((cert_pem, key_pem))
}

/// A TLS acceptor for the certificate and key (PEM).
pub fn acceptor(cert_pem: &str, key_pem: &str) -> Result<tokio_rustls::TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the API's certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| format!("the API's key: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Accepts TCP connections and completes their TLS handshakes; a failed handshake (a client
/// that does not trust the certificate, or speaks plain HTTP) drops that connection only.
pub struct TlsListener {
    pub tcp: tokio::net::TcpListener,
    pub acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                // Out of descriptors and the like: wait a little rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            };
            let handshake = self.acceptor.accept(stream);
            if let Ok(Ok(tls)) =
                tokio::time::timeout(std::time::Duration::from_secs(10), handshake).await
            {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
