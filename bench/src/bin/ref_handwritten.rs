//! Reference server: the calculator written by hand on tokio-tungstenite, without a framework,
//! done well: one task owns its unsplit socket; it reads with exws's buffer sizes (2 KiB read
//! buffer, 32 KiB write buffer: tungstenite's 128 KiB default read buffer is zero-filled per
//! connection and costs ~10 % per reply here), borrows the envelope from the frame, matches
//! `Type`, decodes `Data`, `feed`s each reply with the `Id` echoed verbatim, and flushes once
//! when reading would block.

use clap::Parser;
use exws_bench::net::{announce, raise_fd_limit};
use exws_bench::proto::{CalculateRequest, CalculateResponse};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
#[command(about = "hand-written tokio-tungstenite calculator server (benchmark reference)")]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Type", borrow)]
    message_type: std::borrow::Cow<'a, str>,
    #[serde(rename = "Data", borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(rename = "Id", borrow, default)]
    id: Option<&'a RawValue>,
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
    // The same buffers as an exws server with default options.
    let config = WebSocketConfig::default()
        .read_buffer_size(2 * 1024)
        .write_buffer_size(32 * 1024)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20));
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    while let Some(Ok(mut message)) = ws.next().await {
        loop {
            if let Message::Text(text) = &message {
                let reply = answer(text.as_str());
                if ws.feed(Message::text(reply)).await.is_err() {
                    return;
                }
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

/// The reply to one text frame.
fn answer(text: &str) -> String {
    let envelope: Envelope<'_> = match serde_json::from_str(text) {
        Ok(envelope) => envelope,
        Err(error) => return error_reply("invalid_envelope", &error.to_string(), None),
    };
    let id = envelope.id.map(RawValue::get);
    match &*envelope.message_type {
        "CalculateRequest" => {
            let data = envelope.data.map_or("null", RawValue::get);
            match serde_json::from_str::<CalculateRequest>(data) {
                Ok(request) => {
                    let response = CalculateResponse {
                        result: request.numbers.iter().sum(),
                    };
                    reply("CalculateResponse", &response, id)
                }
                Err(error) => error_reply("invalid_data", &error.to_string(), id),
            }
        }
        other => error_reply(
            "unknown_type",
            &format!("no handler for type {other:?}"),
            id,
        ),
    }
}

fn reply<T: serde::Serialize>(message_type: &str, data: &T, id: Option<&str>) -> String {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"{\"Type\":\"");
    out.extend_from_slice(message_type.as_bytes());
    out.extend_from_slice(b"\",\"Data\":");
    // Our own reply types always serialize.
    let _ = serde_json::to_writer(&mut out, data);
    if let Some(id) = id {
        out.extend_from_slice(b",\"Id\":");
        out.extend_from_slice(id.as_bytes());
    }
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}

fn error_reply(code: &str, message: &str, id: Option<&str>) -> String {
    reply(
        "Error",
        &serde_json::json!({"code": code, "message": message}),
        id,
    )
}
