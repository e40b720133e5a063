//! Shared helpers of the CLI tests: an in-process exws server on port 0, and the `exws` binary
//! run as a child process.

#![allow(dead_code)]

// The Rust client's test proxy, one copy for both crates' tests.
#[path = "../../../clients/rust/tests/common/proxy.rs"]
pub(crate) mod proxy;

use exws::auth::{Admission, HandshakeRejection};
use exws::{handlers, message, Connection, HandshakeRequest, Server, State};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::future::IntoFuture;
use std::process::{Command, Output};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The limit of every single await in the tests.
pub(crate) const LIMIT: Duration = Duration::from_secs(20);

/// Awaits `future`, failing the test if it takes longer than [`LIMIT`].
pub(crate) async fn within<F: Future>(future: F) -> F::Output {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {LIMIT:?}"),
    }
}

#[derive(Deserialize)]
pub(crate) struct CalculateRequest {
    pub numbers: Vec<i64>,
}

#[derive(Serialize)]
pub(crate) struct CalculateResponse {
    pub result: i64,
}

#[message]
pub(crate) async fn calculate(request: CalculateRequest) -> CalculateResponse {
    CalculateResponse {
        result: request.numbers.iter().sum(),
    }
}

#[derive(Deserialize)]
pub(crate) struct FailRequest {}

#[message(type = "calc.fail")]
pub(crate) async fn fail(_request: FailRequest) -> Result<CalculateResponse, String> {
    Err("boom".into())
}

/// Takes no data (`null`).
#[derive(Deserialize)]
pub(crate) struct Ping;

#[derive(Serialize)]
pub(crate) struct Pong {
    pub pong: bool,
}

#[message]
pub(crate) async fn ping(_request: Ping) -> Pong {
    Pong { pong: true }
}

#[derive(Deserialize)]
pub(crate) struct Silent {}

#[message]
pub(crate) async fn silent(_request: Silent) {}

#[derive(Deserialize)]
pub(crate) struct StartTicks {
    pub count: u32,
}

#[derive(Serialize)]
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

/// Where the server reports the notes it received.
#[derive(Clone)]
pub(crate) struct Sink(pub mpsc::UnboundedSender<String>);

#[derive(Deserialize)]
pub(crate) struct Note {
    pub text: String,
}

#[message]
pub(crate) async fn note(request: Note, State(sink): State<Sink>) {
    let _ = sink.0.send(request.text);
}

#[derive(Deserialize)]
pub(crate) struct WhoAmI {}

#[derive(Serialize)]
pub(crate) struct YouAre {
    pub token: Option<String>,
}

#[message]
pub(crate) async fn who_am_i(_request: WhoAmI, conn: Connection) -> YouAre {
    YouAre {
        token: conn.metadata("token"),
    }
}

/// A server running in the background until [`Running::stop`].
pub(crate) struct Running {
    pub url: String,
    /// The texts of the `Note`s received.
    pub notes: mpsc::UnboundedReceiver<String>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), exws::Error>>,
}

impl Running {
    /// Shuts the server down gracefully and waits for it.
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

/// Starts a server with the test handlers; with `guarded`, handshakes need
/// `Authorization: tma <token>`.
pub(crate) async fn start(guarded: bool) -> Running {
    let (sink, notes) = mpsc::unbounded_channel();
    let mut server = Server::with_handlers(handlers![
        calculate,
        fail,
        ping,
        silent,
        start_ticks,
        note,
        who_am_i
    ])
    .with_state(Sink(sink))
    .shutdown_timeout(Duration::from_millis(500))
    .close_timeout(Duration::from_millis(500));
    if guarded {
        server = server.authenticator(|request: HandshakeRequest| async move {
            match request.header("authorization") {
                Some(value) if value.starts_with("tma ") => {
                    Ok(Admission::anonymous().with_metadata("token", &value[4..]))
                }
                _ => Err(HandshakeRejection::unauthorized(
                    "send `Authorization: tma <token>`",
                )),
            }
        });
    }
    serve_with_notes(server, notes).await
}

/// Starts `server` (its own handlers and state) on a free port.
pub(crate) async fn serve(server: Server) -> Running {
    let (_, notes) = mpsc::unbounded_channel();
    serve_with_notes(server, notes).await
}

async fn serve_with_notes(server: Server, notes: mpsc::UnboundedReceiver<String>) -> Running {
    let bound = within(server.bind("127.0.0.1:0")).await.expect("bind");
    let url = format!("ws://{}", bound.local_addr());
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
        url,
        notes,
        stop: Some(stop),
        task,
    }
}

/// The `exws` binary with these arguments.
pub(crate) fn exws<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_exws"));
    command.args(args).env_remove("RUST_LOG");
    command
}

/// Runs `exws` with `args` to completion (off the async runtime), with the limit.
pub(crate) async fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = exws(args);
    within(tokio::task::spawn_blocking(move || command.output()))
        .await
        .expect("spawn_blocking")
        .expect("run exws")
}

/// stdout as text.
pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr as text.
pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
