//! The quick-start calculator: `{"Type": "CalculateRequest", "Data": {"numbers": [2, 2]}}` is
//! answered with `{"Type": "CalculateResponse", "Data": {"result": 4}}`.
//!
//! Run it with `cargo run --example calculator`; it listens on `EXWS_ADDR`
//! (default `127.0.0.1:8765`, port 0 picks a free port) and prints the address. If it cannot
//! start, it says why on stderr and exits with status 1. With `--features schema` it serves its
//! contract at <http://127.0.0.1:8765/asyncapi.json>.

use exws::{message, Server};
use serde::{Deserialize, Serialize};
use std::process::ExitCode;

/// Sum these numbers.
#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct CalculateRequest {
    /// The numbers to add.
    numbers: Vec<i64>,
}

/// The sum.
#[derive(Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct CalculateResponse {
    /// The sum of the request's numbers.
    result: i64,
}

/// Adds the numbers.
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
    let addr = std::env::var("EXWS_ADDR").unwrap_or_else(|_| "127.0.0.1:8765".to_owned());
    match serve(&addr).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `exws::Error` says what failed and what to do; the address is ours to explain.
            let hint = match error {
                exws::Error::Bind { .. } => "; set EXWS_ADDR to another address",
                _ => "",
            };
            eprintln!("calculator: {error}{hint}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: &str) -> Result<(), exws::Error> {
    let server = Server::new();
    // With `--features schema`, the contract is served at `GET /asyncapi.json`.
    #[cfg(feature = "schema")]
    let server = server
        .contract_info("calculator", env!("CARGO_PKG_VERSION"))
        .serve_asyncapi();
    let server = server.bind(addr).await?;
    println!("exws listening on ws://{}", server.local_addr());
    server
        .serve()
        .with_graceful_shutdown(exws::shutdown_signal())
        .await
}
