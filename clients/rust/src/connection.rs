//! The connection task: it owns the socket, writes queued frames, dispatches incoming
//! envelopes, and reconnects.

use crate::call::PendingCalls;
use crate::envelope::Envelope;
use crate::error::ConnectError;
use crate::reconnect::ReconnectPolicy;
use crate::state::ConnectionState;
use crate::stream::{Routed, StreamTable};
use exws_protocol::CloseCode;
use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a clean close waits for the server's close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Everything needed to (re)open the connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectConfig {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    pub max_message_size: usize,
    pub reconnect: ReconnectPolicy,
    /// Ask the server for connection recovery.
    pub recover: bool,
    /// Extra trusted TLS roots (DER), beside the public ones.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub root_certificates: Vec<Vec<u8>>,
}

/// State shared by the client handles and the connection task.
pub(crate) struct Shared {
    pub pending: PendingCalls,
    /// The handlers of the server's calls.
    pub answers: crate::answer::CallHandlers,
    pub streams: StreamTable,
    pub events: broadcast::Sender<Envelope>,
    pub state: watch::Sender<ConnectionState>,
    /// Becomes `true` when the connection task has stopped for good.
    pub stopped: watch::Sender<bool>,
    /// The session to resume, with connection recovery.
    pub recovery: crate::recovery::RecoveryState,
}

/// Marks the connection task stopped when it ends, however it ends.
struct StoppedGuard<'a>(&'a Shared);

impl Drop for StoppedGuard<'_> {
    fn drop(&mut self) {
        self.0.stopped.send_replace(true);
    }
}

impl Shared {
    pub(crate) fn new(event_capacity: usize, recover: bool) -> Self {
        let (events, _) = broadcast::channel(event_capacity.max(1));
        let (state, _) = watch::channel(ConnectionState::Connecting);
        let (stopped, _) = watch::channel(false);
        Shared {
            pending: PendingCalls::default(),
            answers: crate::answer::CallHandlers::default(),
            streams: StreamTable::default(),
            events,
            state,
            stopped,
            recovery: crate::recovery::RecoveryState::new(recover),
        }
    }

    fn set_state(&self, state: ConnectionState) {
        tracing::debug!(%state, "connection state");
        self.state.send_replace(state);
    }

    pub(crate) fn go_online(&self, generation: u64) {
        self.pending.go_online(generation);
        self.streams.go_online(generation);
        self.set_state(ConnectionState::Online);
    }

    fn go_offline(&self, state: ConnectionState) {
        let failed = self.pending.go_offline();
        if failed > 0 {
            tracing::debug!(failed, "failed the calls waiting on the lost connection");
        }
        let ended = self.streams.go_offline();
        if ended > 0 {
            tracing::debug!(ended, "ended the streams open on the lost connection");
        }
        self.set_state(state);
    }

    /// Hands an incoming frame to its stream or call, and to the event stream. Returns a frame
    /// to write at once: the `StreamCancel` of a stream whose reader fell too far behind.
    fn dispatch(&self, text: &str) -> Option<String> {
        let envelope = match Envelope::from_json(text) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::warn!(%error, "ignoring a frame that is not an envelope");
                return None;
            }
        };
        self.recovery
            .observe(&envelope.message_type, &envelope.data, text);
        let mut reply = None;
        if let Some(id) = &envelope.id {
            match self.streams.route(id, &envelope) {
                Routed::NotAStream => {
                    self.pending.resolve(id, &envelope);
                }
                Routed::Taken => {}
                Routed::Overflowed(cancel) => {
                    tracing::warn!(%id, "a stream's reader fell behind: cancelling the stream");
                    reply = Some(cancel);
                }
            }
        }
        // No subscriber is fine: the envelope is then only seen by the call, if any.
        let _ = self.events.send(envelope);
        reply
    }
}

/// A request to the connection task.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A text frame, for the connection of this generation only.
    Frame { generation: u64, text: String },
    /// Write what was queued before, close the connection cleanly, stop; then answer.
    Close(oneshot::Sender<()>),
}

/// Opens one connection.
pub(crate) async fn open(config: &ConnectConfig) -> Result<Socket, ConnectError> {
    let mut request =
        config
            .url
            .as_str()
            .into_client_request()
            .map_err(|error| ConnectError::InvalidUrl {
                url: config.url.clone(),
                reason: error.to_string(),
            })?;
    for (name, value) in &config.headers {
        let invalid = |reason: String| ConnectError::InvalidHeader {
            name: name.clone(),
            reason,
        };
        let header_name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(e.to_string()))?;
        let header_value = HeaderValue::from_str(value).map_err(|e| invalid(e.to_string()))?;
        request.headers_mut().append(header_name, header_value);
    }
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size));
    // The TLS configuration (root store, provider) is built only for `wss://`.
    #[cfg(feature = "tls")]
    let connector = match request.uri().scheme_str() {
        Some("wss") => Some(crate::tls::connector(&config.root_certificates)?),
        _ => None,
    };
    #[cfg(feature = "tls")]
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(ws_config),
        false,
        connector,
    );
    #[cfg(not(feature = "tls"))]
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(ws_config), false);
    match tokio::time::timeout(config.connect_timeout, connecting).await {
        Err(_) => Err(ConnectError::Timeout(config.connect_timeout)),
        Ok(Err(error)) => Err(connect_error(&config.url, error)),
        Ok(Ok((socket, _response))) => Ok(socket),
    }
}

fn connect_error(url: &str, error: WsError) -> ConnectError {
    match error {
        WsError::Http(response) => ConnectError::Rejected {
            status: response.status().as_u16(),
            body: response
                .body()
                .as_deref()
                .map(|body| String::from_utf8_lossy(body).trim().to_owned())
                .unwrap_or_default(),
        },
        WsError::Url(reason) => ConnectError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_string(),
        },
        other => ConnectError::Transport(Box::new(other)),
    }
}

/// How one connection ended.
enum End {
    /// The client asked to close (with someone to tell), or every client handle is gone.
    Closed(Option<oneshot::Sender<()>>),
    /// The connection was lost: `None` after a normal close by the server, else the reason.
    Lost(Option<String>),
}

/// Runs the connection whose first socket is `socket` (already online as generation 1) until
/// the client closes, every handle is dropped, or reconnection gives up.
pub(crate) async fn run(
    shared: std::sync::Arc<Shared>,
    mut outbound: mpsc::Receiver<Outbound>,
    socket: Socket,
    config: ConnectConfig,
) {
    let _stopped = StoppedGuard(&shared);
    let mut socket = socket;
    let mut generation = 1;
    loop {
        let end = drive(socket, &mut outbound, &shared, generation).await;
        match end {
            End::Closed(done) => {
                shared.go_offline(ConnectionState::Offline);
                if let Some(done) = done {
                    let _ = done.send(());
                }
                return;
            }
            End::Lost(None) => shared.go_offline(ConnectionState::Offline),
            End::Lost(Some(reason)) => {
                tracing::warn!(%reason, "connection lost");
                shared.go_offline(ConnectionState::Error(reason));
            }
        }
        socket = match reconnect(&mut outbound, &shared, &config).await {
            Ok(socket) => socket,
            Err(done) => {
                if let Some(done) = done {
                    let _ = done.send(());
                }
                return;
            }
        };
        generation += 1;
        shared.go_online(generation);
        tracing::info!(url = %config.url, "reconnected");
    }
}

/// Reconnects with backoff. `Err` when the client closed or went away meanwhile (carrying who
/// to tell), or when the policy gives up.
async fn reconnect(
    outbound: &mut mpsc::Receiver<Outbound>,
    shared: &Shared,
    config: &ConnectConfig,
) -> Result<Socket, Option<oneshot::Sender<()>>> {
    let mut attempt = 0;
    loop {
        if !config.reconnect.allows(attempt) {
            if config.reconnect.is_enabled() {
                tracing::warn!(attempts = attempt, "giving up reconnecting");
            }
            return Err(None);
        }
        let delay = config.reconnect.delay(attempt);
        attempt += 1;
        tracing::debug!(attempt, ?delay, "reconnecting after a pause");
        if let Stopped::Yes(done) = while_idle(outbound, tokio::time::sleep(delay)).await {
            shared.set_state(ConnectionState::Offline);
            return Err(done);
        }
        shared.set_state(ConnectionState::Connecting);
        // With recovery, the URL presents the session to resume.
        let config = ConnectConfig {
            url: shared.recovery.url(&config.url),
            ..config.clone()
        };
        match while_idle(outbound, open(&config)).await {
            Stopped::No(Ok(socket)) => return Ok(socket),
            Stopped::No(Err(error)) => {
                tracing::debug!(%error, attempt, "reconnection attempt failed");
                shared.set_state(ConnectionState::Error(error.to_string()));
            }
            Stopped::Yes(done) => {
                shared.set_state(ConnectionState::Offline);
                return Err(done);
            }
        }
    }
}

enum Stopped<T> {
    No(T),
    Yes(Option<oneshot::Sender<()>>),
}

/// Runs `work` while there is no connection: frames queued meanwhile are dropped (their calls
/// have already failed), a close request or the last handle going away stops early.
async fn while_idle<T>(
    outbound: &mut mpsc::Receiver<Outbound>,
    work: impl Future<Output = T>,
) -> Stopped<T> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            output = &mut work => return Stopped::No(output),
            command = outbound.recv() => match command {
                Some(Outbound::Frame { .. }) => {
                    tracing::debug!("dropping a frame queued for a lost connection");
                }
                Some(Outbound::Close(done)) => return Stopped::Yes(Some(done)),
                None => return Stopped::Yes(None),
            },
        }
    }
}

/// Serves one connection until it ends.
async fn drive(
    mut socket: Socket,
    outbound: &mut mpsc::Receiver<Outbound>,
    shared: &Shared,
    generation: u64,
) -> End {
    let mut close_frame: Option<CloseFrame> = None;
    // Answers to the server's calls, from their handlers' tasks (dropped with the connection).
    let (answers, mut answered) = mpsc::channel::<String>(64);
    loop {
        tokio::select! {
            Some(answer) = answered.recv() => {
                if let Err(error) = socket.send(Message::text(answer)).await {
                    return match error {
                        WsError::ConnectionClosed => End::Lost(close_reason(close_frame)),
                        error => End::Lost(Some(error.to_string())),
                    };
                }
            }
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Some(answer) = shared.answers.answer(text.as_str()) {
                        let answers = answers.clone();
                        tokio::spawn(async move {
                            let _ = answers.send(answer.await).await;
                        });
                    } else if let Some(frame) = shared.dispatch(text.as_str()) {
                        if let Err(error) = socket.send(Message::text(frame)).await {
                            return match error {
                                WsError::ConnectionClosed => End::Lost(close_reason(close_frame)),
                                error => End::Lost(Some(error.to_string())),
                            };
                        }
                    }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    tracing::warn!(len = bytes.len(), "ignoring a binary frame");
                }
                Some(Ok(Message::Close(frame))) => {
                    tracing::debug!(?frame, "the server closes the connection");
                    close_frame = frame;
                }
                // Pings are answered by tungstenite itself.
                Some(Ok(_)) => {}
                Some(Err(WsError::ConnectionClosed)) | None => return End::Lost(close_reason(close_frame)),
                Some(Err(error)) => return End::Lost(Some(error.to_string())),
            },
            command = outbound.recv() => match command {
                Some(Outbound::Frame { generation: wanted, text }) if wanted == generation => {
                    if let Err(error) = socket.send(Message::text(text)).await {
                        return match error {
                            WsError::ConnectionClosed => End::Lost(close_reason(close_frame)),
                            error => End::Lost(Some(error.to_string())),
                        };
                    }
                }
                Some(Outbound::Frame { .. }) => {
                    tracing::debug!("dropping a frame queued for an earlier connection");
                }
                Some(Outbound::Close(done)) => {
                    close_cleanly(&mut socket).await;
                    return End::Closed(Some(done));
                }
                None => {
                    close_cleanly(&mut socket).await;
                    return End::Closed(None);
                }
            },
        }
    }
}

/// `None` for a normal close (1000, 1001), else a description.
fn close_reason(frame: Option<CloseFrame>) -> Option<String> {
    match frame {
        Some(frame)
            if [CloseCode::NORMAL, CloseCode::GOING_AWAY]
                .contains(&CloseCode(u16::from(frame.code))) =>
        {
            None
        }
        Some(frame) if frame.reason.is_empty() => Some(format!(
            "closed by the server with code {}",
            u16::from(frame.code)
        )),
        Some(frame) => Some(format!(
            "closed by the server with code {}: {}",
            u16::from(frame.code),
            frame.reason
        )),
        None => Some("the connection closed without a close frame".to_owned()),
    }
}

/// Sends a normal close frame and waits (briefly) for the server's answer.
async fn close_cleanly(socket: &mut Socket) {
    let handshake = async {
        if let Err(error) = socket.close(None).await {
            tracing::debug!(%error, "closing");
            return;
        }
        while let Some(Ok(_)) = socket.next().await {}
    };
    if tokio::time::timeout(CLOSE_GRACE, handshake).await.is_err() {
        tracing::debug!("the server did not answer the close frame in time");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WireCloseCode;

    fn frame(code: WireCloseCode, reason: &'static str) -> Option<CloseFrame> {
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }

    #[test]
    fn normal_closes_are_not_errors() {
        assert_eq!(close_reason(frame(WireCloseCode::Normal, "")), None);
        assert_eq!(close_reason(frame(WireCloseCode::Away, "shutdown")), None);
        assert_eq!(
            close_reason(frame(WireCloseCode::Policy, "slow")),
            Some("closed by the server with code 1008: slow".to_owned())
        );
        assert!(close_reason(None).is_some());
    }

    #[test]
    fn dispatch_resolves_calls_and_broadcasts_everything() {
        let shared = Shared::new(8, false);
        let mut events = shared.events.subscribe();
        shared.go_online(1);
        let mut registration = shared
            .pending
            .register(crate::envelope::Id::Int(9))
            .unwrap();
        shared.dispatch(r#"{"Type":"R","Data":1,"Id":9}"#);
        shared.dispatch("not json");
        shared.dispatch(r#"{"Type":"Push"}"#);
        assert_eq!(
            registration.reply.try_recv().unwrap().unwrap().message_type,
            "R"
        );
        assert_eq!(events.try_recv().unwrap().message_type, "R");
        assert_eq!(events.try_recv().unwrap().message_type, "Push");
        assert!(events.try_recv().is_err());
        assert_eq!(*shared.state.borrow(), ConnectionState::Online);
    }

    #[tokio::test]
    async fn bad_urls_and_headers_fail_before_any_network() {
        let config = ConnectConfig {
            url: "not a url".into(),
            headers: vec![],
            connect_timeout: Duration::from_secs(1),
            max_message_size: 1024,
            reconnect: ReconnectPolicy::disabled(),
            recover: false,
            root_certificates: vec![],
        };
        assert!(matches!(
            open(&config).await,
            Err(ConnectError::InvalidUrl { .. })
        ));
        let config = ConnectConfig {
            url: "ws://127.0.0.1:9/".into(),
            headers: vec![("bad header".into(), "x".into())],
            ..config
        };
        assert!(matches!(
            open(&config).await,
            Err(ConnectError::InvalidHeader { .. })
        ));
    }
}
