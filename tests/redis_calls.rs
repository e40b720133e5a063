//! Server calls across processes with the Redis adapter: two servers on one real
//! `redis-server`, members on both. A room call gathers every member's answer wherever it is,
//! reports a member that does not answer as timed out, ends as soon as every member has
//! answered, reaches one connection on the other server, and calls nobody when the room is
//! larger than the server allows.
//!
//! Needs `redis-server` on PATH (the tests fail, not skip, without it).

#![cfg(feature = "redis")]

mod harness;

use exws::adapter::{RedisAdapter, RedisAdapterConfig};
use exws::{handlers, message, CallError, Connection, Hub, HubError, Server};
use harness::redis_server::RedisServer;
use harness::{within, Client, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

/// What the server asks.
#[derive(Debug, Serialize, Deserialize)]
struct Question {
    text: String,
}

/// What a client answers.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Verdict {
    yes: bool,
}

fn describe(outcome: Result<Verdict, CallError>) -> String {
    match outcome {
        Ok(verdict) => format!("answer yes={}", verdict.yes),
        Err(CallError::Timeout(_)) => "timeout".to_owned(),
        Err(CallError::Closed) => "closed".to_owned(),
        Err(CallError::Refused { code, .. }) => format!("refused {code}"),
        Err(other) => format!("other: {other}"),
    }
}

#[derive(Deserialize)]
struct JoinJury {}

#[message(type = "rc.join", reply = "rc.joined")]
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

/// Calls every member of the jury, on every server; replies with the sorted outcomes.
#[message(type = "rc.poll", reply = "rc.polled")]
async fn poll(request: Poll, hub: Hub) -> Result<Vec<String>, HubError> {
    let question = Question {
        text: "guilty?".to_owned(),
    };
    let timeout = Duration::from_millis(request.timeout_ms);
    let answers = hub
        .room("jury")
        .call::<_, Verdict>(&question, timeout)
        .await?;
    let mut outcomes: Vec<String> = answers
        .into_iter()
        .map(|(_, outcome)| describe(outcome))
        .collect();
    outcomes.sort();
    Ok(outcomes)
}

/// Two servers, A and B, on one Redis (a key prefix of the test's own).
struct Pair {
    a: TestServer,
    b: TestServer,
    _redis: RedisServer,
}

impl Pair {
    async fn start(test: &str, configure: impl Fn(Server) -> Server) -> Pair {
        let redis = RedisServer::start();
        let prefix = format!("exws-test-{}-{test}", std::process::id());
        let server = || {
            let adapter =
                RedisAdapter::with_config(RedisAdapterConfig::new(redis.url()).prefix(&prefix))
                    .expect("a valid Redis URL");
            configure(Server::with_handlers(handlers![join_jury, poll]).adapter(adapter))
        };
        let a = TestServer::start(server()).await;
        let b = TestServer::start(server()).await;
        Pair {
            a,
            b,
            _redis: redis,
        }
    }
}

/// Joins the jury; returns the member count across both servers.
async fn join(client: &mut Client) -> Value {
    client.call("rc.join", json!({})).await["Data"].clone()
}

/// Reads the server's call and answers it with `yes`.
async fn answer(client: &mut Client, yes: bool) {
    let call = client.recv().await;
    assert_eq!(call["Type"], "Question", "{call}");
    assert_eq!(call["Data"]["text"], "guilty?", "{call}");
    client
        .send_json(&json!({ "Type": "Answer", "Call": call["Call"], "Data": { "yes": yes } }))
        .await;
}

#[tokio::test]
async fn a_room_call_gathers_the_answers_of_members_on_both_servers() {
    let pair = Pair::start("gather", |server| server).await;
    let mut asker = Client::connect(pair.a.addr()).await;
    let mut yes = Client::connect(pair.a.addr()).await;
    let mut no = Client::connect(pair.b.addr()).await;
    let mut silent = Client::connect(pair.b.addr()).await;
    assert_eq!(join(&mut yes).await, 1);
    assert_eq!(join(&mut no).await, 2);
    assert_eq!(join(&mut silent).await, 3);

    asker
        .send_json(&json!({ "Type": "rc.poll", "Data": { "timeout_ms": 1000 } }))
        .await;
    answer(&mut yes, true).await;
    answer(&mut no, false).await;
    // Called across processes, and does not answer.
    let unanswered = silent.recv().await;
    assert_eq!(unanswered["Type"], "Question", "{unanswered}");

    let polled = asker.recv().await;
    assert_eq!(polled["Type"], "rc.polled", "{polled}");
    assert_eq!(
        polled["Data"],
        json!(["answer yes=false", "answer yes=true", "timeout"])
    );
    for client in [asker, yes, no, silent] {
        client.close().await;
    }
}

#[tokio::test]
async fn a_call_ends_once_every_member_has_answered_and_reaches_one_connection_on_the_other_server()
{
    let pair = Pair::start("early", |server| server).await;
    let mut here = Client::connect(pair.a.addr()).await;
    let mut there = Client::connect(pair.b.addr()).await;
    join(&mut here).await;
    join(&mut there).await;

    // A minute to answer: the gathering must end when both have, long before.
    let hub = pair.a.hub();
    let call = tokio::spawn(async move {
        hub.room("jury")
            .call::<_, Verdict>(
                &Question {
                    text: "guilty?".to_owned(),
                },
                Duration::from_secs(60),
            )
            .await
    });
    answer(&mut here, true).await;
    answer(&mut there, false).await;
    let answers = within("the gathering to end after the last answer", call)
        .await
        .expect("the call task")
        .expect("the call");
    let mut outcomes: Vec<String> = answers
        .into_iter()
        .map(|(_, outcome)| describe(outcome))
        .collect();
    outcomes.sort();
    assert_eq!(outcomes, ["answer yes=false", "answer yes=true"]);

    // One connection, held by the other server.
    let members = pair.b.hub().members("jury").await.expect("members");
    let local_to_b = pair.b.hub().local_connection_ids();
    let target = members
        .into_iter()
        .find(|id| local_to_b.contains(id))
        .expect("B's member");
    let hub = pair.a.hub();
    let call_target = target.clone();
    let call = tokio::spawn(async move {
        hub.to(&call_target)
            .call::<_, Verdict>(
                &Question {
                    text: "guilty?".to_owned(),
                },
                Duration::from_secs(60),
            )
            .await
    });
    answer(&mut there, true).await;
    let answers = within("the direct call", call)
        .await
        .expect("the call task")
        .expect("the call");
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].0, target);
    assert_eq!(
        answers[0].1.as_ref().expect("an answer"),
        &Verdict { yes: true }
    );
    here.close().await;
    there.close().await;
}

#[tokio::test]
async fn a_refusal_and_a_closed_member_on_the_other_server_are_reported() {
    let pair = Pair::start("refused", |server| server).await;
    let mut asker = Client::connect(pair.a.addr()).await;
    let mut refuser = Client::connect(pair.b.addr()).await;
    let mut leaver = Client::connect(pair.b.addr()).await;
    join(&mut refuser).await;
    join(&mut leaver).await;

    asker
        .send_json(&json!({ "Type": "rc.poll", "Data": { "timeout_ms": 30000 } }))
        .await;
    let call = refuser.recv().await;
    refuser
        .send_json(&json!({
            "Type": "AnswerError", "Call": call["Call"],
            "Data": { "code": "busy", "message": "try later" },
        }))
        .await;
    let call = leaver.recv().await;
    assert_eq!(call["Type"], "Question");
    drop(leaver.into_stream());

    let polled = asker.recv().await;
    assert_eq!(
        polled["Data"],
        json!(["closed", "refused busy"]),
        "{polled}"
    );
    asker.close().await;
    refuser.close().await;
}

#[tokio::test]
async fn a_room_larger_than_allowed_is_not_called() {
    let pair = Pair::start("bounded", |server| server.max_call_recipients(1)).await;
    let mut asker = Client::connect(pair.a.addr()).await;
    let mut here = Client::connect(pair.a.addr()).await;
    let mut there = Client::connect(pair.b.addr()).await;
    join(&mut here).await;
    join(&mut there).await;

    let polled = asker.call("rc.poll", json!({ "timeout_ms": 30000 })).await;
    assert_eq!(polled["Type"], "Error", "{polled}");
    assert!(
        polled["Data"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("max_call_recipients")),
        "{polled}"
    );
    // Nobody was called: each member's next message is a marker sent after the refusal.
    pair.a
        .hub()
        .room("jury")
        .send_as("marker", &json!("after"))
        .await
        .expect("sent");
    for client in [&mut here, &mut there] {
        let next = client.recv().await;
        assert_eq!(next["Type"], "marker", "{next}");
    }
    for client in [asker, here, there] {
        client.close().await;
    }
}
