//! A TLS-terminating proxy in front of a plain exws server (the usual deployment), with a fresh
//! self-signed certificate for `localhost`. Shared by the client's and the CLI's TLS tests
//! (`#[path]`-included by the latter).

// Each test binary uses a different part of it.
#![allow(dead_code)]

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A running proxy.
pub(crate) struct TlsProxy {
    /// `wss://localhost:PORT/`.
    pub url: String,
    /// The proxy's certificate, DER.
    pub cert_der: Vec<u8>,
    /// The same certificate, PEM.
    pub cert_pem: String,
}

/// Starts a proxy on 127.0.0.1 that terminates TLS and forwards each connection to `backend`.
pub(crate) async fn start(backend: SocketAddr) -> TlsProxy {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("a self-signed certificate");
    let cert_der = certified.cert.der().to_vec();
    let cert_pem = certified.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert_der.clone())], key)
        .expect("the certificate and key match");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the proxy binds");
    let port = listener.local_addr().expect("an address").port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A failed handshake (an untrusting client) just ends this connection.
                let Ok(mut tls) = acceptor.accept(client).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    TlsProxy {
        url: format!("wss://localhost:{port}/"),
        cert_der,
        cert_pem,
    }
}
