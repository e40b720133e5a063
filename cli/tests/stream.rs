//! `exws stream` against an in-process server whose handlers return streams.

mod common;

use common::*;
use exws::{handlers, message, Server, State};
use futures_util::Stream;
use serde::Deserialize;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Deserialize)]
struct Countdown {
    from: u32,
    interval_ms: u64,
}

#[message]
async fn countdown(request: Countdown) -> impl Stream<Item = Tick> {
    let interval = Duration::from_millis(request.interval_ms);
    futures_util::stream::unfold(request.from, move |n| async move {
        if n == 0 {
            return None;
        }
        tokio::time::sleep(interval).await;
        Some((Tick { n }, n - 1))
    })
}

/// Counts the `Forever` producers dropped (cancelled, or their connection closed).
#[derive(Clone)]
struct Dropped(Arc<watch::Sender<u32>>);

struct DropGuard(Dropped);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0 .0.send_modify(|dropped| *dropped += 1);
    }
}

#[derive(Deserialize)]
struct Forever {
    interval_ms: u64,
}

#[message]
async fn forever(request: Forever, State(dropped): State<Dropped>) -> impl Stream<Item = Tick> {
    let interval = Duration::from_millis(request.interval_ms);
    let guard = DropGuard(dropped);
    futures_util::stream::unfold((1, guard), move |(n, guard)| async move {
        tokio::time::sleep(interval).await;
        Some((Tick { n }, (n + 1, guard)))
    })
}

#[derive(Deserialize)]
struct Explode {
    after: u32,
}

#[message]
async fn explode(request: Explode) -> impl Stream<Item = Result<Tick, String>> {
    let items = (1..=request.after).map(|n| Ok(Tick { n }));
    futures_util::stream::iter(items.chain(std::iter::once(Err("exploded".to_owned()))))
}

async fn start_streams() -> (Running, Dropped) {
    let dropped = Dropped(Arc::new(watch::channel(0).0));
    let server = Server::with_handlers(handlers![countdown, forever, explode, calculate])
        .with_state(dropped.clone())
        .shutdown_timeout(Duration::from_millis(500))
        .close_timeout(Duration::from_millis(500));
    (serve(server).await, dropped)
}

#[tokio::test]
async fn stream_prints_one_line_per_item_and_exits_0_at_the_end() {
    let (server, _) = start_streams().await;
    let output = run([
        "stream",
        &server.url,
        "Countdown",
        r#"{"from": 3, "interval_ms": 1}"#,
        "--id",
        "count-1",
    ])
    .await;
    assert_eq!(
        stdout(&output),
        "{\"n\":3}\n{\"n\":2}\n{\"n\":1}\n",
        "stderr: {}",
        stderr(&output)
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stderr(&output), "");
    server.stop().await;
}

#[tokio::test]
async fn a_stream_error_exits_1_after_the_items_before_it() {
    let (server, _) = start_streams().await;
    let output = run(["stream", &server.url, "Explode", r#"{"after": 2}"#]).await;
    assert_eq!(stdout(&output), "{\"n\":1}\n{\"n\":2}\n");
    assert_eq!(stderr(&output), "error: handler_error: exploded\n");
    assert_eq!(output.status.code(), Some(1));

    let output = run(["stream", &server.url, "NoSuchStream"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).starts_with("error: unknown_type: "),
        "{}",
        stderr(&output)
    );
    server.stop().await;
}

#[tokio::test]
async fn an_explicit_timeout_bounds_the_wait_for_each_item() {
    let (server, dropped) = start_streams().await;
    let output = run([
        "--timeout",
        "0.3",
        "stream",
        &server.url,
        "Forever",
        r#"{"interval_ms": 60000}"#,
    ])
    .await;
    assert_eq!(output.status.code(), Some(4), "stderr: {}", stderr(&output));
    assert!(
        stderr(&output).contains("no stream item within 0.3 s"),
        "{}",
        stderr(&output)
    );
    // The stream was cancelled before exiting: the server dropped its producer.
    let mut dropped = dropped.0.subscribe();
    within(dropped.wait_for(|dropped| *dropped >= 1))
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn ctrl_c_cancels_the_stream_and_exits_130() {
    let (server, dropped) = start_streams().await;
    let mut child = exws([
        "stream",
        server.url.as_str(),
        "Forever",
        r#"{"interval_ms": 5}"#,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn exws");
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut first = Vec::new();
        for _ in 0..3 {
            match lines.next() {
                Some(Ok(line)) => first.push(line),
                _ => break,
            }
        }
        (first, lines)
    });
    let (lines, rest) = match tokio::time::timeout(LIMIT, reader).await {
        Ok(joined) => joined.expect("reader"),
        Err(_) => {
            let _ = child.kill();
            panic!("stream printed too little in {LIMIT:?}");
        }
    };
    assert_eq!(lines, vec!["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"]);
    assert_eq!(
        *dropped.0.borrow(),
        0,
        "the producer runs until the interrupt"
    );

    let interrupt = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(interrupt.success());
    let waited = tokio::task::spawn_blocking(move || {
        // Drain stdout so the child never blocks on a full pipe.
        let _: Vec<String> = rest.map_while(Result::ok).collect();
        let status = child.wait();
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        (status, stderr, child)
    });
    let (status, stderr, mut child) = match tokio::time::timeout(LIMIT, waited).await {
        Ok(joined) => joined.expect("waiter"),
        Err(_) => panic!("exws stream did not exit after SIGINT"),
    };
    let _ = child.kill();
    assert_eq!(status.expect("wait").code(), Some(130), "stderr: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // The StreamCancel reached the server, which dropped the producer.
    let mut dropped = dropped.0.subscribe();
    within(dropped.wait_for(|dropped| *dropped >= 1))
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn stream_on_a_one_reply_type_prints_the_reply_and_exits_5() {
    let (server, _) = start_streams().await;
    let output = run([
        "--timeout",
        "0.5",
        "stream",
        &server.url,
        "CalculateRequest",
        r#"{"numbers": [2, 3]}"#,
    ])
    .await;
    assert_eq!(output.status.code(), Some(5), "stderr: {}", stderr(&output));
    assert_eq!(stdout(&output), "{\"result\":5}\n");
    assert!(
        stderr(&output).contains("not a stream") && stderr(&output).contains("exws call"),
        "{}",
        stderr(&output)
    );
    server.stop().await;
}

#[tokio::test]
async fn call_on_a_stream_prints_the_first_item_cancels_and_exits_5() {
    let (server, dropped) = start_streams().await;
    let output = run(["call", &server.url, "Forever", r#"{"interval_ms": 5}"#]).await;
    assert_eq!(output.status.code(), Some(5), "stderr: {}", stderr(&output));
    assert_eq!(stdout(&output), "{\"n\":1}\n");
    assert!(
        stderr(&output).contains("answers with a stream")
            && stderr(&output).contains("exws stream"),
        "{}",
        stderr(&output)
    );
    // The stream was cancelled: the server dropped its producer.
    let mut dropped = dropped.0.subscribe();
    within(dropped.wait_for(|dropped| *dropped >= 1))
        .await
        .unwrap();
    server.stop().await;
}
