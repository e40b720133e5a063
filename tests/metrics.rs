//! The `prometheus` feature: exws's metrics are served in Prometheus's text format.
#![cfg(feature = "prometheus")]

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

    let server = exws::Server::with_handlers(exws::handlers![add])
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("ws://{}", server.local_addr());
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
}
