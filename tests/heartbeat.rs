//! The heartbeat: the server pings every interval, closes with 1008 a client that stays silent
//! (no pong, no message) for the timeout, and leaves alone a client that answers pings — or
//! every client, with `without_heartbeat()`.

mod harness;

use exws::{handlers, DisconnectReason, Server};
use harness::raw::{client_frame, raw_upgrade, read_raw_frame, CLOSE, PING, PONG, TEXT};
use harness::{ObservedServer, Received};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INTERVAL: Duration = Duration::from_millis(200);
const TIMEOUT: Duration = Duration::from_millis(600);

async fn start_with_heartbeat() -> ObservedServer {
    ObservedServer::start(
        Server::with_handlers(handlers![harness::add, harness::calculate])
            .heartbeat(INTERVAL, TIMEOUT),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_answers_pings_is_closed_with_1008() {
    let mut server = start_with_heartbeat().await;
    // Upgraded by hand and never read: nothing answers the server's pings.
    let mut silent = raw_upgrade(server.addr()).await;
    let upgraded = Instant::now();

    let (_, reason) = server.next_closed().await;
    let elapsed = upgraded.elapsed();
    assert_eq!(reason, DisconnectReason::HeartbeatTimeout);
    // Not before the timeout (a little slack: the server's clock starts before ours), and
    // within the timeout plus generous slack for a loaded machine.
    assert!(
        elapsed >= TIMEOUT - Duration::from_millis(100),
        "closed after {elapsed:?}, before the {TIMEOUT:?} timeout"
    );
    assert!(
        elapsed < TIMEOUT + Duration::from_secs(5),
        "closed only after {elapsed:?}"
    );

    // What the client finds once it does read: the pings it ignored, then a 1008 close.
    let mut pings = 0;
    let close = loop {
        let frame = harness::within("a frame on the raw socket", read_raw_frame(&mut silent))
            .await
            .expect("a close frame before the end of the stream");
        match frame.opcode {
            PING => pings += 1,
            CLOSE => break frame,
            other => panic!("unexpected frame with opcode {other:#x}"),
        }
    };
    assert!(pings >= 1, "the server pinged before giving up");
    let (code, reason) = close.close_code().expect("a close code");
    assert_eq!(code, 1008, "close code (reason {reason:?})");
    assert_eq!(reason, "heartbeat timeout");
    // The server then ends the TCP connection.
    let mut rest = Vec::new();
    let _ = harness::within("the end of the stream", silent.read_to_end(&mut rest)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_are_sent_every_interval_and_a_pong_keeps_the_connection_open() {
    let mut server = start_with_heartbeat().await;
    let mut raw = raw_upgrade(server.addr()).await;
    // Answer every ping by hand with a pong (and nothing else) for several timeouts.
    let started = Instant::now();
    let mut pings = 0;
    while started.elapsed() < TIMEOUT * 4 {
        let frame = harness::within("a ping", read_raw_frame(&mut raw))
            .await
            .expect("a frame, not the end of the stream");
        assert_eq!(
            frame.opcode,
            PING,
            "only pings while the client is silent, got {frame:?} (close: {:?})",
            frame.close_code()
        );
        pings += 1;
        raw.write_all(&client_frame(PONG, &frame.payload))
            .await
            .expect("send a pong");
    }
    assert!(
        pings >= 3,
        "{pings} pings in {:?}, at an interval of {INTERVAL:?}",
        started.elapsed()
    );
    server.assert_none_closed();

    // Still served.
    let request = json!({ "Type": "Add", "Data": { "a": 1, "b": 2 }, "Id": 1 }).to_string();
    raw.write_all(&client_frame(TEXT, request.as_bytes()))
        .await
        .expect("send a request");
    let reply = loop {
        let frame = harness::within("the reply", read_raw_frame(&mut raw))
            .await
            .expect("a frame, not the end of the stream");
        match frame.opcode {
            PING => continue,
            TEXT => break frame,
            other => panic!("unexpected frame with opcode {other:#x}"),
        }
    };
    let reply: Value = serde_json::from_slice(&reply.payload).expect("a JSON reply");
    assert_eq!(
        reply,
        json!({ "Type": "Sum", "Data": { "sum": 3 }, "Id": 1 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_stays_connected_well_past_the_timeout() {
    let mut server = start_with_heartbeat().await;
    let (mut client, _connection) = server.connect().await;

    // Only read (tungstenite answers pings while reading) for more than three timeouts.
    let started = Instant::now();
    let mut pings = 0;
    while started.elapsed() < Duration::from_secs(2) {
        match client.next_event().await {
            Received::Ping => pings += 1,
            other => panic!("expected only pings from an idle connection, got {other:?}"),
        }
    }
    assert!(pings >= 3, "the client saw {pings} pings in 2 s");
    server.assert_none_closed();
    client.assert_alive().await;
    server.assert_none_closed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_only_sends_messages_is_not_timed_out() {
    let mut server = start_with_heartbeat().await;
    let mut raw = raw_upgrade(server.addr()).await;
    // Never answers a ping, but sends a message every quarter timeout: that is being heard from.
    for id in 0..12u64 {
        let request = json!({ "Type": "Add", "Data": { "a": id, "b": 0 }, "Id": id }).to_string();
        raw.write_all(&client_frame(TEXT, request.as_bytes()))
            .await
            .expect("send a request");
        tokio::time::sleep(TIMEOUT / 4).await;
    }
    server.assert_none_closed();
    // Every reply is there, among the pings.
    let mut replies = Vec::new();
    while replies.len() < 12 {
        let frame = harness::within("a reply", read_raw_frame(&mut raw))
            .await
            .expect("a frame, not the end of the stream");
        match frame.opcode {
            PING => continue,
            TEXT => {
                let reply: Value = serde_json::from_slice(&frame.payload).expect("JSON");
                replies.push(reply["Id"].as_u64().expect("an Id"));
            }
            other => panic!("unexpected frame {other:#x}: {:?}", frame.close_code()),
        }
    }
    assert_eq!(replies, (0..12).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_heartbeat_a_silent_client_stays_open_and_is_never_pinged() {
    let mut server = ObservedServer::start(
        Server::with_handlers(handlers![harness::add, harness::calculate])
            .heartbeat(INTERVAL, TIMEOUT)
            .without_heartbeat(),
    )
    .await;
    let mut raw = raw_upgrade(server.addr()).await;
    tokio::time::sleep(TIMEOUT * 3).await;
    server.assert_none_closed();

    // Not a single byte arrived: no pings.
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_millis(200), raw.read(&mut byte)).await;
    assert!(
        read.is_err(),
        "the server sent something without a heartbeat: {read:?}"
    );

    let request = json!({ "Type": "Add", "Data": { "a": 40, "b": 2 }, "Id": "x" }).to_string();
    raw.write_all(&client_frame(TEXT, request.as_bytes()))
        .await
        .expect("send a request");
    let frame = harness::within("the reply", read_raw_frame(&mut raw))
        .await
        .expect("a reply");
    assert_eq!(frame.opcode, TEXT);
    let reply: Value = serde_json::from_slice(&frame.payload).expect("JSON");
    assert_eq!(
        reply,
        json!({ "Type": "Sum", "Data": { "sum": 42 }, "Id": "x" })
    );
    server.assert_none_closed();
}
