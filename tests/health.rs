//! `GET /health` and `GET /metrics` on the server's own port (opt-in), and as axum routes:
//! the report's fields, 503 while the distributed engine's backend is unreachable (a real
//! `redis-server` or `nats-server` the test stops and starts again, once per engine), and the
//! Prometheus text.

mod harness;
use exws::{handlers, Server};
#[cfg(any(feature = "redis", feature = "nats"))]
use harness::raw::http_exchange;
use harness::{skipped_over, within, Client, TestServer, Transport};
use serde_json::Value;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GET_HEALTH: &str = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn server() -> Server {
    Server::with_handlers(handlers![harness::calculate])
}

/// `GET /health` on the server's port: status and parsed body.
async fn health(addr: SocketAddr) -> (u16, Value) {
    let (status, head, body) = http_exchange(addr, GET_HEALTH).await;
    if status == 200 || status == 503 {
        assert!(
            head.to_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
    }
    let report = serde_json::from_str(&body).unwrap_or(Value::Null);
    (status, report)
}

#[tokio::test]
async fn health_is_not_served_unless_asked_for() {
    if skipped_over(Transport::Axum, "the axum app routes plain HTTP itself") {
        return;
    }
    let server = TestServer::start(server()).await;
    let (status, _head, _body) = http_exchange(server.addr(), GET_HEALTH).await;
    assert_eq!(status, 426, "a plain GET is still asked to upgrade");
}

#[tokio::test]
async fn health_reports_connections_uptime_and_the_adapter() {
    if skipped_over(Transport::Axum, "the axum app routes plain HTTP itself") {
        return;
    }
    let server = TestServer::start(server().serve_health()).await;
    let (status, report) = health(server.addr()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["status"], "ok");
    assert_eq!(report["connections"], 0);
    assert!(report["uptime_seconds"].is_u64(), "{report}");
    assert_eq!(report["adapter"]["name"], "in_process");
    assert_eq!(report["adapter"]["reachable"], true);

    let mut first = Client::connect(server.addr()).await;
    let mut second = Client::connect(server.addr()).await;
    first.assert_alive().await;
    second.assert_alive().await;
    let (_, report) = health(server.addr()).await;
    assert_eq!(report["connections"], 2, "{report}");
    first.close().await;
    second.close().await;
}

/// A plain HTTP `GET path` over TCP (the axum app's port); status and body.
async fn plain_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = within("connecting", tokio::net::TcpStream::connect(addr))
        .await
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut response = String::new();
    within("the answer", stream.read_to_string(&mut response))
        .await
        .expect("read the answer");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .expect("a status");
    (status, body.to_owned())
}

#[tokio::test]
async fn health_is_an_axum_route_too() {
    let endpoint = server().build().await.expect("builds");
    let app = axum::Router::new()
        .route("/ready", endpoint.health_route())
        .route("/ws", endpoint.axum_route());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    let (status, body) = plain_get(addr, "/ready").await;
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(report["status"], "ok");
    assert_eq!(
        report,
        serde_json::to_value(endpoint.health()).expect("JSON")
    );
}

#[cfg(any(feature = "redis", feature = "nats"))]
mod backend_outage {
    use super::*;
    use crate::harness::engine::{Engine, Settings};
    use std::time::Duration;

    engine_tests!(health_turns_503_while_the_backend_is_unreachable);

    /// Asks `/health` until it answers `status`, failing after the harness's timeout.
    async fn health_turns(addr: SocketAddr, status: u16) -> Value {
        within(&format!("/health to answer {status}"), async {
            loop {
                let (answered, report) = health(addr).await;
                if answered == status {
                    return report;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }

    async fn health_turns_503_while_the_backend_is_unreachable(engine: Engine) {
        if skipped_over(Transport::Axum, "the axum app routes plain HTTP itself") {
            return;
        }
        let mut backend = engine.start();
        let settings = Settings {
            reconnect_backoff: Some((Duration::from_millis(20), Duration::from_millis(100))),
            ..Settings::default()
        };
        let (bound, _) = backend.attach(server().serve_health(), &settings);
        let server = TestServer::start(bound).await;
        let (status, report) = health(server.addr()).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["adapter"]["name"], engine.adapter_name());
        assert_eq!(report["adapter"]["reachable"], true);

        backend.stop();
        let report = health_turns(server.addr(), 503).await;
        assert_eq!(report["status"], "unavailable");
        assert_eq!(report["adapter"]["reachable"], false);
        let mut client = Client::connect(server.addr()).await;
        client.assert_alive().await;

        backend.restart();
        let report = health_turns(server.addr(), 200).await;
        assert_eq!(report["status"], "ok");
        assert_eq!(report["connections"], 1);
        client.close().await;
    }
}

#[cfg(feature = "prometheus")]
#[tokio::test]
async fn metrics_are_served_on_the_servers_port() {
    if skipped_over(Transport::Axum, "the axum app routes plain HTTP itself") {
        return;
    }
    let server = TestServer::start(server().serve_metrics()).await;
    let mut client = Client::connect(server.addr()).await;
    client.assert_alive().await;
    let request = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let (status, head, body) = http_exchange(server.addr(), request).await;
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_lowercase().contains("content-type: text/plain"),
        "{head}"
    );
    assert!(body.contains("exws_connections_total"), "{body}");
    assert!(
        body.contains("exws_handler_duration_seconds"),
        "handler durations are recorded: {body}"
    );
    client.close().await;
}
