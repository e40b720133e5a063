//! A gateway with a Rust handler beside its backend: `{"Type": "Quote", "Data": {"symbol":
//! "EXWS"}}` is answered in Rust with `{"Type": "QuoteReply", ...}`; every other text frame
//! (plain text, other envelopes) goes to the PyStrands backend connected on the backend port,
//! as `new_message`. A team moves handlers from the backend to Rust one `Type` at a time.
//!
//! Run it with `cargo run --example gateway_bridge --features gateway`, then a backend (see
//! docs/GATEWAY.md, "Quick start"). Clients connect to `ws://127.0.0.1:8080/ws/<room>`
//! (`EXWS_ADDR`), backends to `127.0.0.1:8081` (`EXWS_BACKEND_ADDR`).

use exws::gateway::{Gateway, GatewayConfig};
use exws::{handlers, message, Server};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::process::ExitCode;

/// Asks for the price of a symbol.
#[derive(Deserialize)]
struct Quote {
    symbol: String,
}

/// The price, answered in Rust without a trip to the backend.
#[derive(Serialize)]
struct QuoteReply {
    symbol: String,
    cents: u64,
}

/// Answers `Quote` envelopes; the backend never sees them.
#[message]
async fn quote(request: Quote) -> QuoteReply {
    let cents = request.symbol.bytes().map(u64::from).sum::<u64>() * 10;
    QuoteReply {
        symbol: request.symbol,
        cents,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let ws_addr = std::env::var("EXWS_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let backend_addr =
        std::env::var("EXWS_BACKEND_ADDR").unwrap_or_else(|_| "127.0.0.1:8081".to_owned());
    let Ok(backend_addr) = backend_addr.parse::<SocketAddr>() else {
        eprintln!("gateway_bridge: EXWS_BACKEND_ADDR={backend_addr:?} is not an ip:port address");
        return ExitCode::FAILURE;
    };
    let config = GatewayConfig::default().backend_addr(backend_addr);
    let server = Server::with_handlers(handlers![quote]);
    let gateway = match Gateway::new(config).bind(server, ws_addr.as_str()).await {
        Ok(gateway) => gateway,
        Err(error) => {
            eprintln!("gateway_bridge: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "gateway_bridge: clients on ws://{}/ws/<room>, backends on {}",
        gateway.ws_addr(),
        gateway.backend_addr()
    );
    match gateway
        .serve()
        .with_graceful_shutdown(exws::shutdown_signal())
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gateway_bridge: {error}");
            ExitCode::FAILURE
        }
    }
}
