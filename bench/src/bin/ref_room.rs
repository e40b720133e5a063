//! Reference server: rooms written by hand on tokio-tungstenite, for the fan-out comparison.
//! `JoinRoom` answers `Joined`; `SendToRoom` encodes the `RoomMessage` once and hands the same
//! shared text to every other member's bounded queue (1,024 messages, dropped when full). One
//! task per connection owns its unsplit socket (exws's buffer sizes): it reads frames, and
//! writes what its queue holds, feeding all that is ready and flushing once.

use clap::Parser;
use exws_bench::net::{announce, raise_fd_limit};
use exws_bench::proto::{JoinRoom, Joined, RoomMessage, SendToRoom};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

#[derive(Parser)]
#[command(about = "hand-written tokio-tungstenite rooms server (benchmark reference)")]
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
}

/// Members of each room: connection id and queue.
type Rooms = Mutex<HashMap<String, Vec<(u64, mpsc::Sender<Utf8Bytes>)>>>;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    raise_fd_limit();
    let listener = TcpListener::bind(&args.addr).await?;
    announce(listener.local_addr()?);
    let rooms: Arc<Rooms> = Arc::default();
    let ids = Arc::new(AtomicU64::new(1));
    loop {
        let (stream, _) = listener.accept().await?;
        let id = ids.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(serve(stream, id, rooms.clone()));
    }
}

async fn serve(stream: TcpStream, id: u64, rooms: Arc<Rooms>) {
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(2 * 1024)
        .write_buffer_size(32 * 1024)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20));
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (sender, mut queue) = mpsc::channel::<Utf8Bytes>(1024);
    let mut joined: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            frame = ws.next() => {
                let Some(Ok(message)) = frame else { break };
                if let Message::Text(text) = message {
                    if let Some(reply) = handle(text.as_str(), id, &sender, &rooms, &mut joined) {
                        if ws.send(Message::text(reply)).await.is_err() {
                            break;
                        }
                    }
                }
            }
            Some(text) = queue.recv() => {
                if ws.feed(Message::Text(text)).await.is_err() {
                    break;
                }
                while let Ok(more) = queue.try_recv() {
                    if ws.feed(Message::Text(more)).await.is_err() {
                        break;
                    }
                }
                if ws.flush().await.is_err() {
                    break;
                }
            }
        }
    }
    let mut rooms = rooms.lock().unwrap_or_else(|poison| poison.into_inner());
    for room in joined {
        if let Some(members) = rooms.get_mut(&room) {
            members.retain(|(member, _)| *member != id);
        }
    }
}

/// Handles one frame; the reply to send, if any.
fn handle(
    text: &str,
    id: u64,
    sender: &mpsc::Sender<Utf8Bytes>,
    rooms: &Rooms,
    joined: &mut Vec<String>,
) -> Option<String> {
    let envelope: Envelope<'_> = serde_json::from_str(text).ok()?;
    let data = envelope.data.map_or("null", RawValue::get);
    match &*envelope.message_type {
        "JoinRoom" => {
            let request: JoinRoom = serde_json::from_str(data).ok()?;
            let members = {
                let mut rooms = rooms.lock().unwrap_or_else(|poison| poison.into_inner());
                let members = rooms.entry(request.room.clone()).or_default();
                members.push((id, sender.clone()));
                members.len()
            };
            joined.push(request.room.clone());
            let joined = Joined {
                room: request.room,
                members,
            };
            Some(envelope_text("Joined", &joined))
        }
        "SendToRoom" => {
            let request: SendToRoom = serde_json::from_str(data).ok()?;
            let message = RoomMessage {
                room: request.room,
                from: id.to_string(),
                text: request.text,
            };
            // Encoded once; each member's queue gets the same shared bytes.
            let frame = Utf8Bytes::from(envelope_text("RoomMessage", &message));
            let rooms = rooms.lock().unwrap_or_else(|poison| poison.into_inner());
            if let Some(members) = rooms.get(&message.room) {
                for (member, queue) in members {
                    if *member != id {
                        let _ = queue.try_send(frame.clone());
                    }
                }
            }
            None
        }
        _ => None,
    }
}

fn envelope_text<T: serde::Serialize>(message_type: &str, data: &T) -> String {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"{\"Type\":\"");
    out.extend_from_slice(message_type.as_bytes());
    out.extend_from_slice(b"\",\"Data\":");
    // Our own messages always serialize.
    let _ = serde_json::to_writer(&mut out, data);
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}
