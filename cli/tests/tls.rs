//! `exws call wss://...`: TLS with the public roots, and `--cacert` for a private certificate.

mod common;
#[path = "../../clients/rust/tests/tls_support/mod.rs"]
mod tls_support;

use common::*;
use std::net::SocketAddr;

/// The test server's address, from its `ws://ADDR` URL.
fn backend(server: &Running) -> SocketAddr {
    server
        .url
        .trim_start_matches("ws://")
        .parse()
        .expect("the server's URL holds its address")
}

#[tokio::test]
async fn cacert_files_in_pem_or_der_let_call_reach_a_wss_server() {
    let server = start(false).await;
    let proxy = tls_support::start(backend(&server)).await;
    let dir = std::env::temp_dir().join(format!("exws-cli-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let pem = dir.join("server.pem");
    let der = dir.join("server.der");
    std::fs::write(&pem, &proxy.cert_pem).expect("the PEM file is written");
    std::fs::write(&der, &proxy.cert_der).expect("the DER file is written");

    for file in [&pem, &der] {
        let output = run([
            "--cacert",
            file.to_str().expect("a UTF-8 path"),
            "call",
            &proxy.url,
            "CalculateRequest",
            r#"{"numbers": [20, 22]}"#,
        ])
        .await;
        assert_eq!(
            stdout(&output),
            "{\"result\":42}\n",
            "with {}; stderr: {}",
            file.display(),
            stderr(&output)
        );
        assert_eq!(output.status.code(), Some(0));
    }

    // Without it, the self-signed certificate is refused: a connection failure.
    let output = run(["call", &proxy.url, "CalculateRequest", "{}"]).await;
    assert_eq!(output.status.code(), Some(3), "stderr: {}", stderr(&output));
    assert!(
        stderr(&output).contains("certificate"),
        "says why: {}",
        stderr(&output)
    );

    // A file that holds no certificate is a usage error that names it.
    let bogus = dir.join("bogus.pem");
    std::fs::write(&bogus, "-----BEGIN NOTHING-----\n-----END NOTHING-----\n").expect("written");
    let output = run([
        "--cacert",
        bogus.to_str().expect("a UTF-8 path"),
        "call",
        &proxy.url,
        "CalculateRequest",
        "{}",
    ])
    .await;
    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    assert!(stderr(&output).contains("bogus.pem"), "{}", stderr(&output));
    let _ = std::fs::remove_dir_all(&dir);
    server.stop().await;
}
