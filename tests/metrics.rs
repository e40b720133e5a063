//! The `prometheus` feature: exws's metrics are served in Prometheus's text format, each of
//! those the crate documents (`exws::metrics`) but the queue drops and the adapter's publish
//! failures (`tests/slow_consumer.rs` and `tests/redis_reliability.rs` cover what they count).
#![cfg(feature = "prometheus")]

mod harness;

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use std::future::IntoFuture;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

#[derive(Deserialize)]
struct Add {
    numbers: Vec<i64>,
}

#[derive(Serialize)]
struct Sum {
    result: i64,
}

#[derive(Deserialize)]
struct Count {
    to: u32,
}

#[derive(Serialize)]
struct Counted {
    n: u32,
}

#[exws::message]
async fn count(request: Count) -> impl futures_util::Stream<Item = Counted> {
    futures_util::stream::iter((1..=request.to).map(|n| Counted { n }))
}

#[exws::message]
async fn add(request: Add) -> Sum {
    Sum {
        result: request.numbers.iter().sum(),
    }
}

async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to /metrics");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("send the request");
    let mut body = String::new();
    stream
        .read_to_string(&mut body)
        .await
        .expect("read the answer");
    body
}

/// The value of the first sample line that starts with `prefix`.
fn sample(body: &str, prefix: &str) -> Option<f64> {
    body.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn counters_gauges_and_histograms_reach_the_prometheus_endpoint() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let metrics_addr = probe.local_addr().expect("its address");
    drop(probe);
    exws::metrics::install_prometheus(metrics_addr).expect("the endpoint starts");

    let server = exws::Server::with_handlers(exws::handlers![add, count])
        .allowed_origins(["https://app.example"])
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server_addr = server.local_addr();
    let url = format!("ws://{server_addr}");
    tokio::spawn(server.serve().into_future());

    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    for frame in [
        r#"{"Type":"Add","Data":{"numbers":[1,2]}}"#,
        r#"{"Type":"Add","Data":{"numbers":[3]}}"#,
        r#"{"Type":"Nope"}"#,
    ] {
        socket.send(Message::text(frame)).await.expect("send");
        let reply = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a reply in time");
        assert!(matches!(reply, Some(Ok(Message::Text(_)))), "{reply:?}");
    }

    // The endpoint renders what was recorded; poll briefly for the listener to come up.
    let mut body = String::new();
    for _ in 0..50 {
        body = tokio::time::timeout(Duration::from_secs(5), scrape(metrics_addr))
            .await
            .unwrap_or_default();
        if body.contains("exws_messages_in_total") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sample(&body, "exws_messages_in_total"), Some(3.0), "{body}");
    assert_eq!(sample(&body, "exws_connections_open"), Some(1.0), "{body}");
    assert_eq!(sample(&body, "exws_connections_total"), Some(1.0), "{body}");
    assert_eq!(
        sample(&body, "exws_errors_total{code=\"unknown_type\"}"),
        Some(1.0),
        "{body}"
    );
    assert!(
        sample(&body, "exws_messages_out_total").is_some_and(|sent| sent >= 3.0),
        "{body}"
    );
    assert!(
        body.contains("exws_handler_duration_seconds") && body.contains("type=\"Add\""),
        "{body}"
    );

    // A stream of three items, to its end.
    socket
        .send(Message::text(r#"{"Type":"Count","Data":{"to":3},"Id":1}"#))
        .await
        .expect("send");
    for _ in 0..4 {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("an item in time");
        assert!(matches!(frame, Some(Ok(Message::Text(_)))), "{frame:?}");
    }
    // An upgrade from an Origin the server does not admit: 403.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{server_addr}"
        ))
        .expect("a request");
    request.headers_mut().insert(
        "Origin",
        "https://evil.example".parse().expect("a header value"),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {other:?}"),
    }
    // The client closes: a disconnect by reason.
    socket.close(None).await.expect("close");
    // A TLS server that gets no TLS: a failed TLS handshake.
    let tls = exws::Server::with_handlers(exws::handlers![add])
        .tls(harness::transport::test_tls_config())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let tls_addr = tls.local_addr();
    tokio::spawn(tls.serve().into_future());
    let mut plain = tokio::net::TcpStream::connect(tls_addr)
        .await
        .expect("connect");
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("written");
    let mut rest = Vec::new();
    let _ = harness::within(
        "the TLS server to drop the connection",
        plain.read_to_end(&mut rest),
    )
    .await;

    let body = harness::eventually("every metric", harness::TIMEOUT, || async {
        let body = scrape(metrics_addr).await;
        let missing: Vec<&str> = [
            "exws_streams_open ",
            "exws_stream_items_total ",
            "exws_streams_ended_total{reason=\"end\"} ",
            "exws_handshakes_rejected_total{status=\"403\"} ",
            "exws_disconnects_total{reason=",
            "exws_tls_handshakes_failed_total{reason=\"error\"} ",
        ]
        .into_iter()
        .filter(|name| !body.lines().any(|line| line.starts_with(name)))
        .collect();
        match missing.is_empty() {
            true => Ok(body),
            false => Err(format!("missing {missing:?} in {body}")),
        }
    })
    .await;
    assert_eq!(sample(&body, "exws_streams_open "), Some(0.0), "{body}");
    assert_eq!(
        sample(&body, "exws_stream_items_total "),
        Some(3.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "exws_streams_ended_total{reason=\"end\"} "),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "exws_handshakes_rejected_total{status=\"403\"} "),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "exws_tls_handshakes_failed_total{reason=\"error\"} "),
        Some(1.0),
        "{body}"
    );
}
