//! The adapter suite, once per distributed engine (Redis and NATS, each on a real server the
//! test starts): two servers sharing one backend act as one chat server. Global member counts,
//! room messages, direct messages and broadcasts across servers, room subscriptions that
//! follow local members, cleanup in the backend after a dropped connection, a backend restart,
//! a killed process swept out, and the chat example run as two OS processes.
//!
//! Needs `redis-server` and `nats-server` on PATH for features `redis` and `nats` (the tests
//! fail, not skip, without them). "Does not receive" is proven without waiting: the sender then
//! broadcasts a marker, which travels the same way (each engine keeps one publisher's order),
//! and each connection's next message must be it.

#![cfg(any(feature = "redis", feature = "nats"))]

mod harness;

use exws::ConnectionId;
use harness::chat::{chat_server, ChatClient};
use harness::engine::{unique_prefix, Backend, Engine, Settings};
use harness::process::ExampleProcess;
use harness::{eventually, TestServer};
use std::time::Duration;

engine_tests!(
    room_member_counts_are_global,
    a_room_message_crosses_servers_but_skips_the_sender,
    a_burst_of_room_messages_and_a_direct_message_cross_in_order,
    a_direct_message_crosses_servers,
    a_direct_message_to_an_unknown_id_is_a_handler_error,
    a_broadcast_reaches_both_servers_the_sender_included,
    servers_subscribe_to_a_room_only_while_they_have_members_in_it,
    an_abrupt_disconnect_removes_the_member_from_the_backend,
    the_cluster_survives_a_backend_restart,
    leaving_a_room_while_the_backend_is_down_answers_left,
    joining_a_new_room_does_not_hang_while_the_backend_is_unresponsive,
    the_chat_example_runs_as_two_processes,
    the_chat_example_as_two_processes_survives_a_backend_restart,
    a_killed_process_is_swept_out_by_the_others,
    a_process_sweeps_out_its_own_connections_that_the_backend_was_not_told_had_closed,
    a_direct_message_to_a_gone_process_removes_its_connection_with_its_memberships,
    a_close_removes_memberships_that_only_the_backend_still_had,
    two_adapters_in_one_process_are_two_nodes,
);

/// The chat example as a process on `backend` (its default prefix, `exws`).
async fn chat_process(backend: &Backend) -> ExampleProcess {
    let (variable, url) = backend.env();
    ExampleProcess::start("chat", &[(variable, &url), ("RUST_LOG", "exws=info")]).await
}

/// How long state may take to settle in the backend (cleanup after a drop, a reconnection).
const SETTLE: Duration = Duration::from_secs(15);

/// Two chat servers, A and B, on one backend.
struct Cluster {
    a: TestServer,
    b: TestServer,
    a_node: String,
    b_node: String,
    prefix: String,
    backend: Backend,
}

impl Cluster {
    async fn start(engine: Engine, test: &str) -> Cluster {
        let backend = engine.start();
        let prefix = unique_prefix(test);
        let settings = Settings::prefix(&prefix);
        let (a_server, a_node) = backend.attach(chat_server(), &settings);
        let (b_server, b_node) = backend.attach(chat_server(), &settings);
        let a = TestServer::start(a_server).await;
        let b = TestServer::start(b_server).await;
        Cluster {
            a,
            b,
            a_node,
            b_node,
            prefix,
            backend,
        }
    }

    /// The members of `room` in the backend, sorted.
    async fn room_members(&self, room: &str) -> Vec<String> {
        self.backend.room_members(&self.prefix, room).await
    }

    /// The connections in the backend, sorted.
    async fn connections(&self) -> Vec<String> {
        self.backend.connections(&self.prefix).await
    }

    /// How many subscriptions follow `room` (0 when nobody does).
    async fn room_subscribers(&self, room: &str) -> usize {
        self.backend.room_subscribers(&self.prefix, room).await
    }
}

/// The sorted ids of `clients`, as `Hub::members` lists them.
fn ids(clients: &[&ChatClient]) -> Vec<ConnectionId> {
    let mut ids: Vec<ConnectionId> = clients
        .iter()
        .map(|client| ConnectionId::from(client.id()))
        .collect();
    ids.sort();
    ids
}

/// The sorted ids of `clients`, as the backend holds them.
fn id_strings(clients: &[&ChatClient]) -> Vec<String> {
    ids(clients)
        .iter()
        .map(|id| id.as_str().to_owned())
        .collect()
}

/// `sender` broadcasts a marker; it must be the next message of the sender and of every
/// client in `clients`, whichever server they are on.
async fn expect_only_marker(sender: &mut ChatClient, clients: &mut [&mut ChatClient]) {
    let marker = format!("marker from {}", sender.id());
    sender.broadcast(&marker).await;
    let from = sender.id().to_owned();
    sender.expect_broadcast(&from, &marker).await;
    for client in clients {
        client.expect_broadcast(&from, &marker).await;
    }
}

async fn two_adapters_in_one_process_are_two_nodes(engine: Engine) {
    let backend = engine.start();
    let settings = Settings::prefix(&unique_prefix("two-nodes"));
    let (_, a) = backend.attach(chat_server(), &settings);
    let (_, b) = backend.attach(chat_server(), &settings);
    assert_ne!(
        a, b,
        "two servers in one process would ignore each other's messages"
    );
}

async fn room_member_counts_are_global(engine: Engine) {
    let cluster = Cluster::start(engine, "counts").await;
    let mut a = ChatClient::connect(cluster.a.addr()).await;
    let mut b = ChatClient::connect(cluster.b.addr()).await;

    assert_eq!(a.join("lobby").await, 1);
    assert_eq!(b.join("lobby").await, 2, "counts members on both servers");
    for hub in [cluster.a.hub(), cluster.b.hub()] {
        assert_eq!(hub.members("lobby").await.expect("members"), ids(&[&a, &b]));
        assert_eq!(hub.local_room_count(), 1);
    }
    assert_eq!(cluster.room_members("lobby").await, id_strings(&[&a, &b]));

    b.leave("lobby").await;
    let mut a2 = ChatClient::connect(cluster.a.addr()).await;
    assert_eq!(a2.join("lobby").await, 2, "b left, a2 joined");
    assert_eq!(
        cluster.b.hub().members("lobby").await.expect("members"),
        ids(&[&a, &a2])
    );
    assert_eq!(cluster.b.hub().local_room_count(), 0);
}

async fn a_room_message_crosses_servers_but_skips_the_sender(engine: Engine) {
    let cluster = Cluster::start(engine, "room-message").await;
    let mut a = ChatClient::connect(cluster.a.addr()).await;
    let mut a_outsider = ChatClient::connect(cluster.a.addr()).await;
    let mut b = ChatClient::connect(cluster.b.addr()).await;
    let mut b_member = ChatClient::connect(cluster.b.addr()).await;
    a.join("lobby").await;
    b.join("lobby").await;
    b_member.join("lobby").await;
    a_outsider.join("elsewhere").await;

    b.send_to_room("lobby", "hello from B").await;
    let from = b.id().to_owned();
    a.expect_room_message("lobby", &from, "hello from B").await;
    b_member
        .expect_room_message("lobby", &from, "hello from B")
        .await;

    expect_only_marker(&mut b, &mut [&mut a, &mut b_member, &mut a_outsider]).await;
}

async fn a_burst_of_room_messages_and_a_direct_message_cross_in_order(engine: Engine) {
    // Publishes are pipelined in batches: a burst still arrives complete and in sending order,
    // and a direct message sent after it does not overtake it.
    let cluster = Cluster::start(engine, "burst").await;
    let mut a = ChatClient::connect(cluster.a.addr()).await;
    let mut b = ChatClient::connect(cluster.b.addr()).await;
    a.join("lobby").await;
    b.join("lobby").await;
    let b_id = b.id().to_owned();
    for index in 0..500 {
        a.send_to_room("lobby", &format!("burst {index}")).await;
    }
    a.direct(&b_id, "after the burst").await;
    let from = a.id().to_owned();
    for index in 0..500 {
        b.expect_room_message("lobby", &from, &format!("burst {index}"))
            .await;
    }
    b.expect_direct(&from, "after the burst").await;
}

async fn a_direct_message_crosses_servers(engine: Engine) {
    let cluster = Cluster::start(engine, "direct").await;
    let mut a = ChatClient::connect(cluster.a.addr()).await;
    let mut b = ChatClient::connect(cluster.b.addr()).await;
    let mut b_other = ChatClient::connect(cluster.b.addr()).await;

    let (a_id, b_id) = (a.id().to_owned(), b.id().to_owned());
    a.direct(&b_id, "hello B").await;
    b.expect_direct(&a_id, "hello B").await;
    b.direct(&a_id, "hello A").await;
    a.expect_direct(&b_id, "hello A").await;

    expect_only_marker(&mut a, &mut [&mut b, &mut b_other]).await;
}

async fn a_direct_message_to_an_unknown_id_is_a_handler_error(engine: Engine) {
    let cluster = Cluster::start(engine, "direct-unknown").await;
    let mut a = ChatClient::connect(cluster.a.addr()).await;

    a.direct("nobody-42", "anyone?").await;
    let error = a.expect_error("handler_error").await;
    assert_eq!(error["type"], "DirectMessage", "{error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("nobody-42"), "names the id: {error}");

    // A connection that closed on the other server is unknown too.
    let b = ChatClient::connect(cluster.b.addr()).await;
    let b_id = b.id().to_owned();
    b.drop_abruptly();
    eventually(
        "the closed connection to leave the backend",
        SETTLE,
        || async {
            let conns = cluster.connections().await;
            if conns.contains(&b_id) {
                Err(format!("connections in the backend: {conns:?}"))
            } else {
                Ok(())
            }
        },
    )
    .await;
    a.direct(&b_id, "still there?").await;
    let error = a.expect_error("handler_error").await;
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(&b_id), "names the id: {error}");
}

async fn a_broadcast_reaches_both_servers_the_sender_included(engine: Engine) {
    let cluster = Cluster::start(engine, "broadcast").await;
    let mut a1 = ChatClient::connect(cluster.a.addr()).await;
    let mut a2 = ChatClient::connect(cluster.a.addr()).await;
    let mut b1 = ChatClient::connect(cluster.b.addr()).await;

    a1.broadcast("hello everyone").await;
    let from = a1.id().to_owned();
    for client in [&mut a1, &mut a2, &mut b1] {
        client.expect_broadcast(&from, "hello everyone").await;
    }

    b1.broadcast("and back").await;
    let from = b1.id().to_owned();
    for client in [&mut a1, &mut a2, &mut b1] {
        client.expect_broadcast(&from, "and back").await;
    }
}

async fn servers_subscribe_to_a_room_only_while_they_have_members_in_it(engine: Engine) {
    let cluster = Cluster::start(engine, "subscriptions").await;
    for node in [&cluster.a_node, &cluster.b_node] {
        assert!(
            cluster
                .backend
                .listens_for_node(&cluster.prefix, node)
                .await,
            "node {node} listens for its direct messages"
        );
    }
    assert_eq!(cluster.room_subscribers("lobby").await, 0);

    let mut a = ChatClient::connect(cluster.a.addr()).await;
    let mut b = ChatClient::connect(cluster.b.addr()).await;
    let mut b2 = ChatClient::connect(cluster.b.addr()).await;

    // Subscribed before the join is answered: no waiting.
    a.join("lobby").await;
    assert_eq!(cluster.room_subscribers("lobby").await, 1, "A only");
    b.join("lobby").await;
    assert_eq!(cluster.room_subscribers("lobby").await, 2, "A and B");
    b2.join("lobby").await;
    assert_eq!(
        cluster.room_subscribers("lobby").await,
        2,
        "one subscription per server"
    );

    b.leave("lobby").await;
    assert_eq!(
        cluster.room_subscribers("lobby").await,
        2,
        "B still has a member"
    );
    b2.leave("lobby").await;
    eventually("B to unsubscribe", SETTLE, || async {
        match cluster.room_subscribers("lobby").await {
            1 => Ok(()),
            other => Err(format!("{other} subscriptions")),
        }
    })
    .await;

    // What B no longer hears, A's member still does.
    b.send_to_room("lobby", "from outside the room").await;
    let from = b.id().to_owned();
    a.expect_room_message("lobby", &from, "from outside the room")
        .await;

    // A's last member goes away without leaving: A unsubscribes too.
    a.drop_abruptly();
    eventually("A to unsubscribe", SETTLE, || async {
        match cluster.room_subscribers("lobby").await {
            0 => Ok(()),
            other => Err(format!("{other} subscriptions")),
        }
    })
    .await;
    assert!(
        cluster.room_members("lobby").await.is_empty(),
        "the room is empty in the backend"
    );
}

async fn an_abrupt_disconnect_removes_the_member_from_the_backend(engine: Engine) {
    let cluster = Cluster::start(engine, "disconnect").await;
    let mut a = ChatClient::connect(cluster.a.addr()).await;
    let mut b = ChatClient::connect(cluster.b.addr()).await;
    a.join("lobby").await;
    b.join("lobby").await;
    b.join("b only").await;
    let b_id = b.id().to_owned();
    assert!(cluster.connections().await.contains(&b_id));

    b.drop_abruptly();
    let a_only = id_strings(&[&a]);
    eventually("b to leave the backend", SETTLE, || async {
        let lobby = cluster.room_members("lobby").await;
        let other = cluster.room_members("b only").await;
        let conns = cluster.connections().await;
        if lobby == a_only && other.is_empty() && !conns.contains(&b_id) {
            Ok(())
        } else {
            Err(format!(
                "lobby {lobby:?}, b only {other:?}, connections {conns:?}"
            ))
        }
    })
    .await;
    assert_eq!(
        cluster.a.hub().members("lobby").await.expect("members"),
        ids(&[&a])
    );
    assert_eq!(cluster.b.hub().local_room_count(), 0);

    let mut b2 = ChatClient::connect(cluster.b.addr()).await;
    assert_eq!(
        b2.join("lobby").await,
        2,
        "the dropped member is not counted"
    );
    a.leave("lobby").await;
}

async fn the_cluster_survives_a_backend_restart(engine: Engine) {
    let mut cluster = Cluster::start(engine, "restart").await;
    let mut a1 = ChatClient::connect(cluster.a.addr()).await;
    let mut a2 = ChatClient::connect(cluster.a.addr()).await;
    let mut b1 = ChatClient::connect(cluster.b.addr()).await;
    let mut b2 = ChatClient::connect(cluster.b.addr()).await;
    for client in [&mut a1, &mut a2, &mut b1, &mut b2] {
        client.join("lobby").await;
    }
    let mut gone = ChatClient::connect(cluster.b.addr()).await;
    assert_eq!(gone.join("lobby").await, 5);

    cluster.backend.stop();

    // A connection that drops meanwhile leaves its rooms, though the backend cannot be told.
    let gone_id = ConnectionId::from(gone.id());
    gone.drop_abruptly();
    let b_hub = cluster.b.hub();
    eventually("B to forget the dropped connection", SETTLE, || async {
        if b_hub.local_connection(&gone_id).is_none() && b_hub.rooms_of(&gone_id).is_empty() {
            Ok(())
        } else {
            Err(format!("{gone_id} is still on B"))
        }
    })
    .await;

    // Each server goes on serving its own connections.
    a1.send_to_room("lobby", "A while the backend is down")
        .await;
    let from = a1.id().to_owned();
    a2.expect_room_message("lobby", &from, "A while the backend is down")
        .await;
    // The sender learns that the other server missed it.
    let error = a1.expect_error("handler_error").await;
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("unavailable"), "{error}");

    b1.send_to_room("lobby", "B while the backend is down")
        .await;
    let from = b1.id().to_owned();
    b2.expect_room_message("lobby", &from, "B while the backend is down")
        .await;
    b1.expect_error("handler_error").await;

    let a2_id = a2.id().to_owned();
    a1.direct(&a2_id, "local direct").await;
    let from = a1.id().to_owned();
    a2.expect_direct(&from, "local direct").await;

    // A connection that opens and joins meanwhile gets this server's count.
    let mut a3 = ChatClient::connect(cluster.a.addr()).await;
    assert_eq!(a3.join("lobby").await, 3, "a1, a2 and a3 on A");

    cluster.backend.restart();

    // The servers reconnect and write their connections and memberships back (the dropped
    // connection not among them).
    let everyone = [&a1, &a2, &a3, &b1, &b2];
    let all_ids = ids(&everyone);
    let all_strings = id_strings(&everyone);
    eventually("both servers to restore their state", SETTLE, || async {
        let on_a = cluster
            .a
            .hub()
            .members("lobby")
            .await
            .map_err(|e| format!("A: {e}"))?;
        let on_b = cluster
            .b
            .hub()
            .members("lobby")
            .await
            .map_err(|e| format!("B: {e}"))?;
        let subscribers = cluster.room_subscribers("lobby").await;
        let conns = cluster.connections().await;
        if on_a == all_ids && on_b == all_ids && subscribers == 2 && conns == all_strings {
            Ok(())
        } else {
            Err(format!(
                "members on A {on_a:?}, on B {on_b:?}, {subscribers} room subscriptions, \
                 connections {conns:?}"
            ))
        }
    })
    .await;

    // Room messages, direct messages and broadcasts cross servers again.
    b1.send_to_room("lobby", "B after the restart").await;
    let from = b1.id().to_owned();
    for client in [&mut a1, &mut a2, &mut a3, &mut b2] {
        client
            .expect_room_message("lobby", &from, "B after the restart")
            .await;
    }
    let b2_id = b2.id().to_owned();
    a3.direct(&b2_id, "direct after the restart").await;
    let from = a3.id().to_owned();
    b2.expect_direct(&from, "direct after the restart").await;
    expect_only_marker(&mut b1, &mut [&mut a1, &mut a2, &mut a3, &mut b2]).await;

    let mut b3 = ChatClient::connect(cluster.b.addr()).await;
    assert_eq!(b3.join("lobby").await, 6, "counts span both servers again");
}

/// Bug: with the backend down, `Hub::join` falls back to the local count, but `Hub::leave` fails
/// with `HubError::Adapter` after it has left locally, so the client is told its leave failed.
async fn leaving_a_room_while_the_backend_is_down_answers_left(engine: Engine) {
    let mut cluster = Cluster::start(engine, "leave-while-down").await;
    let mut a1 = ChatClient::connect(cluster.a.addr()).await;
    let mut a2 = ChatClient::connect(cluster.a.addr()).await;
    a1.join("lobby").await;
    a2.join("lobby").await;

    cluster.backend.stop();

    a1.send("LeaveRoom", serde_json::json!({"room": "lobby"}))
        .await;
    let reply = a1.recv().await;
    assert!(
        cluster.a.hub().rooms_of(&a1.id().into()).is_empty(),
        "the leave happened"
    );
    assert_eq!(
        reply,
        serde_json::json!({"Type": "Left", "Data": {"room": "lobby"}}),
        "so the answer should say so, as a join answers with the local count"
    );
}

/// Bug: the subscriber's SUBSCRIBE/UNSUBSCRIBE have no timeout, and `room_joined`,
/// `room_left` and `connection_closed` wait for them: while the backend is unresponsive (frozen, or
/// a network partition without a reset), joining a room new to the server hangs until the backend
/// answers again, and with it every later message of that connection. Commands give up after
/// the adapter's 1 s command timeout.
async fn joining_a_new_room_does_not_hang_while_the_backend_is_unresponsive(engine: Engine) {
    let mut cluster = Cluster::start(engine, "join-while-frozen").await;
    let mut a1 = ChatClient::connect(cluster.a.addr()).await;
    let mut a2 = ChatClient::connect(cluster.a.addr()).await;
    a1.join("lobby").await;

    cluster.backend.pause();

    // A join to a room A already follows gives up on the backend after the command timeout...
    assert_eq!(a2.join("lobby").await, 2, "the local count");
    // ...but the first local member of a room waits for the subscription, without limit.
    a1.send("JoinRoom", serde_json::json!({"room": "fresh"}))
        .await;
    assert_eq!(
        a1.expect("Joined").await,
        serde_json::json!({"room": "fresh", "members": 1})
    );
}

async fn the_chat_example_runs_as_two_processes(engine: Engine) {
    let backend = engine.start();
    let mut first = chat_process(&backend).await;
    let mut second = chat_process(&backend).await;
    assert_ne!(first.addr(), second.addr());

    let mut x = ChatClient::connect(first.addr()).await;
    let mut y = ChatClient::connect(second.addr()).await;
    let (x_id, y_id) = (x.id().to_owned(), y.id().to_owned());
    let process_prefix = |id: &str| id.split('-').next().unwrap_or_default().to_owned();
    assert_ne!(
        process_prefix(&x_id),
        process_prefix(&y_id),
        "two processes give ids with two prefixes"
    );

    assert_eq!(x.join("general").await, 1);
    assert_eq!(y.join("general").await, 2, "counted across processes");

    y.send_to_room("general", "hi from the second process")
        .await;
    x.expect_room_message("general", &y_id, "hi from the second process")
        .await;

    x.direct(&y_id, "psst, second process").await;
    y.expect_direct(&x_id, "psst, second process").await;

    // The broadcast is y's next message: it did not get its own room message.
    y.broadcast("hello both processes").await;
    x.expect_broadcast(&y_id, "hello both processes").await;
    y.expect_broadcast(&y_id, "hello both processes").await;

    first.assert_running();
    second.assert_running();
}

async fn the_chat_example_as_two_processes_survives_a_backend_restart(engine: Engine) {
    let mut backend = engine.start();
    let mut first = chat_process(&backend).await;
    let mut second = chat_process(&backend).await;
    let mut x = ChatClient::connect(first.addr()).await;
    let mut y = ChatClient::connect(second.addr()).await;
    let (x_id, y_id) = (x.id().to_owned(), y.id().to_owned());
    assert_eq!(x.join("general").await, 1);
    assert_eq!(y.join("general").await, 2);

    backend.restart();

    // Both processes reconnect and write their connections and memberships back.
    let both = {
        let mut both = vec![x_id.clone(), y_id.clone()];
        both.sort();
        both
    };
    eventually("both processes to restore their state", SETTLE, || async {
        let general = backend.room_members("exws", "general").await;
        let conns = backend.connections("exws").await;
        let subscribers = backend.room_subscribers("exws", "general").await;
        if general == both && conns == both && subscribers == 2 {
            Ok(())
        } else {
            Err(format!(
                "general {general:?}, connections {conns:?}, {subscribers} room subscriptions"
            ))
        }
    })
    .await;

    y.send_to_room("general", "after the restart").await;
    x.expect_room_message("general", &y_id, "after the restart")
        .await;
    x.direct(&y_id, "direct after the restart").await;
    y.expect_direct(&x_id, "direct after the restart").await;
    x.broadcast("everyone after the restart").await;
    x.expect_broadcast(&x_id, "everyone after the restart")
        .await;
    y.expect_broadcast(&x_id, "everyone after the restart")
        .await;
    let mut z = ChatClient::connect(second.addr()).await;
    assert_eq!(z.join("general").await, 3, "counted across processes again");

    first.assert_running();
    second.assert_running();
}

async fn a_killed_process_is_swept_out_by_the_others(engine: Engine) {
    let backend = engine.start();
    // The example uses the default prefix, `exws`, on this test's own backend.
    let settings = Settings {
        sweep_interval: Some(Duration::from_millis(200)),
        ..Settings::default()
    };
    let survivor = TestServer::start(backend.attach(chat_server(), &settings).0).await;
    let mut doomed = chat_process(&backend).await;
    let mut x = ChatClient::connect(doomed.addr()).await;
    let mut y = ChatClient::connect(survivor.addr()).await;
    let (x_id, y_id) = (x.id().to_owned(), y.id().to_owned());
    assert_eq!(x.join("general").await, 1);
    assert_eq!(x.join("x only").await, 1);
    assert_eq!(y.join("general").await, 2);

    // While the process lives, the survivor's sweeps (every ~200 ms) leave its entries alone.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(backend.connections("exws").await.contains(&x_id));
    assert_eq!(
        backend.room_members("exws", "general").await.len(),
        2,
        "a live process's member is kept"
    );
    assert_eq!(backend.rooms_of("exws", &x_id).await.len(), 2);

    // Killed: it cannot clean up after itself; the survivor does.
    doomed.kill();
    eventually("the survivor to sweep the killed process's entries", SETTLE, || async {
        let conns = backend.connections("exws").await;
        let general = backend.room_members("exws", "general").await;
        let x_only = backend.room_members("exws", "x only").await;
        let x_rooms = backend.rooms_of("exws", &x_id).await;
        if !conns.contains(&x_id) && general == [y_id.clone()] && x_only.is_empty() && x_rooms.is_empty()
        {
            Ok(())
        } else {
            Err(format!(
                "connections {conns:?}, general {general:?}, x only {x_only:?}, x's rooms {x_rooms:?}"
            ))
        }
    })
    .await;
    assert!(
        backend.connections("exws").await.contains(&y_id),
        "the survivor's own connection stays"
    );

    // Counts and member lists are right again.
    let mut z = ChatClient::connect(survivor.addr()).await;
    assert_eq!(
        z.join("general").await,
        2,
        "the killed member is not counted"
    );
    let mut members = survivor.hub().members("general").await.expect("members");
    members.sort();
    assert_eq!(members, ids(&[&y, &z]));
    y.direct(&x_id, "are you there?").await;
    y.expect_error("handler_error").await;
}

async fn a_process_sweeps_out_its_own_connections_that_the_backend_was_not_told_had_closed(
    engine: Engine,
) {
    let backend = engine.start();
    let prefix = unique_prefix("own-leftovers");
    let settings = Settings {
        sweep_interval: Some(Duration::from_millis(200)),
        ..Settings::prefix(&prefix)
    };
    let (server, node) = backend.attach(chat_server(), &settings);
    let server = TestServer::start(server).await;
    let mut open = ChatClient::connect(server.addr()).await;
    let open_id = open.id().to_owned();
    assert_eq!(open.join("lobby").await, 1);
    // What a close during an outage leaves behind: an entry of this process for a
    // connection it no longer has.
    backend
        .plant_connection(&prefix, "leftover-1", &node, &["lobby", "elsewhere"])
        .await;

    eventually("the process to remove its leftover", SETTLE, || async {
        let conns = backend.connections(&prefix).await;
        let lobby = backend.room_members(&prefix, "lobby").await;
        let elsewhere = backend.room_members(&prefix, "elsewhere").await;
        let rooms = backend.rooms_of(&prefix, "leftover-1").await;
        if conns == [open_id.clone()]
            && lobby == [open_id.clone()]
            && elsewhere.is_empty()
            && rooms.is_empty()
        {
            Ok(())
        } else {
            Err(format!(
                "connections {conns:?}, lobby {lobby:?}, elsewhere {elsewhere:?}, its rooms {rooms:?}"
            ))
        }
    })
    .await;
    // Its open connection is untouched.
    let mut other = ChatClient::connect(server.addr()).await;
    assert_eq!(other.join("lobby").await, 2);
    assert_eq!(backend.rooms_of(&prefix, &open_id).await, ["lobby"]);
}

async fn a_direct_message_to_a_gone_process_removes_its_connection_with_its_memberships(
    engine: Engine,
) {
    let backend = engine.start();
    let prefix = unique_prefix("gone-direct");
    // The default sweep interval (30 s): only the failed direct message cleans up here.
    let server = TestServer::start(backend.adapter(chat_server(), &prefix)).await;
    let mut sender = ChatClient::connect(server.addr()).await;
    assert_eq!(sender.join("lobby").await, 1);
    backend
        .plant_connection(&prefix, "ghost-1", "a-gone-process-1", &["lobby"])
        .await;
    assert_eq!(backend.room_members(&prefix, "lobby").await.len(), 2);

    sender.direct("ghost-1", "anyone there?").await;
    sender.expect_error("handler_error").await;
    assert!(!backend
        .connections(&prefix)
        .await
        .contains(&"ghost-1".to_owned()));
    assert_eq!(
        backend.room_members(&prefix, "lobby").await,
        [sender.id().to_owned()]
    );
    assert!(backend.rooms_of(&prefix, "ghost-1").await.is_empty());
}

async fn a_close_removes_memberships_that_only_the_backend_still_had(engine: Engine) {
    let cluster = Cluster::start(engine, "close-stale").await;
    let mut a = ChatClient::connect(cluster.a.addr()).await;
    let mut b = ChatClient::connect(cluster.b.addr()).await;
    a.join("lobby").await;
    assert_eq!(b.join("lobby").await, 2);
    let b_id = b.id().to_owned();
    // What a leave during an outage leaves behind: the backend still counts b in a room it
    // left.
    cluster
        .backend
        .plant_connection(&cluster.prefix, &b_id, &cluster.b_node, &["left-long-ago"])
        .await;
    assert_eq!(cluster.room_members("left-long-ago").await, [b_id.as_str()]);

    b.drop_abruptly();
    let a_only = id_strings(&[&a]);
    eventually(
        "b's close to clear every room the backend had it in",
        SETTLE,
        || async {
            let lobby = cluster.room_members("lobby").await;
            let stale = cluster.room_members("left-long-ago").await;
            let rooms = cluster.backend.rooms_of(&cluster.prefix, &b_id).await;
            if lobby == a_only && stale.is_empty() && rooms.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "lobby {lobby:?}, left-long-ago {stale:?}, b's rooms {rooms:?}"
                ))
            }
        },
    )
    .await;
}
