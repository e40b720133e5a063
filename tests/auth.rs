//! Handshake authentication: an authenticator admitting by header, query parameter or cookie,
//! refusing with 401/403 (and 500 when it panics), the `Origin` allow-list, and what handlers
//! get from the admission: `Connection::id`, metadata, `User<U>`, `Option<User<U>>`; and
//! `State<T>`.

mod harness;

use harness::raw::upgrade_answer;
use harness::{assert_error, TestServer};

use exws::auth::{Admission, HandshakeRejection, User};
use exws::{handlers, message, Connection, HandshakeRequest, Server, State};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The application's own user type.
#[derive(Debug, Clone, PartialEq)]
struct Account {
    name: String,
    admin: bool,
}

#[derive(Deserialize)]
struct WhoAmI {}

#[derive(Serialize)]
struct Me {
    name: String,
    admin: bool,
    id: String,
    user_id: Option<String>,
    via: Option<String>,
    tenant: Option<String>,
}

/// Needs a user: `unauthorized` on an anonymous connection.
#[message]
async fn who_am_i(_request: WhoAmI, User(account): User<Account>, connection: Connection) -> Me {
    Me {
        name: account.name,
        admin: account.admin,
        id: connection.id().as_str().to_owned(),
        user_id: connection.user_id().map(|id| id.as_str().to_owned()),
        via: connection.metadata("via"),
        tenant: connection.metadata("tenant"),
    }
}

#[derive(Deserialize)]
struct MaybeWhoAmI {}

#[derive(Serialize)]
struct MaybeMe {
    name: Option<String>,
    authenticated: bool,
    id: String,
    via: Option<String>,
    tenant: Option<String>,
}

/// Serves anonymous connections too.
#[message]
async fn maybe_who_am_i(
    _request: MaybeWhoAmI,
    user: Option<User<Account>>,
    connection: Connection,
) -> MaybeMe {
    MaybeMe {
        name: user.map(|User(account)| account.name),
        authenticated: connection.is_authenticated(),
        id: connection.id().as_str().to_owned(),
        via: connection.metadata("via"),
        tenant: connection.metadata("tenant"),
    }
}

/// Application state: a greeting and a counter shared by every connection.
#[derive(Clone)]
struct Greeting(&'static str);

#[derive(Clone, Default)]
struct Hits(Arc<AtomicUsize>);

#[derive(Deserialize)]
struct Hello {
    name: String,
}

#[derive(Serialize)]
struct HelloReply {
    text: String,
    hits: usize,
}

#[message]
async fn hello(
    request: Hello,
    State(greeting): State<Greeting>,
    State(hits): State<Hits>,
) -> HelloReply {
    HelloReply {
        text: format!("{}, {}!", greeting.0, request.name),
        hits: hits.0.fetch_add(1, Ordering::SeqCst) + 1,
    }
}

/// A user per token; `banned` is known but not allowed.
fn account_for(token: &str) -> Result<Account, HandshakeRejection> {
    match token {
        "ada-token" => Ok(Account {
            name: "ada".into(),
            admin: true,
        }),
        "bob-token" => Ok(Account {
            name: "bob".into(),
            admin: false,
        }),
        "banned-token" => Err(HandshakeRejection::forbidden("account suspended")),
        _ => Err(HandshakeRejection::unauthorized("unknown token")),
    }
}

/// Admits by `X-Api-Key` header, `token` query parameter or `session` cookie (in that order),
/// anonymously with `?anonymous=1`, gives the connection the id of `X-Device` and panics on
/// the token `panic`.
async fn authenticate(request: HandshakeRequest) -> Result<Admission, HandshakeRejection> {
    let credentials = request
        .header("x-api-key")
        .map(|token| ("header", token.to_owned()))
        .or_else(|| {
            request
                .query_param("token")
                .map(|token| ("query", token.into_owned()))
        })
        .or_else(|| {
            request
                .cookie("session")
                .map(|token| ("cookie", token.to_owned()))
        });
    let Some((via, token)) = credentials else {
        if request.query_param("anonymous").as_deref() == Some("1") {
            return Ok(Admission::anonymous().with_metadata("via", "nothing"));
        }
        return Err(HandshakeRejection::unauthorized(
            "send an X-Api-Key header, a token parameter or a session cookie",
        ));
    };
    if token == "panic" {
        panic!("the authenticator met a token it cannot handle");
    }
    let mut admission = Admission::user(account_for(&token)?)
        .with_metadata("via", via)
        .with_metadata("tenant", "acme");
    if let Some(user) = request.header("x-user-id") {
        admission = admission.with_user_id(user);
    }
    Ok(admission)
}

/// The test server. Clients here do not answer the close frame at shutdown: a short close
/// timeout keeps the tests quick.
fn server() -> Server {
    Server::with_handlers(handlers![who_am_i, maybe_who_am_i, hello])
        .close_timeout(Duration::from_millis(200))
        .authenticator(authenticate)
        .with_state(Greeting("Hello"))
        .with_state(Hits::default())
}

#[tokio::test]
async fn admits_by_header() {
    let server = TestServer::start(server()).await;
    let mut ws = server
        .connect_with("/", &[("X-Api-Key", "ada-token")])
        .await;
    let reply = ws.call("WhoAmI", json!({})).await;
    assert_eq!(reply["Type"], "Me", "{reply}");
    assert_eq!(reply["Data"]["name"], "ada");
    assert_eq!(reply["Data"]["admin"], true);
    assert_eq!(reply["Data"]["via"], "header");
    server.stop().await;
}

#[tokio::test]
async fn admits_by_query_parameter() {
    let server = TestServer::start(server()).await;
    let mut ws = server.connect_with("/ws?v=1&token=bob-token", &[]).await;
    let reply = ws.call("WhoAmI", json!({})).await;
    assert_eq!(reply["Data"]["name"], "bob", "{reply}");
    assert_eq!(reply["Data"]["admin"], false);
    assert_eq!(reply["Data"]["via"], "query");
    server.stop().await;
}

#[tokio::test]
async fn admits_by_cookie() {
    let server = TestServer::start(server()).await;
    let mut ws = server
        .connect_with("/", &[("Cookie", "theme=dark; session=ada-token; lang=en")])
        .await;
    let reply = ws.call("WhoAmI", json!({})).await;
    assert_eq!(reply["Data"]["name"], "ada", "{reply}");
    assert_eq!(reply["Data"]["via"], "cookie");
    server.stop().await;
}

#[tokio::test]
async fn refuses_with_401_and_the_reason_before_any_websocket_opens() {
    let connects = Arc::new(AtomicUsize::new(0));
    let counter = connects.clone();
    let server = TestServer::start(server().on_connect(move |_context| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {}
    }))
    .await;

    // A WebSocket client sees the status and the body.
    let (status, body) = server.refused("/", &[]).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        "send an X-Api-Key header, a token parameter or a session cookie"
    );
    let (status, body) = server.refused("/?token=nope", &[]).await;
    assert_eq!((status, body.as_str()), (401, "unknown token"));

    // On the wire: a plain HTTP answer, no upgrade, and the server closes the connection.
    let raw = upgrade_answer(server.addr(), "/", &[("X-Api-Key", "nope")]).await;
    assert_eq!(raw.status_line, "HTTP/1.1 401 Unauthorized");
    assert_eq!(raw.body, "unknown token");
    assert_eq!(raw.header("content-length"), Some("13"));
    assert!(
        raw.header("content-type")
            .is_some_and(|value| value.starts_with("text/plain")),
        "{raw:?}"
    );
    assert_eq!(raw.header("sec-websocket-accept"), None);
    raw.assert_closed();

    // Only the admitted connection ever ran the connect hook.
    let mut ws = server
        .connect_with("/", &[("X-Api-Key", "ada-token")])
        .await;
    assert_eq!(ws.call("WhoAmI", json!({})).await["Data"]["name"], "ada");
    assert_eq!(connects.load(Ordering::SeqCst), 1);
    server.stop().await;
}

#[tokio::test]
async fn refuses_with_403_and_the_reason() {
    let server = TestServer::start(server()).await;
    let (status, body) = server.refused("/", &[("X-Api-Key", "banned-token")]).await;
    assert_eq!((status, body.as_str()), (403, "account suspended"));

    let raw = upgrade_answer(server.addr(), "/?token=banned-token", &[]).await;
    assert_eq!(raw.status_line, "HTTP/1.1 403 Forbidden");
    assert_eq!(raw.body, "account suspended");
    assert_eq!(raw.header("upgrade"), None);
    raw.assert_closed();
    server.stop().await;
}

#[tokio::test]
async fn admitted_raw_upgrade_switches_protocols() {
    // The counterpart of the refusals: the same raw request with credentials gets 101.
    let server = TestServer::start(server()).await;
    let raw = upgrade_answer(server.addr(), "/", &[("X-Api-Key", "ada-token")]).await;
    assert_eq!(raw.status_line, "HTTP/1.1 101 Switching Protocols");
    // The accept key of RFC 6455's example nonce.
    assert_eq!(
        raw.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_user_id_names_the_user_and_every_connection_keeps_its_own_id() {
    let server = TestServer::start(server()).await;
    let headers = [("X-Api-Key", "ada-token"), ("X-User-Id", "ada")];
    let mut laptop = server.connect_with("/", &headers).await;
    let mut phone = server.connect_with("/", &headers).await;
    let laptop_reply = laptop.call("WhoAmI", json!({})).await;
    let phone_reply = phone.call("WhoAmI", json!({})).await;
    assert_eq!(laptop_reply["Data"]["user_id"], "ada", "{laptop_reply}");
    assert_eq!(phone_reply["Data"]["user_id"], "ada", "{phone_reply}");
    let laptop_id = laptop_reply["Data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let phone_id = phone_reply["Data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!laptop_id.is_empty());
    assert_ne!(laptop_id, phone_id, "connection ids are unique, always");

    // Without a user id, the user id is absent; the connection id is still generated.
    let mut anonymous_id = server
        .connect_with("/", &[("X-Api-Key", "bob-token")])
        .await;
    let reply = anonymous_id.call("WhoAmI", json!({})).await;
    assert_eq!(reply["Data"]["user_id"], serde_json::Value::Null, "{reply}");
    assert_ne!(reply["Data"]["id"], laptop_id.as_str());
    server.stop().await;
}

#[tokio::test]
async fn admission_metadata_is_readable_from_the_connection() {
    let server = TestServer::start(server()).await;
    let mut ws = server.connect_with("/?token=ada-token", &[]).await;
    let reply = ws.call("WhoAmI", json!({})).await;
    assert_eq!(reply["Data"]["tenant"], "acme", "{reply}");
    assert_eq!(reply["Data"]["via"], "query");

    // The anonymous admission sets `via` but no `tenant`.
    let mut anonymous = server.connect_with("/?anonymous=1", &[]).await;
    let reply = anonymous.call("MaybeWhoAmI", json!({})).await;
    assert_eq!(reply["Data"]["authenticated"], false, "{reply}");
    assert_eq!(reply["Data"]["via"], "nothing");
    assert_eq!(reply["Data"]["tenant"], json!(null));
    server.stop().await;
}

#[tokio::test]
async fn user_extractor_gets_the_applications_own_type() {
    let server = TestServer::start(server()).await;
    let mut ada = server
        .connect_with("/", &[("X-Api-Key", "ada-token")])
        .await;
    let mut bob = server
        .connect_with("/", &[("X-Api-Key", "bob-token")])
        .await;
    let reply = bob.call("WhoAmI", json!({})).await;
    assert_eq!(
        (&reply["Data"]["name"], &reply["Data"]["admin"]),
        (&json!("bob"), &json!(false))
    );
    let reply = ada.call("WhoAmI", json!({})).await;
    assert_eq!(
        (&reply["Data"]["name"], &reply["Data"]["admin"]),
        (&json!("ada"), &json!(true))
    );
    server.stop().await;
}

#[tokio::test]
async fn user_handler_on_an_anonymous_connection_answers_unauthorized_and_goes_on() {
    let server = TestServer::start(server()).await;
    let mut ws = server.connect_with("/?anonymous=1", &[]).await;

    ws.send_json(&json!({"Type": "WhoAmI", "Data": {}, "Id": 7}))
        .await;
    let reply = ws.recv().await;
    let data = assert_error(&reply, "unauthorized");
    assert_eq!(data["type"], "WhoAmI");
    assert_eq!(reply["Id"], 7);
    assert!(data["message"].as_str().is_some_and(|m| !m.is_empty()));

    // The connection goes on: other handlers answer, and the same one answers the same way.
    let reply = ws.call("Hello", json!({"name": "anon"})).await;
    assert_eq!(reply["Data"]["text"], "Hello, anon!", "{reply}");
    assert_error(&ws.call("WhoAmI", json!({})).await, "unauthorized");
    server.stop().await;
}

#[tokio::test]
async fn optional_user_is_none_when_anonymous_and_some_when_authenticated() {
    let server = TestServer::start(server()).await;
    let mut anonymous = server.connect_with("/?anonymous=1", &[]).await;
    let reply = anonymous.call("MaybeWhoAmI", json!({})).await;
    assert_eq!(reply["Type"], "MaybeMe", "{reply}");
    assert_eq!(reply["Data"]["name"], json!(null));
    assert_eq!(reply["Data"]["authenticated"], false);

    let mut ada = server
        .connect_with("/", &[("Cookie", "session=ada-token")])
        .await;
    let reply = ada.call("MaybeWhoAmI", json!({})).await;
    assert_eq!(reply["Data"]["name"], "ada", "{reply}");
    assert_eq!(reply["Data"]["authenticated"], true);
    server.stop().await;
}

#[tokio::test]
async fn state_is_shared_with_every_handler_and_connection() {
    let server = TestServer::start(server()).await;
    let mut ada = server.connect_with("/?token=ada-token", &[]).await;
    let mut bob = server.connect_with("/?token=bob-token", &[]).await;
    let reply = ada.call("Hello", json!({"name": "Ada"})).await;
    assert_eq!(reply["Type"], "HelloReply", "{reply}");
    assert_eq!(reply["Data"]["text"], "Hello, Ada!");
    assert_eq!(reply["Data"]["hits"], 1);
    let reply = bob.call("Hello", json!({"name": "Bob"})).await;
    assert_eq!(reply["Data"]["text"], "Hello, Bob!");
    assert_eq!(
        reply["Data"]["hits"], 2,
        "the counter is one value for the server"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_missing_state_is_refused_at_bind_naming_the_handler() {
    // `Hits` is not given: the server does not start, rather than fail every `Hello`.
    let error = Server::with_handlers(handlers![hello, maybe_who_am_i])
        .with_state(Greeting("Hi"))
        .bind("127.0.0.1:0")
        .await
        .expect_err("refused");
    let text = error.to_string();
    assert!(text.contains("hello") && text.contains("Hits"), "{text}");
}

fn origin_server() -> Server {
    server().allowed_origins(["https://app.example.com", "http://localhost:5173/"])
}

#[tokio::test]
async fn allowed_origin_is_admitted() {
    let server = TestServer::start(origin_server()).await;
    for origin in [
        "https://app.example.com",
        "HTTPS://App.Example.com",
        "http://localhost:5173",
    ] {
        let mut ws = server
            .connect_with("/", &[("Origin", origin), ("X-Api-Key", "ada-token")])
            .await;
        let reply = ws.call("WhoAmI", json!({})).await;
        assert_eq!(reply["Data"]["name"], "ada", "origin {origin}: {reply}");
    }
    server.stop().await;
}

#[tokio::test]
async fn other_origin_is_refused_with_403_even_with_credentials() {
    let server = TestServer::start(origin_server()).await;
    for origin in [
        "https://evil.example.com",
        "https://app.example.com.evil.net",
        "http://app.example.com",
        "null",
    ] {
        let (status, body) = server
            .refused("/", &[("Origin", origin), ("X-Api-Key", "ada-token")])
            .await;
        assert_eq!(status, 403, "origin {origin}");
        assert_eq!(body, "origin not allowed", "origin {origin}");
    }
    let raw = upgrade_answer(
        server.addr(),
        "/",
        &[
            ("Origin", "https://evil.example.com"),
            ("X-Api-Key", "ada-token"),
        ],
    )
    .await;
    assert_eq!(raw.status_line, "HTTP/1.1 403 Forbidden");
    assert_eq!(raw.body, "origin not allowed");
    server.stop().await;
}

#[tokio::test]
async fn no_origin_is_admitted_and_still_authenticated() {
    let server = TestServer::start(origin_server()).await;
    let mut ws = server
        .connect_with("/", &[("X-Api-Key", "bob-token")])
        .await;
    let reply = ws.call("WhoAmI", json!({})).await;
    assert_eq!(reply["Data"]["name"], "bob", "{reply}");
    // Without Origin, the authenticator still decides.
    let (status, _) = server.refused("/", &[]).await;
    assert_eq!(status, 401);
    server.stop().await;
}

#[tokio::test]
async fn panicking_authenticator_answers_500_and_the_server_goes_on() {
    let server = TestServer::start(server()).await;
    let mut before = server
        .connect_with("/", &[("X-Api-Key", "ada-token")])
        .await;

    let (status, body) = server.refused("/", &[("X-Api-Key", "panic")]).await;
    assert_eq!(status, 500);
    assert!(!body.contains("cannot handle"), "the panic leaks: {body}");
    let raw = upgrade_answer(server.addr(), "/?token=panic", &[]).await;
    assert_eq!(raw.status_line, "HTTP/1.1 500 Internal Server Error");
    raw.assert_closed();

    // The open connection and new ones are served.
    let reply = before.call("WhoAmI", json!({})).await;
    assert_eq!(reply["Data"]["name"], "ada", "{reply}");
    let mut after = server
        .connect_with("/", &[("X-Api-Key", "bob-token")])
        .await;
    let reply = after.call("WhoAmI", json!({})).await;
    assert_eq!(reply["Data"]["name"], "bob", "{reply}");
    server.stop().await;
}
