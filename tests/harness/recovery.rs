//! The recovery example's handlers (the same as in `examples/recovery.rs`) for in-process
//! servers, and a raw recovering client: it asks for recovery at its handshake, keeps the
//! last position it got in each room, and resumes with them.

use super::client::{percent_encode, Client};
use exws::auth::{Admission, HandshakeRejection};
use exws::{
    handlers, message, Connection, HandshakeRequest, Hub, HubError, RoomSubscription, Server,
};
use exws_workspace::recovery::{Join, Joined, Said, Say, Tell, Watch};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;

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

/// Admits `?user=NAME` as user `NAME`, anyone else anonymously.
async fn by_user(request: HandshakeRequest) -> Result<Admission, HandshakeRejection> {
    Ok(match request.query_param("user") {
        Some(user) => Admission::anonymous().with_user_id(user.into_owned()),
        None => Admission::anonymous(),
    })
}

/// A server with the recovery example's handlers and authenticator, to configure further
/// (recovery, adapter) before `TestServer::start`.
pub fn recovery_server() -> Server {
    Server::with_handlers(handlers![join, say, tell, watch]).authenticator(by_user)
}

/// The user room's name in `Pos` (`"\u{1}user:NAME"`).
pub fn user_room(user: &str) -> String {
    format!("\u{1}user:{user}")
}

/// A raw client that asked for recovery.
pub struct RecoveringClient {
    pub client: Client,
    /// The connection id and token of the session (from `exws.session`).
    pub id: String,
    pub token: String,
    /// The session frame's `Data`.
    pub session: Value,
    /// The last position received per room: `[epoch, seq]`.
    pub positions: BTreeMap<String, (String, u64)>,
    user: Option<String>,
}

impl RecoveringClient {
    /// Connects with `?exws_recover=1` (and `user`), and reads the session frame.
    pub async fn connect(addr: SocketAddr, user: Option<&str>) -> RecoveringClient {
        let mut target = "/?exws_recover=1".to_owned();
        if let Some(user) = user {
            target.push_str(&format!("&user={}", percent_encode(user)));
        }
        let client = Client::connect_to(addr, &target).await;
        let mut this = RecoveringClient {
            client,
            id: String::new(),
            token: String::new(),
            session: Value::Null,
            positions: BTreeMap::new(),
            user: user.map(str::to_owned),
        };
        this.read_session().await;
        assert_eq!(
            this.session["resumed"], false,
            "a new session: {}",
            this.session
        );
        this
    }

    /// Cuts the TCP connection without a close frame; keeps the session to resume.
    pub fn cut(self) -> Detached {
        self.client.drop_abruptly();
        Detached {
            id: self.id,
            token: self.token,
            positions: self.positions,
            user: self.user,
        }
    }

    async fn read_session(&mut self) {
        let frame = self.client.recv().await;
        assert_eq!(
            frame["Type"], "exws.session",
            "the first frame is the session: {frame}"
        );
        self.session = frame["Data"].clone();
        self.id = self.session["connection"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.token = self.session["token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!self.id.is_empty() && self.token.len() == 32, "{frame}");
        // A room with a gap starts over from its next message.
        if let Some(gaps) = self.session["gaps"].as_array() {
            for gap in gaps {
                self.positions
                    .remove(gap["room"].as_str().unwrap_or_default());
            }
        }
    }

    /// The next frame; a positioned one updates the room's position (and must follow it).
    pub async fn recv(&mut self) -> Value {
        let frame = self.client.recv().await;
        if let Some(position) = frame.get("Pos") {
            let room = position["room"].as_str().unwrap_or_default().to_owned();
            let epoch = position["epoch"].as_str().unwrap_or_default().to_owned();
            let seq = position["seq"].as_u64().unwrap_or_default();
            if let Some((last_epoch, last)) = self.positions.get(&room) {
                if *last_epoch == epoch {
                    assert_eq!(
                        seq,
                        last + 1,
                        "room {room:?}: a gap or a duplicate: {frame}"
                    );
                }
            }
            self.positions.insert(room, (epoch, seq));
        }
        frame
    }

    /// Sends a request and returns its reply (frames before it must be none).
    pub async fn call(&mut self, message_type: &str, data: Value) -> Value {
        self.client.call(message_type, data).await
    }
}

/// A recovering client whose connection was cut: what it presents to resume.
pub struct Detached {
    pub id: String,
    pub token: String,
    pub positions: BTreeMap<String, (String, u64)>,
    user: Option<String>,
}

impl Detached {
    /// Resumes the session on `addr`, presenting the last positions received; reads the
    /// session frame.
    pub async fn resume(self, addr: SocketAddr) -> RecoveringClient {
        let since: serde_json::Map<String, Value> = self
            .positions
            .iter()
            .map(|(room, (epoch, seq))| (room.clone(), json!([epoch, seq])))
            .collect();
        let since = Value::Object(since).to_string();
        let mut target = format!(
            "/?exws_recover={}&exws_id={}&exws_since={}",
            percent_encode(&self.token),
            percent_encode(&self.id),
            percent_encode(&since)
        );
        if let Some(user) = &self.user {
            target.push_str(&format!("&user={}", percent_encode(user)));
        }
        let client = Client::connect_to(addr, &target).await;
        let mut this = RecoveringClient {
            client,
            id: self.id,
            token: self.token,
            session: Value::Null,
            positions: self.positions,
            user: self.user,
        };
        this.read_session().await;
        this
    }
}
