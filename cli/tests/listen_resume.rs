//! `exws listen --resume`: when the connection is cut (no close frame), the CLI reconnects,
//! resumes its session, and prints the messages missed meanwhile, in order, then new ones.

mod common;

use common::proxy::Proxy;
use common::*;
use exws::recovery::Recovery;
use exws::{handlers, message, Connection, Hub, HubError, Server};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

#[derive(Deserialize)]
struct Join {
    room: String,
}

#[derive(Serialize)]
struct Joined {
    room: String,
}

#[derive(Serialize)]
struct Said {
    n: u32,
}

#[message]
async fn join(request: Join, connection: Connection, hub: Hub) -> Result<Joined, HubError> {
    hub.join(connection.id(), &request.room).await?;
    Ok(Joined { room: request.room })
}

#[tokio::test]
async fn listen_resume_prints_the_missed_messages_after_a_cut() {
    let server = Server::with_handlers(handlers![join]).recovery(Recovery::default());
    let bound = within(server.bind("127.0.0.1:0")).await.expect("bind");
    let hub = bound.hub();
    let proxy = Proxy::start(bound.local_addr()).await;
    let _serving = tokio::spawn(std::future::IntoFuture::into_future(bound.serve()));
    let mut child = exws([
        "listen",
        "--resume",
        &proxy.url(),
        "--send",
        "Join",
        r#"{"room": "red"}"#,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn exws");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines_in, mut lines_out) = tokio::sync::mpsc::unbounded_channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
            if lines_in.send(value).is_err() {
                return;
            }
        }
    });
    let session = next(&mut lines_out).await;
    assert_eq!(session["Type"], "exws.session", "{session}");
    assert_eq!(next(&mut lines_out).await["Type"], "Joined");
    hub.room("red").send(&Said { n: 0 }).await.expect("sent");
    assert_eq!(next(&mut lines_out).await["Data"]["n"], 0);

    proxy.cut();
    // Sent while the CLI cannot connect: its connection is gone (the server notices the cut).
    within(async {
        while hub.local_connection_count() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    for n in 1..=5 {
        hub.room("red").send(&Said { n }).await.expect("sent");
    }
    proxy.accept();

    let resumed = next(&mut lines_out).await;
    assert_eq!(resumed["Type"], "exws.session", "{resumed}");
    assert_eq!(resumed["Data"]["resumed"], true);
    assert_eq!(resumed["Data"]["complete"], true);
    for n in 1..=5 {
        let line = next(&mut lines_out).await;
        assert_eq!(line["Data"]["n"], n, "in order: {line}");
    }
    hub.room("red").send(&Said { n: 6 }).await.expect("sent");
    assert_eq!(next(&mut lines_out).await["Data"]["n"], 6);
    let _ = child.kill();
    let _ = child.wait();
}

async fn next(lines: &mut tokio::sync::mpsc::UnboundedReceiver<Value>) -> Value {
    within(lines.recv()).await.expect("a line from exws listen")
}
