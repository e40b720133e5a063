//! exws mounted in an axum app: one port serves `GET /health` (200, `ok`) and the calculator
//! over WebSocket at `/ws`, beside whatever else the app routes.
//!
//! Run it with `cargo run --example axum`; it listens on `EXWS_ADDR` (default
//! `127.0.0.1:8765`) and prints the address. Ctrl-C stops the app, then closes the WebSocket
//! connections gracefully.

use axum::routing::get;
use axum::Router;
use exws::{handlers, message, Server};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
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
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("EXWS_ADDR").unwrap_or_else(|_| "127.0.0.1:8765".to_owned());
    let calculator = Server::with_handlers(handlers![calculate]).build().await?;
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/ws", calculator.axum_route());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error} (set EXWS_ADDR to another address)"))?;
    let local = listener.local_addr()?;
    println!("exws listening on ws://{local}/ws (health: http://{local}/health)");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(exws::shutdown_signal())
    .await?;
    calculator.shutdown().await;
    Ok(())
}
