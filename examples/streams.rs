//! Streams beside replies on one connection: `Countdown {from, interval_ms}` answers `Tick {n}`
//! for n = from down to 1 then `StreamEnd`; `Forever {interval_ms}` answers `Tick {n}` for
//! n = 1, 2, 3... until the client sends `StreamCancel`; `CalculateRequest` is the calculator.
//! Stream requests carry an `Id`, which every item carries back.
//!
//! Run it with `cargo run --example streams`; it listens on `EXWS_ADDR` (default
//! `127.0.0.1:8765`) and prints the address. Try it with the CLI:
//! `exws stream ws://127.0.0.1:8765 Countdown '{"from": 3, "interval_ms": 200}'`. With
//! `--features schema` it serves its contract at <http://127.0.0.1:8765/asyncapi.json>.

use exws::{handlers, message, Server};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct CalculateRequest {
    numbers: Vec<i64>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct CalculateResponse {
    result: i64,
}

#[message]
async fn calculate(request: CalculateRequest) -> CalculateResponse {
    CalculateResponse {
        result: request.numbers.iter().sum(),
    }
}

#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct Countdown {
    from: u32,
    interval_ms: u64,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct Forever {
    interval_ms: u64,
}

#[derive(Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct Tick {
    n: u32,
}

/// Ticks from `from` down to 1, one per interval, then `StreamEnd`.
#[message]
async fn countdown(request: Countdown) -> impl Stream<Item = Tick> {
    let interval = Duration::from_millis(request.interval_ms.min(60_000));
    futures_util::stream::unfold(request.from, move |n| async move {
        if n == 0 {
            return None;
        }
        tokio::time::sleep(interval).await;
        Some((Tick { n }, n - 1))
    })
}

/// Ticks 1, 2, 3... one per interval, until cancelled: a producer task feeds the stream, and
/// stops when the client cancels (its sends fail).
#[message]
async fn forever(request: Forever) -> impl Stream<Item = Tick> {
    let interval = Duration::from_millis(request.interval_ms.clamp(1, 60_000));
    let (sender, items) = exws::stream::channel(16);
    tokio::spawn(async move {
        for n in 1.. {
            tokio::time::sleep(interval).await;
            if sender.send(Tick { n }).await.is_err() {
                break;
            }
        }
    });
    items
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let addr = std::env::var("EXWS_ADDR").unwrap_or_else(|_| "127.0.0.1:8765".to_owned());
    let server = Server::with_handlers(handlers![calculate, countdown, forever]);
    // With `--features schema`, the contract is served at `GET /asyncapi.json`.
    #[cfg(feature = "schema")]
    let server = server
        .contract_info("streams", env!("CARGO_PKG_VERSION"))
        .serve_asyncapi();
    let server = match server.bind(addr.as_str()).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("exws listening on ws://{}", server.local_addr());
    match server
        .serve()
        .with_graceful_shutdown(exws::shutdown_signal())
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
