//! A chat server: rooms, direct messages and broadcasts, on one process or many, with a chat
//! page for browsers.
//!
//! ```sh
//! cargo run --example chat                                   # one process
//! EXWS_REDIS_URL=redis://127.0.0.1:6379/ EXWS_ADDR=127.0.0.1:8801 cargo run --features redis --example chat
//! EXWS_REDIS_URL=redis://127.0.0.1:6379/ EXWS_ADDR=127.0.0.1:8802 cargo run --features redis --example chat
//! EXWS_NATS_URL=nats://127.0.0.1:4222 EXWS_ADDR=127.0.0.1:8803 cargo run --features nats --example chat
//! ```
//! With `EXWS_REDIS_URL`, every process sharing that Redis acts as one chat server; with
//! `EXWS_NATS_URL`, every process sharing that NATS (run with JetStream, `nats-server -js`).
//!
//! Open <http://127.0.0.1:8765/> for the chat page: `examples/chat/index.html` and its script
//! `chat.js` (at `/chat.js`), plain HTML and JavaScript, and the browser client, which the
//! server serves at `/exws.js`. With `--features schema` it also
//! serves its contract at `/asyncapi.json`.
//!
//! Messages (`Data` fields in braces): on connect the server sends `Welcome {id}`;
//! `JoinRoom {room}` → `Joined {room, members}`; `LeaveRoom {room}` → `Left {room}`;
//! `SendToRoom {room, text}` → the room's other members get `RoomMessage {room, from, text}`;
//! `DirectMessage {to, text}` → `to` gets `Direct {from, text}`; `Broadcast {text}` → everyone
//! gets `Broadcasted {from, text}`.
//!
//! Who is here: exws's presence. Each connection's presence meta is `{"name": ...}`, from the
//! `?name=` of its URL (at most 32 characters; `null` without). A member of a room opens the
//! built-in presence watch, `PresenceWatch {room}` with an `Id`: the first item is
//! `PresenceState {room, presences}` (every connection in the room, a user's connections
//! together), the next ones `PresenceDiff {room, joins, leaves}` as connections join and leave
//! the room; closing counts as leaving every room. The watch ends (`StreamEnd`) when the
//! watcher leaves the room, or cancels it (`StreamCancel`). See `docs/PROTOCOL.md`, "Presence".

use exws::{message, Connection, Context, Hub, HubError, PresenceConfig, Server};
use exws_workspace::chat::{
    Broadcast, Broadcasted, Direct, DirectMessage, JoinRoom, Joined, LeaveRoom, Left, RoomMessage,
    SendToRoom, Welcome,
};
use std::process::ExitCode;

/// Joins a room; answers with its member count. The room's presence watchers get a
/// `PresenceDiff` (exws sends it).
#[message]
async fn join_room(
    request: JoinRoom,
    connection: Connection,
    hub: Hub,
) -> Result<Joined, HubError> {
    let members = hub.join(connection.id(), &request.room).await?;
    Ok(Joined {
        room: request.room,
        members,
    })
}

/// Leaves a room; its presence watchers get a `PresenceDiff`, and this connection's own watch
/// of the room ends.
#[message]
async fn leave_room(
    request: LeaveRoom,
    connection: Connection,
    hub: Hub,
) -> Result<Left, HubError> {
    hub.leave(connection.id(), &request.room).await?;
    Ok(Left { room: request.room })
}

/// A connection's presence meta: `{"name": ...}` from its URL's `?name=`, at most 32
/// characters (`null` without a name).
fn presence_meta(connection: &Connection) -> serde_json::Value {
    let name = connection
        .handshake()
        .query_param("name")
        .map(|name| name.trim().chars().take(32).collect::<String>())
        .filter(|name| !name.is_empty());
    match name {
        Some(name) => serde_json::json!({ "name": name }),
        None => serde_json::Value::Null,
    }
}

/// Sends a text to the room's other members, as a `RoomMessage`.
#[message]
async fn send_to_room(
    request: SendToRoom,
    connection: Connection,
    hub: Hub,
) -> Result<(), HubError> {
    let message = RoomMessage {
        room: request.room.clone(),
        from: connection.id().to_string(),
        text: request.text,
    };
    hub.room(&request.room)
        .except(connection.id())
        .send(&message)
        .await
}

/// Sends a text to one connection, as a `Direct`.
#[message]
async fn direct_message(
    request: DirectMessage,
    connection: Connection,
    hub: Hub,
) -> Result<(), HubError> {
    let message = Direct {
        from: connection.id().to_string(),
        text: request.text,
    };
    hub.to(&request.to.into()).send(&message).await
}

/// Sends a text to every connection, the sender included, as a `Broadcasted`.
#[message]
async fn broadcast(request: Broadcast, connection: Connection, hub: Hub) -> Result<(), HubError> {
    let message = Broadcasted {
        from: connection.id().to_string(),
        text: request.text,
    };
    hub.everyone().send(&message).await
}

async fn welcome(context: Context) {
    let connection = context.connection();
    let welcome = Welcome {
        id: connection.id().to_string(),
    };
    // A client that is already gone needs no welcome.
    let _ = connection.send(&welcome).await;
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
            // exws's errors say what failed and what to do; the variables are ours to explain.
            let hint = match error.downcast_ref::<exws::Error>() {
                Some(exws::Error::Bind { .. }) => "; set EXWS_ADDR to another address",
                Some(exws::Error::Adapter(_)) => "; check EXWS_REDIS_URL or EXWS_NATS_URL",
                _ if error.is::<exws::adapter::AdapterError>() => {
                    "; check EXWS_REDIS_URL or EXWS_NATS_URL"
                }
                _ => "",
            };
            eprintln!("chat: {error}{hint}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut server = Server::new()
        .on_connect(welcome)
        // Who is here: joins and leaves go to the rooms' presence watchers (members only).
        .presence(PresenceConfig::new().meta(presence_meta))
        .http_file(
            "/",
            "text/html; charset=utf-8",
            include_str!("chat/index.html").as_bytes(),
        )
        .http_file(
            "/chat.js",
            "text/javascript; charset=utf-8",
            include_str!("chat/chat.js").as_bytes(),
        )
        .serve_browser_client()
        // `GET /health` for load balancers: 503 while Redis or NATS is unreachable.
        .serve_health();
    // With `--features prometheus`, exws's metrics at `GET /metrics` on the same port.
    #[cfg(feature = "prometheus")]
    {
        server = server.serve_metrics();
    }
    // With `--features schema`, the contract is served at `GET /asyncapi.json`, the messages
    // the server sends on its own included.
    #[cfg(feature = "schema")]
    {
        use exws_workspace::chat::{Broadcasted, Direct, RoomMessage, Welcome};
        server = server
            .contract_info("chat", env!("CARGO_PKG_VERSION"))
            .pushes::<Welcome>()
            .pushes::<RoomMessage>()
            .pushes::<Direct>()
            .pushes::<Broadcasted>()
            .serve_asyncapi();
    }
    match (
        std::env::var("EXWS_REDIS_URL"),
        std::env::var("EXWS_NATS_URL"),
    ) {
        (Ok(_), Ok(_)) => {
            return Err("EXWS_REDIS_URL and EXWS_NATS_URL are both set: choose one engine".into())
        }
        (Ok(url), Err(_)) => server = with_redis(server, &url)?,
        (Err(_), Ok(url)) => server = with_nats(server, &url)?,
        (Err(_), Err(_)) => {}
    }
    let server = server.bind(addr).await?;
    println!("exws listening on ws://{}", server.local_addr());
    println!("chat page: http://{}/", server.local_addr());
    server
        .serve()
        .with_graceful_shutdown(exws::shutdown_signal())
        .await?;
    Ok(())
}

#[cfg(feature = "redis")]
fn with_redis(server: Server, url: &str) -> Result<Server, Box<dyn std::error::Error>> {
    Ok(server.adapter(exws::adapter::RedisAdapter::new(url)?))
}

#[cfg(not(feature = "redis"))]
fn with_redis(_server: Server, _url: &str) -> Result<Server, Box<dyn std::error::Error>> {
    Err(
        "EXWS_REDIS_URL is set but this build has no Redis support: run with `--features redis`"
            .into(),
    )
}

#[cfg(feature = "nats")]
fn with_nats(server: Server, url: &str) -> Result<Server, Box<dyn std::error::Error>> {
    Ok(server.adapter(exws::adapter::NatsAdapter::new(url)?))
}

#[cfg(not(feature = "nats"))]
fn with_nats(_server: Server, _url: &str) -> Result<Server, Box<dyn std::error::Error>> {
    Err(
        "EXWS_NATS_URL is set but this build has no NATS support: run with `--features nats`"
            .into(),
    )
}
