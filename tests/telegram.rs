//! Telegram Mini App authentication end to end: `TelegramAuth` as the server's authenticator,
//! `initData` in an `Authorization: tma` header or the `initData` query parameter, refusals of
//! tampered, stale, missing and foreign `initData`, anonymous connections, the `Origin`
//! allow-list, and the `telegram` example binary.

mod harness;

use exws::auth::telegram::{sign_init_data, InitData, TelegramAuth, WebAppUser};
use exws::{handlers, message, Server};
use harness::client::percent_encode;
use harness::process::ExampleProcess;
use harness::raw::upgrade_answer;
use harness::{assert_error, Client, TestServer, Transport};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TOKEN: &str = "7000000001:AAE-exws-integration-test-token";
const OTHER_TOKEN: &str = "7000000002:AAE-exws-some-other-bot-token";
const ADA: &str = r#"{"id":279058397,"first_name":"Ada","last_name":"Lovelace","username":"ada_l","language_code":"en","allows_write_to_pm":true}"#;
const EVE: &str = r#"{"id":666,"first_name":"Eve","username":"eve"}"#;

#[derive(Deserialize)]
struct WhoAmIRequest {}

#[derive(Serialize)]
struct WhoAmIResponse {
    id: i64,
    first_name: String,
    username: Option<String>,
}

/// Needs a Telegram user.
#[message]
async fn who_am_i(_request: WhoAmIRequest, user: WebAppUser) -> WhoAmIResponse {
    WhoAmIResponse {
        id: user.id,
        first_name: user.first_name,
        username: user.username,
    }
}

#[derive(Deserialize)]
struct MaybeWhoAmIRequest {}

#[derive(Serialize)]
struct MaybeWhoAmIResponse {
    user: Option<WhoAmIResponse>,
}

/// Serves anonymous connections too.
#[message]
async fn maybe_who_am_i(
    _request: MaybeWhoAmIRequest,
    user: Option<WebAppUser>,
) -> MaybeWhoAmIResponse {
    MaybeWhoAmIResponse {
        user: user.map(|user| WhoAmIResponse {
            id: user.id,
            first_name: user.first_name,
            username: user.username,
        }),
    }
}

#[derive(Deserialize)]
struct SessionRequest {}

#[derive(Serialize)]
struct SessionResponse {
    auth_date: u64,
    query_id: Option<String>,
    start_param: Option<String>,
    user_id: Option<i64>,
}

/// The whole validated `initData`.
#[message]
async fn session(_request: SessionRequest, data: InitData) -> SessionResponse {
    SessionResponse {
        auth_date: data.auth_date,
        query_id: data.query_id,
        start_param: data.start_param,
        user_id: data.user.map(|user| user.id),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// `initData` for `user`, issued `age` seconds ago, signed with `token`.
fn init_data_for(token: &str, user: &str, age: u64) -> String {
    let auth_date = (now() - age).to_string();
    sign_init_data(
        token,
        &[
            ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc"),
            ("user", user),
            ("auth_date", &auth_date),
            ("start_param", "ref 42"),
        ],
    )
}

/// Valid `initData` of Ada, issued now.
fn valid() -> String {
    init_data_for(TOKEN, ADA, 0)
}

/// Ada's valid `initData` with Eve's `user` field swapped in (the hash stays Ada's).
fn tampered() -> String {
    let eve = init_data_for(TOKEN, EVE, 0);
    let eve_user = eve
        .split('&')
        .find(|segment| segment.starts_with("user="))
        .expect("a user field");
    let tampered = valid()
        .split('&')
        .map(|segment| {
            if segment.starts_with("user=") {
                eve_user
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    assert!(tampered.contains("Eve") && !tampered.contains("Ada"));
    tampered
}

fn tma(init_data: &str) -> String {
    format!("tma {init_data}")
}

fn server(auth: TelegramAuth) -> Server {
    Server::with_handlers(handlers![who_am_i, maybe_who_am_i, session])
        .authenticator(auth)
        .close_timeout(Duration::from_millis(200))
}

/// Asserts that `reply` is Ada's `WhoAmIResponse`.
#[track_caller]
fn assert_ada(reply: &Value) {
    assert_eq!(reply["Type"], "WhoAmIResponse", "{reply}");
    assert_eq!(
        reply["Data"],
        json!({"id": 279058397, "first_name": "Ada", "username": "ada_l"})
    );
}

#[tokio::test]
async fn valid_init_data_in_the_authorization_header_is_admitted() {
    let server = TestServer::start(server(TelegramAuth::new(TOKEN))).await;
    let header = tma(&valid());
    let mut ws = server
        .connect_with("/", &[("Authorization", &header)])
        .await;
    assert_ada(&ws.call("WhoAmIRequest", json!({})).await);

    let reply = ws.call("MaybeWhoAmIRequest", json!({})).await;
    assert_eq!(reply["Data"]["user"]["id"], 279058397, "{reply}");

    let reply = ws.call("SessionRequest", json!({})).await;
    assert_eq!(reply["Type"], "SessionResponse", "{reply}");
    assert_eq!(reply["Data"]["query_id"], "AAHdF6IQAAAAAN0XohDhrOrc");
    assert_eq!(reply["Data"]["start_param"], "ref 42");
    assert_eq!(reply["Data"]["user_id"], 279058397);
    let auth_date = reply["Data"]["auth_date"].as_u64().expect("a number");
    assert!(now() - auth_date < 3600, "auth_date {auth_date}");
    server.stop().await;
}

#[tokio::test]
async fn valid_init_data_in_the_query_parameter_is_admitted() {
    let server = TestServer::start(server(TelegramAuth::new(TOKEN))).await;
    let target = format!("/ws?v=2&initData={}", percent_encode(&valid()));
    let mut ws = server.connect_with(&target, &[]).await;
    assert_ada(&ws.call("WhoAmIRequest", json!({})).await);
    server.stop().await;
}

/// Every form of bad `initData`, in the header and in the query: 401 with the reason.
async fn assert_refused_everywhere(server: &TestServer, init_data: &str, reason: &str) {
    let header = tma(init_data);
    let (status, body) = server.refused("/", &[("Authorization", &header)]).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.starts_with("invalid Telegram initData"), "{body}");
    assert!(body.contains(reason), "{body:?} does not say {reason:?}");

    let query = format!("/?initData={}", percent_encode(init_data));
    let (status, body) = server.refused(&query, &[]).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains(reason), "{body:?} does not say {reason:?}");

    let raw = upgrade_answer(server.addr(), &query, &[]).await;
    assert_eq!(raw.status_line, "HTTP/1.1 401 Unauthorized");
    assert_eq!(raw.body, body);
    raw.assert_closed();
}

#[tokio::test]
async fn tampered_init_data_is_refused_with_401() {
    let server = TestServer::start(server(TelegramAuth::new(TOKEN))).await;
    assert_refused_everywhere(&server, &tampered(), "failed its hash check").await;
    server.stop().await;
}

#[tokio::test]
async fn stale_init_data_is_refused_with_401() {
    let server = TestServer::start(server(TelegramAuth::new(TOKEN))).await;
    let two_days = 2 * 24 * 3600;
    assert_refused_everywhere(&server, &init_data_for(TOKEN, ADA, two_days), "expired").await;

    // A stricter max age refuses younger data too.
    let strict = TestServer::start(server_with_max_age(Duration::from_secs(60))).await;
    let header = tma(&init_data_for(TOKEN, ADA, 600));
    let (status, _) = strict.refused("/", &[("Authorization", &header)]).await;
    assert_eq!(status, 401);
    server.stop().await;
    strict.stop().await;
}

fn server_with_max_age(max_age: Duration) -> Server {
    server(TelegramAuth::new(TOKEN).max_age(max_age))
}

#[tokio::test]
async fn missing_init_data_is_refused_with_401() {
    let server = TestServer::start(server(TelegramAuth::new(TOKEN))).await;
    for headers in [
        &[][..],
        &[("Authorization", "Bearer some-jwt")][..],
        &[("Authorization", "tma ")][..],
    ] {
        let (status, body) = server.refused("/?initData=", headers).await;
        assert_eq!(status, 401, "{headers:?}");
        assert!(body.starts_with("missing Telegram initData"), "{body}");
    }
    let raw = upgrade_answer(server.addr(), "/", &[]).await;
    assert_eq!(raw.status_line, "HTTP/1.1 401 Unauthorized");
    assert!(raw.body.contains("Authorization: tma"), "{raw:?}");
    server.stop().await;
}

#[tokio::test]
async fn init_data_of_another_bot_is_refused_with_401() {
    let ours = TestServer::start(server(TelegramAuth::new(TOKEN))).await;
    assert_refused_everywhere(
        &ours,
        &init_data_for(OTHER_TOKEN, ADA, 0),
        "failed its hash check",
    )
    .await;

    // The other bot's server admits it and refuses ours.
    let other = TestServer::start(server(TelegramAuth::new(OTHER_TOKEN))).await;
    let header = tma(&init_data_for(OTHER_TOKEN, ADA, 0));
    let mut ws = other.connect_with("/", &[("Authorization", &header)]).await;
    assert_ada(&ws.call("WhoAmIRequest", json!({})).await);
    let header = tma(&valid());
    let (status, _) = other.refused("/", &[("Authorization", &header)]).await;
    assert_eq!(status, 401);
    ours.stop().await;
    other.stop().await;
}

#[tokio::test]
async fn allow_anonymous_admits_missing_init_data_without_a_user() {
    let server = TestServer::start(server(TelegramAuth::new(TOKEN).allow_anonymous())).await;
    let mut anonymous = server.connect_with("/", &[]).await;

    let reply = anonymous.call("WhoAmIRequest", json!({})).await;
    let data = assert_error(&reply, "unauthorized");
    assert_eq!(data["type"], "WhoAmIRequest");
    let reply = anonymous.call("MaybeWhoAmIRequest", json!({})).await;
    assert_eq!(reply["Type"], "MaybeWhoAmIResponse", "{reply}");
    assert_eq!(reply["Data"]["user"], json!(null));
    assert_error(
        &anonymous.call("SessionRequest", json!({})).await,
        "unauthorized",
    );

    // Valid initData still names the user; invalid initData is still refused.
    let header = tma(&valid());
    let mut ada = server
        .connect_with("/", &[("Authorization", &header)])
        .await;
    assert_ada(&ada.call("WhoAmIRequest", json!({})).await);
    assert_refused_everywhere(&server, &tampered(), "failed its hash check").await;
    assert_refused_everywhere(
        &server,
        &init_data_for(TOKEN, ADA, 3 * 24 * 3600),
        "expired",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn init_data_without_a_user_answers_unauthorized_for_web_app_user() {
    let server = TestServer::start(server(TelegramAuth::new(TOKEN))).await;
    let auth_date = now().to_string();
    let init_data = sign_init_data(TOKEN, &[("auth_date", &auth_date), ("chat_type", "sender")]);
    let mut ws = server
        .connect_with("/", &[("Authorization", &tma(&init_data))])
        .await;
    assert_error(&ws.call("WhoAmIRequest", json!({})).await, "unauthorized");
    let reply = ws.call("MaybeWhoAmIRequest", json!({})).await;
    assert_eq!(reply["Data"]["user"], json!(null), "{reply}");
    let reply = ws.call("SessionRequest", json!({})).await;
    assert_eq!(reply["Data"]["user_id"], json!(null), "{reply}");
    let auth_date: u64 = auth_date.parse().expect("a number");
    assert_eq!(reply["Data"]["auth_date"], auth_date);
    server.stop().await;
}

#[tokio::test]
async fn wrong_origin_is_refused_with_403_even_with_valid_init_data() {
    let server = TestServer::start(
        server(TelegramAuth::new(TOKEN)).allowed_origins(["https://mini.app.example"]),
    )
    .await;
    let header = tma(&valid());
    let (status, body) = server
        .refused(
            "/",
            &[
                ("Origin", "https://evil.example"),
                ("Authorization", &header),
            ],
        )
        .await;
    assert_eq!((status, body.as_str()), (403, "origin not allowed"));

    let mut ws = server
        .connect_with(
            "/",
            &[
                ("Origin", "https://mini.app.example"),
                ("Authorization", &header),
            ],
        )
        .await;
    assert_ada(&ws.call("WhoAmIRequest", json!({})).await);
    server.stop().await;
}

#[tokio::test]
async fn the_telegram_example_answers_who_am_i() {
    if harness::skipped_over(Transport::Tls, "the example serves plain ws://")
        || harness::skipped_over(Transport::Axum, "the example runs its own server")
    {
        return;
    }
    let example = ExampleProcess::start("telegram", &[("TELEGRAM_BOT_TOKEN", TOKEN)]).await;
    assert!(
        example.url().starts_with("ws://127.0.0.1:"),
        "{}",
        example.url()
    );

    let header = tma(&valid());
    let mut ws = Client::connect_with(example.addr(), "/", &[("Authorization", &header)]).await;
    let reply = ws.call("WhoAmIRequest", json!({})).await;
    assert_ada(&reply);
    let reply = ws
        .call("CalculateRequest", json!({"numbers": [2, 2]}))
        .await;
    assert_eq!(
        reply,
        json!({"Type": "CalculateResponse", "Data": {"result": 4}})
    );

    // Without initData, the example refuses the handshake.
    let (status, _) = Client::refused(example.addr(), "/", &[]).await;
    assert_eq!(status, 401);
    drop(example);
}
