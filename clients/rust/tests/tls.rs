//! `wss://`: the client speaks TLS (rustls) to a server whose certificate it trusts, and refuses
//! one it does not. The server is a real exws server behind a TLS-terminating proxy (the usual
//! deployment), with a self-signed certificate made for the test.

#![cfg(feature = "tls")]

mod common;
mod tls_support;

use common::{within, CalculateRequest, CalculateResponse};
use exws::{handlers, Server};
use exws_client::{Client, ConnectError};
use std::future::IntoFuture;

/// An exws server behind a TLS proxy; returns the proxy's `wss://localhost:PORT/` URL and its
/// certificate (DER).
async fn start_tls_server() -> (String, Vec<u8>) {
    let server = within(Server::with_handlers(handlers![common::calculate]).bind("127.0.0.1:0"))
        .await
        .expect("the server binds");
    let backend = server.local_addr();
    tokio::spawn(server.serve().into_future());
    let proxy = tls_support::start(backend).await;
    (proxy.url, proxy.cert_der)
}

#[tokio::test]
async fn a_wss_server_with_a_trusted_certificate_answers_calls() {
    let (url, cert) = start_tls_server().await;
    let client = within(Client::builder(&url).add_root_certificate(cert).connect())
        .await
        .expect("connects over TLS");
    let reply: CalculateResponse = within(client.call(&CalculateRequest {
        numbers: vec![2, 2],
    }))
    .await
    .expect("a reply over TLS");
    assert_eq!(reply, CalculateResponse { result: 4 });
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let (url, _cert) = start_tls_server().await;
    let error = within(Client::builder(&url).reconnect(false).connect())
        .await
        .expect_err("a self-signed certificate is not trusted by default");
    assert!(
        matches!(error, ConnectError::Transport(_)),
        "a TLS failure, got {error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("certificate") || text.contains("Certificate"),
        "the error says it is about the certificate: {text}"
    );
}

#[tokio::test]
async fn an_invalid_root_certificate_is_a_typed_error() {
    let (url, _cert) = start_tls_server().await;
    let error = within(
        Client::builder(&url)
            .add_root_certificate(b"not a certificate".to_vec())
            .connect(),
    )
    .await
    .expect_err("garbage is no root certificate");
    assert!(
        matches!(error, ConnectError::InvalidCertificate { .. }),
        "got {error:?}"
    );
}
