//! The defaults the README documents, each observed on a server built without the option:
//! messages up to 1 MiB, a silent client closed after 60 s (pings every 30 s), 64 streams per
//! connection. Through the test kit on tokio's paused clock: a minute passes in no time.
//! (The numeric defaults of every option are also checked where they are defined,
//! `runtime/src/server/config.rs`.)

use exws::testing::{Handshake, KitError, TestServer};
use exws::{handlers, message, DisconnectReason, ErrorCode, Server};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Deserialize)]
struct Measure {
    text: String,
}

#[derive(Serialize)]
struct Measured {
    bytes: usize,
}

#[message]
async fn measure(request: Measure) -> Measured {
    Measured {
        bytes: request.text.len(),
    }
}

#[derive(Serialize, Deserialize)]
struct Watch {}

#[derive(Serialize, Deserialize, Debug)]
struct Watching {
    open: bool,
}

/// One item, then nothing until cancelled: a stream that stays open.
#[message]
async fn watch(_request: Watch) -> impl Stream<Item = Watching> {
    use futures_util::StreamExt;
    futures_util::stream::once(async { Watching { open: true } })
        .chain(futures_util::stream::pending())
}

fn server() -> Server {
    Server::with_handlers(handlers![measure, watch])
}

/// `{"Data":{"text":"x…x"},"Type":"Measure"}` of exactly `bytes` bytes.
fn measure_frame(bytes: usize) -> serde_json::Value {
    let overhead = json!({"Type": "Measure", "Data": {"text": ""}})
        .to_string()
        .len();
    let frame = json!({"Type": "Measure", "Data": {"text": "x".repeat(bytes - overhead)}});
    assert_eq!(frame.to_string().len(), bytes);
    frame
}

#[tokio::test(start_paused = true)]
async fn a_message_of_1_mib_is_handled_and_one_byte_more_is_refused_with_1009() {
    const MIB: usize = 1 << 20;
    let server = TestServer::start(server()).await.expect("builds");
    let mut client = server.connect(Handshake::new("/")).await.expect("connects");
    client
        .send_envelope(&measure_frame(MIB))
        .await
        .expect("sent");
    let reply = client.recv().await.expect("a reply to 1 MiB");
    assert_eq!(reply["Type"], "Measured", "{reply}");

    client
        .send_envelope(&measure_frame(MIB + 1))
        .await
        .expect("sent");
    let closed = client.closed().await.expect("a close frame");
    assert_eq!(closed.code, 1009, "{closed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_silent_client_is_closed_60_seconds_after_it_last_spoke() {
    let (closes, mut closed) = mpsc::unbounded_channel();
    let server = TestServer::start(server().on_disconnect(move |_context, reason| {
        let closes = closes.clone();
        async move {
            let _ = closes.send((reason, Instant::now()));
        }
    }))
    .await
    .expect("builds");
    let mut client = server.connect(Handshake::new("/")).await.expect("connects");
    let reply = client
        .call_raw("Measure", &json!({"text": "hi"}))
        .await
        .expect("answered");
    assert_eq!(reply["Data"]["bytes"], 2);
    // From now on the client reads nothing, so it answers no ping: it is silent.
    let spoke = Instant::now();
    let (reason, at) = closed.recv().await.expect("the connection closes");
    assert!(
        matches!(reason, DisconnectReason::HeartbeatTimeout),
        "{reason:?}"
    );
    let silent = at - spoke;
    // The silence check runs at each ping, every 30 s: the close frame goes out at the first
    // ping after 60 s of silence (at most 90 s), and the hook runs once the client, which
    // reads nothing, has not answered it within the close timeout (2 s).
    assert!(
        silent >= Duration::from_secs(60) && silent <= Duration::from_secs(90 + 2),
        "closed after {silent:?} of silence"
    );
    drop(client);
}

#[tokio::test(start_paused = true)]
async fn a_connection_holds_64_streams_and_the_65th_is_refused() {
    let server = TestServer::start(server()).await.expect("builds");
    let mut client = server.connect(Handshake::new("/")).await.expect("connects");
    let mut streams = Vec::new();
    for _ in 0..64 {
        let mut stream = client.stream(&Watch {}).await.expect("sent");
        let first: Watching = stream
            .next(&mut client)
            .await
            .expect("an item")
            .expect("a first item");
        assert!(first.open);
        streams.push(stream);
    }
    let mut refused = client.stream(&Watch {}).await.expect("sent");
    match refused.next::<Watching>(&mut client).await {
        Some(Err(KitError::Error(error))) => assert_eq!(error.code, ErrorCode::TooManyStreams),
        other => panic!("the 65th stream got {other:?}, not too_many_streams"),
    }
    // One cancelled makes room for another.
    let one = streams.pop().expect("64 streams");
    one.cancel(&mut client).await.expect("cancelled");
    let mut again = client.stream(&Watch {}).await.expect("sent");
    let first: Watching = again
        .next(&mut client)
        .await
        .expect("an item")
        .expect("a first item");
    assert!(first.open);
}

/// Sends the instant it is dropped.
struct DropSignal(Option<mpsc::UnboundedSender<Instant>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(sender) = self.0.take() {
            let _ = sender.send(Instant::now());
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_disconnect_hook_is_cancelled_5_seconds_after_the_close() {
    let (started, mut hook_started) = mpsc::unbounded_channel();
    let (dropped, mut hook_dropped) = mpsc::unbounded_channel();
    let (finished, mut hook_finished) = mpsc::unbounded_channel::<()>();
    let server = TestServer::start(server().on_disconnect(move |_context, _reason| {
        let (started, dropped, finished) = (started.clone(), dropped.clone(), finished.clone());
        async move {
            let _guard = DropSignal(Some(dropped));
            let _ = started.send(Instant::now());
            tokio::time::sleep(Duration::from_secs(3600)).await;
            let _ = finished.send(());
        }
    }))
    .await
    .expect("builds");
    let client = server.connect(Handshake::new("/")).await.expect("connects");
    client.close(1000, "bye").await.expect("closed");
    let start = hook_started.recv().await.expect("the hook starts");
    let end = hook_dropped.recv().await.expect("the hook is cancelled");
    assert_eq!(
        end - start,
        Duration::from_secs(5),
        "the default handler grace"
    );
    assert!(hook_finished.try_recv().is_err(), "the hook ran to its end");
}
