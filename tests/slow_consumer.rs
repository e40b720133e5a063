//! A client that stops reading while the server broadcasts at it: with the default options it
//! is closed with 1008, with `SlowConsumerPolicy::DropNewest` it loses hub messages and stays
//! open; either way the server's memory stays bounded and the clients that do read get every
//! message. Replies to a client's own requests are never dropped.
//!
//! The tests of this file run one at a time (see [`EXCLUSIVE`]): they measure the process's
//! resident memory, which tests running beside them would disturb.

mod harness;

use exws::SlowConsumerPolicy;
use exws::{handlers, message, Connection, ConnectionId, DisconnectReason, Hub, Server};
use harness::memory::{mib, RssSampler};
use harness::{within, within_for, Client, ObservedServer, Received};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// One test of this file at a time.
static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// 10,000 hub messages of 10 KiB: 100 MB broadcast at each client.
const MESSAGES: u64 = 10_000;
const PAYLOAD: usize = 10 * 1024;

/// How far the broadcaster may run ahead of the slowest reading client, in messages. Well
/// under what a client's outbound queue holds (512 KiB, ~50 of these messages), so that the
/// clients that read never overflow: only the one that stopped reading does.
const WINDOW: u64 = 16;

/// How much the process's resident memory may grow while 100 MB are broadcast at a client that
/// does not read. What legitimately grows: the stalled client's outbound queue (512 KiB), the
/// healthy clients' queues (at most `WINDOW` messages each), the WebSocket read and write
/// buffers, and the allocator's per-thread arenas: about 2 MiB measured. 32 MiB leaves ample
/// room for allocator slack on another machine, and still fails if the server kept a third of
/// what it was given for the stalled client (an unbounded queue holds nearly all 100 MB: the
/// process then grows by more than 100 MiB).
const RSS_HEADROOM: u64 = 32 * 1024 * 1024;

/// The start of every broadcast envelope, up to the sequence number.
const CHUNK_PREFIX: &str = r#"{"Type":"Chunk","Data":{"seq":"#;

#[derive(Serialize)]
struct Chunk<'a> {
    seq: u64,
    pad: &'a str,
}

#[derive(Deserialize)]
struct Big {
    n: u64,
}

#[derive(Serialize)]
struct BigReply {
    n: u64,
    pad: String,
}

/// A reply of 64 KiB.
#[message]
async fn big(request: Big) -> BigReply {
    BigReply {
        n: request.n,
        pad: "r".repeat(64 * 1024),
    }
}

fn server() -> Server {
    Server::with_handlers(handlers![harness::add, harness::calculate, big])
}

/// The sequence number of a broadcast chunk; `None` for any other envelope.
fn chunk_seq(text: &str) -> Option<u64> {
    let rest = text.strip_prefix(CHUNK_PREFIX)?;
    let digits = rest.split(',').next()?;
    Some(digits.parse().expect("a sequence number"))
}

/// Broadcasts `MESSAGES` chunks to everyone, never more than [`WINDOW`] ahead of any of the
/// `paced_by` counters (the reading clients' progress). Returns the bytes of data sent.
async fn broadcast(hub: Hub, mut paced_by: Vec<watch::Receiver<u64>>, messages: u64) -> u64 {
    let pad = "x".repeat(PAYLOAD);
    let mut sent = 0;
    for seq in 0..messages {
        for progress in &mut paced_by {
            within(
                "a healthy client to keep up",
                progress.wait_for(|read| read + WINDOW > seq),
            )
            .await
            .expect("the healthy client's reader is running");
        }
        hub.everyone()
            .send_as("Chunk", &Chunk { seq, pad: &pad })
            .await
            .expect("a broadcast");
        sent += PAYLOAD as u64;
    }
    sent
}

/// Reads chunks until `messages` arrived, checking that each is the next one; publishes the
/// count after each.
async fn read_every_chunk(
    mut client: Client,
    progress: watch::Sender<u64>,
    messages: u64,
) -> Client {
    let mut expected = 0;
    while expected < messages {
        match client.next_frame().await {
            Received::Text(text) => {
                let seq = chunk_seq(&text)
                    .unwrap_or_else(|| panic!("a chunk, got {}", &text[..text.len().min(200)]));
                assert_eq!(
                    seq, expected,
                    "a healthy client misses no message and gets them in order"
                );
                assert!(text.len() > PAYLOAD, "the whole chunk arrived");
                expected += 1;
                progress.send_replace(expected);
            }
            other => panic!("a healthy client got {other:?} after {expected} chunks"),
        }
    }
    client
}

/// A server with two healthy clients reading in their own tasks and one client that does not
/// read at all.
struct Setup {
    server: ObservedServer,
    stalled: Client,
    stalled_connection: Connection,
    healthy: Vec<tokio::task::JoinHandle<Client>>,
    progress: Vec<watch::Receiver<u64>>,
}

async fn setup(server: Server) -> Setup {
    let mut server = ObservedServer::start(server).await;
    let (stalled, stalled_connection) = server.connect().await;
    let mut healthy = Vec::new();
    let mut progress = Vec::new();
    for _ in 0..2 {
        let (client, _) = server.connect().await;
        let (sender, receiver) = watch::channel(0);
        healthy.push(tokio::spawn(read_every_chunk(client, sender, MESSAGES)));
        progress.push(receiver);
    }
    Setup {
        server,
        stalled,
        stalled_connection,
        healthy,
        progress,
    }
}

fn assert_memory_bounded(baseline: u64, peak: u64, what: &str) {
    eprintln!(
        "{what}: RSS baseline {:.1} MiB, peak {:.1} MiB, growth {:.1} MiB (bound {:.0} MiB)",
        mib(baseline),
        mib(peak),
        mib(peak.saturating_sub(baseline)),
        mib(RSS_HEADROOM)
    );
    assert!(
        peak < baseline + RSS_HEADROOM,
        "{what}: the process grew from {:.1} MiB to {:.1} MiB, more than {:.0} MiB",
        mib(baseline),
        mib(peak),
        mib(RSS_HEADROOM)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_is_closed_with_1008_and_memory_stays_bounded() {
    let _exclusive = EXCLUSIVE.lock().await;
    let Setup {
        mut server,
        mut stalled,
        stalled_connection,
        healthy,
        progress,
    } = setup(server()).await;

    let baseline = harness::memory::rss_bytes();
    let sampler = RssSampler::start();
    let started = Instant::now();
    let broadcaster = tokio::spawn(broadcast(server.hub(), progress, MESSAGES));

    // The server gives up on the client that does not read...
    within_for(
        Duration::from_secs(120),
        "the stalled connection to be closed",
        stalled_connection.closed(),
    )
    .await;
    // ...and when the client reads after all (within the close timeout: the server does not
    // wait longer for a client to take its close frame), it finds a prefix of the broadcast,
    // then the 1008 close frame the server sent after it.
    let draining = Instant::now();
    let mut received = 0;
    let (code, close_reason) = within("the stalled client's backlog", async {
        loop {
            match stalled.next_frame().await {
                Received::Text(text) => {
                    assert_eq!(chunk_seq(&text), Some(received), "in order, none skipped");
                    received += 1;
                }
                Received::Close(Some(close)) => return close,
                other => panic!("expected chunks then a close frame, got {other:?}"),
            }
        }
    })
    .await;
    let drained = draining.elapsed();
    assert_eq!(code, 1008, "close code (reason {close_reason:?})");
    assert_eq!(close_reason, "slow consumer");
    assert!(
        received < MESSAGES,
        "it was closed before the end of the broadcast"
    );
    let (id, reason) = server.next_closed().await;
    assert_eq!(&id, stalled_connection.id());
    assert_eq!(reason, DisconnectReason::SlowConsumer);

    let sent = within_for(Duration::from_secs(300), "the broadcast", broadcaster)
        .await
        .expect("the broadcaster");
    let peak = sampler.finish();
    assert!(sent >= 100_000_000, "100 MB were broadcast");
    let mut clients = Vec::new();
    for reader in healthy {
        let mut client = within("a healthy client", reader)
            .await
            .expect("every chunk");
        client.assert_alive().await;
        clients.push(client);
    }
    eprintln!(
        "broadcast of {} MB in {:?}; the stalled client got {received} chunks before its \
         close, read in {drained:?}",
        sent / 1_000_000,
        started.elapsed()
    );
    assert_memory_bounded(baseline, peak, "Disconnect policy");
    server.assert_none_closed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_drop_newest_a_stalled_client_loses_hub_messages_and_stays_open() {
    let _exclusive = EXCLUSIVE.lock().await;
    let Setup {
        mut server,
        mut stalled,
        stalled_connection,
        healthy,
        progress,
    } = setup(server().slow_consumer(SlowConsumerPolicy::DropNewest)).await;

    let baseline = harness::memory::rss_bytes();
    let sampler = RssSampler::start();
    let sent = within_for(
        Duration::from_secs(300),
        "the broadcast",
        broadcast(server.hub(), progress, MESSAGES),
    )
    .await;
    let mut clients = Vec::new();
    for reader in healthy {
        clients.push(
            within("a healthy client", reader)
                .await
                .expect("every chunk"),
        );
    }
    let peak = sampler.finish();
    assert!(sent >= 100_000_000, "100 MB were broadcast");
    assert_memory_bounded(baseline, peak, "DropNewest policy");

    server.assert_none_closed();
    assert!(!stalled_connection.is_closed());
    let dropped = stalled_connection.dropped_messages();
    assert!(dropped > 0, "messages were dropped for the stalled client");
    assert!(
        dropped < MESSAGES,
        "some messages were queued before the queue filled up"
    );
    let queued = stalled_connection.queued_bytes();
    assert!(
        queued <= 512 * 1024,
        "the outbound queue holds at most its 512 KiB default, not {queued} bytes"
    );

    // Reading at last, the client gets exactly the messages that were not dropped, in order,
    // and its connection still serves requests.
    let mut received = 0;
    let mut last = None;
    while received + dropped < MESSAGES {
        match stalled.next_frame().await {
            Received::Text(text) => {
                let seq = chunk_seq(&text).expect("a chunk");
                assert!(last < Some(seq), "in order: {seq} after {last:?}");
                last = Some(seq);
                received += 1;
            }
            other => panic!("expected chunks, got {other:?} after {received}"),
        }
    }
    eprintln!("DropNewest: the stalled client got {received} chunks, {dropped} were dropped");
    stalled.assert_alive().await;
    assert_eq!(
        stalled_connection.dropped_messages(),
        dropped,
        "nothing more was dropped"
    );
    server.assert_none_closed();
}

/// Pipelines `count` requests for 64 KiB replies and does not read for a while.
async fn pipeline_big_requests(client: &mut Client, count: u64) {
    for n in 0..count {
        client
            .feed_json(&json!({ "Type": "Big", "Data": { "n": n }, "Id": n }))
            .await;
    }
    client.flush().await;
}

fn assert_big_reply(reply: &Value, n: u64) {
    assert_eq!(reply["Type"], "BigReply", "reply {n}");
    assert_eq!(reply["Id"], n, "replies arrive in request order");
    assert_eq!(reply["Data"]["n"], n);
    assert_eq!(reply["Data"]["pad"].as_str().map(str::len), Some(64 * 1024));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_to_a_client_that_is_not_reading_wait_and_are_never_dropped() {
    let _exclusive = EXCLUSIVE.lock().await;
    let mut server = ObservedServer::start(server()).await;
    let (mut client, _) = server.connect().await;
    // 200 replies of 64 KiB: 12.5 MiB, far more than the 512 KiB outbound queue.
    pipeline_big_requests(&mut client, 200).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.assert_none_closed();
    for n in 0..200 {
        assert_big_reply(&client.recv().await, n);
    }
    client.assert_alive().await;
    server.assert_none_closed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_are_never_dropped_while_hub_messages_are() {
    let _exclusive = EXCLUSIVE.lock().await;
    let mut server =
        ObservedServer::start(server().slow_consumer(SlowConsumerPolicy::DropNewest)).await;
    let (mut client, connection) = server.connect().await;
    pipeline_big_requests(&mut client, 200).await;
    // While the client reads nothing, 50 MB of hub messages come for it.
    let chunks = 5_000;
    broadcast(server.hub(), Vec::new(), chunks).await;
    let dropped = connection.dropped_messages();
    assert!(dropped > 0, "hub messages were dropped");

    let mut replies = 0;
    let mut received_chunks = 0;
    while replies < 200 || received_chunks + dropped < chunks {
        match client.next_frame().await {
            Received::Text(text) if chunk_seq(&text).is_some() => received_chunks += 1,
            Received::Text(text) => {
                let reply: Value = serde_json::from_str(&text).expect("JSON");
                assert_big_reply(&reply, replies);
                replies += 1;
            }
            other => panic!("expected replies and chunks, got {other:?}"),
        }
    }
    assert_eq!(connection.dropped_messages(), dropped);
    client.assert_alive().await;
    server.assert_none_closed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_to_a_stalled_client_follows_the_policy_too() {
    let _exclusive = EXCLUSIVE.lock().await;
    let mut server = ObservedServer::start(server()).await;
    let (_stalled, connection) = server.connect().await;
    let (mut healthy, _) = server.connect().await;
    let hub = server.hub();
    let pad = "d".repeat(PAYLOAD);
    let id: ConnectionId = connection.id().clone();
    // Direct messages never wait for the receiver: the sender is not blocked by the stall.
    let sent = Arc::new(AtomicU64::new(0));
    within("direct messages to a stalled client", async {
        while !connection.is_closed() {
            let seq = sent.fetch_add(1, Ordering::Relaxed);
            // Once the connection is closing, sending to it may fail: that is fine.
            let _ = hub
                .to(&id)
                .send_as("Chunk", &Chunk { seq, pad: &pad })
                .await;
            tokio::task::yield_now().await;
        }
    })
    .await;
    let (closed_id, reason) = server.next_closed().await;
    assert_eq!(closed_id, id);
    assert_eq!(reason, DisconnectReason::SlowConsumer);
    healthy.assert_alive().await;
}
