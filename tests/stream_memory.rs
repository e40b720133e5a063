//! A slow reader of a fast stream gets every item, in order, while the process's memory stays
//! bounded: the stream waits for the client's outbound queue instead of buffering. Alone in its
//! test binary, so that no other test's allocations blur the resident size it reads from
//! `/proc/self/status`.

mod harness;

use exws::{handlers, message, Server};
use futures_util::Stream;
use harness::TestServer;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

#[derive(Deserialize)]
struct Big {
    count: u32,
    size: usize,
}

#[derive(Serialize)]
struct Chunk {
    n: u32,
    bytes: String,
}

/// `count` items of `size` bytes, as fast as the client lets them out.
#[message]
async fn big(request: Big) -> impl Stream<Item = Chunk> {
    let bytes = "x".repeat(request.size);
    futures_util::stream::iter((0..request.count).map(move |n| Chunk {
        n,
        bytes: bytes.clone(),
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_of_a_fast_stream_gets_every_item_with_bounded_server_memory() {
    let server = TestServer::start(Server::with_handlers(handlers![big])).await;
    let mut client = server.connect().await;
    // 150 MB in all, which the server may never hold: its queue takes 512 KiB.
    let (count, size) = (150_000u32, 1000usize);
    client
        .send_json(&json!({"Type": "Big", "Data": {"count": count, "size": size}, "Id": 1}))
        .await;
    let start = harness::memory::rss_bytes();
    let mut peak = start;
    for n in 0..count {
        let item = client.recv().await;
        assert_eq!(item["Data"]["n"], n, "every item, in order");
        if n % 10_000 == 0 {
            peak = peak.max(harness::memory::rss_bytes());
            // The reader is slower than the stream.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(client.recv().await["Type"], "StreamEnd");
    let growth = peak.saturating_sub(start);
    assert!(
        growth < 24 << 20,
        "the process grew by {} MiB while streaming {} MB to a slow reader",
        growth >> 20,
        (u64::from(count) * size as u64) >> 20
    );
}
