//! TLS for `wss://` URLs (feature `tls`, on by default): rustls with the *ring* provider,
//! Mozilla's root certificates (`webpki-roots`) plus any roots the application adds.

use crate::error::ConnectError;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;
use tokio_tungstenite::Connector;

/// The connector for one connection attempt: trusts the public roots and `extra_roots` (DER).
pub(crate) fn connector(extra_roots: &[Vec<u8>]) -> Result<Connector, ConnectError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in extra_roots {
        roots
            .add(CertificateDer::from(der.as_slice()))
            .map_err(|error| ConnectError::InvalidCertificate {
                reason: error.to_string(),
            })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ConnectError::InvalidCertificate {
            reason: format!("no usable TLS protocol version: {error}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Connector::Rustls(Arc::new(config)))
}
