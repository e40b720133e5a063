//! The transport every test server and client uses, from `EXWS_TEST_TRANSPORT`: `plain` (the
//! default: the standalone server over TCP), `tls` (the standalone server with `Server::tls` and
//! a certificate made by the test, which the clients trust) or `axum` (the server's
//! `exws::Endpoint` as the fallback of an axum app). One set of tests runs over each.

use super::timing::within;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// The transport the tests run over, from `EXWS_TEST_TRANSPORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The standalone server over TCP.
    Plain,
    /// The standalone server over TLS (`Server::tls`).
    Tls,
    /// The endpoint mounted as the fallback of an axum app.
    Axum,
}

/// The transport of this test run: `EXWS_TEST_TRANSPORT` = `plain` (default), `tls` or `axum`.
pub fn transport() -> Transport {
    match std::env::var("EXWS_TEST_TRANSPORT").as_deref() {
        Err(_) | Ok("" | "plain") => Transport::Plain,
        Ok("tls") => Transport::Tls,
        Ok("axum") => Transport::Axum,
        Ok(other) => panic!("EXWS_TEST_TRANSPORT={other:?}: use plain, tls or axum"),
    }
}

/// Whether the test should stop here because it is about something `transport` does not
/// have; says so, with `reason`, on stderr.
pub fn skipped_over(transport: Transport, reason: &str) -> bool {
    let skipped = self::transport() == transport;
    if skipped {
        // Straight to stderr: the test harness captures `eprintln!` of passing tests.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "skipped over {transport:?}: {reason}");
    }
    skipped
}

/// Any byte stream a test client talks over: TCP, or TLS over TCP.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// The one stream type of the test clients, whatever the transport.
pub type TestStream = Box<dyn Stream>;

/// A self-signed certificate for `localhost` and `127.0.0.1`, made once per test binary.
pub struct TestCertificate {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8).
    pub key_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// Its private key, DER (PKCS#8).
    pub key_der: Vec<u8>,
}

/// This test binary's certificate.
pub fn test_certificate() -> &'static TestCertificate {
    static CERTIFICATE: OnceLock<TestCertificate> = OnceLock::new();
    CERTIFICATE.get_or_init(|| {
        let generated = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("rcgen makes a certificate");
        TestCertificate {
            cert_pem: generated.cert.pem(),
            key_pem: generated.key_pair.serialize_pem(),
            cert_der: generated.cert.der().to_vec(),
            key_der: generated.key_pair.serialize_der(),
        }
    })
}

/// The server's TLS settings with [`test_certificate`].
pub fn test_tls_config() -> exws::TlsConfig {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let certificate = test_certificate();
    let key = PrivatePkcs8KeyDer::from(certificate.key_der.clone());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("rustls's default versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(certificate.cert_der.clone())],
        PrivateKeyDer::Pkcs8(key),
    )
    .expect("the test certificate is usable");
    exws::TlsConfig::from_rustls(Arc::new(config))
}

/// A TLS client that trusts [`test_certificate`] (and nothing else) and offers ALPN
/// `http/1.1`.
pub fn tls_connector() -> tokio_rustls::TlsConnector {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                test_certificate().cert_der.clone(),
            ))
            .expect("the test certificate is a valid root");
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("rustls's default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    });
    tokio_rustls::TlsConnector::from(config.clone())
}

/// Opens a byte stream to a test server over this run's transport: TCP, with a TLS handshake
/// (SNI `localhost`) on top for `tls`.
pub async fn connect_stream(addr: SocketAddr) -> TestStream {
    connect_stream_with(addr, |_| {}).await
}

/// [`connect_stream`] with `configure` applied to the TCP socket first (e.g. a zero linger, so
/// that dropping the stream resets the connection).
pub async fn connect_stream_with(
    addr: SocketAddr,
    configure: impl FnOnce(&TcpStream),
) -> TestStream {
    let tcp = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("TCP connect to the test server");
    configure(&tcp);
    if transport() != Transport::Tls {
        return Box::new(tcp);
    }
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a valid name");
    let tls = within("the TLS handshake", tls_connector().connect(name, tcp))
        .await
        .expect("the TLS handshake succeeds");
    Box::new(tls)
}
