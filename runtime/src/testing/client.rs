//! A virtual client: a real WebSocket client on an in-memory stream to the server's endpoint.

use super::Handshake;
use crate::protocol::{message_type, message_type_name, ErrorBody};
use crate::server::Endpoint;
use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use tokio::io::DuplexStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WireCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Bytes in flight between a virtual client and the server, each way.
const PIPE: usize = 256 * 1024;

/// What went wrong for a virtual client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KitError {
    /// The server refused the handshake with this HTTP status and body.
    #[error("the server refused the handshake: {status} {body}")]
    Refused {
        /// The HTTP status (401, 403, 503...).
        status: u16,
        /// The plain-text reason.
        body: String,
    },
    /// The server answered with an `Error` envelope.
    #[error("the server answered `{}`: {}", .0.code, .0.message)]
    Error(ErrorBody),
    /// The request could not be serialized to JSON.
    #[error("the request could not be serialized to JSON: {0}")]
    Encode(#[source] serde_json::Error),
    /// A message could not be decoded into the type the test asked for.
    #[error("cannot decode {what}: {source} (in {text})")]
    Decode {
        /// What was decoded.
        what: String,
        /// The envelope.
        text: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The connection closed; the server's close, if it sent one.
    #[error("the connection closed ({0:?})")]
    Closed(Option<Closed>),
    /// The WebSocket failed.
    #[error("the WebSocket failed: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// The request was not a valid handshake request (a bad header name or value).
    #[error("invalid handshake request: {0}")]
    Handshake(String),
}

/// The close frame the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The close code (1000, 1001, 1008...).
    pub code: u16,
    /// The close reason.
    pub reason: String,
}

/// A virtual client of a [`TestServer`](super::TestServer). Calls are matched to their replies
/// by `Id`; everything else the server pushes (welcomes, room messages, direct messages) waits
/// for [`recv`](TestClient::recv), and stream items for their [`TestStream`].
pub struct TestClient {
    ws: WebSocketStream<DuplexStream>,
    /// Pushed messages not read yet.
    pushed: VecDeque<Value>,
    /// Items (and ends) of open streams not read yet, by the `Id`'s JSON text.
    streams: HashMap<String, VecDeque<Value>>,
    /// Replies that arrived for calls nobody waits for any more.
    replies: HashMap<String, VecDeque<Value>>,
    next_id: u64,
    closed: Option<Option<Closed>>,
    /// Handlers of the server's calls, by `Type`.
    answers: HashMap<String, CallHandler>,
}

/// A handler of server calls: `Data` in, the answer's `Data` or a refusal's message out.
type CallHandler = Box<dyn FnMut(Value) -> Result<Value, String> + Send>;

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient")
            .field("pushed", &self.pushed.len())
            .field("streams", &self.streams.len())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl TestClient {
    pub(super) async fn connect(
        endpoint: &Endpoint,
        handshake: Handshake,
    ) -> Result<Self, KitError> {
        let (client_side, server_side) = tokio::io::duplex(PIPE);
        tokio::spawn(endpoint.serve_connection(server_side, handshake.remote_addr));
        let url = format!("ws://exws.test{}", handshake.path_and_query);
        let mut request = url
            .into_client_request()
            .map_err(|error| KitError::Handshake(error.to_string()))?;
        for (name, value) in &handshake.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|error| KitError::Handshake(format!("header {name:?}: {error}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|error| KitError::Handshake(format!("header {name}: {error}")))?;
            request.headers_mut().append(name, value);
        }
        let ws = match tokio_tungstenite::client_async(request, client_side).await {
            Ok((ws, _response)) => ws,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let body = response
                    .body()
                    .as_deref()
                    .map(|body| String::from_utf8_lossy(body).into_owned())
                    .unwrap_or_default();
                return Err(KitError::Refused {
                    status: response.status().as_u16(),
                    body,
                });
            }
            Err(error) => return Err(error.into()),
        };
        Ok(TestClient {
            ws,
            pushed: VecDeque::new(),
            streams: HashMap::new(),
            replies: HashMap::new(),
            next_id: 1,
            closed: None,
            answers: HashMap::new(),
        })
    }

    fn fresh_id(&mut self) -> String {
        let id = format!("\"kit-{}\"", self.next_id);
        self.next_id += 1;
        id
    }

    /// Sends one envelope as it is.
    pub async fn send_envelope(&mut self, envelope: &Value) -> Result<(), KitError> {
        self.ws
            .send(Message::text(envelope.to_string()))
            .await
            .map_err(KitError::from)
    }

    /// Sends `{"Type", "Data", "Id"}` with `request` as `Data` and `id` (JSON text) if given.
    async fn send_request<T: Serialize + ?Sized>(
        &mut self,
        message_type: &str,
        request: &T,
        id: Option<&str>,
    ) -> Result<(), KitError> {
        let data = serde_json::to_value(request).map_err(KitError::Encode)?;
        let mut envelope = serde_json::json!({"Type": message_type, "Data": data});
        if let Some(id) = id.and_then(|id| serde_json::from_str::<Value>(id).ok()) {
            envelope["Id"] = id;
        }
        self.send_envelope(&envelope).await
    }

    /// Sends `message` with the `Type` named after its Rust type, expecting no reply.
    pub async fn send<T: Serialize>(&mut self, message: &T) -> Result<(), KitError> {
        self.send_as(message_type_name::<T>(), message).await
    }

    /// Sends `data` with `message_type`, expecting no reply.
    pub async fn send_as<T: Serialize + ?Sized>(
        &mut self,
        message_type: &str,
        data: &T,
    ) -> Result<(), KitError> {
        self.send_request(message_type, data, None).await
    }

    /// Calls the handler of `Req`'s `Type` and decodes its reply's `Data` as `Resp`; an
    /// `Error` envelope is [`KitError::Error`].
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &mut self,
        request: &Req,
    ) -> Result<Resp, KitError> {
        self.call_as(message_type_name::<Req>(), request).await
    }

    /// [`call`](TestClient::call) with an explicit `Type`.
    pub async fn call_as<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &mut self,
        message_type: &str,
        request: &Req,
    ) -> Result<Resp, KitError> {
        let envelope = self.call_raw(message_type, request).await?;
        decode(&envelope, "the reply")
    }

    /// Calls and returns the whole reply envelope, whatever its `Type` (`Error` included).
    pub async fn call_raw<Req: Serialize + ?Sized>(
        &mut self,
        message_type: &str,
        request: &Req,
    ) -> Result<Value, KitError> {
        let id = self.fresh_id();
        self.send_request(message_type, request, Some(&id)).await?;
        loop {
            if let Some(reply) = self.replies.get_mut(&id).and_then(VecDeque::pop_front) {
                return Ok(reply);
            }
            self.read_one().await?;
        }
    }

    /// Answers the server's calls (`Connection::call`) of `Req`'s `Type` with `handler`, while
    /// the client reads (in [`call`](TestClient::call), [`recv`](TestClient::recv), ...):
    /// `Ok` is the answer, `Err` refuses the call with `handler_error` and the text. Calls of a
    /// `Type` without a handler are left for [`recv`](TestClient::recv) (they carry `Call`),
    /// to be answered by hand with [`send_envelope`](TestClient::send_envelope).
    pub fn on_call<Req, Resp, F>(&mut self, mut handler: F)
    where
        Req: DeserializeOwned,
        Resp: Serialize,
        F: FnMut(Req) -> Result<Resp, String> + Send + 'static,
    {
        let erased = move |data: Value| {
            let request: Req = serde_json::from_value(data).map_err(|error| error.to_string())?;
            let answer = handler(request)?;
            serde_json::to_value(answer).map_err(|error| error.to_string())
        };
        self.answers
            .insert(message_type_name::<Req>().to_owned(), Box::new(erased));
    }

    /// The answer to a server call, when the client has a handler for its `Type`.
    fn answer_call(&mut self, call: u64, envelope: &Value) -> Option<Value> {
        let message_type = envelope.get("Type").and_then(Value::as_str)?;
        let handler = self.answers.get_mut(message_type)?;
        let data = envelope.get("Data").cloned().unwrap_or(Value::Null);
        Some(match handler(data) {
            Ok(data) => serde_json::json!({"Type": "Answer", "Call": call, "Data": data}),
            Err(message) => serde_json::json!({
                "Type": "AnswerError",
                "Call": call,
                "Data": {"code": "handler_error", "message": message},
            }),
        })
    }

    /// The next message the server pushed (not a reply to a call, not a stream item).
    pub async fn recv(&mut self) -> Result<Value, KitError> {
        loop {
            if let Some(message) = self.pushed.pop_front() {
                return Ok(message);
            }
            self.read_one().await?;
        }
    }

    /// The next pushed message, which must have `Type` `message_type`; its `Data` decoded.
    pub async fn recv_as<T: DeserializeOwned>(
        &mut self,
        message_type: &str,
    ) -> Result<T, KitError> {
        let message = self.recv().await?;
        if message["Type"] == message_type {
            let data = message.get("Data").cloned().unwrap_or(Value::Null);
            serde_json::from_value(data).map_err(|source| KitError::Decode {
                what: format!("`{message_type}`"),
                text: message.to_string(),
                source,
            })
        } else {
            Err(KitError::Decode {
                what: format!("`{message_type}`"),
                text: message.to_string(),
                source: serde::de::Error::custom(format!(
                    "expected a `{message_type}` message, got `{}`",
                    message["Type"]
                )),
            })
        }
    }

    /// Opens a stream with `Req`'s `Type`; read its items from the returned [`TestStream`].
    pub async fn stream<Req: Serialize>(&mut self, request: &Req) -> Result<TestStream, KitError> {
        self.stream_as(message_type_name::<Req>(), request).await
    }

    /// [`stream`](TestClient::stream) with an explicit `Type`.
    pub async fn stream_as<Req: Serialize + ?Sized>(
        &mut self,
        message_type: &str,
        request: &Req,
    ) -> Result<TestStream, KitError> {
        let id = self.fresh_id();
        self.streams.insert(id.clone(), VecDeque::new());
        self.send_request(message_type, request, Some(&id)).await?;
        Ok(TestStream { id, ended: false })
    }

    /// Closes the connection with `code` and `reason`, and waits for the server's close.
    pub async fn close(mut self, code: u16, reason: &str) -> Result<(), KitError> {
        let frame = CloseFrame {
            code: WireCloseCode::from(code),
            reason: reason.into(),
        };
        self.ws.send(Message::Close(Some(frame))).await?;
        while self.closed.is_none() {
            if self.read_one().await.is_err() {
                break;
            }
        }
        Ok(())
    }

    /// Waits until the connection ends, reading (and keeping) what comes before; returns the
    /// server's close frame, or `None` if the connection ended without one this client could
    /// read (a client that stopped reading may find the server gone before it reads the close:
    /// the disconnect hook's reason says why).
    pub async fn closed(&mut self) -> Option<Closed> {
        loop {
            if let Some(closed) = &self.closed {
                return closed.clone();
            }
            if let Err(KitError::Closed(closed)) = self.read_one().await {
                return closed;
            }
        }
    }

    /// Reads one frame and files it.
    async fn read_one(&mut self) -> Result<(), KitError> {
        if let Some(closed) = &self.closed {
            return Err(KitError::Closed(closed.clone()));
        }
        let message = match self.ws.next().await {
            Some(Ok(message)) => message,
            Some(Err(error)) => {
                self.closed = Some(None);
                return Err(error.into());
            }
            None => {
                self.closed = Some(None);
                return Err(KitError::Closed(None));
            }
        };
        match message {
            Message::Text(text) => {
                let envelope: Value =
                    serde_json::from_str(text.as_str()).map_err(|source| KitError::Decode {
                        what: "an envelope".to_owned(),
                        text: text.as_str().to_owned(),
                        source,
                    })?;
                if let Some(call) = envelope.get("Call").and_then(Value::as_u64) {
                    if let Some(answer) = self.answer_call(call, &envelope) {
                        return self.send_envelope(&answer).await;
                    }
                }
                let id = envelope.get("Id").map(Value::to_string);
                match id {
                    Some(id) if self.streams.contains_key(&id) => {
                        if let Some(items) = self.streams.get_mut(&id) {
                            items.push_back(envelope);
                        }
                    }
                    Some(id) => self.replies.entry(id).or_default().push_back(envelope),
                    None => self.pushed.push_back(envelope),
                }
                Ok(())
            }
            Message::Close(frame) => {
                let closed = frame.map(|frame| Closed {
                    code: u16::from(frame.code),
                    reason: frame.reason.as_str().to_owned(),
                });
                self.closed = Some(closed.clone());
                Err(KitError::Closed(closed))
            }
            _ => Ok(()),
        }
    }
}

/// An open stream of a [`TestClient`]: its items, its end, its cancel.
#[derive(Debug)]
pub struct TestStream {
    id: String,
    ended: bool,
}

impl TestStream {
    /// The stream's `Id`, as JSON text.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The next item's `Data` decoded as `T`; `None` after `StreamEnd`; an `Error` ends the
    /// stream as [`KitError::Error`].
    pub async fn next<T: DeserializeOwned>(
        &mut self,
        client: &mut TestClient,
    ) -> Option<Result<T, KitError>> {
        if self.ended {
            return None;
        }
        loop {
            let item = client
                .streams
                .get_mut(&self.id)
                .and_then(VecDeque::pop_front);
            if let Some(item) = item {
                if item["Type"] == message_type::STREAM_END {
                    self.end(client);
                    return None;
                }
                if item["Type"] == message_type::ERROR {
                    self.end(client);
                }
                return Some(decode(&item, "a stream item"));
            }
            if let Err(error) = client.read_one().await {
                self.end(client);
                return Some(Err(error));
            }
        }
    }

    /// Sends `StreamCancel` and waits for the `StreamEnd`, dropping items still in flight;
    /// returns how many it dropped.
    pub async fn cancel(mut self, client: &mut TestClient) -> Result<usize, KitError> {
        let id: Value = serde_json::from_str(&self.id).unwrap_or(Value::Null);
        client
            .send_envelope(&serde_json::json!({"Type": message_type::STREAM_CANCEL, "Id": id}))
            .await?;
        let mut dropped = 0;
        loop {
            match self.next::<Value>(client).await {
                None => return Ok(dropped),
                Some(Ok(_)) => dropped += 1,
                Some(Err(error)) => return Err(error),
            }
        }
    }

    fn end(&mut self, client: &mut TestClient) {
        self.ended = true;
        client.streams.remove(&self.id);
    }
}

/// The `Data` of a reply or item as `T`, or its `Error`.
fn decode<T: DeserializeOwned>(envelope: &Value, what: &str) -> Result<T, KitError> {
    if envelope["Type"] == message_type::ERROR {
        let body = envelope.get("Data").cloned().unwrap_or(Value::Null);
        return match serde_json::from_value::<ErrorBody>(body) {
            Ok(body) => Err(KitError::Error(body)),
            Err(source) => Err(KitError::Decode {
                what: "an Error envelope".to_owned(),
                text: envelope.to_string(),
                source,
            }),
        };
    }
    let data = envelope.get("Data").cloned().unwrap_or(Value::Null);
    serde_json::from_value(data).map_err(|source| KitError::Decode {
        what: what.to_owned(),
        text: envelope.to_string(),
        source,
    })
}
