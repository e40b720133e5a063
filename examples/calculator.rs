//! The quick-start calculator: `{"Type": "CalculateRequest", "Data": {"numbers": [2, 2]}}` is
//! answered with `{"Type": "CalculateResponse", "Data": {"result": 4}}`.
//!
//! Run it with `cargo run --example calculator`; it listens on `EXWS_ADDR`
//! (default `127.0.0.1:8765`, port 0 picks a free port) and prints the address. If it cannot
//! start, it says why on stderr and exits with status 1.

use exws::{message, Server};
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
    let server = Server::new().bind(addr).await?;
    println!("exws listening on ws://{}", server.local_addr());
    server.serve_with_shutdown(exws::shutdown_signal()).await
}
