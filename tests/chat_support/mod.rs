//! Helpers of the rooms and Redis tests: the chat example's handlers (the same as in
//! `examples/chat.rs`), a chat server served on a loopback port, and a chat client.
//!
//! Every receive is bounded by [`TIMEOUT`]; every wait for a state is bounded by its own limit.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use exws::{handlers, message, Connection, Context, Hub, HubError, Server};
use exws_workspace::chat::{
    Broadcast, Broadcasted, Direct, DirectMessage, JoinRoom, Joined, LeaveRoom, Left, RoomMessage,
    SendToRoom, Welcome,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The longest one step (a connect, a receive) may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test with `what` if it takes longer than [`TIMEOUT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {TIMEOUT:?} waiting for {what}"),
    }
}

/// Polls `check` until it gives `Ok`, failing the test after `limit` with `what` and the last
/// `Err` (which describes the state seen instead).
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + limit;
    loop {
        let last = match tokio::time::timeout(TIMEOUT, check()).await {
            Ok(Ok(value)) => return value,
            Ok(Err(state)) => state,
            Err(_) => format!("one check took longer than {TIMEOUT:?}"),
        };
        if Instant::now() >= deadline {
            panic!("gave up after {limit:?} waiting for {what}; last seen: {last}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

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
    let _ = connection.send(&welcome).await;
}

/// A server with the chat example's handlers and welcome message, to configure further
/// (adapter, limits) before [`ChatServer::start`].
pub fn chat_server() -> Server {
    Server::with_handlers(handlers![
        join_room,
        leave_room,
        send_to_room,
        direct_message,
        broadcast
    ])
    .on_connect(welcome)
}

/// A server bound to `127.0.0.1:0` and served in a background task; dropping it shuts the
/// server down.
pub struct ChatServer {
    addr: SocketAddr,
    hub: Hub,
    _shutdown: oneshot::Sender<()>,
}

impl ChatServer {
    /// Binds `server` to a free loopback port and serves it with `serve_with_shutdown`.
    pub async fn start(server: Server) -> ChatServer {
        let bound = within("the server to bind", server.bind("127.0.0.1:0"))
            .await
            .expect("the server binds");
        let addr = bound.local_addr();
        let hub = bound.hub();
        let (shutdown, signal) = oneshot::channel::<()>();
        tokio::spawn(bound.serve_with_shutdown(async move {
            let _ = signal.await;
        }));
        ChatServer {
            addr,
            hub,
            _shutdown: shutdown,
        }
    }

    /// The server's hub, as `BoundServer::hub` gave it.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Opens a connection and reads its `Welcome`.
    pub async fn connect(&self) -> ChatClient {
        ChatClient::connect(self.addr).await
    }
}

/// A chat client on a real WebSocket, with its connection id from `Welcome`.
pub struct ChatClient {
    ws: WebSocketStream<TcpStream>,
    id: String,
}

impl ChatClient {
    /// Connects to `ws://addr/` and reads the `Welcome` that comes first.
    pub async fn connect(addr: SocketAddr) -> ChatClient {
        let tcp = within("a TCP connection", TcpStream::connect(addr))
            .await
            .expect("TCP connect to the chat server");
        let (ws, _response) = within(
            "the WebSocket handshake",
            tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp),
        )
        .await
        .expect("the WebSocket handshake succeeds");
        let mut client = ChatClient {
            ws,
            id: String::new(),
        };
        let welcome = client.expect("Welcome").await;
        client.id = welcome["id"]
            .as_str()
            .unwrap_or_else(|| panic!("Welcome without a string id: {welcome}"))
            .to_owned();
        assert!(!client.id.is_empty(), "Welcome with an empty id");
        client
    }

    /// The connection id the server gave in `Welcome`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Sends `{"Type": message_type, "Data": data}`.
    pub async fn send(&mut self, message_type: &str, data: Value) {
        self.send_envelope(json!({"Type": message_type, "Data": data}))
            .await;
    }

    /// Sends a whole envelope.
    pub async fn send_envelope(&mut self, envelope: Value) {
        within(
            "sending a message",
            self.ws.send(Message::text(envelope.to_string())),
        )
        .await
        .expect("the message is sent");
    }

    /// The text of the next text frame (pings and pongs skipped); fails on anything else.
    pub async fn recv_text(&mut self) -> String {
        loop {
            let what = format!("the next message to {}", self.id);
            match within(&what, self.ws.next()).await {
                Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("{} expected a text frame, got {other:?}", self.id),
            }
        }
    }

    /// The next envelope if one comes within `limit`, for waits longer than [`TIMEOUT`].
    pub async fn recv_for(&mut self, limit: Duration) -> Option<Value> {
        let text = loop {
            match tokio::time::timeout(limit, self.ws.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(text)))) => break text.as_str().to_owned(),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(other) => panic!("{} expected a text frame, got {other:?}", self.id),
            }
        };
        Some(
            serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("not JSON ({error}): {text}")),
        )
    }

    /// The next envelope.
    pub async fn recv(&mut self) -> Value {
        let text = self.recv_text().await;
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
    }

    /// The `Data` of the next envelope, which must have `Type` `message_type`.
    pub async fn expect(&mut self, message_type: &str) -> Value {
        let envelope = self.recv().await;
        assert_eq!(
            envelope["Type"], message_type,
            "{} expected a {message_type}, got {envelope}",
            self.id
        );
        envelope.get("Data").cloned().unwrap_or(Value::Null)
    }

    /// The `Data` of the next envelope, which must be an `Error` with `code`.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let data = self.expect("Error").await;
        assert_eq!(data["code"], code, "{} got another error: {data}", self.id);
        data
    }

    /// Joins `room`; returns the member count the server answered.
    pub async fn join(&mut self, room: &str) -> u64 {
        self.send("JoinRoom", json!({ "room": room })).await;
        let joined = self.expect("Joined").await;
        assert_eq!(joined["room"], room, "Joined for another room: {joined}");
        joined["members"]
            .as_u64()
            .unwrap_or_else(|| panic!("Joined without a member count: {joined}"))
    }

    /// Leaves `room`.
    pub async fn leave(&mut self, room: &str) {
        self.send("LeaveRoom", json!({ "room": room })).await;
        let left = self.expect("Left").await;
        assert_eq!(left["room"], room, "Left for another room: {left}");
    }

    /// Sends `text` to the other members of `room`.
    pub async fn send_to_room(&mut self, room: &str, text: &str) {
        self.send("SendToRoom", json!({ "room": room, "text": text }))
            .await;
    }

    /// Sends `text` to the connection `to`.
    pub async fn direct(&mut self, to: &str, text: &str) {
        self.send("DirectMessage", json!({ "to": to, "text": text }))
            .await;
    }

    /// Sends `text` to everyone.
    pub async fn broadcast(&mut self, text: &str) {
        self.send("Broadcast", json!({ "text": text })).await;
    }

    /// Expects a `RoomMessage` from `from` in `room` with `text`.
    pub async fn expect_room_message(&mut self, room: &str, from: &str, text: &str) {
        let data = self.expect("RoomMessage").await;
        assert_eq!(
            data,
            json!({ "room": room, "from": from, "text": text }),
            "{} got another room message",
            self.id
        );
    }

    /// Expects a `Direct` from `from` with `text`.
    pub async fn expect_direct(&mut self, from: &str, text: &str) {
        let data = self.expect("Direct").await;
        assert_eq!(
            data,
            json!({ "from": from, "text": text }),
            "{} got another direct message",
            self.id
        );
    }

    /// Expects a `Broadcasted` from `from` with `text`.
    pub async fn expect_broadcast(&mut self, from: &str, text: &str) {
        let data = self.expect("Broadcasted").await;
        assert_eq!(
            data,
            json!({ "from": from, "text": text }),
            "{} got another broadcast",
            self.id
        );
    }

    /// Drops the TCP connection without a close frame, as a crashed client would.
    pub fn drop_abruptly(self) {
        drop(self.ws.into_inner());
    }
}
