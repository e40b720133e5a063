//! The gateway of the benchmark: `exws gateway` embedded, with exws's default options. Clients
//! connect to the printed `ws://ADDR/ws/bench`; the echo backend (`gateway_echo_backend`) to
//! the printed backend address. With `--rust-echo`, a Rust handler answers `CalculateRequest`
//! envelopes itself with the same envelope (the ceiling: the same echo without the trip to
//! the backend); the backend still admits the clients.

use clap::Parser;
use exws::gateway::{Gateway, GatewayConfig};
use exws::{handlers, message, Server};
use exws_bench::net::raise_fd_limit;
use exws_bench::proto::CalculateRequest;
use std::io::Write;
use std::net::SocketAddr;

#[derive(Parser)]
#[command(about = "exws gateway (benchmark)")]
struct Args {
    /// WebSocket address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
    /// Backend address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    backend_addr: SocketAddr,
    /// Answer `CalculateRequest` in Rust (the same echo) instead of through the backend.
    #[arg(long)]
    rust_echo: bool,
    /// The most client connections at once.
    #[arg(long, default_value_t = 20_000)]
    max_connections: usize,
    /// Print the `listening on` line only once this many backends are connected, so that a
    /// benchmark's clients never race the backends (the gateway refuses clients while none is).
    #[arg(long, default_value_t = 0)]
    wait_backends: usize,
}

/// The echo as a Rust handler: the request back, as the same envelope.
#[message]
async fn echo(request: CalculateRequest) -> CalculateRequest {
    request
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    raise_fd_limit();
    let server = if args.rust_echo {
        Server::with_handlers(handlers![echo])
    } else {
        Server::with_handlers([])
    };
    let server = server.max_connections(args.max_connections);
    let config = GatewayConfig::default()
        .backend_addr(args.backend_addr)
        .request_timeout(std::time::Duration::from_secs(30));
    let gateway = Gateway::new(config)
        .bind(server, args.addr.as_str())
        .await?;
    println!("backend on {}", gateway.backend_addr());
    std::io::stdout().flush()?;
    let status = gateway.status();
    let ws_addr = gateway.ws_addr();
    let serving = tokio::spawn(std::future::IntoFuture::into_future(gateway.serve()));
    while status.backends() < args.wait_backends {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    println!("listening on ws://{ws_addr}/ws/bench");
    std::io::stdout().flush()?;
    serving.await??;
    Ok(())
}
