//! A chat server: rooms, direct messages and broadcasts, on one process or many.
//!
//! ```sh
//! cargo run --example chat                                   # one process
//! EXWS_REDIS_URL=redis://127.0.0.1:6379/ EXWS_ADDR=127.0.0.1:8801 cargo run --features redis --example chat
//! EXWS_REDIS_URL=redis://127.0.0.1:6379/ EXWS_ADDR=127.0.0.1:8802 cargo run --features redis --example chat
//! ```
//! With `EXWS_REDIS_URL`, every process sharing that Redis acts as one chat server.
//!
//! Messages (`Data` fields in braces): on connect the server sends `Welcome {id}`;
//! `JoinRoom {room}` → `Joined {room, members}`; `LeaveRoom {room}` → `Left {room}`;
//! `SendToRoom {room, text}` → the room's other members get `RoomMessage {room, from, text}`;
//! `DirectMessage {to, text}` → `to` gets `Direct {from, text}`; `Broadcast {text}` → everyone
//! gets `Broadcasted {from, text}`.

use exws::{message, Connection, Context, Hub, HubError, Server};
use exws_workspace::chat::{
    Broadcast, Broadcasted, Direct, DirectMessage, JoinRoom, Joined, LeaveRoom, Left, RoomMessage,
    SendToRoom, Welcome,
};

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

#[message]
async fn leave_room(
    request: LeaveRoom,
    connection: Connection,
    hub: Hub,
) -> Result<Left, HubError> {
    hub.leave(connection.id(), &request.room).await?;
    Ok(Left { room: request.room })
}

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
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let addr = std::env::var("EXWS_ADDR").unwrap_or_else(|_| "127.0.0.1:8765".to_owned());
    let mut server = Server::new().on_connect(welcome);
    if let Ok(url) = std::env::var("EXWS_REDIS_URL") {
        server = with_redis(server, &url)?;
    }
    let server = server.bind(addr.as_str()).await?;
    println!("exws listening on ws://{}", server.local_addr());
    server.serve_with_shutdown(exws::shutdown_signal()).await?;
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
