//! Reference server: a raw tokio-tungstenite echo server, the ceiling of the stack. Every text
//! frame comes back unchanged; replies are flushed once per batch of frames already read.

use clap::Parser;
use exws_bench::net::{announce, raise_fd_limit};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser)]
#[command(about = "tokio-tungstenite echo server (benchmark reference)")]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    raise_fd_limit();
    let listener = TcpListener::bind(&args.addr).await?;
    announce(listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(serve(stream));
    }
}

async fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    while let Some(Ok(mut message)) = ws.next().await {
        loop {
            if message.is_text() && ws.feed(message).await.is_err() {
                return;
            }
            match ws.next().now_or_never() {
                Some(Some(Ok(next))) => message = next,
                Some(_) => return,
                None => break,
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}
