//! The server calling a client and awaiting its answer (`Connection::call`,
//! `Recipients::call`), answered by the Rust client, the test kit and by hand over a raw
//! socket: typed answers, refusals, timeouts, closed connections, malformed and late answers.

mod harness;

use exws::{handlers, message, CallError, Connection, Hub, HubError, Server};
use harness::{assert_error, within, Client, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

/// What the server asks.
#[derive(Debug, Serialize, Deserialize)]
struct Question {
    text: String,
}

/// What a client answers.
#[derive(Debug, Serialize, Deserialize)]
struct Verdict {
    yes: bool,
}

#[derive(Deserialize)]
struct Ask {
    text: String,
    timeout_ms: u64,
}

/// Describes a call's outcome in one line, for the asserts.
fn describe(outcome: Result<Verdict, CallError>) -> String {
    match outcome {
        Ok(verdict) => format!("answer yes={}", verdict.yes),
        Err(CallError::Timeout(_)) => "timeout".to_owned(),
        Err(CallError::Closed) => "closed".to_owned(),
        Err(CallError::Refused { code, .. }) => format!("refused {code}"),
        Err(CallError::InvalidAnswer(_)) => "invalid answer".to_owned(),
        Err(other) => format!("other: {other}"),
    }
}

/// Asks the client that sent it a question, and replies with what came of it.
#[message(type = "sc.ask", reply = "sc.outcome")]
async fn ask(request: Ask, connection: Connection) -> String {
    let question = Question { text: request.text };
    let timeout = Duration::from_millis(request.timeout_ms);
    describe(connection.call_as("Question", &question, timeout).await)
}

#[derive(Deserialize)]
struct JoinJury {}

#[message(type = "sc.join", reply = "sc.joined")]
async fn join_jury(
    _request: JoinJury,
    connection: Connection,
    hub: Hub,
) -> Result<usize, HubError> {
    hub.join(connection.id(), "jury").await
}

#[derive(Deserialize)]
struct Poll {
    timeout_ms: u64,
}

/// Calls every member of the jury; replies with the sorted outcomes.
#[message(type = "sc.poll", reply = "sc.polled")]
async fn poll(request: Poll, hub: Hub) -> Vec<String> {
    let timeout = Duration::from_millis(request.timeout_ms);
    let question = Question {
        text: "guilty?".to_owned(),
    };
    let answers = match hub
        .room("jury")
        .call::<_, Verdict>(&question, timeout)
        .await
    {
        Ok(answers) => answers,
        Err(error) => return vec![format!("hub error: {error}")],
    };
    let mut outcomes: Vec<String> = answers
        .into_iter()
        .map(|(_, outcome)| describe(outcome))
        .collect();
    outcomes.sort();
    outcomes
}

/// A handler calls the client whose message it handles: the server reads on while it waits.
fn server() -> Server {
    Server::with_handlers(handlers![ask, join_jury, poll, harness::calculate]).concurrent(8)
}

/// The same handlers in the default, sequential mode.
fn sequential_server() -> Server {
    Server::with_handlers(handlers![ask, join_jury, poll, harness::calculate])
}

fn ws_url(server: &TestServer) -> String {
    format!("ws://{}/", server.addr())
}

#[tokio::test]
async fn the_rust_client_answers_with_its_handler() {
    if harness::skipped_over(
        harness::Transport::Tls,
        "the Rust client test trusts no test CA",
    ) {
        return;
    }
    let server = TestServer::start(server()).await;
    let client = exws_client::Client::connect(ws_url(&server))
        .await
        .expect("connects");
    client.on_call(|question: Question| async move {
        Ok::<_, String>(Verdict {
            yes: question.text.ends_with('?'),
        })
    });
    let outcome: Value = within(
        "the call round trip",
        client.call_raw("sc.ask", json!({ "text": "ready?", "timeout_ms": 5000 })),
    )
    .await
    .expect("a reply")
    .data;
    assert_eq!(outcome, "answer yes=true");
    client.close().await;
}

#[tokio::test]
async fn the_rust_client_refuses_calls_it_has_no_handler_for_or_whose_handler_fails() {
    if harness::skipped_over(
        harness::Transport::Tls,
        "the Rust client test trusts no test CA",
    ) {
        return;
    }
    let server = TestServer::start(server()).await;
    let client = exws_client::Client::connect(ws_url(&server))
        .await
        .expect("connects");
    let request = json!({ "text": "ready?", "timeout_ms": 5000 });
    let outcome = within(
        "an unhandled call",
        client.call_raw("sc.ask", request.clone()),
    )
    .await
    .expect("a reply")
    .data;
    assert_eq!(outcome, "refused unknown_type");

    client.on_call(|_question: Question| async move { Err::<Verdict, _>("not today") });
    let outcome = within("a failing handler", client.call_raw("sc.ask", request))
        .await
        .expect("a reply")
        .data;
    assert_eq!(outcome, "refused handler_error");
    client.close().await;
}

#[tokio::test]
async fn a_handler_calls_its_own_client_in_sequential_mode_and_later_messages_wait_in_order() {
    let server = TestServer::start(sequential_server()).await;
    let mut client = Client::connect(server.addr()).await;
    client
        .send_json(
            &json!({ "Type": "sc.ask", "Data": { "text": "self?", "timeout_ms": 30000 }, "Id": 1 }),
        )
        .await;
    // Sent before the answer: read ahead, handled only after the asking handler.
    client
        .send_json(&json!({ "Type": "CalculateRequest", "Data": { "numbers": [2, 3] }, "Id": 2 }))
        .await;
    let call = client.recv().await;
    assert_eq!(call["Type"], "Question", "{call}");
    client
        .send_json(&json!({ "Type": "Answer", "Call": call["Call"], "Data": { "yes": true } }))
        .await;
    assert_eq!(
        client.recv().await,
        json!({ "Type": "sc.outcome", "Data": "answer yes=true", "Id": 1 })
    );
    assert_eq!(
        client.recv().await,
        json!({ "Type": "CalculateResponse", "Data": { "result": 5 }, "Id": 2 })
    );
    client.close().await;
}

#[tokio::test]
async fn the_rust_client_answers_its_own_handlers_call_in_sequential_mode() {
    if harness::skipped_over(
        harness::Transport::Tls,
        "the Rust client test trusts no test CA",
    ) {
        return;
    }
    let server = TestServer::start(sequential_server()).await;
    let client = exws_client::Client::connect(ws_url(&server))
        .await
        .expect("connects");
    client.on_call(|question: Question| async move {
        Ok::<_, String>(Verdict {
            yes: question.text == "self?",
        })
    });
    let outcome = within(
        "the handler's call to its own client",
        client.call_raw("sc.ask", json!({ "text": "self?", "timeout_ms": 30000 })),
    )
    .await
    .expect("a reply");
    assert_eq!(outcome.data, json!("answer yes=true"));
    client.close().await;
}

#[tokio::test]
async fn a_call_times_out_when_the_client_does_not_answer() {
    let server = TestServer::start(sequential_server()).await;
    let mut client = Client::connect(server.addr()).await;
    client
        .send_json(
            &json!({ "Type": "sc.ask", "Data": { "text": "anyone?", "timeout_ms": 100 }, "Id": 1 }),
        )
        .await;
    let call = client.recv().await;
    assert_eq!(call["Type"], "Question");
    assert_eq!(call["Data"]["text"], "anyone?");
    assert!(call["Call"].is_u64(), "a server-chosen call number: {call}");
    assert!(call.get("Id").is_none(), "calls never carry an Id: {call}");
    let outcome = client.recv().await;
    assert_eq!(
        outcome,
        json!({ "Type": "sc.outcome", "Data": "timeout", "Id": 1 })
    );

    // The late answer is dropped without a word.
    client
        .send_json(&json!({ "Type": "Answer", "Call": call["Call"], "Data": { "yes": true } }))
        .await;
    client.assert_alive().await;
    client.close().await;
}

#[tokio::test]
async fn an_answer_by_hand_reaches_the_call_and_a_wrong_one_is_typed() {
    let server = TestServer::start(server()).await;
    let mut client = Client::connect(server.addr()).await;
    for (answer, expected) in [
        (json!({ "yes": false }), "answer yes=false"),
        (json!({ "no": 1 }), "invalid answer"),
    ] {
        client
            .send_json(&json!({ "Type": "sc.ask", "Data": { "text": "?", "timeout_ms": 5000 }, "Id": "a" }))
            .await;
        let call = client.recv().await;
        client
            .send_json(&json!({ "Type": "Answer", "Call": call["Call"], "Data": answer }))
            .await;
        let outcome = client.recv().await;
        assert_eq!(outcome["Data"], expected, "{outcome}");
    }
    client
        .send_json(&json!({ "Type": "sc.ask", "Data": { "text": "?", "timeout_ms": 5000 } }))
        .await;
    let call = client.recv().await;
    client
        .send_json(&json!({
            "Type": "AnswerError", "Call": call["Call"],
            "Data": { "code": "busy", "message": "try later" },
        }))
        .await;
    assert_eq!(client.recv().await["Data"], "refused busy");
    client.close().await;
}

#[tokio::test]
async fn a_malformed_answer_gets_invalid_envelope() {
    let server = TestServer::start(server()).await;
    let mut client = Client::connect(server.addr()).await;
    let error = client.call("Answer", json!({ "yes": true })).await;
    assert_error(&error, "invalid_envelope");
    let error = client
        .request_text(r#"{"Type":"AnswerError","Call":1,"Data":"no code"}"#)
        .await;
    assert_error(&error, "invalid_envelope");
    client.assert_alive().await;
    client.close().await;
}

#[tokio::test]
async fn a_call_ends_with_closed_when_the_client_goes_away() {
    let server = TestServer::start(server()).await;
    let mut asker = Client::connect(server.addr()).await;
    let mut juror = Client::connect(server.addr()).await;
    assert_eq!(juror.call("sc.join", json!({})).await["Data"], 1);
    asker
        .send_json(&json!({ "Type": "sc.poll", "Data": { "timeout_ms": 5000 } }))
        .await;
    let call = juror.recv().await;
    assert_eq!(call["Type"], "Question");
    drop(juror.into_stream());
    let polled = asker.recv().await;
    assert_eq!(polled["Data"], json!(["closed"]));
    asker.close().await;
}

#[tokio::test]
async fn a_room_call_gathers_every_members_answer_or_timeout() {
    if harness::skipped_over(
        harness::Transport::Tls,
        "the Rust client test trusts no test CA",
    ) {
        return;
    }
    let server = TestServer::start(server()).await;
    let yes = exws_client::Client::connect(ws_url(&server))
        .await
        .expect("connects");
    yes.on_call(|_: Question| async { Ok::<_, String>(Verdict { yes: true }) });
    let no = exws_client::Client::connect(ws_url(&server))
        .await
        .expect("connects");
    no.on_call(|_: Question| async { Ok::<_, String>(Verdict { yes: false }) });
    let mut silent = Client::connect(server.addr()).await;
    for client in [&yes, &no] {
        let joined = within("joining", client.call_raw("sc.join", json!({})))
            .await
            .expect("joins");
        assert_eq!(joined.message_type, "sc.joined");
    }
    silent.call("sc.join", json!({})).await;

    let polled = within(
        "the room call",
        yes.call_raw("sc.poll", json!({ "timeout_ms": 300 })),
    )
    .await
    .expect("a reply");
    assert_eq!(
        polled.data,
        json!(["answer yes=false", "answer yes=true", "timeout"])
    );
    let unanswered = silent.recv().await;
    assert_eq!(unanswered["Type"], "Question", "{unanswered}");
    yes.close().await;
    no.close().await;
    silent.close().await;
}

#[tokio::test]
async fn a_call_to_a_rust_client_whose_handler_does_not_finish_times_out() {
    if harness::skipped_over(
        harness::Transport::Tls,
        "the Rust client test trusts no test CA",
    ) {
        return;
    }
    let server = TestServer::start(server()).await;
    let client = exws_client::Client::connect(ws_url(&server))
        .await
        .expect("connects");
    // Its answer never comes.
    client.on_call(|_: Question| std::future::pending::<Result<Verdict, String>>());
    let outcome = within(
        "the call's timeout",
        client.call_raw("sc.ask", json!({ "text": "?", "timeout_ms": 200 })),
    )
    .await
    .expect("a reply");
    assert_eq!(outcome.data, json!("timeout"));
    client.close().await;
}

#[tokio::test]
async fn a_call_to_a_test_kit_client_without_a_handler_times_out() {
    let server = exws::testing::TestServer::start(sequential_server())
        .await
        .expect("starts");
    let mut client = server
        .connect(exws::testing::Handshake::new("/"))
        .await
        .expect("connects");
    // No handler for `Question`: the call is left unanswered in the client's inbox.
    let outcome: String = within(
        "the call's timeout",
        client.call_as("sc.ask", &json!({ "text": "?", "timeout_ms": 100 })),
    )
    .await
    .expect("a reply");
    assert_eq!(outcome, "timeout");
    let call = within("the unanswered call", client.recv())
        .await
        .expect("the call");
    assert_eq!(call["Type"], "Question", "{call}");
    assert!(call["Call"].is_u64(), "{call}");
}

#[tokio::test]
async fn the_test_kit_answers_with_its_handler() {
    let server = exws::testing::TestServer::start(server())
        .await
        .expect("starts");
    let mut client = server
        .connect(exws::testing::Handshake::new("/"))
        .await
        .expect("connects");
    client.on_call(|question: Question| {
        Ok(Verdict {
            yes: question.text == "kit?",
        })
    });
    let outcome: String = client
        .call_as("sc.ask", &json!({ "text": "kit?", "timeout_ms": 5000 }))
        .await
        .expect("a reply");
    assert_eq!(outcome, "answer yes=true");

    client.on_call(|_: Question| Err::<Verdict, _>("no".to_owned()));
    let outcome: String = client
        .call_as("sc.ask", &json!({ "text": "kit?", "timeout_ms": 5000 }))
        .await
        .expect("a reply");
    assert_eq!(outcome, "refused handler_error");
}
