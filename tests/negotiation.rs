//! What the standalone server decides at the handshake besides authentication, over real
//! sockets: the client's address behind trusted proxies (and not behind others), and the
//! subprotocol (the client's preference among the server's, or a refusal).

use exws::{handlers, message, Connection, Server};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

#[derive(Deserialize)]
struct Where {}

#[derive(Serialize)]
struct Here {
    remote: String,
    protocol: Option<String>,
}

#[message]
async fn where_am_i(_request: Where, connection: Connection) -> Here {
    Here {
        remote: connection.remote_addr().ip().to_string(),
        protocol: connection.handshake().protocol().map(str::to_owned),
    }
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn start(server: Server) -> SocketAddr {
    let bound = server.bind("127.0.0.1:0").await.expect("binds");
    let addr = bound.local_addr();
    tokio::spawn(bound.serve().into_future());
    addr
}

async fn connect(
    addr: SocketAddr,
    headers: &[(&str, &str)],
) -> Result<(Ws, Option<String>), WsError> {
    let mut request = format!("ws://{addr}/").into_client_request()?;
    for (name, value) in headers {
        request.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("a header value"),
        );
    }
    let tcp = TcpStream::connect(addr).await.map_err(WsError::Io)?;
    let (ws, response) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::client_async(request, tcp),
    )
    .await
    .map_err(|_| WsError::ConnectionClosed)??;
    let protocol = response
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    Ok((ws, protocol))
}

async fn ask(ws: &mut Ws) -> Value {
    ws.send(Message::text(json!({"Type": "Where"}).to_string()))
        .await
        .expect("send");
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                return serde_json::from_str::<Value>(text.as_str()).expect("JSON")["Data"].clone()
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("expected a reply, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_and_an_untrusted_peer_cannot() {
    let trusting =
        start(Server::with_handlers(handlers![where_am_i]).trusted_proxies(["127.0.0.0/8"])).await;
    let (mut ws, _) = connect(
        trusting,
        &[("X-Forwarded-For", "198.51.100.1, 203.0.113.5")],
    )
    .await
    .expect("connects");
    assert_eq!(ask(&mut ws).await["remote"], "203.0.113.5");
    let (mut ws, _) = connect(trusting, &[("Forwarded", "for=\"[2001:db8::5]:1234\"")])
        .await
        .expect("connects");
    assert_eq!(ask(&mut ws).await["remote"], "2001:db8::5");

    let trusting_nobody = start(Server::with_handlers(handlers![where_am_i])).await;
    let (mut ws, _) = connect(trusting_nobody, &[("X-Forwarded-For", "203.0.113.5")])
        .await
        .expect("connects");
    assert_eq!(
        ask(&mut ws).await["remote"],
        "127.0.0.1",
        "a forged header is ignored"
    );
}

#[test]
fn an_invalid_trusted_proxy_is_a_start_up_error_naming_it() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let error = runtime
        .block_on(
            Server::with_handlers(handlers![where_am_i])
                .trusted_proxies(["10.0.0.0/8", "proxy.internal"])
                .bind("127.0.0.1:0"),
        )
        .expect_err("refused");
    let text = error.to_string();
    assert!(
        text.contains("trusted_proxies") && text.contains("proxy.internal"),
        "{text}"
    );
}

#[tokio::test]
async fn the_client_preference_picks_the_subprotocol_or_the_upgrade_is_refused() {
    let addr =
        start(Server::with_handlers(handlers![where_am_i]).protocols(["exws.v2", "exws.v1"])).await;
    let (mut ws, chosen) = connect(
        addr,
        &[("Sec-WebSocket-Protocol", "chat, exws.v1, exws.v2")],
    )
    .await
    .expect("connects");
    assert_eq!(chosen.as_deref(), Some("exws.v1"));
    assert_eq!(ask(&mut ws).await["protocol"], "exws.v1");

    let (mut ws, chosen) = connect(addr, &[])
        .await
        .expect("connects without a protocol");
    assert_eq!(chosen, None);
    assert_eq!(ask(&mut ws).await["protocol"], Value::Null);

    match connect(addr, &[("Sec-WebSocket-Protocol", "chat")]).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status().as_u16(), 400);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned();
            assert!(body.contains("exws.v2, exws.v1"), "{body}");
        }
        other => panic!("expected 400, got {other:?}"),
    }
}
