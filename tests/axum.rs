//! exws mounted in axum apps, over real sockets: the axum example as an OS process driven by
//! the exws client and tokio-tungstenite; an app with its own routes, a tower layer before
//! the upgrade, and two endpoints with different handler sets; the authenticator, `Origin`
//! check, subprotocols and trusted proxies working as in the standalone server; shutdown.

mod harness;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use exws::auth::{Admission, HandshakeRejection};
use exws::{handlers, message, Connection, Endpoint, HandshakeRequest, Server};
use exws_workspace::calculator::{CalculateRequest, CalculateResponse};
use futures_util::{SinkExt, StreamExt};
use harness::process::ExampleProcess;
use harness::within;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// One HTTP/1.1 request over a fresh connection: the status and the body.
async fn http_get(addr: SocketAddr, path: &str, headers: &str) -> (u16, String) {
    let mut tcp = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
    within("write", tcp.write_all(request.as_bytes()))
        .await
        .expect("write");
    let mut response = Vec::new();
    within("the response", tcp.read_to_end(&mut response))
        .await
        .expect("read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn ws_connect(
    url: &str,
    headers: &[(&str, &str)],
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request()?;
    for (name, value) in headers {
        request.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            axum::http::HeaderValue::from_str(value).expect("a header value"),
        );
    }
    within("the handshake", tokio_tungstenite::connect_async(request))
        .await
        .map(|(ws, _)| ws)
}

async fn ws_call(ws: &mut Ws, envelope: Value) -> Value {
    within("send", ws.send(Message::text(envelope.to_string())))
        .await
        .expect("send");
    loop {
        match within("a reply", ws.next()).await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str()).expect("JSON")
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_example_serves_health_and_the_calculator_on_one_port() {
    let example = ExampleProcess::start("axum", &[]).await;
    assert_eq!(
        http_get(example.addr(), "/health", "").await,
        (200, "ok".to_owned())
    );
    assert_eq!(http_get(example.addr(), "/nothing-here", "").await.0, 404);

    // tokio-tungstenite, by hand.
    let mut ws = ws_connect(&format!("ws://{}/ws", example.addr()), &[])
        .await
        .expect("upgraded at /ws");
    let reply = ws_call(
        &mut ws,
        json!({"Type": "CalculateRequest", "Data": {"numbers": [2, 2]}, "Id": 1}),
    )
    .await;
    assert_eq!(
        reply,
        json!({"Type": "CalculateResponse", "Data": {"result": 4}, "Id": 1})
    );
    let error = ws_call(&mut ws, json!({"Type": "Nope", "Id": 2})).await;
    assert_eq!(error["Data"]["code"], "unknown_type");

    // The exws client, typed.
    let client = within(
        "the exws client",
        exws_client::Client::connect(format!("ws://{}/ws", example.addr())),
    )
    .await
    .expect("connects");
    let reply: CalculateResponse = within(
        "a typed call",
        client.call(&CalculateRequest {
            numbers: vec![20, 22],
        }),
    )
    .await
    .expect("answered");
    assert_eq!(reply.result, 42);
    client.close().await;
}

#[derive(Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(Serialize)]
struct Sum {
    value: i64,
}

#[message]
async fn add(request: Add) -> Sum {
    Sum {
        value: request.a + request.b,
    }
}

#[derive(Deserialize)]
struct Echo {
    text: String,
}

#[derive(Serialize)]
struct Echoed {
    text: String,
    remote: String,
    protocol: Option<String>,
    path: String,
}

#[message]
async fn echo(request: Echo, connection: Connection) -> Echoed {
    Echoed {
        text: request.text,
        remote: connection.remote_addr().ip().to_string(),
        protocol: connection.handshake().protocol().map(str::to_owned),
        path: connection.handshake().path().to_owned(),
    }
}

async fn require_token(request: HandshakeRequest) -> Result<Admission, HandshakeRejection> {
    match request.query_param("token").as_deref() {
        Some("secret") => Ok(Admission::anonymous()),
        _ => Err(HandshakeRejection::unauthorized("token required")),
    }
}

/// A layer of the app, before any route: refuses requests carrying `X-Blocked`.
async fn block_some(request: Request, next: Next) -> Response {
    if request.headers().contains_key("x-blocked") {
        return (StatusCode::IM_A_TEAPOT, "blocked by the app's layer").into_response();
    }
    next.run(request).await
}

/// An app with its own route, a layer, and two endpoints; served on a free port.
async fn app() -> (SocketAddr, Endpoint, Endpoint) {
    let math = Server::with_handlers(handlers![add])
        .build()
        .await
        .expect("math builds");
    let echo = Server::with_handlers(handlers![echo])
        .authenticator(require_token)
        .allowed_origins(["https://app.example"])
        .protocols(["exws.v2", "exws.v1"])
        .trusted_proxies(["127.0.0.1"])
        .close_timeout(Duration::from_millis(300))
        .build()
        .await
        .expect("echo builds");
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/math", math.axum_route())
        .route("/echo", echo.axum_route())
        .layer(middleware::from_fn(block_some));
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
    (addr, math, echo)
}

#[tokio::test]
async fn two_endpoints_on_two_paths_serve_their_own_handlers_behind_the_apps_layer() {
    let (addr, _math, _echo) = app().await;
    assert_eq!(http_get(addr, "/health", "").await, (200, "ok".to_owned()));

    let mut math = ws_connect(&format!("ws://{addr}/math"), &[])
        .await
        .expect("math upgrades");
    let sum = ws_call(&mut math, json!({"Type": "Add", "Data": {"a": 2, "b": 3}})).await;
    assert_eq!(sum, json!({"Type": "Sum", "Data": {"value": 5}}));
    let other = ws_call(&mut math, json!({"Type": "Echo", "Data": {"text": "x"}})).await;
    assert_eq!(other["Data"]["code"], "unknown_type", "{other}");

    // The app's layer runs before the upgrade.
    let blocked = ws_connect(&format!("ws://{addr}/math"), &[("X-Blocked", "1")]).await;
    match blocked {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 418)
        }
        other => panic!("expected the layer's 418, got {other:?}"),
    }
    // A plain GET of the WebSocket route is told to upgrade.
    assert_eq!(http_get(addr, "/math", "").await.0, 426);
}

#[tokio::test]
async fn authentication_origins_subprotocols_and_proxies_work_as_in_the_standalone_server() {
    let (addr, _math, _echo) = app().await;
    let refused = ws_connect(&format!("ws://{addr}/echo"), &[]).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401);
            let body = response.body().clone().unwrap_or_default();
            assert_eq!(String::from_utf8_lossy(&body), "token required");
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let wrong_origin = ws_connect(
        &format!("ws://{addr}/echo?token=secret"),
        &[("Origin", "https://evil.example")],
    )
    .await;
    assert!(
        matches!(&wrong_origin, Err(tokio_tungstenite::tungstenite::Error::Http(response)) if response.status().as_u16() == 403),
        "{wrong_origin:?}"
    );
    let unsupported = ws_connect(
        &format!("ws://{addr}/echo?token=secret"),
        &[("Sec-WebSocket-Protocol", "mqtt")],
    )
    .await;
    assert!(
        matches!(&unsupported, Err(tokio_tungstenite::tungstenite::Error::Http(response)) if response.status().as_u16() == 400),
        "{unsupported:?}"
    );

    let mut ws = ws_connect(
        &format!("ws://{addr}/echo?token=secret"),
        &[
            ("Origin", "https://app.example"),
            ("Sec-WebSocket-Protocol", "mqtt, exws.v1"),
            ("X-Forwarded-For", "203.0.113.9"),
        ],
    )
    .await
    .expect("admitted");
    let echoed = ws_call(&mut ws, json!({"Type": "Echo", "Data": {"text": "hi"}})).await;
    assert_eq!(
        echoed["Data"],
        json!({"text": "hi", "remote": "203.0.113.9", "protocol": "exws.v1", "path": "/echo"})
    );
}

#[tokio::test]
async fn an_endpoints_shutdown_closes_its_axum_connections_with_1001_and_refuses_new_ones() {
    let (addr, math, _echo) = app().await;
    let mut ws = ws_connect(&format!("ws://{addr}/math"), &[])
        .await
        .expect("upgrades");
    let sum = ws_call(&mut ws, json!({"Type": "Add", "Data": {"a": 1, "b": 1}})).await;
    assert_eq!(sum["Data"]["value"], 2);
    let stopping = tokio::spawn(async move { math.shutdown().await });
    match within("the close", ws.next()).await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected close 1001, got {other:?}"),
    }
    drop(ws);
    within("the shutdown", stopping).await.expect("no panic");
    let refused = ws_connect(&format!("ws://{addr}/math"), &[]).await;
    assert!(
        matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(response)) if response.status().as_u16() == 503),
        "{refused:?}"
    );
    // The app itself goes on.
    assert_eq!(http_get(addr, "/health", "").await, (200, "ok".to_owned()));
}
