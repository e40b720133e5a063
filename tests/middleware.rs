//! Middleware around every message, over real sockets: the order of a stack, what a
//! middleware sees and can answer (an `Error` in place, a close), extractors inside one,
//! `only` patterns, and the three that ship with exws (per-`Type` rate limit, role check,
//! call log).

mod harness;

use exws::auth::{Admission, HandshakeRejection};
use exws::middleware::{
    from_fn, only, CallLog, Next, RateLimitPerType, Request, RequireRole, Response,
};
use exws::{handlers, message, CloseCode, ErrorCode, HandshakeRequest, Server, State};
use harness::{assert_error, error_message, wait_for, Client, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[derive(Deserialize)]
struct Operands {
    a: i64,
    b: i64,
}

#[derive(Serialize)]
struct Sum {
    sum: i64,
}

#[message(type = "mw.add", reply = "mw.sum")]
async fn add(request: Operands) -> Sum {
    CALLS.fetch_add(1, Ordering::SeqCst);
    Sum {
        sum: request.a + request.b,
    }
}

#[message(type = "admin.reset", reply = "admin.done")]
async fn admin_reset(_request: Value) -> &'static str {
    "reset"
}

#[message(type = "mw.fail")]
async fn fail(_request: Value) -> Result<(), String> {
    Err("it failed".to_owned())
}

fn server() -> Server {
    Server::with_handlers(handlers![add, admin_reset, fail])
}

/// What the middleware of a test saw, in order.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn write(&self, line: String) {
        self.0.lock().expect("journal").push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().expect("journal").clone()
    }
}

/// A middleware that writes what it sees before and after the handlers, named `name`.
fn recording(name: &'static str, journal: Journal) -> impl exws::middleware::Middleware {
    from_fn(move |request: Request, next: Next| {
        let journal = journal.clone();
        async move {
            journal.write(format!(
                "{name} before {} {:?} {}",
                request.message_type(),
                request.id(),
                request.data()
            ));
            let response = next.run(request).await;
            journal.write(format!(
                "{name} after {} {:?} {}",
                response.outcome(),
                response.error_code(),
                response.replies()
            ));
            response
        }
    })
}

#[tokio::test]
async fn middleware_runs_in_installation_order_and_sees_type_id_data_and_outcome() {
    let journal = Journal::default();
    let server = server()
        .middleware(recording("outer", journal.clone()))
        .middleware(recording("inner", journal.clone()));
    let server = TestServer::start(server).await;
    let mut client = Client::connect(server.addr()).await;

    let reply = client
        .call_with_id("mw.add", json!({ "a": 2, "b": 3 }), json!("r1"))
        .await;
    assert_eq!(
        reply,
        json!({ "Type": "mw.sum", "Data": { "sum": 5 }, "Id": "r1" })
    );
    let failed = client.call("mw.fail", json!(null)).await;
    assert_error(&failed, "handler_error");
    let unknown = client.call("mw.nope", json!(null)).await;
    assert_error(&unknown, "unknown_type");

    wait_for("the last middleware line", || journal.lines().len() == 12).await;
    assert_eq!(
        journal.lines(),
        [
            r#"outer before mw.add Some("\"r1\"") {"a":2,"b":3}"#,
            r#"inner before mw.add Some("\"r1\"") {"a":2,"b":3}"#,
            "inner after reply None 1",
            "outer after reply None 1",
            "outer before mw.fail None null",
            "inner before mw.fail None null",
            "inner after error Some(HandlerError) 0",
            "outer after error Some(HandlerError) 0",
            "outer before mw.nope None null",
            "inner before mw.nope None null",
            "inner after error Some(UnknownType) 0",
            "outer after error Some(UnknownType) 0",
        ]
    );
    client.close().await;
}

async fn deny_when_negative(request: Request, next: Next) -> Response {
    match request.decode_data::<Operands>() {
        Ok(operands) if operands.a < 0 => {
            Response::error(ErrorCode::Unauthorized, "no negative numbers here")
        }
        _ => next.run(request).await,
    }
}

#[tokio::test]
async fn an_answer_in_place_skips_the_handler_and_carries_type_and_id() {
    let journal = Journal::default();
    let server = server()
        .middleware(recording("outer", journal.clone()))
        .middleware(from_fn(deny_when_negative));
    let server = TestServer::start(server).await;
    let mut client = Client::connect(server.addr()).await;

    let before = CALLS.load(Ordering::SeqCst);
    let refused = client
        .call_with_id("mw.add", json!({ "a": -1, "b": 3 }), json!(7))
        .await;
    assert_error(&refused, "unauthorized");
    assert_eq!(refused["Id"], 7);
    assert_eq!(refused["Data"]["type"], "mw.add");
    assert_eq!(error_message(&refused), "no negative numbers here");
    let allowed = client.call("mw.add", json!({ "a": 1, "b": 3 })).await;
    assert_eq!(allowed["Data"]["sum"], 4);
    assert_eq!(
        CALLS.load(Ordering::SeqCst) - before,
        1,
        "only the allowed call reached the handler"
    );
    wait_for("the outer middleware's lines", || {
        journal.lines().len() == 4
    })
    .await;
    assert_eq!(journal.lines()[1], "outer after error Some(Unauthorized) 0");
    client.close().await;
}

#[tokio::test]
async fn a_middleware_closes_the_connection_with_its_code_and_reason() {
    let server = server().middleware(only(
        ["admin.*"],
        from_fn(|_request: Request, _next: Next| async {
            Response::close(CloseCode(4003), "admins only")
        }),
    ));
    let server = TestServer::start(server).await;
    let mut bystander = Client::connect(server.addr()).await;
    let mut client = Client::connect(server.addr()).await;

    let sum = client.call("mw.add", json!({ "a": 1, "b": 1 })).await;
    assert_eq!(
        sum["Data"]["sum"], 2,
        "types outside the pattern go through"
    );
    client
        .send_json(&json!({ "Type": "admin.reset", "Data": null }))
        .await;
    assert_eq!(client.expect_close(4003).await, "admins only");
    let sum = bystander.call("mw.add", json!({ "a": 2, "b": 2 })).await;
    assert_eq!(sum["Data"]["sum"], 4, "other connections go on");
    bystander.close().await;
}

#[derive(Clone)]
struct Banned(&'static str);

async fn refuse_banned_types(request: Request, next: Next) -> Response {
    match request.extract::<State<Banned>>().await {
        Ok(State(Banned(banned))) if request.message_type() == banned => {
            Response::error(ErrorCode::Unauthorized, format!("{banned} is banned"))
        }
        Ok(_) => next.run(request).await,
        Err(rejection) => Response::rejected(rejection),
    }
}

#[tokio::test]
async fn extractors_work_inside_a_middleware() {
    let server = server()
        .with_state(Banned("admin.reset"))
        .middleware(from_fn(refuse_banned_types));
    let server = TestServer::start(server).await;
    let mut client = Client::connect(server.addr()).await;

    let refused = client.call("admin.reset", json!(null)).await;
    assert_error(&refused, "unauthorized");
    assert_eq!(error_message(&refused), "admin.reset is banned");
    let sum = client.call("mw.add", json!({ "a": 5, "b": 5 })).await;
    assert_eq!(sum["Data"]["sum"], 10);
    client.close().await;
}

// ---- RateLimitPerType ------------------------------------------------------------------

#[tokio::test]
async fn rate_limit_per_type_refuses_past_the_burst_per_connection_and_type() {
    // One message an hour: nothing refills during the test.
    let limit = RateLimitPerType::new(1.0 / 3600.0, 2);
    let server = server().middleware(only(["mw.add"], limit));
    let server = TestServer::start(server).await;
    let mut client = Client::connect(server.addr()).await;

    for n in 0..2 {
        let sum = client.call("mw.add", json!({ "a": n, "b": 0 })).await;
        assert_eq!(sum["Data"]["sum"], n, "within the burst");
    }
    let refused = client
        .call_with_id("mw.add", json!({ "a": 1, "b": 1 }), json!("third"))
        .await;
    assert_error(&refused, "rate_limited");
    assert_eq!(refused["Id"], "third");
    assert_eq!(refused["Data"]["type"], "mw.add");
    let other_type = client.call("admin.reset", json!(null)).await;
    assert_eq!(other_type["Data"], "reset", "other types are not limited");

    let mut neighbour = Client::connect(server.addr()).await;
    let sum = neighbour.call("mw.add", json!({ "a": 1, "b": 2 })).await;
    assert_eq!(sum["Data"]["sum"], 3, "each connection has its own bucket");
    client.close().await;
    neighbour.close().await;
}

#[tokio::test]
async fn rate_limit_per_type_closes_a_connection_that_keeps_sending() {
    let limit = RateLimitPerType::new(1.0 / 3600.0, 1).close_after(2);
    let server = TestServer::start(server().middleware(limit)).await;
    let mut client = Client::connect(server.addr()).await;

    let sum = client.call("mw.add", json!({ "a": 1, "b": 0 })).await;
    assert_eq!(sum["Data"]["sum"], 1);
    for _ in 0..2 {
        let refused = client.call("mw.add", json!({ "a": 1, "b": 0 })).await;
        assert_error(&refused, "rate_limited");
    }
    client
        .send_json(&json!({ "Type": "mw.add", "Data": { "a": 1, "b": 0 } }))
        .await;
    assert_eq!(client.expect_close(1008).await, "rate limit exceeded");
}

// ---- RequireRole -----------------------------------------------------------------------

struct Account {
    roles: Vec<String>,
}

async fn authenticate(request: HandshakeRequest) -> Result<Admission, HandshakeRejection> {
    let Some(name) = request.query_param("user") else {
        return Ok(Admission::anonymous());
    };
    let roles = request
        .query_param("roles")
        .map(|roles| roles.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(Admission::user(Account { roles }).with_user_id(name.into_owned()))
}

fn role_server() -> Server {
    let roles = RequireRole::new(|account: &Account, role: &str| {
        account.roles.iter().any(|held| held == role)
    })
    .rule(["admin.*"], "admin");
    server().authenticator(authenticate).middleware(roles)
}

#[tokio::test]
async fn require_role_admits_only_users_with_the_role_of_the_type() {
    let server = TestServer::start(role_server()).await;

    let mut anonymous = Client::connect(server.addr()).await;
    let refused = anonymous.call("admin.reset", json!(null)).await;
    assert_error(&refused, "unauthorized");
    assert!(
        error_message(&refused).contains("authenticated"),
        "{refused}"
    );
    let sum = anonymous.call("mw.add", json!({ "a": 1, "b": 1 })).await;
    assert_eq!(sum["Data"]["sum"], 2, "types without a rule go through");

    let mut bob = Client::connect_to(server.addr(), "/?user=bob&roles=support").await;
    let refused = bob.call("admin.reset", json!(null)).await;
    assert_error(&refused, "unauthorized");
    assert!(error_message(&refused).contains("\"admin\""), "{refused}");

    let mut ada = Client::connect_to(server.addr(), "/?user=ada&roles=support,admin").await;
    let done = ada.call("admin.reset", json!(null)).await;
    assert_eq!(done, json!({ "Type": "admin.done", "Data": "reset" }));

    anonymous.close().await;
    bob.close().await;
    ada.close().await;
}

// ---- CallLog ---------------------------------------------------------------------------

/// What the `exws::calls` target logged in this test binary.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured_log() -> &'static Captured {
    static LOG: OnceLock<Captured> = OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_env_filter("exws::calls=debug")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("the only subscriber of this test binary");
        captured
    })
}

#[tokio::test]
async fn call_log_writes_one_structured_event_per_message() {
    let log = captured_log();
    let server = server()
        .authenticator(authenticate)
        .middleware(CallLog::new().level(tracing::Level::DEBUG))
        .middleware(only(["mw.add"], RateLimitPerType::new(1.0 / 3600.0, 1)));
    let server = TestServer::start(server).await;
    let mut client = Client::connect_to(server.addr(), "/?user=logged-user").await;

    let sum = client
        .call_with_id("mw.add", json!({ "a": 20, "b": 22 }), json!(41))
        .await;
    assert_eq!(sum["Data"]["sum"], 42);
    let refused = client
        .call_with_id("mw.add", json!({ "a": 1, "b": 1 }), json!(42))
        .await;
    assert_error(&refused, "rate_limited");

    wait_for("two call events", || {
        log.text().matches("user=\"logged-user\"").count() == 2
    })
    .await;
    let text = log.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("user=\"logged-user\""))
        .collect();
    for (line, fields) in lines.iter().zip([
        ["id=\"41\"", "outcome=\"reply\"", "replies=1"],
        [
            "id=\"42\"",
            "outcome=\"error\"",
            "error_code=\"rate_limited\"",
        ],
    ]) {
        assert!(
            line.contains("DEBUG exws::calls: message handled"),
            "{line}"
        );
        assert!(line.contains("message_type=\"mw.add\""), "{line}");
        assert!(line.contains("elapsed_us="), "{line}");
        for field in fields {
            assert!(line.contains(field), "{field} in {line}");
        }
        assert!(!line.contains("\"a\""), "Data is not logged: {line}");
    }
    client.close().await;
}
