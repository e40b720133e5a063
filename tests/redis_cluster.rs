//! The Redis adapter: two servers sharing one real `redis-server` act as one chat server.
//! Global member counts, room messages, direct messages and broadcasts across servers, room
//! channel subscriptions that follow local members, cleanup in Redis after a dropped
//! connection, a Redis restart, and the chat example run as two OS processes.
//!
//! Needs `redis-server` on PATH (the tests fail, not skip, without it). "Does not receive" is
//! proven without waiting: the sender then broadcasts a marker, which travels the same way
//! (Redis pub/sub keeps one publisher's order), and each connection's next message must be it.

#![cfg(feature = "redis")]

mod harness;

use exws::adapter::{RedisAdapter, RedisAdapterConfig};
use exws::ConnectionId;
use harness::chat::{chat_server, ChatClient};
use harness::process::ExampleProcess;
use harness::redis_server::RedisServer;
use harness::{eventually, TestServer};
use std::time::Duration;

/// The chat example as a process on `redis`.
async fn chat_process(redis: &RedisServer) -> ExampleProcess {
    ExampleProcess::start(
        "chat",
        &[("EXWS_REDIS_URL", &redis.url()), ("RUST_LOG", "exws=info")],
    )
    .await
}

/// How long state may take to settle in Redis (cleanup after a drop, a reconnection).
const SETTLE: Duration = Duration::from_secs(15);

/// A key prefix no other test uses.
fn unique_prefix(test: &str) -> String {
    format!("exws-test-{}-{test}", std::process::id())
}

/// Two chat servers, A and B, on one Redis.
struct Cluster {
    a: TestServer,
    b: TestServer,
    a_node: String,
    b_node: String,
    prefix: String,
    redis: RedisServer,
}

impl Cluster {
    async fn start(test: &str) -> Cluster {
        let redis = RedisServer::start();
        let prefix = unique_prefix(test);
        let adapter = || {
            RedisAdapter::with_config(RedisAdapterConfig::new(redis.url()).prefix(prefix.clone()))
                .expect("a valid Redis URL")
        };
        let (a_adapter, b_adapter) = (adapter(), adapter());
        let (a_node, b_node) = (
            a_adapter.node_id().to_owned(),
            b_adapter.node_id().to_owned(),
        );
        let a = TestServer::start(chat_server().adapter(a_adapter)).await;
        let b = TestServer::start(chat_server().adapter(b_adapter)).await;
        Cluster {
            a,
            b,
            a_node,
            b_node,
            prefix,
            redis,
        }
    }

    /// The Redis set of `room`'s members (documented: `{prefix}:room:{room}`).
    fn room_key(&self, room: &str) -> String {
        format!("{}:room:{room}", self.prefix)
    }

    /// The Redis hash of connections (documented: `{prefix}:conns`).
    fn conns_key(&self) -> String {
        format!("{}:conns", self.prefix)
    }

    /// How many subscriptions the pub/sub channel of `room` has (0 when nobody subscribes).
    async fn room_subscribers(&self, room: &str) -> usize {
        let channels = self
            .redis
            .channels(&format!("{}:*room:{room}", self.prefix))
            .await;
        let mut count = 0;
        for channel in channels {
            count += self.redis.subscribers(&channel).await;
        }
        count
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

/// The sorted ids of `clients`, as Redis holds them.
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

#[test]
fn two_adapters_in_one_process_are_two_nodes() {
    let config = || RedisAdapterConfig::new("redis://127.0.0.1:6379/");
    let a = RedisAdapter::with_config(config()).expect("a valid Redis URL");
    let b = RedisAdapter::with_config(config()).expect("a valid Redis URL");
    assert_ne!(
        a.node_id(),
        b.node_id(),
        "two servers in one process would ignore each other's messages"
    );
    assert_eq!(a.node_id(), a.clone().node_id(), "a clone is the same node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_member_counts_are_global() {
    let cluster = Cluster::start("counts").await;
    let mut a = ChatClient::connect(cluster.a.addr()).await;
    let mut b = ChatClient::connect(cluster.b.addr()).await;

    assert_eq!(a.join("lobby").await, 1);
    assert_eq!(b.join("lobby").await, 2, "counts members on both servers");
    for hub in [cluster.a.hub(), cluster.b.hub()] {
        assert_eq!(hub.members("lobby").await.expect("members"), ids(&[&a, &b]));
        assert_eq!(hub.local_room_count(), 1);
    }
    assert_eq!(
        cluster.redis.set_members(&cluster.room_key("lobby")).await,
        id_strings(&[&a, &b])
    );

    b.leave("lobby").await;
    let mut a2 = ChatClient::connect(cluster.a.addr()).await;
    assert_eq!(a2.join("lobby").await, 2, "b left, a2 joined");
    assert_eq!(
        cluster.b.hub().members("lobby").await.expect("members"),
        ids(&[&a, &a2])
    );
    assert_eq!(cluster.b.hub().local_room_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_message_crosses_servers_but_skips_the_sender() {
    let cluster = Cluster::start("room-message").await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_room_messages_and_a_direct_message_cross_in_order() {
    // Publishes are pipelined in batches: a burst still arrives complete and in sending order,
    // and a direct message sent after it does not overtake it.
    let cluster = Cluster::start("burst").await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_crosses_servers() {
    let cluster = Cluster::start("direct").await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_to_an_unknown_id_is_a_handler_error() {
    let cluster = Cluster::start("direct-unknown").await;
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
    eventually("the closed connection to leave Redis", SETTLE, || async {
        let conns = cluster.redis.hash_keys(&cluster.conns_key()).await;
        if conns.contains(&b_id) {
            Err(format!("connections in Redis: {conns:?}"))
        } else {
            Ok(())
        }
    })
    .await;
    a.direct(&b_id, "still there?").await;
    let error = a.expect_error("handler_error").await;
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(&b_id), "names the id: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_reaches_both_servers_the_sender_included() {
    let cluster = Cluster::start("broadcast").await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_subscribe_to_a_room_channel_only_while_they_have_members_in_it() {
    let cluster = Cluster::start("subscriptions").await;
    let everything = cluster
        .redis
        .channels(&format!("{}:*", cluster.prefix))
        .await;
    for node in [&cluster.a_node, &cluster.b_node] {
        assert!(
            everything
                .iter()
                .any(|channel| channel.contains(node.as_str())),
            "node {node} listens for its direct messages: {everything:?}"
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
        cluster
            .redis
            .set_members(&cluster.room_key("lobby"))
            .await
            .is_empty(),
        "the room is empty in Redis"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abrupt_disconnect_removes_the_member_from_redis() {
    let cluster = Cluster::start("disconnect").await;
    let mut a = ChatClient::connect(cluster.a.addr()).await;
    let mut b = ChatClient::connect(cluster.b.addr()).await;
    a.join("lobby").await;
    b.join("lobby").await;
    b.join("b only").await;
    let b_id = b.id().to_owned();
    assert!(cluster
        .redis
        .hash_keys(&cluster.conns_key())
        .await
        .contains(&b_id));

    b.drop_abruptly();
    let room_key = cluster.room_key("lobby");
    let other_key = cluster.room_key("b only");
    let a_only = id_strings(&[&a]);
    eventually("b to leave Redis", SETTLE, || async {
        let lobby = cluster.redis.set_members(&room_key).await;
        let other = cluster.redis.set_members(&other_key).await;
        let conns = cluster.redis.hash_keys(&cluster.conns_key()).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_survives_a_redis_restart() {
    let mut cluster = Cluster::start("restart").await;
    let mut a1 = ChatClient::connect(cluster.a.addr()).await;
    let mut a2 = ChatClient::connect(cluster.a.addr()).await;
    let mut b1 = ChatClient::connect(cluster.b.addr()).await;
    let mut b2 = ChatClient::connect(cluster.b.addr()).await;
    for client in [&mut a1, &mut a2, &mut b1, &mut b2] {
        client.join("lobby").await;
    }
    let mut gone = ChatClient::connect(cluster.b.addr()).await;
    assert_eq!(gone.join("lobby").await, 5);

    cluster.redis.stop();

    // A connection that drops meanwhile leaves its rooms, though Redis cannot be told.
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
    a1.send_to_room("lobby", "A while Redis is down").await;
    let from = a1.id().to_owned();
    a2.expect_room_message("lobby", &from, "A while Redis is down")
        .await;
    // The sender learns that the other server missed it.
    let error = a1.expect_error("handler_error").await;
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("unavailable"), "{error}");

    b1.send_to_room("lobby", "B while Redis is down").await;
    let from = b1.id().to_owned();
    b2.expect_room_message("lobby", &from, "B while Redis is down")
        .await;
    b1.expect_error("handler_error").await;

    let a2_id = a2.id().to_owned();
    a1.direct(&a2_id, "local direct").await;
    let from = a1.id().to_owned();
    a2.expect_direct(&from, "local direct").await;

    // A connection that opens and joins meanwhile gets this server's count.
    let mut a3 = ChatClient::connect(cluster.a.addr()).await;
    assert_eq!(a3.join("lobby").await, 3, "a1, a2 and a3 on A");

    cluster.redis.restart();

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
        let conns = cluster.redis.hash_keys(&cluster.conns_key()).await;
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

/// Bug: with Redis down, `Hub::join` falls back to the local count, but `Hub::leave` fails
/// with `HubError::Adapter` after it has left locally, so the client is told its leave failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_a_room_while_redis_is_down_answers_left() {
    let mut cluster = Cluster::start("leave-while-down").await;
    let mut a1 = ChatClient::connect(cluster.a.addr()).await;
    let mut a2 = ChatClient::connect(cluster.a.addr()).await;
    a1.join("lobby").await;
    a2.join("lobby").await;

    cluster.redis.stop();

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
/// `room_left` and `connection_closed` wait for them: while Redis is unresponsive (frozen, or
/// a network partition without a reset), joining a room new to the server hangs until Redis
/// answers again, and with it every later message of that connection. Commands give up after
/// the adapter's 1 s command timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_a_new_room_does_not_hang_while_redis_is_unresponsive() {
    let mut cluster = Cluster::start("join-while-frozen").await;
    let mut a1 = ChatClient::connect(cluster.a.addr()).await;
    let mut a2 = ChatClient::connect(cluster.a.addr()).await;
    a1.join("lobby").await;

    cluster.redis.pause();

    // A join to a room A already follows gives up on Redis after the command timeout...
    assert_eq!(a2.join("lobby").await, 2, "the local count");
    // ...but the first local member of a room waits for the subscription, without limit.
    a1.send("JoinRoom", serde_json::json!({"room": "fresh"}))
        .await;
    assert_eq!(
        a1.expect("Joined").await,
        serde_json::json!({"room": "fresh", "members": 1})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_example_runs_as_two_processes() {
    let redis = RedisServer::start();
    let mut first = chat_process(&redis).await;
    let mut second = chat_process(&redis).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_is_swept_out_of_redis_by_the_others() {
    let redis = RedisServer::start();
    // The example uses the default key prefix, `exws`, on this test's own Redis.
    let survivor = TestServer::start(
        chat_server().adapter(
            RedisAdapter::with_config(
                RedisAdapterConfig::new(redis.url()).sweep_interval(Duration::from_millis(200)),
            )
            .expect("a valid Redis URL"),
        ),
    )
    .await;
    let mut doomed = chat_process(&redis).await;
    let mut x = ChatClient::connect(doomed.addr()).await;
    let mut y = ChatClient::connect(survivor.addr()).await;
    let (x_id, y_id) = (x.id().to_owned(), y.id().to_owned());
    assert_eq!(x.join("general").await, 1);
    assert_eq!(x.join("x only").await, 1);
    assert_eq!(y.join("general").await, 2);

    // While the process lives, the survivor's sweeps (every ~200 ms) leave its entries alone:
    // checked after three more sweeps (each asks `PUBSUB NUMSUB` about the other process).
    let sweeps = redis.command_calls("pubsub|numsub").await;
    harness::eventually("three sweeps", harness::TIMEOUT, || async {
        let now = redis.command_calls("pubsub|numsub").await;
        match now >= sweeps + 3 {
            true => Ok(()),
            false => Err(format!("{} sweeps", now - sweeps)),
        }
    })
    .await;
    assert!(redis.hash_keys("exws:conns").await.contains(&x_id));
    assert_eq!(
        redis.set_members("exws:room:general").await.len(),
        2,
        "a live process's member is kept"
    );
    assert_eq!(
        redis
            .set_members(&format!("exws:connrooms:{x_id}"))
            .await
            .len(),
        2
    );

    // Killed: it cannot clean up after itself; the survivor does.
    doomed.kill();
    eventually("the survivor to sweep the killed process's entries", SETTLE, || async {
        let conns = redis.hash_keys("exws:conns").await;
        let general = redis.set_members("exws:room:general").await;
        let x_only = redis.set_members("exws:room:x only").await;
        let x_rooms = redis
            .set_members(&format!("exws:connrooms:{x_id}"))
            .await;
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
        redis.hash_keys("exws:conns").await.contains(&y_id),
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

/// Writes the Redis entries of a connection `id` held by process `node`, in rooms `rooms`, as an
/// adapter does (documented keys: `conns`, `room:{room}`, `connrooms:{id}`).
async fn plant_connection(redis: &RedisServer, prefix: &str, id: &str, node: &str, rooms: &[&str]) {
    let _: () = redis
        .query(
            redis::cmd("HSET")
                .arg(format!("{prefix}:conns"))
                .arg(id)
                .arg(node),
        )
        .await;
    for room in rooms {
        let _: () = redis
            .query(
                redis::cmd("SADD")
                    .arg(format!("{prefix}:room:{room}"))
                    .arg(id),
            )
            .await;
        let _: () = redis
            .query(
                redis::cmd("SADD")
                    .arg(format!("{prefix}:connrooms:{id}"))
                    .arg(*room),
            )
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_sweeps_out_its_own_connections_that_redis_was_not_told_had_closed() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("own-leftovers");
    let adapter = RedisAdapter::with_config(
        RedisAdapterConfig::new(redis.url())
            .prefix(prefix.clone())
            .sweep_interval(Duration::from_millis(200)),
    )
    .expect("a valid Redis URL");
    let node = adapter.node_id().to_owned();
    let server = TestServer::start(chat_server().adapter(adapter)).await;
    let mut open = ChatClient::connect(server.addr()).await;
    let open_id = open.id().to_owned();
    assert_eq!(open.join("lobby").await, 1);
    // What a close during a Redis outage leaves behind: an entry of this process for a
    // connection it no longer has.
    plant_connection(
        &redis,
        &prefix,
        "leftover-1",
        &node,
        &["lobby", "elsewhere"],
    )
    .await;

    eventually("the process to remove its leftover", SETTLE, || async {
        let conns = redis.hash_keys(&format!("{prefix}:conns")).await;
        let lobby = redis.set_members(&format!("{prefix}:room:lobby")).await;
        let elsewhere = redis.set_members(&format!("{prefix}:room:elsewhere")).await;
        let rooms = redis
            .set_members(&format!("{prefix}:connrooms:leftover-1"))
            .await;
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
    assert_eq!(
        redis
            .set_members(&format!("{prefix}:connrooms:{open_id}"))
            .await,
        ["lobby"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_to_a_gone_process_removes_its_connection_with_its_memberships() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("gone-direct");
    // The default sweep interval (30 s): only the failed direct message cleans up here.
    let server = TestServer::start(
        chat_server().adapter(
            RedisAdapter::with_config(RedisAdapterConfig::new(redis.url()).prefix(prefix.clone()))
                .expect("a valid Redis URL"),
        ),
    )
    .await;
    let mut sender = ChatClient::connect(server.addr()).await;
    assert_eq!(sender.join("lobby").await, 1);
    plant_connection(&redis, &prefix, "ghost-1", "a-gone-process.1", &["lobby"]).await;
    assert_eq!(
        redis
            .set_members(&format!("{prefix}:room:lobby"))
            .await
            .len(),
        2
    );

    sender.direct("ghost-1", "anyone there?").await;
    sender.expect_error("handler_error").await;
    assert!(!redis
        .hash_keys(&format!("{prefix}:conns"))
        .await
        .contains(&"ghost-1".to_owned()));
    assert_eq!(
        redis.set_members(&format!("{prefix}:room:lobby")).await,
        [sender.id().to_owned()]
    );
    assert!(redis
        .set_members(&format!("{prefix}:connrooms:ghost-1"))
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_removes_memberships_that_only_redis_still_had() {
    let cluster = Cluster::start("close-stale").await;
    let mut a = ChatClient::connect(cluster.a.addr()).await;
    let mut b = ChatClient::connect(cluster.b.addr()).await;
    a.join("lobby").await;
    assert_eq!(b.join("lobby").await, 2);
    let b_id = b.id().to_owned();
    // What a leave during a Redis outage leaves behind: Redis still counts b in a room it left.
    plant_connection(
        &cluster.redis,
        &cluster.prefix,
        &b_id,
        &cluster.b_node,
        &["left-long-ago"],
    )
    .await;
    assert_eq!(
        cluster
            .redis
            .set_members(&cluster.room_key("left-long-ago"))
            .await,
        [b_id.as_str()]
    );

    b.drop_abruptly();
    let a_only = id_strings(&[&a]);
    eventually(
        "b's close to clear every room Redis had it in",
        SETTLE,
        || async {
            let lobby = cluster.redis.set_members(&cluster.room_key("lobby")).await;
            let stale = cluster
                .redis
                .set_members(&cluster.room_key("left-long-ago"))
                .await;
            let rooms = cluster
                .redis
                .set_members(&format!("{}:connrooms:{b_id}", cluster.prefix))
                .await;
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
