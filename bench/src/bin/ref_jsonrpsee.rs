//! Reference server: jsonrpsee's WebSocket server with a macro-defined `calculate` method, the
//! nearest Rust peer of exws's macro-defined handlers. The load generator talks to it with
//! `--protocol jsonrpc`.

use clap::Parser;
use exws_bench::net::{announce, raise_fd_limit};
use exws_bench::proto::CalculateResponse;
use jsonrpsee::core::async_trait;
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::server::{Server, ServerConfig};
use jsonrpsee::types::ErrorObjectOwned;

#[derive(Parser)]
#[command(about = "jsonrpsee WebSocket calculator server (benchmark reference)")]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
    /// The most connections at once.
    #[arg(long, default_value_t = 20_000)]
    max_connections: u32,
}

/// The calculator as a JSON-RPC API.
#[rpc(server)]
pub trait Calculator {
    /// Sums `numbers`.
    #[method(name = "calculate")]
    async fn calculate(&self, numbers: Vec<i64>) -> Result<CalculateResponse, ErrorObjectOwned>;
}

struct Calc;

#[async_trait]
impl CalculatorServer for Calc {
    async fn calculate(&self, numbers: Vec<i64>) -> Result<CalculateResponse, ErrorObjectOwned> {
        Ok(CalculateResponse {
            result: numbers.iter().sum(),
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    raise_fd_limit();
    let config = ServerConfig::builder()
        .max_connections(args.max_connections)
        .build();
    let server = Server::builder()
        .set_config(config)
        .build(&args.addr)
        .await?;
    announce(server.local_addr()?);
    let handle = server.start(Calc.into_rpc());
    handle.stopped().await;
    Ok(())
}
