//! Property: however stream requests, cancels and calls interleave on one connection (all
//! pipelined, over a real socket), every call is answered once and in order, every stream's
//! items come in order before exactly one `StreamEnd`, and nothing follows a stream's end.

mod harness;

use exws::{handlers, message, Server};
use futures_util::Stream;
use harness::{Client, TestServer};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

#[derive(Deserialize)]
struct Add {
    a: i64,
}

#[derive(Serialize)]
struct Sum {
    value: i64,
}

#[message]
async fn add(request: Add) -> Sum {
    Sum {
        value: request.a + 1,
    }
}

#[derive(Deserialize)]
struct Countdown {
    from: u32,
}

#[derive(Deserialize)]
struct Forever {}

#[derive(Serialize)]
struct Tick {
    n: u32,
}

#[message]
async fn countdown(request: Countdown) -> impl Stream<Item = Tick> {
    futures_util::stream::iter((1..=request.from).rev().map(|n| Tick { n }))
}

#[message]
async fn forever(_request: Forever) -> impl Stream<Item = Tick> {
    futures_util::stream::unfold(1u32, |n| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Some((Tick { n }, n + 1))
    })
}

#[derive(Debug, Clone)]
enum Op {
    Countdown(u32),
    Forever,
    /// Cancels the `k`-th stream opened so far (modulo), or an Id never used.
    Cancel(usize),
    Call(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u32..5).prop_map(Op::Countdown),
        Just(Op::Forever),
        (0usize..8).prop_map(Op::Cancel),
        (0i64..1000).prop_map(Op::Call),
    ]
}

/// What one stream `Id` must show.
struct Expect {
    forever: bool,
    from: u32,
    items: Vec<u32>,
    ended: bool,
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let server = TestServer::start(
        Server::with_handlers(handlers![add, countdown, forever])
            .close_timeout(Duration::from_millis(100)),
    )
    .await;
    let mut client: Client = server.connect().await;
    let mut streams: Vec<(String, bool, u32)> = Vec::new();
    let mut calls = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        let envelope = match op {
            Op::Countdown(from) => {
                let id = format!("s{index}");
                streams.push((id.clone(), false, *from));
                json!({"Type": "Countdown", "Data": {"from": from}, "Id": id})
            }
            Op::Forever => {
                let id = format!("s{index}");
                streams.push((id.clone(), true, 0));
                json!({"Type": "Forever", "Data": {}, "Id": id})
            }
            Op::Cancel(k) => {
                let id = match streams.get(k % streams.len().max(1)) {
                    Some((id, _, _)) if *k < 6 => id.clone(),
                    _ => "never-opened".to_owned(),
                };
                json!({"Type": "StreamCancel", "Id": id})
            }
            Op::Call(a) => {
                let id = format!("c{index}");
                calls.push((id.clone(), *a));
                json!({"Type": "Add", "Data": {"a": a}, "Id": id})
            }
        };
        client.feed_text(envelope.to_string()).await;
    }
    // Every endless stream is cancelled at the end, so that all of them end.
    for (id, forever, _) in &streams {
        if *forever {
            client
                .feed_text(json!({"Type": "StreamCancel", "Id": id}).to_string())
                .await;
        }
    }
    client.flush().await;

    let mut expect: HashMap<String, Expect> = streams
        .iter()
        .map(|(id, forever, from)| {
            (
                id.clone(),
                Expect {
                    forever: *forever,
                    from: *from,
                    items: Vec::new(),
                    ended: false,
                },
            )
        })
        .collect();
    let mut answered = 0;
    while answered < calls.len() || expect.values().any(|stream| !stream.ended) {
        let envelope: Value = client.recv().await;
        let id = envelope["Id"].as_str().unwrap_or_default().to_owned();
        match envelope["Type"].as_str() {
            Some("Sum") => {
                let (expected_id, a) = &calls[answered];
                prop_assert_eq!(&id, expected_id, "calls are answered in order");
                prop_assert_eq!(envelope["Data"]["value"].as_i64(), Some(a + 1));
                answered += 1;
            }
            Some("Tick") => {
                let stream = expect
                    .get_mut(&id)
                    .ok_or_else(|| TestCaseError::fail(format!("an item of unknown Id {id}")))?;
                prop_assert!(!stream.ended, "an item of {} after its end", id);
                stream
                    .items
                    .push(envelope["Data"]["n"].as_u64().unwrap_or_default() as u32);
            }
            Some("StreamEnd") => {
                let stream = expect
                    .get_mut(&id)
                    .ok_or_else(|| TestCaseError::fail(format!("an end of unknown Id {id}")))?;
                prop_assert!(!stream.ended, "two ends for {}", id);
                stream.ended = true;
            }
            _ => return Err(TestCaseError::fail(format!("unexpected {envelope}"))),
        }
    }
    for (id, stream) in &expect {
        let wanted: Vec<u32> = if stream.forever {
            (1..=stream.items.len() as u32).collect()
        } else {
            (1..=stream.from).rev().take(stream.items.len()).collect()
        };
        prop_assert_eq!(&stream.items, &wanted, "items of {} in order", id);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn interleaved_streams_cancels_and_calls_keep_the_protocol(ops in prop::collection::vec(op(), 1..24)) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        runtime.block_on(run(ops))?;
    }
}
