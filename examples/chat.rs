//! A chat server: rooms, direct messages and broadcasts, on one process or many, with a chat
//! page for browsers.
//!
//! ```sh
//! cargo run --example chat                                   # one process
//! EXWS_REDIS_URL=redis://127.0.0.1:6379/ EXWS_ADDR=127.0.0.1:8801 cargo run --features redis --example chat
//! EXWS_REDIS_URL=redis://127.0.0.1:6379/ EXWS_ADDR=127.0.0.1:8802 cargo run --features redis --example chat
//! ```
//! With `EXWS_REDIS_URL`, every process sharing that Redis acts as one chat server.
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
//! Who is here: `Members {room}` → `MemberList {room, members}` (connection ids, sorted), and
//! the asking connection starts *watching* the room: until it leaves the room (`LeaveRoom`) or
//! closes, it gets `Presence {room, id, joined}` whenever another connection joins
//! (`joined: true`) or leaves (`joined: false`) the room; closing counts as leaving every room.
//! Connections that never asked for `Members` get no `Presence`. Since the server starts the
//! watch before it reads the list, a join or leave is in the list or in a `Presence`.

use exws::{message, Connection, ConnectionId, Context, DisconnectReason, Hub, HubError, Server};
use exws_workspace::chat::{
    Broadcast, Broadcasted, Direct, DirectMessage, JoinRoom, Joined, LeaveRoom, Left, MemberList,
    Members, Presence, RoomMessage, SendToRoom, Welcome,
};
use std::process::ExitCode;

/// The watchers of room `R` are the members of the hub room `WATCHERS` + `R`, so presence
/// notices reach them on every process. U+2063 (invisible separator) is not a control
/// character, so the hub accepts the name, and no one types it.
const WATCHERS: &str = "\u{2063}watchers\u{2063}";

/// The hub room of the watchers of `room`.
fn watchers_of(room: &str) -> String {
    format!("{WATCHERS}{room}")
}

/// Tells the watchers of `room`, but `id` itself, that `id` joined or left it. Best effort: a
/// notice that could not reach other processes does not fail the request that caused it.
async fn announce(hub: &Hub, room: &str, id: &ConnectionId, joined: bool) {
    let presence = Presence {
        room: room.to_owned(),
        id: id.to_string(),
        joined,
    };
    let _ = hub
        .room(&watchers_of(room))
        .except(id)
        .send(&presence)
        .await;
}

/// Joins a room; answers with its member count. The room's watchers get a `Presence`.
#[message]
async fn join_room(
    request: JoinRoom,
    connection: Connection,
    hub: Hub,
) -> Result<Joined, HubError> {
    let already_in = hub.rooms_of(connection.id()).contains(&request.room);
    let members = hub.join(connection.id(), &request.room).await?;
    if !already_in {
        announce(&hub, &request.room, connection.id(), true).await;
    }
    Ok(Joined {
        room: request.room,
        members,
    })
}

/// Leaves a room (and stops watching it); the room's watchers get a `Presence`.
#[message]
async fn leave_room(
    request: LeaveRoom,
    connection: Connection,
    hub: Hub,
) -> Result<Left, HubError> {
    let was_in = hub.leave(connection.id(), &request.room).await?;
    // Leaving a room also stops watching it (best effort, like the notices).
    let _ = hub
        .leave(connection.id(), &watchers_of(&request.room))
        .await;
    if was_in {
        announce(&hub, &request.room, connection.id(), false).await;
    }
    Ok(Left { room: request.room })
}

/// Lists a room's members and starts watching it: `Presence` whenever another connection
/// joins or leaves it, until this one leaves the room or closes.
#[message]
async fn list_members(
    request: Members,
    connection: Connection,
    hub: Hub,
) -> Result<MemberList, HubError> {
    hub.join(connection.id(), &watchers_of(&request.room))
        .await
        .map_err(|error| match error {
            // Name the room the client asked for, not the watchers' room.
            HubError::InvalidRoom(_) => {
                HubError::InvalidRoom(request.room.chars().take(64).collect())
            }
            other => other,
        })?;
    let members = hub.members(&request.room).await?;
    Ok(MemberList {
        room: request.room,
        members: members.iter().map(ToString::to_string).collect(),
    })
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

/// A connection that closes leaves its rooms: tell their watchers. Disconnect hooks run before
/// the hub forgets the connection's rooms.
async fn farewell(context: Context, _reason: DisconnectReason) {
    let hub = context.hub();
    let id = context.connection().id();
    for room in hub.rooms_of(id) {
        if !room.starts_with(WATCHERS) {
            announce(hub, &room, id, false).await;
        }
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
            // exws's errors say what failed and what to do; the variables are ours to explain.
            let hint = match error.downcast_ref::<exws::Error>() {
                Some(exws::Error::Bind { .. }) => "; set EXWS_ADDR to another address",
                Some(exws::Error::Adapter(_)) => "; check EXWS_REDIS_URL",
                _ if error.is::<exws::adapter::AdapterError>() => "; check EXWS_REDIS_URL",
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
        .on_disconnect(farewell)
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
        // `GET /health` for load balancers: 503 while Redis is unreachable.
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
        use exws_workspace::chat::{Broadcasted, Direct, Presence, RoomMessage, Welcome};
        server = server
            .contract_info("chat", env!("CARGO_PKG_VERSION"))
            .pushes::<Welcome>()
            .pushes::<RoomMessage>()
            .pushes::<Direct>()
            .pushes::<Broadcasted>()
            .pushes::<Presence>()
            .serve_asyncapi();
    }
    if let Ok(url) = std::env::var("EXWS_REDIS_URL") {
        server = with_redis(server, &url)?;
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
