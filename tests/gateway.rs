//! `exws gateway` driven by the real PyPI `pystrands==1.0.0` client as its backend, and by raw
//! TCP backends for what that client cannot send: the protocol end to end, refusals at the
//! handshake, and what a backend's bad input does (nothing to anyone else).

#![cfg(feature = "gateway")]

mod harness;

use harness::gateway::{
    admitted, connect, eventually, start, test_config, try_connect, PyBackend, RawBackend,
};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pystrands_backend_admits_hears_and_answers_clients() {
    let gateway = start(test_config()).await;
    let mut backend = PyBackend::start(&gateway).await;

    let mut alice = match try_connect(
        gateway.ws,
        "/ws/red?token=1",
        &[
            ("X-Client-Id", "alice"),
            ("X-Role", "admin"),
            ("authorization", "Bearer t"),
        ],
    )
    .await
    {
        Ok(client) => client,
        Err(status) => panic!("refused with {status}"),
    };
    let request = backend.expect("connection_request").await;
    assert_eq!(request["url"], "/ws/red", "the path without its query");
    let headers = &request["headers"];
    assert_eq!(
        headers["X-Client-Id"],
        json!(["alice"]),
        "Go's canonical names, list values"
    );
    assert_eq!(headers["Authorization"], json!(["Bearer t"]));
    assert_eq!(headers["Sec-Websocket-Version"], json!(["13"]));
    assert!(headers.get("Host").is_none(), "Host is left out: {headers}");
    let remote: std::net::SocketAddr = request["remote_addr"]
        .as_str()
        .and_then(|addr| addr.parse().ok())
        .expect("remote_addr is ip:port");
    assert!(remote.ip().is_loopback());
    let connected = backend.expect("new_connection").await;
    assert_eq!(
        connected["context"],
        json!({"client_id": "alice", "room_id": "red", "metadata": {"role": "admin"}}),
        "the metadata the backend chose, nothing else"
    );

    let text = "héllo <b> & ✓ \"quoted\"\nnext line";
    alice.send(text).await;
    let message = backend.expect("new_message").await;
    assert_eq!(message["message"], text);
    assert_eq!(message["context"]["client_id"], "alice");
    assert_eq!(alice.next_text().await, text, "echoed unchanged");

    let mut bob = connect(gateway.ws, "bob", "red").await;
    backend.expect("connection_request").await;
    backend.expect("new_connection").await;
    let mut carol = connect(gateway.ws, "carol", "blue").await;
    backend.expect("connection_request").await;
    backend.expect("new_connection").await;

    bob.send("room:red:to red").await;
    backend.expect("new_message").await;
    assert_eq!(alice.next_text().await, "to red");
    assert_eq!(bob.next_text().await, "to red");

    carol.send("to:alice:psst").await;
    backend.expect("new_message").await;
    assert_eq!(alice.next_text().await, "psst");

    carol.send("all:everyone").await;
    backend.expect("new_message").await;
    for client in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(client.next_text().await, "everyone");
    }

    bob.close().await;
    let left = backend.expect("disconnected").await;
    assert_eq!(left["context"]["client_id"], "bob");
    assert_eq!(left["context"]["room_id"], "red");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_client_gets_an_http_status_not_a_dropped_socket() {
    let gateway = start(test_config()).await;
    let mut backend = PyBackend::start(&gateway).await;
    let refused = try_connect(gateway.ws, "/ws/red", &[("X-Reject", "yes")]).await;
    assert_eq!(refused.err(), Some(403));
    backend.expect("connection_request").await;
    // The backend hears of the next client, not of the refused one.
    let _dave = connect(gateway.ws, "dave", "red").await;
    backend.expect("connection_request").await;
    let connected = backend.expect("new_connection").await;
    assert_eq!(connected["context"]["client_id"], "dave");
    assert_eq!(
        try_connect(gateway.ws, "/chat", &[]).await.err(),
        Some(404),
        "only /ws/..."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_backend_a_handshake_is_refused_at_once_and_the_error_queued() {
    let gateway = start(test_config()).await;
    assert_eq!(try_connect(gateway.ws, "/ws/r", &[]).await.err(), Some(503));
    let mut backend = RawBackend::connect(gateway.backend).await;
    let error = backend.expect("error").await;
    assert_eq!(
        error["params"]["error"],
        "no backend available to handle connection request"
    );
    assert_eq!(error["params"]["context"]["url"], "/ws/r");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_connection_request_is_refused_with_504() {
    let gateway = start(test_config().request_timeout(Duration::from_millis(300))).await;
    let mut backend = RawBackend::connect(gateway.backend).await;
    gateway.wait_backends(1).await;
    assert_eq!(try_connect(gateway.ws, "/ws/r", &[]).await.err(), Some(504));
    let request = backend.expect("connection_request").await;
    // A late answer is refused with an error event, and the gateway goes on.
    backend
        .send(json!({"request_id": request["request_id"], "action": "response", "params": {}}))
        .await;
    let error = backend.expect("error").await;
    assert_eq!(error["request_id"], request["request_id"]);
    let _client = admitted(&gateway, &mut backend, "late", "r").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_waits_for_room_while_every_backend_queue_is_full() {
    // A connected backend whose write queue is full is busy, not absent: a handshake then
    // waits for room (within the request timeout) instead of a 503 "no backend".
    let config = test_config()
        .backend_queue(2)
        .request_timeout(Duration::from_secs(15));
    let gateway = start(config).await;
    let mut backend = RawBackend::connect_with_receive_buffer(gateway.backend, 64 * 1024).await;
    gateway.wait_backends(1).await;
    let mut alice = admitted(&gateway, &mut backend, "alice", "red").await;
    // The backend reads nothing for now; alice floods it until its write queue is full.
    let flooding = tokio::spawn(async move {
        let chunk = "z".repeat(512 * 1024);
        for number in 0..16 {
            alice.send(&format!("{number}:{chunk}")).await;
        }
        alice
    });
    eventually(|| gateway.status.backend_backlog() == 2).await;
    let addr = gateway.ws;
    let bob = tokio::spawn(async move {
        try_connect(addr, "/ws/red", &[("X-Client-Id", "bob")])
            .await
            .map(|_client| ())
    });
    // The backend reads again: the flood, then bob's connection request, which it admits.
    let mut flood = 0;
    let request = loop {
        let event = backend.next_event().await;
        match event["action"].as_str() {
            Some("new_message") => flood += 1,
            Some("connection_request") => break event,
            _ => panic!("unexpected event {event}"),
        }
    };
    assert!(
        flood > 0,
        "bob's request was queued behind alice's messages"
    );
    backend
        .send(json!({
            "request_id": request["request_id"],
            "action": "response",
            "params": {"accepted": true, "client_id": "bob", "room_id": "red", "metadata": {}},
        }))
        .await;
    assert_eq!(
        bob.await.expect("the handshake task runs"),
        Ok(()),
        "bob is admitted once the backend has room"
    );
    let _alice = flooding.await.expect("the flood ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_backend_lines_get_error_events_and_break_nothing() {
    let gateway = start(test_config().max_line_size(64 * 1024)).await;
    let mut backend = RawBackend::connect(gateway.backend).await;
    gateway.wait_backends(1).await;
    let mut alice = admitted(&gateway, &mut backend, "alice", "red").await;

    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("invalid JSON", b"{not json\n".to_vec()),
        (
            "non-string message",
            b"{\"request_id\":\"a\",\"action\":\"broadcast\",\"params\":{\"message\":{\"x\":1}}}\n".to_vec(),
        ),
        (
            "missing room_id",
            b"{\"request_id\":\"b\",\"action\":\"message_to_room\",\"params\":{\"message\":\"m\"}}\n".to_vec(),
        ),
        (
            "missing conn_id",
            b"{\"request_id\":\"c\",\"action\":\"message_to_connection\",\"params\":{\"message\":\"m\"}}\n".to_vec(),
        ),
        ("unknown action", b"{\"request_id\":\"d\",\"action\":\"explode\",\"params\":{}}\n".to_vec()),
        ("not UTF-8", b"\xff\xfe\xfd\n".to_vec()),
        ("a 10 MB line", {
            let mut line = b"{\"request_id\":\"e\",\"action\":\"broadcast\",\"params\":{\"message\":\"".to_vec();
            line.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
            line.extend_from_slice(b"\"}}\n");
            line
        }),
        (
            "an unknown client",
            b"{\"request_id\":\"f\",\"action\":\"message_to_connection\",\"params\":{\"conn_id\":\"nobody\",\"message\":\"m\"}}\n".to_vec(),
        ),
    ];
    for (what, line) in bad {
        backend.send_raw(&line).await;
        let error = backend.expect("error").await;
        let text = error["params"]["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!text.is_empty(), "{what}: {error}");
    }
    // Everything still works, for this backend and its client.
    backend
        .send(json!({"request_id": "g", "action": "message_to_connection", "params": {"conn_id": "alice", "message": "still here"}}))
        .await;
    assert_eq!(alice.next_text().await, "still here");
    alice.send("and me").await;
    assert_eq!(
        backend.expect("new_message").await["params"]["message"],
        "and me"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_client_id_is_refused_and_the_first_keeps_working() {
    let gateway = start(test_config()).await;
    let mut backend = PyBackend::start(&gateway).await;
    let mut first = connect(gateway.ws, "same", "red").await;
    backend.expect("connection_request").await;
    backend.expect("new_connection").await;
    assert_eq!(
        try_connect(gateway.ws, "/ws/red", &[("X-Client-Id", "same")])
            .await
            .err(),
        Some(409)
    );
    backend.expect("connection_request").await;
    first.send("to:same:mine").await;
    backend.expect("new_message").await;
    assert_eq!(
        first.next_text().await,
        "mine",
        "the first connection still gets its messages"
    );
    first.close().await;
    backend.expect("disconnected").await;
    // Once the first has left, the id is free again.
    let _again = connect(gateway.ws, "same", "red").await;
    backend.expect("connection_request").await;
    backend.expect("new_connection").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_wait_for_the_next_backend_in_order_within_the_queue_size() {
    let gateway = start(test_config().queue_size(3)).await;
    let mut first = RawBackend::connect(gateway.backend).await;
    gateway.wait_backends(1).await;
    let mut alice = admitted(&gateway, &mut first, "alice", "red").await;
    drop(first);
    gateway.wait_backends(0).await;
    for number in 1..=5 {
        alice.send(&format!("m{number}")).await;
    }
    // The five were read once two were dropped (the queue holds three).
    harness::gateway::eventually(|| gateway.status.dropped_events() == 2).await;
    assert_eq!(gateway.status.queued_events(), 3);
    let mut next = RawBackend::connect(gateway.backend).await;
    let mut got = Vec::new();
    while got.len() < 3 {
        let event = next.expect("new_message").await;
        got.push(
            event["params"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(
        got,
        ["m3", "m4", "m5"],
        "the newest 3, in order (the oldest dropped)"
    );
    alice.send("m6").await;
    assert_eq!(next.expect("new_message").await["params"]["message"], "m6");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_get_heartbeats() {
    let gateway = start(test_config().heartbeat_interval(Duration::from_millis(50))).await;
    let mut backend = RawBackend::connect(gateway.backend).await;
    let line = backend.next_line().await.expect("a line");
    assert_eq!(
        line,
        json!({"request_id": "heartbeat", "action": "heartbeat", "params": {}})
    );
}
