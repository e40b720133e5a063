//! The in-process test server: a `Server` on a free loopback port over this run's transport,
//! served in a background task until the test shuts it down.
//!
//! Every test server is constructed here, in [`bind`] and [`TestServer::serve`]: a change to
//! how a server is started touches these two functions and nothing else.

use super::client::Client;
use super::timing::within;
use super::transport::{test_tls_config, transport, Transport};
use exws::{Connection, ConnectionId, DisconnectReason, Hub, Server};
use std::future::IntoFuture;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Binds `server` to `127.0.0.1:0`, with the test certificate for the `tls` transport. Serve
/// it with [`TestServer::serve`]; a test binds first when it needs the bound server itself.
pub async fn bind(server: Server) -> exws::BoundServer {
    let server = match transport() {
        Transport::Tls => server.tls(test_tls_config()),
        Transport::Plain | Transport::Axum => server,
    };
    within("bind", server.bind("127.0.0.1:0"))
        .await
        .expect("the test server binds")
}

/// A server bound to `127.0.0.1:0`, served in a background task until [`shutdown`] (or until
/// it is dropped: a dropped trigger shuts down too, so a test cannot leak a server).
///
/// [`shutdown`]: TestServer::shutdown
pub struct TestServer {
    addr: SocketAddr,
    hub: Hub,
    trigger: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), exws::Error>>>,
}

impl TestServer {
    /// Binds `server` to a free loopback port and serves it over this run's transport.
    pub async fn start(server: Server) -> TestServer {
        TestServer::serve(bind(server).await)
    }

    /// Serves a server bound with [`bind`] with a graceful shutdown, or, for the `axum`
    /// transport, its endpoint as the fallback of an axum app on another loopback port (the
    /// bound listener is closed).
    pub fn serve(bound: exws::BoundServer) -> TestServer {
        let hub = bound.hub();
        if transport() == Transport::Axum {
            let endpoint = bound.endpoint().clone();
            drop(bound);
            return TestServer::serve_axum(endpoint, hub);
        }
        let addr = bound.local_addr();
        let (trigger, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(
            bound
                .serve()
                .with_graceful_shutdown(async move {
                    let _ = signal.await;
                })
                .into_future(),
        );
        TestServer {
            addr,
            hub,
            trigger: Some(trigger),
            task: Some(task),
        }
    }

    /// Serves `endpoint` as the fallback of an axum app on `127.0.0.1:0` until the shutdown
    /// trigger, then stops the app and shuts the endpoint down.
    fn serve_axum(endpoint: exws::Endpoint, hub: Hub) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("the axum app binds");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let listener = TcpListener::from_std(listener).expect("a Tokio listener");
        let addr = listener.local_addr().expect("the axum app's address");
        let app = axum::Router::new().fallback({
            let endpoint = endpoint.clone();
            move |request: axum::extract::Request| {
                let endpoint = endpoint.clone();
                async move { endpoint.upgrade(request).await }
            }
        });
        let (trigger, signal) = oneshot::channel::<()>();
        let (stop_endpoint, endpoint_stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let app = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = signal.await;
                let _ = stop_endpoint.send(());
            });
            let shutdown = async {
                let _ = endpoint_stopped.await;
                endpoint.shutdown().await;
            };
            let (served, ()) = tokio::join!(app.into_future(), shutdown);
            served.expect("axum::serve serves until the shutdown");
            Ok(())
        });
        TestServer {
            addr,
            hub,
            trigger: Some(trigger),
            task: Some(task),
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's hub.
    pub fn hub(&self) -> Hub {
        self.hub.clone()
    }

    /// `ws://127.0.0.1:PORT{target}` (`wss://` over TLS); `target` is a path and query.
    pub fn url(&self, target: &str) -> String {
        match transport() {
            Transport::Tls => format!("wss://{}{target}", self.addr),
            Transport::Plain | Transport::Axum => format!("ws://{}{target}", self.addr),
        }
    }

    /// Opens a WebSocket connection to `/`.
    pub async fn connect(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Opens a WebSocket connection to `target` (a path and query) with extra `headers`; the
    /// upgrade must succeed.
    pub async fn connect_with(&self, target: &str, headers: &[(&str, &str)]) -> Client {
        Client::connect_with(self.addr, target, headers).await
    }

    /// Asks for an upgrade of `target` with `headers` that must be refused with an HTTP error;
    /// returns its status and body.
    pub async fn refused(&self, target: &str, headers: &[(&str, &str)]) -> (u16, String) {
        Client::refused(self.addr, target, headers).await
    }

    /// Triggers the graceful shutdown without waiting for it.
    pub fn trigger_shutdown(&mut self) {
        if let Some(trigger) = self.trigger.take() {
            let _ = trigger.send(());
        }
    }

    /// Waits for the server to return (after [`trigger_shutdown`]) and gives its result.
    ///
    /// [`trigger_shutdown`]: TestServer::trigger_shutdown
    pub async fn stopped(&mut self) -> Result<(), exws::Error> {
        let task = self.task.take().expect("the server is still running");
        within("the server to return", task)
            .await
            .expect("the server task did not panic")
    }

    /// Drops the server's future at once (aborts its task), without a graceful shutdown.
    pub async fn abort(mut self) {
        let task = self.task.take().expect("the server is still running");
        task.abort();
        let ended = within("the aborted server task to end", task).await;
        assert!(
            ended.is_err_and(|error| error.is_cancelled()),
            "the server task was cancelled"
        );
    }

    /// Triggers the graceful shutdown and waits for the server to return.
    pub async fn shutdown(mut self) -> Result<(), exws::Error> {
        self.trigger_shutdown();
        self.stopped().await
    }

    /// Shuts the server down gracefully, expecting no error: every connection is gone (and
    /// every disconnect hook has run) when this returns.
    pub async fn stop(self) {
        self.shutdown()
            .await
            .expect("the server stops without an error");
    }
}

/// A [`TestServer`] with hooks that report every opened connection and every disconnect
/// reason, for tests about when and why connections close.
pub struct ObservedServer {
    server: TestServer,
    /// Every connection, as it opens.
    pub opened: mpsc::UnboundedReceiver<Connection>,
    /// Every connection's id and disconnect reason, as it closes.
    pub closed: mpsc::UnboundedReceiver<(ConnectionId, DisconnectReason)>,
}

impl ObservedServer {
    /// Adds the reporting hooks to `server` and serves it like [`TestServer::start`].
    pub async fn start(server: Server) -> ObservedServer {
        let (opened_tx, opened) = mpsc::unbounded_channel();
        let (closed_tx, closed) = mpsc::unbounded_channel();
        let server = server
            .on_connect(move |context| {
                let _ = opened_tx.send(context.connection().clone());
                async {}
            })
            .on_disconnect(move |context, reason| {
                let _ = closed_tx.send((context.connection().id().clone(), reason));
                async {}
            });
        ObservedServer {
            server: TestServer::start(server).await,
            opened,
            closed,
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The server's hub.
    pub fn hub(&self) -> Hub {
        self.server.hub()
    }

    /// The server itself.
    pub fn server(&mut self) -> &mut TestServer {
        &mut self.server
    }

    /// Opens a WebSocket connection and returns it with the server's handle to it.
    pub async fn connect(&mut self) -> (Client, Connection) {
        let client = self.server.connect().await;
        let connection = self.next_opened().await;
        (client, connection)
    }

    /// The next connection the server opened.
    pub async fn next_opened(&mut self) -> Connection {
        within("the connect hook", self.opened.recv())
            .await
            .expect("the server is running")
    }

    /// The next disconnect the server reported.
    pub async fn next_closed(&mut self) -> (ConnectionId, DisconnectReason) {
        within("the disconnect hook", self.closed.recv())
            .await
            .expect("the server is running")
    }

    /// Asserts that no connection has closed so far.
    pub fn assert_none_closed(&mut self) {
        if let Ok((id, reason)) = self.closed.try_recv() {
            panic!("connection {id} closed unexpectedly: {reason:?}");
        }
    }

    /// Triggers the graceful shutdown without waiting for it.
    pub fn trigger_shutdown(&mut self) {
        self.server.trigger_shutdown();
    }

    /// Waits for the server to return after [`trigger_shutdown`](Self::trigger_shutdown).
    pub async fn stopped(&mut self) -> Result<(), exws::Error> {
        self.server.stopped().await
    }
}
