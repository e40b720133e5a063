//! Pipelined requests on one connection: in order when sequential (the default), all answered
//! exactly once and at most `max_in_flight` at a time when concurrent.

mod harness;

use exws::{handlers, message, Server, State};
use harness::{Client, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const REQUESTS: u64 = 1000;

/// How many `work` handlers run at once, and the most that ever did.
#[derive(Clone, Default)]
struct Gauge {
    current: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
}

impl Gauge {
    fn enter(&self) {
        let now = self.current.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.current.fetch_sub(1, Ordering::SeqCst);
    }

    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

#[derive(Deserialize)]
struct Work {
    n: u64,
    sleep_ms: u64,
}

#[derive(Serialize)]
struct Done {
    square: u64,
}

#[message(type = "work")]
async fn work(request: Work, State(gauge): State<Gauge>) -> Done {
    gauge.enter();
    if request.sleep_ms > 0 {
        tokio::time::sleep(Duration::from_millis(request.sleep_ms)).await;
    } else {
        tokio::task::yield_now().await;
    }
    gauge.leave();
    Done {
        square: request.n * request.n,
    }
}

async fn start(server: Server) -> (TestServer, Client, Gauge) {
    let gauge = Gauge::default();
    let server = TestServer::start(server.with_state(gauge.clone())).await;
    let client = server.connect().await;
    (server, client, gauge)
}

/// Sends every request before reading any reply.
async fn pipeline(client: &mut Client, sleep_ms: impl Fn(u64) -> u64) {
    for n in 0..REQUESTS {
        let request =
            json!({ "Type": "work", "Data": { "n": n, "sleep_ms": sleep_ms(n) }, "Id": n });
        client.feed_text(request.to_string()).await;
    }
    client.flush().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_replies_leave_in_request_order() {
    let (_server, mut client, gauge) = start(Server::with_handlers(handlers![work])).await;
    // Early requests are slower than later ones: any overlap would reorder the replies.
    pipeline(&mut client, |n| if n < 100 && n % 10 == 0 { 3 } else { 0 }).await;
    for n in 0..REQUESTS {
        let reply = client.recv().await;
        assert_eq!(
            reply,
            json!({ "Type": "Done", "Data": { "square": n * n }, "Id": n }),
            "reply number {n}"
        );
    }
    assert_eq!(gauge.max(), 1, "one handler at a time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_after_concurrent_switches_back() {
    let (_server, mut client, gauge) = start(
        Server::with_handlers(handlers![work])
            .concurrent(4)
            .sequential(),
    )
    .await;
    pipeline(&mut client, |n| if n % 100 == 0 { 2 } else { 0 }).await;
    for n in 0..REQUESTS {
        assert_eq!(client.recv().await["Id"], n);
    }
    assert_eq!(gauge.max(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_answers_every_request_once_within_the_limit() {
    let (_server, mut client, gauge) =
        start(Server::with_handlers(handlers![work]).concurrent(8)).await;
    // Pseudo-random sleeps of 0..=12 ms.
    pipeline(&mut client, |n| n * 7919 % 13).await;
    let mut seen = BTreeSet::new();
    for _ in 0..REQUESTS {
        let reply = client.recv().await;
        let id = reply["Id"]
            .as_u64()
            .unwrap_or_else(|| panic!("an integer Id in {reply}"));
        assert_eq!(
            reply,
            json!({ "Type": "Done", "Data": { "square": id * id }, "Id": id }),
            "each reply matches its request"
        );
        assert!(seen.insert(id), "Id {id} answered twice");
    }
    assert_eq!(seen, (0..REQUESTS).collect::<BTreeSet<_>>());
    let max = gauge.max();
    assert!(max <= 8, "at most 8 handlers at once, saw {max}");
    assert!(max > 1, "handlers overlapped (saw at most {max} at once)");
    assert_still_working(&mut client).await;
}

/// The connection still answers after the burst.
async fn assert_still_working(client: &mut Client) {
    let reply = client.call("work", json!({ "n": 3, "sleep_ms": 0 })).await;
    assert_eq!(reply, json!({ "Type": "Done", "Data": { "square": 9 } }));
}
