//! Graceful shutdown under load: 50 clients each pipeline 200 requests to a handler that
//! sleeps a little, and the server shuts down midway. Every request the server accepted is
//! answered before the 1001 close frame, none after, and every connection ends with that close
//! frame, not a reset.

mod harness;

use exws::{handlers, message, DisconnectReason, Server};
use harness::{within, Client, ObservedServer, Received};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const CLIENTS: usize = 50;
const REQUESTS: u64 = 200;

#[derive(Deserialize)]
struct Work {
    ms: u64,
}

#[derive(Serialize)]
struct Done {
    ms: u64,
}

#[message]
async fn work(request: Work) -> Done {
    tokio::time::sleep(Duration::from_millis(request.ms)).await;
    Done { ms: request.ms }
}

/// What one client saw: the Ids of its replies in arrival order, then how its connection
/// ended.
struct Outcome {
    ids: Vec<u64>,
    close: Received,
    after_close: Received,
}

/// Pipelines every request, then reads replies until the close frame; counts replies in
/// `answered` as they arrive.
async fn run_client(mut client: Client, answered: Arc<AtomicU64>) -> Outcome {
    for id in 0..REQUESTS {
        client
            .feed_json(&json!({ "Type": "Work", "Data": { "ms": 2 }, "Id": id }))
            .await;
    }
    client.flush().await;
    let mut ids = Vec::new();
    let close = loop {
        match client.next_frame().await {
            Received::Text(text) => {
                let reply: Value = serde_json::from_str(&text).expect("a JSON reply");
                assert_eq!(reply["Type"], "Done", "{reply}");
                ids.push(reply["Id"].as_u64().expect("the Id is echoed"));
                answered.fetch_add(1, Ordering::Relaxed);
            }
            other => break other,
        }
    };
    let after_close = client.next_frame().await;
    Outcome {
        ids,
        close,
        after_close,
    }
}

/// Starts the clients, shuts the server down once a tenth of the requests are answered, and
/// returns what each client saw.
async fn shut_down_under_load(server: Server) -> Vec<Outcome> {
    let mut server = ObservedServer::start(server).await;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(server.connect().await.0);
    }
    let answered = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| tokio::spawn(run_client(client, answered.clone())))
        .collect();

    let total = CLIENTS as u64 * REQUESTS;
    within("a tenth of the replies", async {
        while answered.load(Ordering::Relaxed) < total / 10 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    server.trigger_shutdown();

    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(
            within("a client to finish", task)
                .await
                .expect("the client"),
        );
    }
    server.stopped().await.expect("the server stops cleanly");
    let mut reasons = Vec::new();
    while let Ok((_, reason)) = server.closed.try_recv() {
        reasons.push(reason);
    }
    assert_eq!(
        reasons.len(),
        CLIENTS,
        "every connection's disconnect hook ran"
    );
    assert!(
        reasons
            .iter()
            .all(|reason| *reason == DisconnectReason::ServerShutdown),
        "{reasons:?}"
    );
    let answered = answered.load(Ordering::Relaxed);
    assert!(
        answered < total,
        "the shutdown came midway: {answered} of {total} requests were answered"
    );
    outcomes
}

fn assert_closed_with_1001(client: usize, outcome: &Outcome) {
    match &outcome.close {
        Received::Close(Some((code, reason))) => {
            assert_eq!(
                *code, 1001,
                "client {client}: close code (reason {reason:?})"
            );
            assert_eq!(reason, "server shutting down", "client {client}");
        }
        other => panic!(
            "client {client}: expected a 1001 close after {} replies, got {other:?}",
            outcome.ids.len()
        ),
    }
    assert!(
        matches!(outcome.after_close, Received::Ended(None)),
        "client {client}: the connection ends cleanly after the close frame, got {:?}",
        outcome.after_close
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_every_accepted_request_is_answered_in_order_before_the_1001() {
    let outcomes = shut_down_under_load(Server::with_handlers(handlers![work])).await;
    for (client, outcome) in outcomes.iter().enumerate() {
        assert_closed_with_1001(client, outcome);
        // Replies 0..R in order: none lost among the accepted ones, and the rest (never
        // read by the server) never answered.
        let expected: Vec<u64> = (0..outcome.ids.len() as u64).collect();
        assert_eq!(
            outcome.ids, expected,
            "client {client}: the replies are the first R requests, in order"
        );
    }
    let answered: usize = outcomes.iter().map(|outcome| outcome.ids.len()).sum();
    eprintln!(
        "sequential: {answered} of {} requests answered before the shutdown",
        CLIENTS as u64 * REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_every_accepted_request_is_answered_before_the_1001() {
    let outcomes = shut_down_under_load(Server::with_handlers(handlers![work]).concurrent(8)).await;
    for (client, outcome) in outcomes.iter().enumerate() {
        assert_closed_with_1001(client, outcome);
        // Requests are accepted in the order they were read, and in-flight ones finish
        // before the close: the answered Ids are exactly 0..R, once each, in any order.
        let ids: BTreeSet<u64> = outcome.ids.iter().copied().collect();
        assert_eq!(
            ids.len(),
            outcome.ids.len(),
            "client {client}: no reply twice"
        );
        let expected: BTreeSet<u64> = (0..outcome.ids.len() as u64).collect();
        assert_eq!(
            ids, expected,
            "client {client}: the replies are the first R requests"
        );
    }
    let answered: usize = outcomes.iter().map(|outcome| outcome.ids.len()).sum();
    eprintln!(
        "concurrent: {answered} of {} requests answered before the shutdown",
        CLIENTS as u64 * REQUESTS
    );
}
