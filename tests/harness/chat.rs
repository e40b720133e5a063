//! The chat example's handlers (the same as in `examples/chat.rs`) for in-process servers, and a
//! chat client (on [`Client`]) for the rooms and Redis tests and the chat example's process.

use super::client::Client;
use exws::{handlers, message, Connection, Context, Hub, HubError, Server};
use exws_workspace::chat::{
    Broadcast, Broadcasted, Direct, DirectMessage, JoinRoom, Joined, LeaveRoom, Left, RoomMessage,
    SendToRoom, Welcome,
};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

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
/// (adapter, limits) before `TestServer::start`.
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

/// A chat client on a real WebSocket (over this run's transport), with its connection id from
/// `Welcome`.
pub struct ChatClient {
    client: Client,
    id: String,
}

impl ChatClient {
    /// Connects to `/` of `addr` and reads the `Welcome` that comes first.
    pub async fn connect(addr: SocketAddr) -> ChatClient {
        ChatClient::connect_to(addr, "/").await
    }

    /// Connects to `target` (a path and query, e.g. `/?user=ada`) of `addr` and reads the
    /// `Welcome` that comes first.
    pub async fn connect_to(addr: SocketAddr, target: &str) -> ChatClient {
        let mut client = ChatClient {
            client: Client::connect_to(addr, target).await,
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
        self.client.send_json(&envelope).await;
    }

    /// The text of the next text frame (pings and pongs skipped); fails on anything else.
    pub async fn recv_text(&mut self) -> String {
        self.client.recv_text().await
    }

    /// The next envelope if one comes within `limit`, for waits longer than a step.
    pub async fn recv_for(&mut self, limit: Duration) -> Option<Value> {
        self.client.recv_for(limit).await
    }

    /// The next envelope.
    pub async fn recv(&mut self) -> Value {
        self.client.recv().await
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

    /// Leaves `room` while watching its presence with `Id` `watch`: the `Left` answer and the
    /// watch's `StreamEnd` come in either order (the watch is a stream of its own).
    pub async fn leave_ending_watch(&mut self, room: &str, watch: u64) {
        self.send("LeaveRoom", json!({ "room": room })).await;
        let mut seen = vec![self.recv().await, self.recv().await];
        seen.sort_by_key(|envelope| envelope["Type"].as_str().map(str::to_owned));
        assert_eq!(
            seen,
            vec![
                json!({"Type": "Left", "Data": {"room": room}}),
                json!({"Type": "StreamEnd", "Id": watch}),
            ],
            "{} expected its Left and its watch's end",
            self.id
        );
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

    /// Opens the built-in presence watch of `room` with `Id` `id`; returns the `presences` of
    /// its first item, the `PresenceState`.
    pub async fn watch_presence(&mut self, room: &str, id: u64) -> Value {
        self.send_envelope(json!({"Type": "PresenceWatch", "Data": {"room": room}, "Id": id}))
            .await;
        let state = self.recv().await;
        assert_eq!(state["Type"], "PresenceState", "{} got {state}", self.id);
        assert_eq!(state["Id"], id, "{state}");
        assert_eq!(state["Data"]["room"], room, "{state}");
        state["Data"]["presences"].clone()
    }

    /// Expects the next envelope to be a `PresenceDiff` of `room` with `Id` `id`; returns its
    /// `(joins, leaves)`.
    pub async fn expect_presence_diff(&mut self, room: &str, id: u64) -> (Value, Value) {
        let diff = self.recv().await;
        self.check_presence_diff(&diff, room, id)
    }

    /// Checks that `diff` is a `PresenceDiff` of `room` with `Id` `id`; returns its
    /// `(joins, leaves)`.
    pub fn check_presence_diff(&self, diff: &Value, room: &str, id: u64) -> (Value, Value) {
        assert_eq!(diff["Type"], "PresenceDiff", "{} got {diff}", self.id);
        assert_eq!(diff["Id"], id, "{diff}");
        assert_eq!(diff["Data"]["room"], room, "{diff}");
        (
            diff["Data"]["joins"].clone(),
            diff["Data"]["leaves"].clone(),
        )
    }

    /// Closes with a close frame (1000) and waits for the server's.
    pub async fn close(self) {
        self.client.close().await;
    }

    /// Drops the TCP connection without a close frame, as a crashed client would.
    pub fn drop_abruptly(self) {
        self.client.drop_abruptly();
    }
}
