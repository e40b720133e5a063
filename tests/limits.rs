//! The server's limits, each with real sockets: the connection limit (503), the per-connection
//! rate limit (`rate_limited`, then 1008), the handshake timeout and size (431), the rooms per
//! connection, and the options `bind` refuses.

mod harness;

use exws::{handlers, message, Connection, DisconnectReason, Hub, HubError, Server};
use harness::raw::{http_answer, status_of, upgrade_request};
use harness::{within, Client, ObservedServer, Transport};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Deserialize)]
struct JoinRoom {
    room: String,
}

#[derive(Serialize)]
struct Joined {
    room: String,
    members: usize,
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

#[derive(Deserialize)]
struct LeaveRoom {
    room: String,
}

#[derive(Serialize)]
struct Left {
    was_in: bool,
}

#[message]
async fn leave_room(
    request: LeaveRoom,
    connection: Connection,
    hub: Hub,
) -> Result<Left, HubError> {
    let was_in = hub.leave(connection.id(), &request.room).await?;
    Ok(Left { was_in })
}

fn server() -> Server {
    Server::with_handlers(handlers![
        harness::add,
        harness::calculate,
        join_room,
        leave_room
    ])
}

fn add(id: u64) -> Value {
    json!({ "Type": "Add", "Data": { "a": id, "b": 1 }, "Id": id })
}

fn assert_sum(reply: &Value, id: u64) {
    assert_eq!(
        reply,
        &json!({ "Type": "Sum", "Data": { "sum": id + 1 }, "Id": id }),
        "the reply to request {id}"
    );
}

fn assert_rate_limited(reply: &Value, id: u64) {
    assert_eq!(reply["Type"], "Error", "request {id}: {reply}");
    assert_eq!(
        reply["Data"]["code"], "rate_limited",
        "request {id}: {reply}"
    );
    assert_eq!(
        reply["Data"]["type"], "Add",
        "the error names the Type: {reply}"
    );
    assert_eq!(reply["Id"], id, "the error echoes the Id: {reply}");
    assert!(
        reply["Data"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "the error has a message: {reply}"
    );
}

/// Connects until the server admits the connection (a slot frees once the session that held
/// it has fully ended, a little after its disconnect hook).
async fn connect_once_admitted(addr: std::net::SocketAddr) -> Client {
    within("a free connection slot", async {
        loop {
            match Client::try_connect(addr).await {
                Ok(client) => return client,
                Err(503) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(status) => panic!("unexpected HTTP {status}"),
            }
        }
    })
    .await
}

// ---- max_connections -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_past_the_limit_gets_503_until_one_closes() {
    if harness::skipped_over(
        Transport::Axum,
        "axum's HTTP server reads the request head and keeps connections alive",
    ) {
        return;
    }
    let mut server = ObservedServer::start(server().max_connections(2)).await;
    let addr = server.addr();
    let (first, _) = server.connect().await;
    let (mut second, _) = server.connect().await;

    assert_eq!(
        Client::try_connect(addr).await.err(),
        Some(503),
        "the third upgrade is refused"
    );
    let response = http_answer(addr, upgrade_request(addr).as_bytes())
        .await
        .expect("a whole HTTP answer");
    assert_eq!(status_of(&response), 503, "{response}");
    assert!(
        response.to_ascii_lowercase().contains("retry-after:"),
        "the 503 says when to retry: {response}"
    );
    server.assert_none_closed();

    first.close().await;
    let (_, reason) = server.next_closed().await;
    assert!(
        matches!(reason, DisconnectReason::ClientClosed { .. }),
        "{reason:?}"
    );
    let mut third = connect_once_admitted(addr).await;
    third.assert_alive().await;
    second.assert_alive().await;
    // Full again.
    assert_eq!(Client::try_connect(addr).await.err(), Some(503));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_still_upgrading_holds_its_slot_until_the_handshake_timeout() {
    if harness::skipped_over(
        Transport::Tls,
        "writes an HTTP head in plain TCP, below TLS",
    ) || harness::skipped_over(Transport::Axum, "axum's HTTP server reads the request head")
    {
        return;
    }
    let server = ObservedServer::start(
        server()
            .max_connections(1)
            .handshake_timeout(Duration::from_millis(300)),
    )
    .await;
    let addr = server.addr();
    // A TCP connection that never sends its upgrade request takes the only slot...
    let mut idle = harness::transport::connect_stream(addr).await;
    // (The server takes the slot once its accept loop has the connection: until then a probe
    // is admitted, and closed again.)
    harness::eventually("an upgrade refused with 503", harness::TIMEOUT, || async {
        match Client::try_connect(addr).await {
            Err(503) => Ok(()),
            Err(status) => panic!("an upgrade past max_connections got {status}, not 503"),
            Ok(probe) => {
                probe.close().await;
                Err("admitted: the idle connection has no slot yet".to_owned())
            }
        }
    })
    .await;
    // ...until the handshake timeout drops it.
    let mut client = connect_once_admitted(addr).await;
    client.assert_alive().await;
    let mut rest = Vec::new();
    let read = within(
        "the idle connection to be dropped",
        idle.read_to_end(&mut rest),
    )
    .await;
    assert!(
        read.is_ok() && rest.is_empty(),
        "the idle connection got nothing but its end: {read:?} {rest:?}"
    );
}

// ---- rate_limit ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_past_the_rate_is_refused_then_the_client_is_closed_with_1008() {
    // One message per second refills so slowly that a loaded machine cannot sneak an extra
    // token into the burst: the outcome of every message is exact.
    let mut server = ObservedServer::start(server().rate_limit(1.0, 5)).await;
    let (mut client, _) = server.connect().await;
    for id in 0..20 {
        client.feed_json(&add(id)).await;
    }
    client.flush().await;

    // The burst is served...
    for id in 0..5 {
        assert_sum(&client.recv().await, id);
    }
    // ...the next `burst` messages are refused one by one, each with its Id...
    for id in 5..10 {
        assert_rate_limited(&client.recv().await, id);
    }
    // ...and the one after that (a client that keeps going) ends the connection.
    assert_eq!(client.expect_close(1008).await, "rate limit exceeded");
    let (_, reason) = server.next_closed().await;
    assert_eq!(reason, DisconnectReason::RateLimited);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_client_that_slows_down_is_served_again() {
    let mut server = ObservedServer::start(server().rate_limit(10.0, 5)).await;
    let (mut client, _) = server.connect().await;
    for id in 0..10 {
        client.feed_json(&add(id)).await;
    }
    client.flush().await;
    let mut refused = 0;
    for id in 0..10 {
        let reply = client.recv().await;
        if id < 5 {
            assert_sum(&reply, id);
        } else if reply["Type"] == "Error" {
            assert_rate_limited(&reply, id);
            refused += 1;
        } else {
            // A stalled machine may let the bucket refill mid-burst.
            assert_sum(&reply, id);
        }
    }
    assert!(refused > 0, "a burst of twice the bucket is partly refused");

    // Refilled: a full burst again, with no close in between.
    tokio::time::sleep(Duration::from_millis(700)).await;
    for id in 100..105 {
        assert_sum(
            &client
                .call_with_id("Add", json!({ "a": id, "b": 1 }), json!(id))
                .await,
            id,
        );
    }
    server.assert_none_closed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_under_the_rate_is_never_limited() {
    let mut server = ObservedServer::start(server().rate_limit(10.0, 5)).await;
    let (mut client, _) = server.connect().await;
    // About 6.7 messages a second, under the 10 allowed: the bucket never runs dry (and a
    // late tick only saves tokens up).
    for id in 0..20 {
        assert_sum(
            &client
                .call_with_id("Add", json!({ "a": id, "b": 1 }), json!(id))
                .await,
            id,
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    server.assert_none_closed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_rate_limit_a_large_burst_is_served() {
    // The default: no rate limit, so bulk clients are not throttled.
    let mut server = ObservedServer::start(server()).await;
    let (mut client, _) = server.connect().await;
    for id in 0..500 {
        client.feed_json(&add(id)).await;
    }
    client.flush().await;
    for id in 0..500 {
        assert_sum(&client.recv().await, id);
    }
    server.assert_none_closed();
}

// ---- handshake_timeout and max_handshake_size -----------------------------------------

const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(300);

/// Reads until the server ends the connection; returns what was read and when it ended.
/// A reset counts as an end too (the server may drop a connection with unread bytes).
async fn read_until_dropped(tcp: &mut harness::transport::TestStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    within("the server to drop the connection", async {
        loop {
            match tcp.read(&mut buffer).await {
                Ok(0) => return,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => return,
                Err(error) => panic!("reading failed: {error}"),
            }
        }
    })
    .await;
    received
}

fn assert_dropped_in_time(started: Instant, received: &[u8]) {
    let elapsed = started.elapsed();
    assert!(
        received.is_empty(),
        "the server answered an incomplete handshake: {:?}",
        String::from_utf8_lossy(received)
    );
    assert!(
        elapsed >= HANDSHAKE_TIMEOUT - Duration::from_millis(50),
        "dropped after {elapsed:?}, before the {HANDSHAKE_TIMEOUT:?} timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_dropped_after_the_handshake_timeout() {
    if harness::skipped_over(
        Transport::Tls,
        "writes an HTTP head in plain TCP, below TLS",
    ) || harness::skipped_over(Transport::Axum, "axum's HTTP server reads the request head")
    {
        return;
    }
    let mut server = ObservedServer::start(server().handshake_timeout(HANDSHAKE_TIMEOUT)).await;
    let started = Instant::now();
    let mut tcp = harness::transport::connect_stream(server.addr()).await;
    let received = read_until_dropped(&mut tcp).await;
    assert_dropped_in_time(started, &received);
    // It never was a WebSocket connection: the next disconnect the server reports is a later
    // client's.
    let (client, connection) = server.connect().await;
    client.close().await;
    let (closed, _) = server.next_closed().await;
    assert_eq!(&closed, connection.id(), "the first disconnect reported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_request_line_is_dropped_after_the_handshake_timeout() {
    if harness::skipped_over(
        Transport::Tls,
        "writes an HTTP head in plain TCP, below TLS",
    ) || harness::skipped_over(Transport::Axum, "axum's HTTP server reads the request head")
    {
        return;
    }
    let server = ObservedServer::start(server().handshake_timeout(HANDSHAKE_TIMEOUT)).await;
    let started = Instant::now();
    let mut tcp = harness::transport::connect_stream(server.addr()).await;
    tcp.write_all(b"GET / HT").await.expect("write");
    let received = read_until_dropped(&mut tcp).await;
    assert_dropped_in_time(started, &received);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_handshake_is_cut_at_the_deadline_not_per_read() {
    if harness::skipped_over(
        Transport::Tls,
        "writes an HTTP head in plain TCP, below TLS",
    ) || harness::skipped_over(Transport::Axum, "axum's HTTP server reads the request head")
    {
        return;
    }
    // Slowloris: one byte every 50 ms keeps every single read short, but the whole upgrade
    // takes seconds; the timeout bounds the whole handshake.
    let server = ObservedServer::start(server().handshake_timeout(HANDSHAKE_TIMEOUT)).await;
    let addr = server.addr();
    let started = Instant::now();
    let tcp = harness::transport::connect_stream(addr).await;
    let (mut read_half, mut write_half) = tokio::io::split(tcp);
    let trickle = tokio::spawn(async move {
        for byte in upgrade_request(addr).bytes() {
            if write_half.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    within("the server to drop the trickling connection", async {
        loop {
            match read_half.read(&mut buffer).await {
                Ok(0) => return,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => return,
                Err(error) => panic!("reading failed: {error}"),
            }
        }
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the full request would take more than 5 s to trickle in; dropped after {:?}",
        started.elapsed()
    );
    assert_dropped_in_time(started, &received);
    trickle.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_in_time_is_not_affected_by_the_handshake_timeout() {
    let mut server = ObservedServer::start(server().handshake_timeout(HANDSHAKE_TIMEOUT)).await;
    let (mut client, _) = server.connect().await;
    // Long after the handshake timeout, the open connection is untouched.
    tokio::time::sleep(HANDSHAKE_TIMEOUT * 3).await;
    client.assert_alive().await;
    server.assert_none_closed();
}

/// An upgrade request with a `X-Padding` header of `padding` bytes.
fn padded_upgrade(addr: std::net::SocketAddr, padding: usize) -> Vec<u8> {
    let request = upgrade_request(addr);
    let head = request.trim_end_matches("\r\n");
    format!("{head}\r\nX-Padding: {}\r\n\r\n", "a".repeat(padding)).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_handshake_gets_431_with_the_default_limit() {
    if harness::skipped_over(
        Transport::Axum,
        "axum's HTTP server reads the request head and keeps connections alive",
    ) {
        return;
    }
    let server = ObservedServer::start(server()).await;
    let addr = server.addr();
    // The default limit is 16 KiB.
    let request = padded_upgrade(addr, 20 * 1024);
    let response = http_answer(addr, &request)
        .await
        .expect("the 431 arrives whole, not destroyed by a reset");
    assert_eq!(status_of(&response), 431, "{response}");
    // Just under the limit is fine.
    let mut tcp = harness::transport::connect_stream(addr).await;
    tcp.write_all(&padded_upgrade(addr, 15 * 1024))
        .await
        .expect("write");
    let head = harness::raw::read_http_head(&mut tcp).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_handshake_size_sets_the_431_threshold() {
    if harness::skipped_over(
        Transport::Axum,
        "axum's HTTP server reads the request head and keeps connections alive",
    ) {
        return;
    }
    let server = ObservedServer::start(server().max_handshake_size(1024)).await;
    let addr = server.addr();
    // A head that stops exactly at the limit, without its blank line: all of it is read.
    let mut exact = padded_upgrade(addr, 2048);
    exact.truncate(1024);
    let response = http_answer(addr, &exact).await.expect("an answer");
    assert_eq!(status_of(&response), 431, "{response}");

    let mut tcp = harness::transport::connect_stream(addr).await;
    tcp.write_all(&padded_upgrade(addr, 600))
        .await
        .expect("write");
    let head = harness::raw::read_http_head(&mut tcp).await;
    assert!(
        head.starts_with("HTTP/1.1 101 "),
        "a 1 KiB limit admits {head}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_handshake_over_a_small_limit_gets_its_431() {
    if harness::skipped_over(
        Transport::Axum,
        "axum's HTTP server reads the request head and keeps connections alive",
    ) {
        return;
    }
    // More than the limit, sent at once: the server stops reading at the limit and must still
    // deliver its 431 (not reset the connection while the client's bytes are unread).
    let server = ObservedServer::start(server().max_handshake_size(1024)).await;
    let addr = server.addr();
    for _ in 0..20 {
        let response = http_answer(addr, &padded_upgrade(addr, 4096))
            .await
            .expect("the 431 arrives whole, not destroyed by a reset");
        assert_eq!(status_of(&response), 431, "{response}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_headers_get_431() {
    if harness::skipped_over(
        Transport::Axum,
        "axum's HTTP server reads the request head and keeps connections alive",
    ) {
        return;
    }
    let server = ObservedServer::start(server()).await;
    let addr = server.addr();
    let request = upgrade_request(addr);
    let head = request.trim_end_matches("\r\n");
    let extra: String = (0..80).map(|n| format!("X-Extra-{n}: {n}\r\n")).collect();
    let request = format!("{head}\r\n{extra}\r\n");
    let response = http_answer(addr, request.as_bytes())
        .await
        .expect("an answer");
    assert_eq!(status_of(&response), 431, "{response}");
}

// ---- max_rooms_per_connection ----------------------------------------------------------

async fn join(client: &mut Client, room: &str, id: u64) -> Value {
    client
        .call_with_id("JoinRoom", json!({ "room": room }), json!(id))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_rooms_per_connection_refuses_one_room_too_many() {
    let mut server = ObservedServer::start(server().max_rooms_per_connection(3)).await;
    let (mut client, connection) = server.connect().await;
    for (id, room) in ["r0", "r1", "r2"].into_iter().enumerate() {
        let reply = join(&mut client, room, id as u64).await;
        assert_eq!(reply["Type"], "Joined", "{reply}");
    }
    let refused = join(&mut client, "r3", 3).await;
    assert_eq!(refused["Type"], "Error", "{refused}");
    assert_eq!(refused["Data"]["code"], "handler_error", "{refused}");
    assert!(
        refused["Data"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("3 rooms")),
        "the error says why: {refused}"
    );
    assert_eq!(refused["Id"], 3);
    // Joining a room it is already in is not one more.
    assert_eq!(join(&mut client, "r1", 4).await["Type"], "Joined");
    assert_eq!(server.hub().rooms_of(connection.id()), ["r0", "r1", "r2"]);

    let left = client
        .call_with_id("LeaveRoom", json!({ "room": "r0" }), json!(5))
        .await;
    assert_eq!(left["Data"]["was_in"], true, "{left}");
    assert_eq!(join(&mut client, "r3", 6).await["Type"], "Joined");
    assert_eq!(server.hub().rooms_of(connection.id()), ["r1", "r2", "r3"]);
    server.assert_none_closed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_room_limit_is_128() {
    let mut server = ObservedServer::start(server()).await;
    let (mut client, _) = server.connect().await;
    for n in 0..128 {
        client
            .feed_json(
                &json!({ "Type": "JoinRoom", "Data": { "room": format!("room-{n}") }, "Id": n }),
            )
            .await;
    }
    client.flush().await;
    for n in 0..128 {
        let reply = client.recv().await;
        assert_eq!(reply["Type"], "Joined", "room {n}: {reply}");
    }
    let refused = join(&mut client, "one-too-many", 128).await;
    assert_eq!(refused["Data"]["code"], "handler_error", "{refused}");
    assert!(
        refused["Data"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("128 rooms")),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_are_released_when_the_connection_closes() {
    let mut server = ObservedServer::start(server().max_rooms_per_connection(2)).await;
    let (mut client, _) = server.connect().await;
    assert_eq!(join(&mut client, "a", 1).await["Type"], "Joined");
    assert_eq!(join(&mut client, "b", 2).await["Type"], "Joined");
    client.close().await;
    server.next_closed().await;
    within("the rooms to empty", async {
        while server.hub().local_room_count() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

// ---- invalid options -------------------------------------------------------------------

async fn assert_invalid(name: &str, server: Server) {
    match within("bind", server.bind("127.0.0.1:0")).await {
        Err(error @ exws::Error::InvalidOption { .. }) => {
            let exws::Error::InvalidOption { option, reason } = &error else {
                unreachable!()
            };
            assert_eq!(*option, name, "the error names the option: {error}");
            assert!(!reason.is_empty(), "the error says what is wrong: {error}");
            assert!(
                error.to_string().contains(name),
                "the message names the option: {error}"
            );
        }
        Err(error) => panic!("{name}: expected InvalidOption, got {error}"),
        Ok(_) => panic!("{name}: an invalid value was accepted"),
    }
}

#[tokio::test]
async fn bind_refuses_out_of_range_options_naming_them() {
    let second = Duration::from_secs(1);
    let cases: Vec<(&str, Server)> = vec![
        ("max_message_size", server().max_message_size(0)),
        ("concurrent", server().concurrent(0)),
        (
            "heartbeat",
            server().heartbeat(Duration::ZERO, Duration::ZERO),
        ),
        ("heartbeat", server().heartbeat(second, second / 2)),
        ("outbound_queue", server().outbound_queue(0)),
        ("outbound_queue_bytes", server().outbound_queue_bytes(0)),
        ("max_connections", server().max_connections(0)),
        ("rate_limit", server().rate_limit(0.0, 5)),
        ("rate_limit", server().rate_limit(-1.0, 5)),
        ("rate_limit", server().rate_limit(f64::NAN, 5)),
        ("rate_limit", server().rate_limit(f64::INFINITY, 5)),
        ("rate_limit", server().rate_limit(10.0, 0)),
        (
            "max_rooms_per_connection",
            server().max_rooms_per_connection(0),
        ),
        ("max_handshake_size", server().max_handshake_size(0)),
        ("read_buffer_size", server().read_buffer_size(0)),
    ];
    for (name, server) in cases {
        assert_invalid(name, server).await;
    }
}

#[tokio::test]
async fn the_first_invalid_option_is_the_one_reported() {
    assert_invalid(
        "concurrent",
        server()
            .concurrent(0)
            .max_message_size(0)
            .max_connections(0),
    )
    .await;
}

#[tokio::test]
async fn boundary_values_are_accepted() {
    let second = Duration::from_secs(1);
    let server = server()
        .max_message_size(64)
        .concurrent(1)
        .heartbeat(second, second)
        .outbound_queue(1)
        .outbound_queue_bytes(1024)
        .max_connections(1)
        .rate_limit(0.001, 1)
        .max_rooms_per_connection(1)
        .max_handshake_size(256)
        .read_buffer_size(256);
    within("bind", server.bind("127.0.0.1:0"))
        .await
        .expect("the smallest allowed values are valid");
}

#[tokio::test]
async fn a_zero_handshake_timeout_is_refused() {
    assert_invalid(
        "handshake_timeout",
        server().handshake_timeout(Duration::ZERO),
    )
    .await;
}
