//! Clients that drop and come back lose nothing: a server with connection recovery, on one
//! process or many.
//!
//! ```sh
//! cargo run --example recovery                               # one process
//! EXWS_REDIS_URL=redis://127.0.0.1:6379/ EXWS_ADDR=127.0.0.1:8801 cargo run --features redis --example recovery
//! EXWS_REDIS_URL=redis://127.0.0.1:6379/ EXWS_ADDR=127.0.0.1:8802 cargo run --features redis --example recovery
//! ```
//! With `EXWS_REDIS_URL`, a client can come back to any process sharing that Redis.
//! `EXWS_RECOVERY_WINDOW_MS` sets the recovery window (default 2 minutes).
//!
//! Connect with `?exws_recover=1` (and `&user=NAME` to be user `NAME`): the first frame is the
//! session (`exws.session`), and room messages carry their position (`Pos`). Messages:
//! `Join {room}` → `Joined {room}`; `Say {room, text}` → the room's members get
//! `Said {room, text}`; `Tell {user, text}` → the user's connections get `Said {room: "", text}`;
//! `Watch {room}` with an `Id` → a stream of the room's `Said` with that `Id`. Try it with the
//! CLI: `exws listen --resume ws://127.0.0.1:8765/?user=ada`. The browser client is at
//! `/exws.js`.

use exws::auth::{Admission, HandshakeRejection};
use exws::recovery::Recovery;
use exws::{message, Connection, HandshakeRequest, Hub, HubError, RoomSubscription, Server};
use exws_workspace::recovery::{Join, Joined, Said, Say, Tell, Watch};
use std::process::ExitCode;
use std::time::Duration;

#[message]
async fn join(request: Join, connection: Connection, hub: Hub) -> Result<Joined, HubError> {
    hub.join(connection.id(), &request.room).await?;
    Ok(Joined { room: request.room })
}

#[message]
async fn say(request: Say, hub: Hub) -> Result<(), HubError> {
    let said = Said {
        room: request.room.clone(),
        text: request.text,
    };
    hub.room(&request.room).send(&said).await
}

#[message]
async fn tell(request: Tell, hub: Hub) -> Result<(), HubError> {
    let said = Said {
        room: String::new(),
        text: request.text,
    };
    hub.user(&request.user.into()).send(&said).await
}

#[message]
async fn watch(
    request: Watch,
    connection: Connection,
    hub: Hub,
) -> Result<RoomSubscription, HubError> {
    hub.subscribe(&connection, &request.room).await
}

/// `?user=NAME` is user `NAME` (a real server checks a token here).
async fn by_user(request: HandshakeRequest) -> Result<Admission, HandshakeRejection> {
    Ok(match request.query_param("user") {
        Some(user) => Admission::anonymous().with_user_id(user.into_owned()),
        None => Admission::anonymous(),
    })
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
            eprintln!("recovery: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut recovery = Recovery::default();
    if let Ok(window) = std::env::var("EXWS_RECOVERY_WINDOW_MS") {
        recovery = recovery.window(Duration::from_millis(window.parse()?));
    }
    let mut server = Server::new()
        .authenticator(by_user)
        .recovery(recovery)
        .serve_browser_client();
    if let Ok(url) = std::env::var("EXWS_REDIS_URL") {
        server = with_redis(server, &url)?;
    }
    let server = server.bind(addr).await?;
    println!("exws listening on ws://{}", server.local_addr());
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
