//! Shared helpers of the integration tests: handlers, an in-process server on port 0, and a
//! timeout around every await.

#![allow(dead_code)]

pub(crate) mod proxy;

use exws::{handlers, message, Connection, Server};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The limit of every single await in the tests.
pub(crate) const LIMIT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than [`LIMIT`].
pub(crate) async fn within<F: Future>(future: F) -> F::Output {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {LIMIT:?}"),
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CalculateRequest {
    pub numbers: Vec<i64>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct CalculateResponse {
    pub result: i64,
}

#[message]
pub(crate) async fn calculate(request: CalculateRequest) -> CalculateResponse {
    CalculateResponse {
        result: request.numbers.iter().sum(),
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FailRequest {}

#[message(type = "calc.fail")]
pub(crate) async fn fail(_request: FailRequest) -> Result<CalculateResponse, String> {
    Err("boom".into())
}

/// Echoes `tag` after sleeping `delay_ms`: replies of concurrent calls leave out of order.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SlowEcho {
    pub tag: u32,
    pub delay_ms: u64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Echoed {
    pub tag: u32,
}

#[message]
pub(crate) async fn slow_echo(request: SlowEcho) -> Echoed {
    tokio::time::sleep(Duration::from_millis(request.delay_ms)).await;
    Echoed { tag: request.tag }
}

/// Sends no reply at all.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Silent {}

#[message]
pub(crate) async fn silent(_request: Silent) {}

/// Makes the server push `count` [`Tick`]s to the caller, and no reply.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StartTicks {
    pub count: u32,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Clone)]
pub(crate) struct Tick {
    pub n: u32,
}

#[message]
pub(crate) async fn start_ticks(request: StartTicks, conn: Connection) {
    for n in 0..request.count {
        if conn.send(&Tick { n }).await.is_err() {
            return;
        }
    }
}

/// Pushes a `Tick` whose `Data` does not fit [`Tick`], then a good one.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct BadTick {}

#[message]
pub(crate) async fn bad_tick(_request: BadTick, conn: Connection) {
    let _ = conn.send_as("Tick", &"not a tick").await;
    let _ = conn.send(&Tick { n: 99 }).await;
}

/// Asks for a reply of `size` bytes of text.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Big {
    pub size: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Blob {
    pub text: String,
}

#[message]
pub(crate) async fn big(request: Big) -> Blob {
    Blob {
        text: "x".repeat(request.size),
    }
}

/// The handlers every test server has.
pub(crate) fn server() -> Server {
    Server::with_handlers(handlers![
        calculate,
        fail,
        slow_echo,
        silent,
        start_ticks,
        bad_tick,
        big
    ])
    .concurrent(16)
    .shutdown_timeout(Duration::from_millis(500))
    .close_timeout(Duration::from_millis(500))
}

/// A server running in the background until [`Running::stop`].
pub(crate) struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), exws::Error>>,
}

impl Running {
    /// `ws://IP:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Shuts the server down gracefully (connections closed with 1001) and waits for it.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        within(&mut self.task)
            .await
            .expect("server task panicked")
            .expect("server failed");
    }
}

/// Starts [`server`] on `addr` (port 0 for a free port).
pub(crate) async fn start_on(addr: &str) -> Running {
    start_server(server(), addr).await
}

/// Starts `server` on `addr` (port 0 for a free port).
pub(crate) async fn start_server(server: Server, addr: &str) -> Running {
    let bound = within(server.bind(addr)).await.expect("bind");
    let addr = bound.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(
        bound
            .serve()
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );
    Running {
        addr,
        stop: Some(stop),
        task,
    }
}

/// Starts [`server`] on a free port.
pub(crate) async fn start() -> Running {
    start_on("127.0.0.1:0").await
}
