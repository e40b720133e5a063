//! The calculator over `wss://`: the standalone server terminates TLS itself.
//!
//! Run it with the certificate chain and key (PEM) named by `EXWS_TLS_CERT` and `EXWS_TLS_KEY`:
//!
//! ```text
//! EXWS_TLS_CERT=cert.pem EXWS_TLS_KEY=key.pem cargo run --example tls
//! exws --cacert cert.pem call wss://localhost:8765/ CalculateRequest '{"numbers":[2,2]}'
//! ```
//!
//! It listens on `EXWS_ADDR` (default `127.0.0.1:8765`, port 0 picks a free port) and prints the
//! address. The certificate is reloaded when its files change (checked every 30 s). If it
//! cannot start, it says why on stderr and exits with status 1.

use exws::{message, Server, TlsConfig};
use serde::{Deserialize, Serialize};
use std::process::ExitCode;

#[derive(Deserialize)]
struct CalculateRequest {
    numbers: Vec<i64>,
}

#[derive(Serialize)]
struct CalculateResponse {
    result: i64,
}

#[message]
async fn calculate(request: CalculateRequest) -> CalculateResponse {
    CalculateResponse {
        result: request.numbers.iter().sum(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tls: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The file named by the environment variable `name`.
fn required_path(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(path) if !path.is_empty() => Ok(path),
        _ => Err(format!(
            "{name} is not set: set EXWS_TLS_CERT to the certificate chain's PEM file and \
             EXWS_TLS_KEY to its private key's"
        )),
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let cert = required_path("EXWS_TLS_CERT")?;
    let key = required_path("EXWS_TLS_KEY")?;
    let tls = TlsConfig::from_pem_files(&cert, &key)?;
    let addr = std::env::var("EXWS_ADDR").unwrap_or_else(|_| "127.0.0.1:8765".to_owned());
    let server = Server::new()
        .tls(tls)
        .bind(&addr)
        .await
        .map_err(|error| match error {
            exws::Error::Bind { .. } => format!("{error}; set EXWS_ADDR to another address"),
            error => error.to_string(),
        })?;
    println!("exws listening on wss://{}", server.local_addr());
    server
        .serve()
        .with_graceful_shutdown(exws::shutdown_signal())
        .await?;
    Ok(())
}
